"""Sweeps in the run store: which runs are which sweep's trials, with their parameters and results.

A table of its own beside the runs (created on first use, so stores of an older dlstudio stay readable and
unchanged until a sweep runs); a trial row goes when its run is deleted. The Sweeps view and ``dlstudio
sweep`` read sweeps from here, so they need no Optuna storage to show one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from dlstudio.store import RunStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep_trials (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    sweep TEXT NOT NULL,
    number INTEGER NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    metric TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL DEFAULT '',
    value REAL,
    state TEXT NOT NULL DEFAULT 'running',
    created REAL NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE INDEX IF NOT EXISTS sweep_trials_by_sweep ON sweep_trials (sweep, number);
"""

#: A trial's states, as Optuna names them (lower case).
STATES = ("running", "complete", "pruned", "fail")


@dataclass
class SweepTrial:
    run_id: str
    sweep: str
    number: int
    params: dict[str, Any]
    metric: str
    direction: str
    value: float | None
    state: str
    #: The run's own status in the store (a trial still "running" whose process died reads "interrupted").
    run_status: str = ""


class SweepTable:
    """The store's sweep trials."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def _exists(self) -> bool:
        rows = self.store._query("SELECT name FROM sqlite_master WHERE type='table' AND name='sweep_trials'")
        return bool(rows)

    def add_trial(self, run_id: str, sweep: str, number: int, params: dict[str, Any], metric: str,
                  direction: str) -> None:
        with self.store._connect() as db:
            db.executescript(SCHEMA)
            db.execute("INSERT OR REPLACE INTO sweep_trials (run_id, sweep, number, params, metric, direction) "
                       "VALUES (?,?,?,?,?,?)", (run_id, sweep, number, json.dumps(params), metric, direction))

    def set_result(self, run_id: str, state: str, value: float | None) -> None:
        if state not in STATES:
            raise ValueError(f"a trial's state is one of {', '.join(STATES)}, not {state!r}")
        if value is not None and not math.isfinite(value):
            value = None
        with self.store._connect() as db:
            db.execute("UPDATE sweep_trials SET state = ?, value = ? WHERE run_id = ?", (state, value, run_id))

    def sweeps(self) -> list[str]:
        """The sweeps' names, the most recent first."""
        if not self._exists():
            return []
        rows = self.store._query("SELECT sweep, MAX(created) AS last FROM sweep_trials GROUP BY sweep "
                                 "ORDER BY last DESC, sweep")
        return [r["sweep"] for r in rows]

    def trials(self, sweep: str) -> list[SweepTrial]:
        """The trials of ``sweep`` in this store, by number."""
        if not self._exists():
            return []
        rows = self.store._query("SELECT t.*, r.status AS run_status FROM sweep_trials t JOIN runs r ON r.id = "
                                 "t.run_id WHERE t.sweep = ? ORDER BY t.number", (sweep,))
        out = []
        for r in rows:
            trial = SweepTrial(r["run_id"], r["sweep"], r["number"], json.loads(r["params"]), r["metric"],
                               r["direction"], r["value"], r["state"], r["run_status"])
            if trial.state == "running":  # its process is gone: the store says how the run really ended
                status = self.store.get(trial.run_id).status
                trial.run_status = status
                if status not in ("created", "running", "paused"):
                    trial.state = "fail"
            out.append(trial)
        return out


def best_trial(trials: list[SweepTrial]) -> SweepTrial | None:
    """The completed trial with the best value in its sweep's direction (None: none completed)."""
    done = [t for t in trials if t.state == "complete" and t.value is not None]
    if not done:
        return None
    pick = max if done[0].direction == "max" else min
    return pick(done, key=lambda t: t.value)
