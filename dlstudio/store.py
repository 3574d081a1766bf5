"""The run store: every run's description, per-epoch metrics and files, in SQLite + a folder per run.

A connection is opened per operation, so the GUI thread and a training thread can both use the store.
A run left "running" by a process that no longer exists (killed mid-epoch) reads as "interrupted".

Reading writes nothing, so the store stays readable on a full disk: the database keeps a rollback journal
(WAL would need its shared-memory file created and written before the first read), and opening it writes
only what is missing. A write that finds the disk full raises :class:`~dlstudio.errors.DiskFullError`;
a run's end that could not be written is remembered by this process and read as such until it can be.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.errors import DiskFullError, as_disk_full

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    plugin TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    dataset TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{}',
    spec TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'created',
    message TEXT NOT NULL DEFAULT '',
    monitor TEXT NOT NULL DEFAULT '',
    best_value REAL,
    best_epoch INTEGER,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    ended REAL,
    duration REAL NOT NULL DEFAULT 0,
    pid INTEGER,
    host TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, epoch, name)
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    epoch INTEGER,
    PRIMARY KEY (run_id, kind)
);
"""

ACTIVE = ("created", "running", "paused")
#: "pruned": a sweep's trial its pruner stopped early (dlstudio.sweep).
FINISHED = ("completed", "stopped", "cancelled", "failed", "interrupted", "pruned")
TABLES = frozenset({"runs", "metrics", "artifacts"})
STALE_MESSAGE = "the process running it ended without finishing; resume from the last checkpoint"

#: Runs' ends this process could not write (the disk was full), by (database, run id): (status, message,
#: ended). Reads show them instead of the stored "running"; the next write that succeeds stores them.
_UNRECORDED: dict[tuple[Path, str], tuple[str, str, float | None]] = {}


@dataclass
class RunRow:
    id: str
    name: str
    plugin: str
    task: str
    model: str
    dataset: str
    params: dict[str, Any]
    spec: str
    device: str
    status: str
    message: str
    monitor: str
    best_value: float | None
    best_epoch: int | None
    epochs_done: int
    epochs: int
    created: float
    ended: float | None
    duration: float
    pid: int | None = None
    host: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resumable(self) -> bool:
        return self.status in ("interrupted", "cancelled", "failed") and self.epochs_done < self.epochs


