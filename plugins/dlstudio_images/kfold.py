"""k-fold cross-validation (chapter 4): k runs of the same spec, each holding out another fold, and the table
of their results with mean ± standard deviation. The panel queues the runs; headless code can run them too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlstudio.spec import RunSpec
from dlstudio_images.runs import RunResult, mean_std, run_result

if TYPE_CHECKING:
    from dlstudio.studio import Studio


def fold_specs(spec: RunSpec, k: int) -> list[RunSpec]:
    """``k`` copies of ``spec``, copy ``i`` holding out fold ``i`` (stratified, seeded by the run's seed)."""
    if k < 2:
        raise ValueError(f"k-fold cross-validation needs k of at least 2, got {k}")
    specs = []
    for i in range(k):
        raw = spec.to_dict()
        raw["data"].setdefault("params", {}).update(folds=k, fold=i)
        raw["run"]["name"] = f"{spec.run.name or spec.model.id} — fold {i + 1}/{k}"
        specs.append(RunSpec.from_dict(raw, source=f"fold {i + 1} of {k}"))
    return specs


@dataclass
class FoldSummary:
    folds: list[RunResult]
    mean: float
    std: float

    def text(self) -> str:
        return f"{self.mean:.2%} ± {self.std:.2%} over {len(self.folds)} folds"


def summarize(studio: Studio, run_ids: list[str]) -> FoldSummary:
    """Per-fold best validation accuracy, and their mean ± std."""
    folds = [run_result(studio, rid, f"fold {i + 1}") for i, rid in enumerate(run_ids)]
    mean, std = mean_std([f.best_accuracy for f in folds if f.best_accuracy is not None])
    return FoldSummary(folds, mean, std)
