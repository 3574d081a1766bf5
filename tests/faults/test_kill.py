"""kill -9 at random moments (issue 12's fault suite): a training process killed with SIGKILL, wherever it is
(mid-batch, mid-checkpoint, mid-commit), leaves a run store that is intact, loses at most the epoch in
progress, and resumes to the identical best value of a run that was never killed."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dlstudio.checkpoints import read_sidecar
from dlstudio.engine import LogMessage
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.studio import Studio
from tests.fixture_plugins import demo_plugin
from tests.runs import demo_spec, drive, ended, metrics_by_epoch

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ("train.epochs=12", "data.params.samples=400")
KILLS = 3
SEED = 12

CHILD = """
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
from dlstudio.engine import EpochEnd
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.studio import Studio
from tests.fixture_plugins import demo_plugin
from tests.runs import demo_spec

studio = Studio.open(Path(sys.argv[1]), [module_candidate("demo", demo_plugin)])
for record in Run(studio, demo_spec(studio, *sys.argv[2:])).records():
    if getattr(record, "kind", "") == "run_started":
        print("started", record.run_id, flush=True)
    elif isinstance(record, EpochEnd):  # yielded once the epoch is in the store and its checkpoint on disk
        print("epoch", record.epoch, flush=True)
"""




class Child:
    """A training process and what it printed (read on a thread, so the pipe never fills)."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, "-c", CHILD, str(home), *SETTINGS], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self.started = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.split())
            if line.startswith("started"):
                self.started.set()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)

    @property
    def run_id(self) -> str:
        return next(words[1] for words in self.lines if words[0] == "started")

    @property
    def epochs_reported(self) -> int:
        return max((int(words[1]) for words in self.lines if words[0] == "epoch"), default=0)


def test_runs_killed_at_random_moments_resume_to_the_uninterrupted_result(tmp_path, one_thread):
    moments = random.Random(SEED)
    children = [Child(tmp_path / f"killed-{i}") for i in range(KILLS)]
    # Meanwhile (the children are importing torch): the reference, trained here without a stop.
    reference_studio = Studio.open(tmp_path / "reference", [module_candidate("demo", demo_plugin)])
    reference = ended(drive(Run(reference_studio, demo_spec(reference_studio, *SETTINGS))))
    assert reference.status == "completed"

    for child in children:
        assert child.started.wait(timeout=120), "the child never started training"
    start = time.monotonic()
    for child, delay in sorted(zip(children, (moments.uniform(0.0, 1.2) for _ in children)), key=lambda c: c[1]):
        time.sleep(max(0.0, delay - (time.monotonic() - start)))
        child.kill()

    for i, child in enumerate(children):
        home = tmp_path / f"killed-{i}"
        with contextlib.closing(sqlite3.connect(home / "runs.sqlite")) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        studio = Studio.open(home, [module_candidate("demo", demo_plugin)])
        row = studio.store.get(child.run_id)
        reported = child.epochs_reported
        # No epoch the process had finished is lost: its metrics are stored and its checkpoint is on disk.
        assert row.epochs_done >= reported
        assert sorted(metrics_by_epoch(studio, child.run_id)) == list(range(1, row.epochs_done + 1))
        last = studio.store.run_dir(child.run_id) / "checkpoints" / "last.safetensors"
        if reported:
            assert read_sidecar(last)["epoch"] >= reported
        if row.status == "completed":  # the kill came after the end
            assert row.best_value == reference.best_value
            continue
        assert row.status == "interrupted", row

        records = drive(Run.resume(studio, child.run_id))
        resumed_after = next(int(r.text.split()[-1]) for r in records
                             if isinstance(r, LogMessage) and r.text.startswith("resuming run"))
        assert resumed_after >= reported  # at most the epoch in progress is trained again
        assert ended(records).status == "completed"
        assert ended(records).best_value == reference.best_value
        assert ended(records).best_epoch == reference.best_epoch
        assert sorted(metrics_by_epoch(studio, child.run_id)) == list(range(1, 13))


def test_a_kill_between_saving_a_checkpoint_and_recording_its_epoch_loses_no_epoch(demo_studio, monkeypatch):
    # The narrowest window a random kill can hit (the kill above found it): the checkpoint of epoch 2 is on
    # disk, the store still says 1 epoch. The resume starts after epoch 2 and must still record its metrics.
    from dlstudio.store import RunStore

    class Killed(BaseException):
        pass

    real = RunStore.record_epoch

    def record_epoch(store, run_id, epoch, *args, **kwargs):
        if epoch == 2:
            raise Killed
        return real(store, run_id, epoch, *args, **kwargs)

    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"))
    monkeypatch.setattr(RunStore, "record_epoch", record_epoch)
    with pytest.raises(Killed):
        drive(run)
    monkeypatch.setattr(RunStore, "record_epoch", real)
    assert demo_studio.store.get(run.run_id).epochs_done == 1

    records = drive(Run.resume(demo_studio, run.run_id))
    assert ended(records).status == "completed"
    assert sorted(metrics_by_epoch(demo_studio, run.run_id)) == [1, 2, 3]
