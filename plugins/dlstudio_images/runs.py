"""Reading finished runs back through the runs API: what k-fold and ensemble tables show for each run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dlstudio.runs import get_run, read_metrics

if TYPE_CHECKING:
    from dlstudio.studio import Studio


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


def run_result(studio: Studio, run_id: str, label: str = "") -> RunResult:
    info = get_run(studio, run_id)
    curves: dict[str, list[tuple[int, float]]] = {}
    for metrics in read_metrics(studio, run_id):
        for name, value in metrics.items():
            if name != "epoch":
                curves.setdefault(name, []).append((metrics["epoch"], value))
    acc = curves.get("valid_accuracy", [])
    best = max(acc, key=lambda p: p[1]) if acc else None
    epochs = info.epochs_done
    return RunResult(run_id=run_id, label=label or info.name, status=info.status,
                     best_accuracy=best[1] if best else None, best_epoch=best[0] if best else None,
                     final_accuracy=acc[-1][1] if acc else None, epochs=epochs, seconds=info.duration,
                     epoch_seconds=info.duration / epochs if epochs else 0.0, curves=curves)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and (population) standard deviation."""
    import numpy as np

    if not values:
        return float("nan"), float("nan")
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std())
