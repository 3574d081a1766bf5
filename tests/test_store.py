"""The run store: SQLite in WAL mode plus a folder per run; runs of dead processes read as interrupted."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from dlstudio.store import RunStore


def new_run(store: RunStore, name: str = "r", epochs: int = 3) -> str:
    return store.create_run(name=name, plugin="demo", task="classification", model="demo.mlp", dataset="demo.blobs",
                            params={"lr": 0.1}, spec='[model]\nid = "demo.mlp"\n', device="cpu", epochs=epochs,
                            monitor="valid_accuracy")


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # reaped: the pid no longer exists
    return process.pid


def set_owner(store: RunStore, run_id: str, pid: int | None, host: str | None = None) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET pid = ?, host = COALESCE(?, host) WHERE id = ?", (pid, host, run_id))


def rows(store: RunStore, table: str, run_id: str) -> int:
    with sqlite3.connect(store.path) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (run_id,)).fetchone()[0]


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "home")


def test_the_database_keeps_a_rollback_journal(store):
    """Not WAL: a WAL store must create and write its shared-memory file before the first read, so a full disk
    would make it unreadable (tests/faults/test_disk_full.py)."""
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_new_run_has_a_row_and_a_folder(store):
    run_id = new_run(store, "first")
    row = store.get(run_id)
    assert (row.name, row.plugin, row.model, row.dataset, row.params) == ("first", "demo", "demo.mlp", "demo.blobs",
                                                                          {"lr": 0.1})
    assert (row.status, row.epochs, row.epochs_done, row.monitor, row.pid) == ("created", 3, 0, "valid_accuracy",
                                                                               os.getpid())
    assert row.best_value is None and row.ended is None and not row.resumable
    assert (store.run_dir(run_id) / "spec.toml").read_text() == '[model]\nid = "demo.mlp"\n'


def test_runs_are_listed_newest_first(store):
    ids = [new_run(store, f"r{i}") for i in range(3)]
    assert [r.id for r in store.list_runs()] == ids[::-1]
    assert len(set(ids)) == 3


def test_an_unknown_run_is_a_key_error_naming_it(store):
    with pytest.raises(KeyError, match="no run 'nope' in the run store"):
        store.get("nope")


def test_epochs_metrics_and_best_values(store):
    run_id = new_run(store)
    store.record_epoch(run_id, 1, {"train_loss": 1.0, "valid_accuracy": 0.5}, best_epoch=1, best_value=0.5)
    store.record_epoch(run_id, 2, {"train_loss": 0.5, "valid_accuracy": 0.4}, best_epoch=1, best_value=0.5)
    store.record_epoch(run_id, 2, {"train_loss": 0.25, "valid_accuracy": 0.75}, best_epoch=2, best_value=0.75)
    assert store.metrics(run_id) == {"train_loss": [(1, 1.0), (2, 0.25)], "valid_accuracy": [(1, 0.5), (2, 0.75)]}
    row = store.get(run_id)
    assert (row.epochs_done, row.best_epoch, row.best_value) == (2, 2, 0.75)
    store.truncate_metrics(run_id, 1)
    assert store.metrics(run_id) == {"train_loss": [(1, 1.0)], "valid_accuracy": [(1, 0.5)]}


def test_status_duration_and_artifacts(store):
    run_id = new_run(store)
    store.mark_running(run_id, "cuda:0")
    row = store.get(run_id)
    assert (row.status, row.device, row.ended) == ("running", "cuda:0", None)
    store.add_duration(run_id, 1.5)
    store.add_duration(run_id, 2.0)
    store.add_artifact(run_id, "last", store.run_dir(run_id) / "last.safetensors", 1)
    store.add_artifact(run_id, "last", store.run_dir(run_id) / "last.safetensors", 2)
    assert store.artifacts(run_id) == {"last": (store.run_dir(run_id) / "last.safetensors", 2)}
    store.set_status(run_id, "failed", "boom")
    row = store.get(run_id)
    assert (row.status, row.message, row.duration) == ("failed", "boom", 3.5)
    assert row.ended is not None and row.resumable
    store.mark_running(run_id, "cpu")
    assert store.get(run_id).ended is None and store.get(run_id).message == ""


def test_delete_removes_the_row_its_metrics_and_its_files(store):
    keep, gone = new_run(store, "keep"), new_run(store, "gone")
    for run_id in (keep, gone):
        store.record_epoch(run_id, 1, {"loss": 1.0}, best_epoch=1, best_value=1.0)
        store.add_artifact(run_id, "last", store.run_dir(run_id) / "x", 1)
        (store.run_dir(run_id) / "checkpoints").mkdir()
        (store.run_dir(run_id) / "checkpoints" / "last.safetensors").write_bytes(b"x")
        store.set_status(run_id, "completed")
    store.delete(gone)
    assert [r.id for r in store.list_runs()] == [keep]
    assert not store.run_dir(gone).exists()
    assert rows(store, "metrics", gone) == 0 and rows(store, "artifacts", gone) == 0
    assert rows(store, "metrics", keep) == 1 and store.run_dir(keep).exists()


def test_a_run_in_progress_cannot_be_deleted(store):
    run_id = new_run(store)
    store.mark_running(run_id, "cpu")
    with pytest.raises(RuntimeError, match="still in progress; cancel it before deleting it"):
        store.delete(run_id)
    assert store.run_dir(run_id).exists()


def test_a_run_left_running_by_a_dead_process_reads_as_interrupted(store):
    dead, alive, elsewhere, unknown, done = (new_run(store, n) for n in ("dead", "alive", "elsewhere", "?", "done"))
    for run_id in (dead, alive, elsewhere, unknown):
        store.mark_running(run_id, "cpu")
    store.set_status(done, "completed")
    store.record_epoch(dead, 1, {"loss": 1.0}, best_epoch=1, best_value=1.0)
    set_owner(store, dead, dead_pid())
    set_owner(store, alive, os.getppid())  # a living process of this machine
    set_owner(store, elsewhere, dead_pid(), host="another-machine")  # cannot be checked: assume alive
    set_owner(store, unknown, None)

    reopened = RunStore(store.home)
    status = {r.name: r.status for r in reopened.list_runs()}
    assert status == {"dead": "interrupted", "alive": "running", "elsewhere": "running", "?": "interrupted",
                      "done": "completed"}
    row = reopened.get(dead)
    assert row.message == "the process running it ended without finishing; resume from the last checkpoint"
    assert row.resumable and row.epochs_done == 1
    reopened.delete(dead)  # no longer in progress: can be deleted


def test_the_store_is_shared_between_threads(store):
    run_id = new_run(store, epochs=40)
    errors = []

    def writer():
        try:
            for epoch in range(1, 41):
                store.record_epoch(run_id, epoch, {"loss": 1 / epoch}, best_epoch=epoch, best_value=1 / epoch)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        store.list_runs()
        store.metrics(run_id)
    thread.join()
    assert errors == []
    assert len(store.metrics(run_id)["loss"]) == 40 and store.get(run_id).epochs_done == 40


def test_a_run_id_that_is_taken_is_never_reused(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    tokens = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr("dlstudio.store.secrets.token_hex", lambda _n: next(tokens))
    monkeypatch.setattr("dlstudio.store.time.strftime", lambda _fmt: "20260101-000000-")
    first = store.create_run(name="a", plugin="p", task="t", model="m", dataset="d", params={}, spec="",
                             device="cpu", epochs=1, monitor="m")
    second = store.create_run(name="b", plugin="p", task="t", model="m", dataset="d", params={}, spec="",
                              device="cpu", epochs=1, monitor="m")
    assert (first, second) == ("20260101-000000-aaaaaa", "20260101-000000-bbbbbb")
    assert store.get(first).name == "a" and store.get(second).name == "b"
