"""Helpers shared by the runner's test modules."""

from __future__ import annotations

from dlstudio.engine import EpochEnd, FitEnded
from dlstudio.runner import Run

TINY = ["data.params.samples=80", "train.batch_size=16", "train.epochs=2"]


def demo_spec(studio, *overrides):
    return studio.recipe_spec("demo-blobs", [*TINY, *overrides])


def drive(run: Run) -> list:
    return list(run.records())


def ended(records) -> FitEnded:
    assert isinstance(records[-1], FitEnded), records[-1]
    return records[-1]


def metrics_by_epoch(studio, run_id) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for name, values in studio.store.metrics(run_id).items():
        for epoch, value in values:
            out.setdefault(epoch, {})[name] = value
    return out


def finished_run(studio, *overrides: str) -> str:
    """A tiny demo run trained to its end on this thread; its id."""
    run = Run(studio, demo_spec(studio, *overrides))
    drive(run)
    return run.run_id


def interrupted_run(studio, *overrides: str, after_epoch: int = 1) -> str:
    """A demo run whose consumer went away after ``after_epoch`` (as if the app had been killed)."""
    run = Run(studio, demo_spec(studio, *overrides))
    records = run.records()
    for record in records:
        if isinstance(record, EpochEnd) and record.epoch == after_epoch:
            break
    records.close()
    return run.run_id
