"""k-fold cross-validation (chapter 4): k runs of the same spec, each holding out another fold, and the table
of their results with mean ± standard deviation. The panel queues the runs; headless code can run them too.

A fold's figure is its held-out accuracy at the last epoch. The held-out fold is the test set of that fold:
taking the best epoch on it (or stopping, scheduling or keeping weights by it) would select on the test data
and report an optimistic figure, so nothing is chosen by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlstudio.spec import RunSpec
from dlstudio_images.runs import RunResult, mean_std, run_result

if TYPE_CHECKING:
    from dlstudio.studio import Studio


def fold_specs(spec: RunSpec, k: int) -> list[RunSpec]:
    """``k`` copies of ``spec``, copy ``i`` holding out fold ``i`` (stratified, seeded by the run's seed).

    Each fold keeps its last epoch's weights (``keep_best`` off), the weights its reported figure describes.
    Early stopping and the plateau schedule watch the validation split, here the held-out fold: refused.
    """
    if k < 2:
        raise ValueError(f"k-fold cross-validation needs k of at least 2, got {k}")
    train = spec.train
    chosen_by_held_out = [what for what, asked in (
        ("early_stopping (stops at the epoch that is best on the held-out fold)", train.early_stopping > 0),
        ("scheduler = 'plateau' (lowers the LR when the held-out fold stops improving)", train.scheduler == "plateau"),
    ) if asked]
    if chosen_by_held_out:
        raise ValueError(f"k-fold cross-validation cannot use {' or '.join(chosen_by_held_out)}: the held-out fold "
                         "is that fold's test data, and choosing by it makes the result optimistic. Set "
                         "early_stopping to 0 and pick another scheduler, with a fixed number of epochs.")
    specs = []
    for i in range(k):
        raw = spec.to_dict()
        raw["data"].setdefault("params", {}).update(folds=k, fold=i)
        raw["train"]["keep_best"] = False
        raw["run"]["name"] = f"{spec.run.name or spec.model.id} — fold {i + 1}/{k}"
        specs.append(RunSpec.from_dict(raw, source=f"fold {i + 1} of {k}"))
    return specs


def held_out_accuracy(result: RunResult) -> float | None:
    """A fold's figure: its held-out accuracy at the last epoch, or None until it has run all its epochs
    (a stopped or failed fold ended early, and its last epoch is not the one the others report)."""
    return result.final_accuracy if result.status == "completed" else None


def last_epoch(result: RunResult) -> int | None:
    """The epoch :func:`held_out_accuracy` is taken at."""
    curve = result.curves.get("valid_accuracy", [])
    return curve[-1][0] if curve else None


@dataclass
class FoldSummary:
    folds: list[RunResult]
    #: Each fold's :func:`held_out_accuracy` (None for a fold that did not complete).
    held_out: list[float | None]
    mean: float
    std: float

    def text(self) -> str:
        counted = sum(a is not None for a in self.held_out)
        over = f"{counted} folds" if counted == len(self.folds) else f"{counted} of {len(self.folds)} folds"
        return f"held-out accuracy at the last epoch {self.mean:.2%} ± {self.std:.2%} over {over}"


def summarize(studio: Studio, run_ids: list[str]) -> FoldSummary:
    """Per-fold held-out accuracy at the last epoch, and their mean ± (population) std over completed folds."""
    folds = [run_result(studio, rid, f"fold {i + 1}") for i, rid in enumerate(run_ids)]
    held_out = [held_out_accuracy(f) for f in folds]
    mean, std = mean_std([a for a in held_out if a is not None])
    return FoldSummary(folds, held_out, mean, std)
