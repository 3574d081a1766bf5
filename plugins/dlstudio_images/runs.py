"""Reading finished runs back from the store: what k-fold and ensemble tables show for each run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunResult:
    run_id: str
    label: str
    status: str
    best_accuracy: float | None
    best_epoch: int | None
    final_accuracy: float | None
    epochs: int
    seconds: float
    #: Mean seconds per epoch.
    epoch_seconds: float
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


def run_result(store: Any, run_id: str, label: str = "") -> RunResult:
    row = store.get(run_id)
    curves = store.metrics(run_id)
    acc = curves.get("valid_accuracy", [])
    best = max(acc, key=lambda p: p[1]) if acc else None
    epochs = row.epochs_done
    return RunResult(run_id=run_id, label=label or row.name, status=row.status,
                     best_accuracy=best[1] if best else None, best_epoch=best[0] if best else None,
                     final_accuracy=acc[-1][1] if acc else None, epochs=epochs, seconds=row.duration,
                     epoch_seconds=row.duration / epochs if epochs else 0.0, curves=curves)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and (population) standard deviation."""
    import numpy as np

    if not values:
        return float("nan"), float("nan")
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std())
