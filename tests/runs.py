"""Helpers shared by the runner's test modules."""

from __future__ import annotations

from dlstudio.engine import FitEnded
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
