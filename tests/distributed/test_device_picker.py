"""The window's device picker with several (faked) GPUs: a run on several of them, one process each."""

from __future__ import annotations

import pytest

from dlstudio.distributed import DistributedRun, lists_gpus
from dlstudio.runner import Run
from dlstudio.spec import SpecError
from tests.runs import demo_spec


@pytest.fixture
def three_gpus(monkeypatch):
    from dlstudio.engine import devices

    fake = [devices.DeviceInfo("cpu", "CPU")] + [
        devices.DeviceInfo(f"cuda:{i}", "Fake GPU", 8 << 30, 6 << 30) for i in range(3)]
    monkeypatch.setattr(devices, "list_devices", lambda: fake)
    return fake


def test_several_gpus_can_be_chosen_together(make_window, demo_studio, three_gpus, qtbot):
    picker = make_window(demo_studio).device_selector
    choices = [picker.itemData(i) for i in range(picker.count())]
    assert choices == ["cpu", "cuda:0", "cuda:1", "cuda:2", "cuda:0,1", "cuda:0,1,2"]
    assert picker.itemText(5) == "3 GPUs (cuda:0, cuda:1, cuda:2) — one process each"
    with qtbot.waitSignal(picker.device_changed) as changed:
        picker.setCurrentIndex(5)
    assert changed.args == ["cuda:0,1,2"] and picker.current() == "cuda:0,1,2"


def test_a_run_on_several_gpus_is_one_process_per_gpu(demo_studio, three_gpus):
    spec = demo_spec(demo_studio, 'run.device="cuda:0,2"', "train.batch_size=16")
    assert lists_gpus(demo_studio, spec, None, None)  # dlstudio train and the window both launch it so
    run = DistributedRun(demo_studio, spec)
    assert run.processes == 2
    assert run._environment()["CUDA_VISIBLE_DEVICES"] == "0,2"  # each process takes its local rank's GPU
    with pytest.raises(SpecError, match="lists several GPUs: such a run is trained by one process on each"):
        list(Run(demo_studio, spec).records())  # one process cannot quietly take one GPU of the list
    assert not demo_studio.store.list_runs()
    odd = demo_spec(demo_studio, 'run.device="cuda:0,1,2"', "train.batch_size=16")
    with pytest.raises(SpecError, match="batch_size 16 is the batch of all 3 processes together"):
        DistributedRun(demo_studio, odd)
