"""Checkpoints: safetensors + sidecar, written atomically, never unpickled."""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from dlstudio.checkpoints import (
    FORMAT,
    CheckpointError,
    apply_weights,
    atomic_write,
    load_checkpoint,
    load_train_state,
    read_sidecar,
    save_checkpoint,
    save_train_state,
)


def net(hidden: int = 8) -> nn.Module:
    return nn.Sequential(nn.Linear(4, hidden), nn.BatchNorm1d(hidden), nn.Linear(hidden, 3))


def equal_states(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_save_and_load_round_trip(tmp_path):
    model = net()
    meta = {"architecture": "demo.mlp", "classes": ["a", "b", "c"], "epoch": 3, "metrics": {"loss": 0.5}}
    weights = save_checkpoint(tmp_path / "ckpt" / "best", model.state_dict(), meta)
    assert weights == tmp_path / "ckpt" / "best.safetensors"
    assert sorted(p.name for p in weights.parent.iterdir()) == ["best.json", "best.safetensors"]

    tensors, sidecar = load_checkpoint(weights)
    assert equal_states(tensors, model.state_dict())
    assert tensors["1.num_batches_tracked"].dtype == torch.int64
    assert sidecar == {"format": FORMAT, **meta}
    assert read_sidecar(weights) == sidecar
    fresh = net()
    apply_weights(fresh, tensors)
    assert equal_states(fresh.state_dict(), model.state_dict())


def test_saving_again_replaces_the_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "last", {"w": torch.zeros(2)}, {"epoch": 1})
    save_checkpoint(tmp_path / "last", {"w": torch.ones(2)}, {"epoch": 2})
    tensors, meta = load_checkpoint(tmp_path / "last.safetensors")
    assert torch.equal(tensors["w"], torch.ones(2)) and meta["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.json", "last.safetensors"]


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight


def test_tied_and_non_contiguous_weights_save_fine(tmp_path):
    model = Tied()
    state = {**model.state_dict(), "transposed": torch.arange(6.0).reshape(2, 3).t()}
    save_checkpoint(tmp_path / "tied", state, {})
    tensors, _ = load_checkpoint(tmp_path / "tied.safetensors")
    assert torch.equal(tensors["embed.weight"], tensors["head.weight"])
    assert torch.equal(tensors["transposed"], state["transposed"])
    fresh = Tied()
    apply_weights(fresh, {k: v for k, v in tensors.items() if k != "transposed"})
    assert torch.equal(fresh.embed.weight, model.embed.weight)
    assert fresh.head.weight is fresh.embed.weight  # still tied after loading


def test_a_sidecar_may_be_missing_but_not_corrupt(tmp_path):
    save_checkpoint(tmp_path / "c", {"w": torch.ones(1)}, {"epoch": 1})
    (tmp_path / "c.json").unlink()
    assert load_checkpoint(tmp_path / "c.safetensors")[1] == {}
    (tmp_path / "c.json").write_text("{broken")
    with pytest.raises(CheckpointError, match=r"c\.json is not valid JSON .*the checkpoint's description is lost"):
        load_checkpoint(tmp_path / "c.safetensors")


@pytest.mark.parametrize("damage", ["empty", "truncated", "header only", "garbage", "huge header"])
def test_corrupt_or_truncated_checkpoints_are_refused(tmp_path, damage):
    weights = save_checkpoint(tmp_path / "c", net().state_dict(), {})
    data = weights.read_bytes()
    weights.write_bytes({
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "header only": data[:8],
        "garbage": os.urandom(300),
        "huge header": (10**12).to_bytes(8, "little") + data[8:],
    }[damage])
    with pytest.raises(CheckpointError, match=r"c\.safetensors is corrupt or truncated and cannot be loaded"):
        load_checkpoint(weights)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.safetensors does not exist"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_weights_that_do_not_fit_name_keys_and_shapes():
    state = net(16).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["2.bias"]
    with pytest.raises(CheckpointError) as info:
        apply_weights(net(8), state, source="best.safetensors")
    message = str(info.value)
    assert message.startswith("the weights in best.safetensors do not fit this architecture — ")
    assert "missing: 2.bias" in message and "unexpected: extra.weight" in message
    assert "0.weight: file (16, 4) vs model (8, 4)" in message
    assert "(+" in message  # more than five shape mismatches are counted, not listed


def test_a_wrong_architecture_leaves_the_model_untouched():
    model = net(8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError):
        apply_weights(model, {**net(8).state_dict(), "0.weight": torch.zeros(9, 4)})
    assert equal_states(model.state_dict(), before)


# -- .pt / .pth files --------------------------------------------------------------------------------


