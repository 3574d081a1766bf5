"""A full disk (issue 12, item 3): one message, "the disk is full at PATH", never a traceback; the run store
stays readable while the disk is full; the previous checkpoint stays whole; the run ends "interrupted" and
resumes, once space is freed, to the same result as a run that never stopped.

The disk is simulated (SQLite refuses to write as it does on a full disk, ``fsync`` and whole-file writes
fail with ENOSPC) everywhere; where the platform lets the test mount a small tmpfs, the real thing too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from dlstudio import hookimpl, runs
from dlstudio.checkpoints import load_checkpoint, save_checkpoint
from dlstudio.cli import main
from dlstudio.contract import CallbackSpec
from dlstudio.engine import Callback, EpochEnd
from dlstudio.errors import DiskFullError
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.store import RunStore
from tests.fixture_plugins import demo_plugin
from tests.runs import demo_spec, drive, ended

EPOCHS = 4
WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA\s+\w+\s*=)", re.IGNORECASE)


class FullDisk:
    """A disk that fills up on demand. Once full, SQLite refuses every write ("database or disk is full",
    as it does on a full disk when its database keeps a rollback journal) while reads work, and ``fsync``
    and ``Path.write_text``/``write_bytes`` fail with ENOSPC (where a full disk shows when writing a file)."""

    def __init__(self, monkeypatch) -> None:
        self.full = False
        #: Small files still fit (a checkpoint of a few hundred bytes) while the store cannot grow.
        self.files_fit = False
        real_connect, real_fsync = sqlite3.connect, os.fsync
        real_write_text, real_write_bytes = Path.write_text, Path.write_bytes
        disk = self

        class Connection:
            def __init__(self, *args, **kwargs) -> None:
                object.__setattr__(self, "db", real_connect(*args, **kwargs))

            def __getattr__(self, name):
                return getattr(self.db, name)

            def __setattr__(self, name, value) -> None:
                setattr(self.db, name, value)

            def __enter__(self):
                self.db.__enter__()
                return self

            def __exit__(self, *exc):
                return self.db.__exit__(*exc)

            def _check(self, sql: str) -> None:
                if disk.full and WRITES.match(sql):
                    error = sqlite3.OperationalError("database or disk is full")
                    error.sqlite_errorcode, error.sqlite_errorname = 13, "SQLITE_FULL"
                    raise error

            def execute(self, sql, *args):
                self._check(sql)
                return self.db.execute(sql, *args)

            def executemany(self, sql, *args):
                self._check(sql)
                return self.db.executemany(sql, *args)

            def executescript(self, script):
                self._check(script)
                return self.db.executescript(script)

        def fsync(fd):
            if disk.full and not disk.files_fit:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_fsync(fd)

        def refuse(real):
            def write(path, data, *args, **kwargs):
                if disk.full and not disk.files_fit and data:  # an empty file needs no space
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                return real(path, data, *args, **kwargs)
            return write

        monkeypatch.setattr(sqlite3, "connect", Connection)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(Path, "write_text", refuse(real_write_text))
        monkeypatch.setattr(Path, "write_bytes", refuse(real_write_bytes))


@pytest.fixture
def disk(monkeypatch):
    return FullDisk(monkeypatch)


def filling_plugin(disk, after_epoch: int) -> types.ModuleType:
    """A plugin whose callback fills the disk once ``after_epoch`` is saved, as another program might."""
    module = types.ModuleType("filler")

    class Fill(Callback):
        def on_epoch_end(self, state, record) -> None:
            if record.epoch == after_epoch:
                disk.full = True

    @hookimpl
    def dlstudio_register_callbacks(register):
        register(CallbackSpec(id="filler.fill", title="Fill the disk", create=lambda ctx: Fill(), always=True))

    module.dlstudio_register_callbacks = dlstudio_register_callbacks
    return module


def train_until_full(studio, disk, after_epoch: int = 2) -> tuple[str, DiskFullError]:
    """A demo run whose disk fills once epoch ``after_epoch`` is recorded; its id and the error it ended with."""
    run = Run(studio, demo_spec(studio, f"train.epochs={EPOCHS}"))
    with pytest.raises(DiskFullError) as raised:
        for record in run.records():
            if isinstance(record, EpochEnd) and record.epoch == after_epoch:
                disk.full = True
    return run.run_id, raised.value


@pytest.fixture
def reference_best(tmp_path):
    """The best value of the same run trained without a stop, in a data folder of its own."""
    def best():
        from dlstudio.studio import Studio

        studio = Studio.open(tmp_path / "reference", [module_candidate("demo", demo_plugin)])
        records = drive(Run(studio, demo_spec(studio, f"train.epochs={EPOCHS}")))
        return ended(records).best_value
    return best


# -- a run on a disk that fills up ---------------------------------------------------------------------


def test_a_disk_filling_during_a_run_stops_it_interrupted_and_it_resumes_to_the_same_result(
        demo_studio, disk, reference_best):
    run_id, error = train_until_full(demo_studio, disk)

    message = str(error)
    assert message.startswith("the disk is full at ") and str(demo_studio.home) in message
    assert f"dlstudio train --resume {run_id}" in message
    # While the disk stays full: the store reads, the run reads as interrupted (its status could not be
    # written), and the checkpoint of the last epoch saved before the disk filled is whole.
    info = runs.get_run(demo_studio, run_id)
    assert info.status == "interrupted" and info.resumable and "disk is full" in info.message
    assert [r.id for r in runs.list_runs(demo_studio)] == [run_id]
    assert info.epochs_done == 2 and runs.artifacts(demo_studio, run_id)["last"].epoch == 2
    assert runs.load_model(demo_studio, run_id, "last").epoch == 2

    disk.full = False
    records = drive(Run.resume(demo_studio, run_id))
    assert ended(records).status == "completed"
    assert ended(records).best_value == reference_best()
    assert [e["epoch"] for e in runs.read_metrics(demo_studio, run_id)] == list(range(1, EPOCHS + 1))
    assert runs.get_run(demo_studio, run_id).status == "completed"


def test_a_full_disk_when_the_run_store_is_written_first_also_ends_interrupted(demo_studio, disk):
    # Only the store refuses (the checkpoint still fits): the epoch's record is what fails.
    disk.files_fit = True
    run = Run(demo_studio, demo_spec(demo_studio, f"train.epochs={EPOCHS}"))
    with pytest.raises(DiskFullError, match="the disk is full at"):
        for record in run.records():
            if isinstance(record, EpochEnd) and record.epoch == 1:
                disk.full = True
    assert runs.get_run(demo_studio, run.run_id).status == "interrupted"


def test_the_cli_says_the_disk_is_full_in_one_line_and_runs_still_lists(disk, monkeypatch, capsys):
    candidates = [module_candidate("demo", demo_plugin), module_candidate("filler", filling_plugin(disk, 2))]
    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: candidates)

    code = main(["train", "--recipe", "demo-blobs", "--set", "data.params.samples=80", "--set",
                 "train.batch_size=16", "--set", f"train.epochs={EPOCHS}"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines()[-1].startswith("dlstudio: the disk is full at ") and "Traceback" not in err + out
    run_id = re.search(r"--resume (\S+)", err).group(1)

    assert main(["runs"]) == 0  # while the disk is still full
    listing = capsys.readouterr().out
    assert run_id in listing and "interrupted" in listing

    assert main(["train", "--resume", run_id]) == 2  # still full: said, not a traceback
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("dlstudio: the disk is full at ") and "Traceback" not in err

    disk.full = False
    monkeypatch.setattr("dlstudio.studio.entry_point_candidates", lambda: candidates[:1])
    assert main(["train", "--resume", run_id]) == 0
    assert "completed" in capsys.readouterr().out


def test_a_store_on_a_full_disk_opens_and_reads_without_writing(demo_studio, disk):
    run_id = drive_finished(demo_studio)
    disk.full = True
    store = RunStore(demo_studio.home)
    assert [r.id for r in store.list_runs()] == [run_id]
    assert store.get(run_id).status == "completed" and store.metrics(run_id) and store.artifacts(run_id)


def test_a_run_whose_process_died_reads_as_interrupted_even_when_that_cannot_be_written(demo_studio, disk):
    run_id = drive_finished(demo_studio)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    demo_studio.store._update(run_id, status="running", pid=int(dead.stdout))
    disk.full = True

    row = RunStore(demo_studio.home).get(run_id)
    assert row.status == "interrupted"

    disk.full = False
    RunStore(demo_studio.home)  # the next open that can write stores it
    with sqlite3.connect(demo_studio.home / "runs.sqlite") as db:
        assert db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0] == "interrupted"


def test_a_status_this_process_could_not_write_is_stored_once_there_is_space(demo_studio, disk):
    run_id, _ = train_until_full(demo_studio, disk)
    with sqlite3.connect(demo_studio.home / "runs.sqlite") as db:
        assert db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0] == "running"
    disk.full = False
    runs.list_runs(demo_studio)
    with sqlite3.connect(demo_studio.home / "runs.sqlite") as db:
        assert db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0] == "interrupted"


def test_a_checkpoint_that_does_not_fit_leaves_the_previous_one_whole(tmp_path, disk):
    stem = tmp_path / "ckpt" / "last"
    save_checkpoint(stem, {"w": torch.ones(3)}, {"epoch": 1})
    before = {p.name: p.read_bytes() for p in stem.parent.iterdir()}

    disk.full = True
    with pytest.raises(DiskFullError, match=f"the disk is full at {re.escape(str(stem.parent))}"):
        save_checkpoint(stem, {"w": torch.zeros(3)}, {"epoch": 2})
    assert {p.name: p.read_bytes() for p in stem.parent.iterdir()} == before  # no temporary file left
    state, meta = load_checkpoint(stem.with_suffix(".safetensors"))
    assert torch.equal(state["w"], torch.ones(3)) and meta["epoch"] == 1


def drive_finished(studio) -> str:
    run = Run(studio, demo_spec(studio))
    drive(run)
    return run.run_id


# -- the window ----------------------------------------------------------------------------------------


def test_the_run_worker_reports_a_full_disk_as_a_message_not_a_traceback(qtbot, demo_studio, disk):
    from dlstudio.engine import RunControl
    from dlstudio.gui.run_worker import RunWorker

    disk.full = True
    worker = RunWorker(demo_studio, demo_spec(demo_studio), None, RunControl())
    failures = []
    worker.failed.connect(lambda message, trace: failures.append((message, trace)))
    worker.run()  # on this thread: what it emits is what the window is given
    assert len(failures) == 1
    message, trace = failures[0]
    assert message.startswith("the disk is full at ") and trace == ""


# -- a real full disk (a small tmpfs, where the test may mount one) -------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("a tmpfs needs Linux")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("this user cannot mount a tmpfs (the simulated full disk is tested above)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    try:  # the last few blocks
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    os.close(fd)
    return filler


def test_a_real_full_disk(tmpfs, reference_best):
    from dlstudio.studio import Studio

    home = tmpfs / "home"
    studio = Studio.open(home, [module_candidate("demo", demo_plugin)])
    run = Run(studio, demo_spec(studio, f"train.epochs={EPOCHS}"))
    filler = None
    with pytest.raises(DiskFullError, match="the disk is full at"):
        for record in run.records():
            if isinstance(record, EpochEnd) and record.epoch == 2:
                filler = fill(tmpfs)

    reopened = RunStore(home)  # as another window or command would, while the disk is full
    assert reopened.get(run.run_id).epochs_done == 2
    assert runs.get_run(studio, run.run_id).status == "interrupted"
    state, meta = load_checkpoint(runs.artifacts(studio, run.run_id)["last"].path)
    assert meta["epoch"] == 2 and state
    filler.unlink()

    # A store an older dlstudio left in WAL mode is read too while the disk is full.
    with contextlib.closing(sqlite3.connect(home / "runs.sqlite")) as db:
        db.execute("PRAGMA journal_mode=WAL")
    filler = fill(tmpfs)
    legacy = RunStore(home)
    assert legacy.get(run.run_id).epochs_done == 2 and legacy.get(run.run_id).status == "interrupted"
    filler.unlink()

    RunStore(home)  # the next open, with space, leaves WAL
    records = drive(Run.resume(studio, run.run_id))
    assert ended(records).status == "completed" and ended(records).best_value == reference_best()
    with contextlib.closing(sqlite3.connect(home / "runs.sqlite")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # left WAL once it could
