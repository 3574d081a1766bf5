"""Device discovery and the resolution of the user's choice (CUDA faked: the tests run on CPU)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from dlstudio.engine import devices
from dlstudio.engine.devices import DeviceInfo, list_devices, resolve_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def one_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i: SimpleNamespace(name="Fake GPU", total_memory=8 * 1024**3))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (6 * 1024**3, 8 * 1024**3))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_the_cpu_is_always_there(no_gpu):
    found = list_devices()
    assert [d.id for d in found] == ["cpu"]
    assert found[0].total_memory is None and found[0].label.startswith("cpu — ")


def test_gpus_are_listed_with_their_memory(one_gpu):
    found = list_devices()
    assert [d.id for d in found] == ["cpu", "cuda:0"]
    gpu = found[1]
    assert (gpu.name, gpu.total_memory, gpu.free_memory) == ("Fake GPU", 8 * 1024**3, 6 * 1024**3)
    assert gpu.label == "cuda:0 — Fake GPU (6.0 free / 8.0 GiB)"


def test_memory_query_failure_still_lists_the_gpu(one_gpu, monkeypatch):
    def fail(i):
        raise RuntimeError("busy")

    monkeypatch.setattr(torch.cuda, "mem_get_info", fail)
    gpu = list_devices()[1]
    assert gpu.free_memory is None and gpu.label == "cuda:0 — Fake GPU (8.0 GiB)"


def test_auto_prefers_the_gpu(one_gpu):
    assert resolve_device("auto") == torch.device("cuda:0")
    assert resolve_device("cuda") == torch.device("cuda:0")


def test_auto_falls_back_to_the_cpu(no_gpu):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("choice", ["cuda:3", "cuda", "mps", "tpu"])
def test_a_missing_device_is_refused_naming_those_available(no_gpu, choice):
    with pytest.raises(ValueError, match=rf"device '{choice}' is not available here; available: cpu$"):
        resolve_device(choice)


def test_device_info_label_without_free_memory():
    assert DeviceInfo("cuda:1", "X", 2 * 1024**3).label == "cuda:1 — X (2.0 GiB)"
    assert devices.DeviceInfo("mps", "Apple").label == "mps — Apple"
