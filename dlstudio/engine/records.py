"""Typed progress records yielded by :func:`dlstudio.engine.loop.fit`.

Records hold plain Python values only, so they can cross threads (Qt signals) and be written as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FitStarted:
    epochs: int
    start_epoch: int
    train_batches: int
    valid_batches: int
    kind: str = "fit_started"


@dataclass(frozen=True)
class BatchEnd:
    """Emitted at most every ``report_interval`` seconds (and at the last batch of a phase)."""

    epoch: int
    phase: str  # "train" or "valid"
    batch: int
    batches: int
    #: Running mean loss of the phase so far.
    loss: float
    kind: str = "batch_end"


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    #: e.g. {"train_loss": .., "train_accuracy": .., "valid_loss": .., "valid_accuracy": .., "lr": ..}
    metrics: dict[str, float]
    seconds: float
    #: True when the monitored metric improved on every earlier epoch.
    is_best: bool = False
    kind: str = "epoch_end"


@dataclass(frozen=True)
class LogMessage:
    text: str
    level: str = "info"  # "info" | "warning" | "error"
    kind: str = "log"


@dataclass(frozen=True)
class FitEnded:
    #: "completed", "stopped" (early stopping), "cancelled" or "failed"
    status: str
    message: str = ""
    best_epoch: int | None = None
    best_value: float | None = None
    monitor: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "fit_ended"


Record = FitStarted | BatchEnd | EpochEnd | LogMessage | FitEnded


def as_dict(record: Record) -> dict[str, Any]:
    return asdict(record)
