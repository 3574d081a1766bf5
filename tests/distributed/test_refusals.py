"""What a distributed run cannot do is refused before anything starts: no process, no stored run."""

from __future__ import annotations

import pytest

from dlstudio.cli import main
from dlstudio.distributed import Placement, describe_failures
from dlstudio.plugins import module_candidate
from dlstudio.run_ranks import describe_device, distributed_device
from tests.fixture_plugins import demo_plugin


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: [module_candidate("demo", demo_plugin)])


def _spec(tmp_path, train: str = ""):
    path = tmp_path / "run.toml"
    path.write_text('[run]\ndevice = "cpu"\n[model]\nid = "demo.mlp"\n[data]\nid = "demo.blobs"\n'
                    f'[train]\nepochs = 1\nbatch_size = 16\n{train}')
    return str(path)


@pytest.mark.parametrize(("train", "argv", "message"), [
    ('optimizer = "lbfgs"\n', ["--nproc", "2"], "[train] optimizer: the lbfgs optimizer re-evaluates the loss"),
    ("", ["--nproc", "3"], "[train] batch_size 16 is the batch of all 3 processes together"),
    ("", ["--nproc", "2", "--device", "mps"], "MPS runs one process on one Apple GPU"),
    ("", ["--nproc", "0"], "--nproc: at least one process, got 0"),
    ("", ["--nproc", "2", "--nnodes", "2"], "--nnodes above 1 needs --rdzv-endpoint"),
    ("", ["--nproc", "2", "--set", "data.params.colour=1"], "[data.params] unknown key 'colour'"),
])
def test_what_cannot_be_distributed_is_refused_before_starting(capsys, tmp_path, studio_home, train, argv,
                                                                message):
    code = main(["train", _spec(tmp_path, train), *argv])
    out, err = capsys.readouterr()
    assert code == 2 and message in err, err
    assert out == ""  # nothing was started: no torchrun, no run
    assert list((studio_home / "runs").glob("*")) == []  # no run folder (none, or an empty store's folder)


def test_a_gpu_run_takes_the_gpu_of_its_local_rank(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    assert [distributed_device(choice, 1) for choice in ("auto", "cuda", "cuda:0")] == ["cuda:1"] * 3
    assert distributed_device("cpu", 1) == "cpu"
    with pytest.raises(ValueError, match="process 2 of this machine has no GPU of its own: 2 visible"):
        distributed_device("auto", 2)


def test_placement_passes_through_to_torchrun():
    assert Placement(2).torchrun_args() == ["--nproc-per-node=2", "--nnodes=1", "--standalone"]
    assert Placement(4, 2, 1, "node0:29400").torchrun_args() == [
        "--nproc-per-node=4", "--nnodes=2", "--node-rank=1", "--rdzv-endpoint=node0:29400"]
    assert Placement(4, 2).processes == 8


def test_failures_name_each_rank_and_how_it_ended():
    text = describe_failures([
        {"rank": 1, "exitcode": -9, "signal": "SIGKILL"},
        {"rank": 0, "exitcode": 1, "signal": "", "error": "RuntimeError: Connection closed by peer"},
    ])
    assert text == ("rank 1 was killed by signal SIGKILL; "
                    "rank 0 exited with status 1 (RuntimeError: Connection closed by peer)")
    alike = [{"rank": r, "exitcode": 1, "signal": "", "error": "RunError: 1 training sample"} for r in (1, 0)]
    assert describe_failures(alike) == "ranks 0, 1 exited with status 1 (RunError: 1 training sample)"
    with_stopped = [{"rank": 0, "exitcode": 130, "signal": "", "error": "KeyboardInterrupt: "},
                    {"rank": 1, "exitcode": -9, "signal": "SIGKILL"}]
    assert describe_failures(with_stopped) == ("rank 1 was killed by signal SIGKILL; "
                                               "the other processes were stopped with it")
    assert describe_device("cuda:0", 4) == "4×cuda" and describe_device("cpu", 1) == "cpu"