class Exploit:
    """Unpickling this opens (creates) the marker file: stands for any code a .pt file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_a_pickled_object_in_a_pt_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.ones(2), "payload": Exploit(marker)}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert not marker.exists()
    message = str(info.value)
    assert "was refused: it holds pickled Python objects" in message and "could run arbitrary code" in message
    assert "torch.save(model.state_dict(), ...)" in message
    assert "Detail: Unsupported global: GLOBAL io.open" in message and "\x1b" not in message

    # The file really is an exploit: loading it the unsafe way runs the payload.
    handle = torch.load(path, weights_only=False)["payload"]
    handle.close()
    assert marker.exists()


def test_pt_state_dicts_load(tmp_path):
    model = net()
    torch.save(model.state_dict(), tmp_path / "plain.pth")
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, tmp_path / "wrapped.pt")
    for name in ("plain.pth", "wrapped.pt"):
        tensors, meta = load_checkpoint(tmp_path / name)
        assert equal_states(tensors, model.state_dict()) and meta == {}


@pytest.mark.parametrize("content", [b"", b"hello world\n", b"\x00" * 64, b"\xff" * 300],
                         ids=["empty", "text", "zeros", "garbage"])
def test_files_that_are_not_pytorch_files_are_refused(tmp_path, content):
    (tmp_path / "junk.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=r"junk\.pt is not a readable PyTorch file"):
        load_checkpoint(tmp_path / "junk.pt")


def test_pt_files_that_are_not_state_dicts_are_refused(tmp_path):
    torch.save([torch.ones(1)], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match=r"list\.pt holds a list, not a state dict of tensors"):
        load_checkpoint(tmp_path / "list.pt")
    torch.save({"w": torch.ones(1), "epoch": 3}, tmp_path / "mixed.pt")
    with pytest.raises(CheckpointError, match="holds a dict, not a state dict of tensors"):
        load_checkpoint(tmp_path / "mixed.pt")
    torch.save(net().state_dict(), tmp_path / "cut.pt")
    data = (tmp_path / "cut.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt is not a readable PyTorch file"):
        load_checkpoint(tmp_path / "cut.pt")


# -- atomic writes -----------------------------------------------------------------------------------


def no_space(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_the_previous_checkpoint_and_leaves_no_temp_file(tmp_path, monkeypatch):
    old = net().state_dict()
    save_checkpoint(tmp_path / "last", old, {"epoch": 1})
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError) as info:
        save_checkpoint(tmp_path / "last", net().state_dict(), {"epoch": 2})
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.json", "last.safetensors"]
    tensors, meta = load_checkpoint(tmp_path / "last.safetensors")
    assert equal_states(tensors, old) and meta["epoch"] == 1


def test_a_failed_write_leaves_the_target_alone(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def half_then_fail(fh):
        fh.write(b"new but incomp")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["file.bin"]
    atomic_write(tmp_path / "sub" / "new.bin", lambda fh: fh.write(b"ok"))
    assert (tmp_path / "sub" / "new.bin").read_bytes() == b"ok"


# -- training state ----------------------------------------------------------------------------------


def test_optimizer_state_round_trips_and_training_continues_identically(tmp_path):
    torch.manual_seed(0)
    model = net()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))

    def step(m, opt):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()

    for _ in range(3):
        step(model, optimizer)
    save_checkpoint(tmp_path / "last", model.state_dict(), {})
    save_train_state(tmp_path / "last-state", {"task": {"optimizer0": optimizer.state_dict()}, "epoch": 3,
                                               "rng": torch.get_rng_state()})

    saved = load_train_state(tmp_path / "last-state")
    assert saved["epoch"] == 3 and torch.equal(saved["rng"], torch.get_rng_state())
    resumed_model = net()
    apply_weights(resumed_model, load_checkpoint(tmp_path / "last.safetensors")[0])
    resumed = torch.optim.Adam(resumed_model.parameters(), lr=0.01)
    resumed.load_state_dict(saved["task"]["optimizer0"])
    step(model, optimizer)
    step(resumed_model, resumed)
    assert equal_states(model.state_dict(), resumed_model.state_dict())


def test_train_state_keeps_structure_and_plain_values(tmp_path):
    state = {"ints": {0: "a", 7: [1.5, None, True]}, "tuple": (1, torch.zeros(2)), "inf": math.inf,
             "nested": [{"t": torch.arange(3)}, "s"], "empty": {}, "text": "x/y"}
    save_train_state(tmp_path / "s", state)
    loaded = load_train_state(tmp_path / "s")
    assert loaded["ints"] == {0: "a", 7: [1.5, None, True]}
    assert isinstance(loaded["tuple"], tuple) and torch.equal(loaded["tuple"][1], torch.zeros(2))
    assert loaded["inf"] == math.inf and loaded["empty"] == {} and loaded["text"] == "x/y"
    assert torch.equal(loaded["nested"][0]["t"], torch.arange(3)) and loaded["nested"][1] == "s"
    save_train_state(tmp_path / "none", {"epoch": 1})
    assert load_train_state(tmp_path / "none") == {"epoch": 1}
    # The structure is JSON, not pickle.
    assert json.loads((tmp_path / "s.json").read_text())


def test_a_missing_or_corrupt_train_state_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match=r"the training state .* is missing or corrupt"):
        load_train_state(tmp_path / "absent")
    save_train_state(tmp_path / "s", {"w": torch.ones(2)})
    (tmp_path / "s.json").write_text("{")
    with pytest.raises(CheckpointError, match="missing or corrupt"):
        load_train_state(tmp_path / "s")
