"""The run store: every run's description, per-epoch metrics and files, in SQLite (WAL) + a folder per run.

A connection is opened per operation, so the GUI thread and a training thread can both use the store.
A run left "running" by a process that no longer exists (killed mid-epoch) reads as "interrupted".
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
FINISHED = ("completed", "stopped", "cancelled", "failed", "interrupted")


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
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.home / "runs.sqlite"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        self._mark_interrupted()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:
                yield db
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
        run_id = self._new_run_folder()
        (self.run_dir(run_id) / "spec.toml").write_text(spec, encoding="utf-8")
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (id, name, plugin, task, model, dataset, params, spec, device, status, "
                "epochs, monitor, created, pid, host) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, name, plugin, task, model, dataset, json.dumps(dict(params)), spec, device,
                 "created", epochs, monitor, time.time(), os.getpid(), os.uname().nodename),
            )
        return run_id

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def mark_running(self, run_id: str, device: str) -> None:
        self._update(run_id, status="running", pid=os.getpid(), host=os.uname().nodename, device=device,
                     message="", ended=None)

    def set_status(self, run_id: str, status: str, message: str = "") -> None:
        self._update(run_id, status=status, message=message, ended=time.time() if status in FINISHED else None)

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
        with self._connect() as db:
            rows = db.execute("SELECT kind, path, epoch FROM artifacts WHERE run_id = ?", (run_id,)).fetchall()
        return {r["kind"]: (Path(r["path"]), r["epoch"]) for r in rows}

    def get(self, run_id: str) -> RunRow:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id!r} in the run store ({self.path})")
        return _row(row)

    def list_runs(self) -> list[RunRow]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created DESC").fetchall()
        return [_row(r) for r in rows]

    def metrics(self, run_id: str) -> dict[str, list[tuple[int, float]]]:
        """``{"valid_accuracy": [(epoch, value), ...], ...}``"""
        with self._connect() as db:
            rows = db.execute("SELECT epoch, name, value FROM metrics WHERE run_id = ? ORDER BY epoch",
                              (run_id,)).fetchall()
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
    def _update(self, run_id: str, **values: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._connect() as db:
            db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*values.values(), run_id))

    def _mark_interrupted(self) -> None:
        with self._connect() as db:
            rows = db.execute(
                f"SELECT id, pid, host FROM runs WHERE status IN ({','.join('?' * len(ACTIVE))})", ACTIVE
            ).fetchall()
            for r in rows:
                if not _alive(r["pid"], r["host"]):
                    db.execute(
                        "UPDATE runs SET status='interrupted', message=? WHERE id=?",
                        ("the process running it ended without finishing; resume from the last checkpoint",
                         r["id"]),
                    )


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
