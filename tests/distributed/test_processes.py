"""Distributed runs for real: torchrun starting two gloo processes on the CPU (each test a few seconds)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from dlstudio.checkpoints import load_checkpoint
from dlstudio.distributed import DistributedRun, Placement, train_distributed
from dlstudio.engine import EpochEnd, FitEnded, FitStarted, LogMessage
from dlstudio.engine.step import SYNC_BY_DDP
from dlstudio.runner import Run, run_to_end
from dlstudio.runs import get_run
from tests.runs import metrics_by_epoch

pytestmark = pytest.mark.slow

#: The demo plugin, loaded by every process (the test's studio is given it directly, not by an entry point).
DEMO = "demo=tests.fixture_plugins.demo_plugin"


def blobs_spec(studio, *overrides: str):
    # 160 training samples: 10 batches of 16, each 8 + 8 in two processes (the same global batch)
    return studio.recipe_spec("demo-blobs", ["data.params.samples=200", "train.batch_size=16", "run.device='cpu'",
                                             *overrides])


def launch(studio, spec=None, **options):
    return train_distributed(studio, spec, placement=Placement(nproc=2), plugin_modules=[DEMO], **options)


def worker_pid(home: Path, rank: int) -> int | None:
    """The process of ``rank`` training in ``home`` (read from /proc: what torchrun gave it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            env = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if (b"dlstudio.torchrun_worker" in command and f"RANK={rank}".encode() in env
                and f"DLSTUDIO_HOME={home}".encode() in env):
            return int(entry.name)
    return None


def test_two_processes_train_the_weights_one_process_trains_and_rank_0_alone_writes(demo_studio, studio_home,
                                                                                     tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    spec = blobs_spec(demo_studio, "train.epochs=3", "train.keep_best=false")
    alone = Run(demo_studio, spec)
    run_to_end(alone)
    run = DistributedRun(demo_studio, spec, placement=Placement(nproc=2), plugin_modules=[DEMO])
    logs = [record.text for record in run.records() if isinstance(record, LogMessage)]
    info = get_run(demo_studio, run.run_id)

    assert (info.status, info.epochs_done, info.device) == ("completed", 3, "2×cpu")
    assert f"2 processes train this run together (rank 0 reports and writes); {SYNC_BY_DDP}" in logs, logs
    assert demo_studio.store.get(info.id).params["processes"] == 2
    expected, _ = load_checkpoint(demo_studio.store.run_dir(alone.run_id) / "checkpoints" / "last.safetensors")
    weights, meta = load_checkpoint(info.run_dir / "checkpoints" / "last.safetensors")
    assert set(weights) == set(expected)
    for name in expected:
        torch.testing.assert_close(weights[name], expected[name], rtol=1e-5, atol=1e-6)
    single, shared = metrics_by_epoch(demo_studio, alone.run_id), metrics_by_epoch(demo_studio, info.id)
    for epoch in (1, 2, 3):  # the validation metrics are over all 40 samples, whichever process saw them
        assert shared[epoch]["valid_accuracy"] == single[epoch]["valid_accuracy"]
        assert shared[epoch]["train_loss"] == pytest.approx(single[epoch]["train_loss"], rel=1e-5)

    # Rank 0 alone wrote: one row, one line of weight norms per epoch (two writers would append two), no
    # scratch folder of rank 1 left behind.
    assert len(demo_studio.store.list_runs()) == 2
    norms = (info.run_dir / "weight-norms.jsonl").read_text().splitlines()
    assert len(norms) == 3
    assert set(demo_studio.store.artifacts(info.id)) == {"best", "last", "final"}
    assert meta["run_id"] == info.id
    assert not list(scratch.glob("dlstudio-rank-*"))


def test_a_killed_rank_fails_the_run_naming_it_and_the_run_resumes_and_cancels_on_every_rank(demo_studio, studio_home,
                                                                                       capsys):
    spec = blobs_spec(demo_studio, "data.params.samples=400", "train.epochs=400")
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("info", launch(demo_studio, spec)))
    thread.start()
    deadline = time.monotonic() + 120
    killed = None
    while time.monotonic() < deadline and killed is None:
        rows = demo_studio.store.list_runs()
        if rows and rows[0].epochs_done >= 2 and (pid := worker_pid(studio_home, 1)) is not None:
            os.kill(pid, signal.SIGKILL)
            killed = pid
        time.sleep(0.05)
    thread.join(120)
    assert killed is not None and not thread.is_alive()
    info = outcome["info"]
    assert info.status == "failed"
    assert "rank 1 was killed by signal SIGKILL" in info.message
    assert "rank 1 was killed by signal SIGKILL" in capsys.readouterr().out.splitlines()[-1]
    assert worker_pid(studio_home, 0) is None  # no process is left waiting for the dead one
    assert 2 <= info.epochs_done < 400

    # Resumed with two processes, it goes on from its last checkpoint; the window's cancel (which reaches rank 0,
    # and the others through it) ends it cancelled on every rank, none left waiting.
    done = info.epochs_done
    resumed = DistributedRun(demo_studio, resume_id=info.id, placement=Placement(nproc=2), plugin_modules=[DEMO])
    records = []
    for record in resumed.records():
        records.append(record)
        if isinstance(record, EpochEnd) and record.epoch == done + 2:
            resumed.control.cancel()
    assert next(r for r in records if isinstance(r, FitStarted)).start_epoch == done
    assert any(isinstance(r, LogMessage) and r.text == f"resuming run {info.id} after epoch {done}" for r in records)
    assert isinstance(records[-1], FitEnded) and records[-1].status == "cancelled", records[-1]
    row = demo_studio.store.get(info.id)
    assert (row.status, row.device) == ("cancelled", "2×cpu") and done + 2 <= row.epochs_done < 400
    assert sorted(metrics_by_epoch(demo_studio, info.id)) == list(range(1, row.epochs_done + 1))
    assert worker_pid(studio_home, 0) is None and worker_pid(studio_home, 1) is None