class RunStore:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.runs_dir = self.home / "runs"
        self.path = self.home / "runs.sqlite"
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise as_disk_full(exc, self.home, "the run store") or exc from None
        self._create_schema()
        self._mark_interrupted()

    def _create_schema(self) -> None:
        """Create the tables if they are missing, and leave WAL for a rollback journal (a store of an older
        dlstudio). Writes nothing when there is nothing to do, so a store on a full disk opens."""
        rows = self._query("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {r["name"] for r in rows}
        mode = self._query("PRAGMA journal_mode")[0][0]
        if tables >= TABLES and mode != "wal":
            return
        try:
            with self._connect() as db:
                if mode == "wal":  # not in a transaction: a journal mode cannot change inside one
                    db.execute("PRAGMA journal_mode=DELETE")
                db.executescript(SCHEMA)
        except DiskFullError:
            if not tables >= TABLES:
                raise  # a new store: nothing to read either
        except sqlite3.OperationalError:
            if mode != "wal" or not tables >= TABLES:
                raise  # (another process holding the store keeps it in WAL for now: it still works)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection, committed and closed at the end; a full disk raises :class:`DiskFullError`."""
        try:
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA foreign_keys=ON")
                with db:
                    yield db
            finally:
                db.close()
        except sqlite3.Error as exc:
            full = as_disk_full(exc, self.home, "the run store")
            if full is None:
                raise
            raise full from None

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """The rows of one read. On a full disk a store still in WAL mode cannot be opened the usual way (its
        shared-memory file cannot be made): it is then read from its main file alone, read-only."""
        try:
            with self._connect() as db:
                return db.execute(sql, params).fetchall()
        except DiskFullError:
            if not self.path.exists():
                raise
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?immutable=1", uri=True)
        try:
            db.row_factory = sqlite3.Row
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    # -- runs --------------------------------------------------------------------------------------
    def _new_run_folder(self) -> str:
        """A fresh id (sortable by time, readable) whose folder this call created."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        while True:
            run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
            try:
                self.run_dir(run_id).mkdir()  # atomic: two runs can never claim one folder
                return run_id
            except FileExistsError:
                continue

    def create_run(self, *, name: str, plugin: str, task: str, model: str, dataset: str,
                   params: Mapping[str, Any], spec: str, device: str, epochs: int, monitor: str) -> str:
        self._store_unrecorded()
        try:
            run_id = self._new_run_folder()
        except OSError as exc:
            raise as_disk_full(exc, self.runs_dir, "a new run's folder") or exc from None
        try:
            (self.run_dir(run_id) / "spec.toml").write_text(spec, encoding="utf-8")
            with self._connect() as db:
                db.execute(
                    "INSERT INTO runs (id, name, plugin, task, model, dataset, params, spec, device, status, "
                    "epochs, monitor, created, pid, host) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, name, plugin, task, model, dataset, json.dumps(dict(params)), spec, device,
                     "created", epochs, monitor, time.time(), os.getpid(), os.uname().nodename),
                )
        except OSError as exc:  # DiskFullError too: no half-made run is left behind
            shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
            raise as_disk_full(exc, self.run_dir(run_id), "a new run") or exc from None
        return run_id

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def mark_running(self, run_id: str, device: str) -> None:
        self._update(run_id, status="running", pid=os.getpid(), host=os.uname().nodename, device=device,
                     message="", ended=None)

    def set_status(self, run_id: str, status: str, message: str = "") -> None:
        """Record how the run stands; a run's end that cannot be written (a full disk) is still read as
        such in this process (another sees the run's process gone: "interrupted"), and stored later."""
        ended = time.time() if status in FINISHED else None
        try:
            self._update(run_id, status=status, message=message, ended=ended)
        except DiskFullError:
            if status in FINISHED:
                _UNRECORDED[(self.path, run_id)] = (status, message, ended)
            raise

    def add_duration(self, run_id: str, seconds: float) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET duration = duration + ? WHERE id = ?", (seconds, run_id))

    def record_epoch(self, run_id: str, epoch: int, metrics: Mapping[str, float], *,
                     best_epoch: int | None, best_value: float | None) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, epoch, name, value) VALUES (?,?,?,?)",
                [(run_id, epoch, k, float(v)) for k, v in metrics.items()],
            )
            db.execute("UPDATE runs SET epochs_done = ?, best_epoch = ?, best_value = ? WHERE id = ?",
                       (epoch, best_epoch, best_value, run_id))

    def add_artifact(self, run_id: str, kind: str, path: Path, epoch: int | None = None) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO artifacts (run_id, kind, path, epoch) VALUES (?,?,?,?)",
                       (run_id, kind, str(path), epoch))

    def artifacts(self, run_id: str) -> dict[str, tuple[Path, int | None]]:
        rows = self._query("SELECT kind, path, epoch FROM artifacts WHERE run_id = ?", (run_id,))
        return {r["kind"]: (Path(r["path"]), r["epoch"]) for r in rows}

    def get(self, run_id: str) -> RunRow:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise KeyError(f"no run {run_id!r} in the run store ({self.path})")
        return self._row(rows[0])

    def list_runs(self) -> list[RunRow]:
        self._store_unrecorded()
        return [self._row(r) for r in self._query("SELECT * FROM runs ORDER BY created DESC")]

    def metrics(self, run_id: str) -> dict[str, list[tuple[int, float]]]:
        """``{"valid_accuracy": [(epoch, value), ...], ...}``"""
        rows = self._query("SELECT epoch, name, value FROM metrics WHERE run_id = ? ORDER BY epoch", (run_id,))
        out: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            out.setdefault(r["name"], []).append((r["epoch"], r["value"]))
        return out

    def truncate_metrics(self, run_id: str, after_epoch: int) -> None:
        """Forget epochs after ``after_epoch`` (they are re-run when resuming from that checkpoint)."""
        with self._connect() as db:
            db.execute("DELETE FROM metrics WHERE run_id = ? AND epoch > ?", (run_id, after_epoch))

    def delete(self, run_id: str) -> None:
        """Delete a run and its files. A run in progress in a living process is refused."""
        row = self.get(run_id)
        if row.status in ACTIVE and _alive(row.pid, row.host):
            raise RuntimeError(f"run {run_id} is still in progress; cancel it before deleting it")
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    # -- internals ---------------------------------------------------------------------------------
    def replace_spec(self, run_id: str, spec_toml: str, *, epochs: int, params: Mapping[str, Any],
                     name: str | None = None) -> None:
        """Say what a resumed run now is (a longer run, another device...): its row and its spec.toml."""
        values: dict[str, Any] = {"spec": spec_toml, "epochs": int(epochs), "params": json.dumps(dict(params))}
        if name:
            values["name"] = name
        self._update(run_id, **values)
        (self.run_dir(run_id) / "spec.toml").write_text(spec_toml, encoding="utf-8")

    def _update(self, run_id: str, **values: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._connect() as db:
            db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*values.values(), run_id))
        if "status" in values:
            _UNRECORDED.pop((self.path, run_id), None)

    def _row(self, r: sqlite3.Row) -> RunRow:
        """A stored row as it really stands: a run's end this process could not write, or a run whose
        process is gone, instead of the "running" on disk."""
        row = _row(r)
        if row.status in ACTIVE:
            if (self.path, row.id) in _UNRECORDED:
                row.status, row.message, row.ended = _UNRECORDED[(self.path, row.id)]
            elif not _alive(row.pid, row.host):
                row.status, row.message = "interrupted", STALE_MESSAGE
        return row

    def _store_unrecorded(self) -> None:
        """Write the runs' ends this process could not (best effort: the disk may still be full)."""
        for (path, run_id), (status, message, ended) in list(_UNRECORDED.items()):
            if path == self.path:
                try:
                    self._update(run_id, status=status, message=message, ended=ended)
                except DiskFullError:
                    return

    def _mark_interrupted(self) -> None:
        """Store "interrupted" for runs whose process is gone (reads say so already: this keeps it when the
        process id is reused); skipped while the disk is full."""
        self._store_unrecorded()
        active = ",".join("?" * len(ACTIVE))
        rows = self._query(f"SELECT id, pid, host FROM runs WHERE status IN ({active})", ACTIVE)
        stale = [r["id"] for r in rows if not _alive(r["pid"], r["host"]) and (self.path, r["id"]) not in _UNRECORDED]
        if not stale:
            return
        try:
            with self._connect() as db:
                db.executemany("UPDATE runs SET status='interrupted', message=? WHERE id=?",
                               [(STALE_MESSAGE, run_id) for run_id in stale])
        except DiskFullError:
            pass


def _alive(pid: int | None, host: str) -> bool:
    if pid is None or host != os.uname().nodename:
        return host != os.uname().nodename and pid is not None  # another machine's run: assume alive
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _row(r: sqlite3.Row) -> RunRow:
    data = dict(r)
    data["params"] = json.loads(data["params"] or "{}")
    return RunRow(**data)
