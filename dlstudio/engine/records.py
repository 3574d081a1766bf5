"""Typed progress records yielded by :func:`dlstudio.engine.loop.fit`.

Records hold plain Python values only, so they can cross threads (Qt signals) and be written as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FitStarted:
    """A run's length. Measured in epochs, a period is one epoch; measured in steps (``unit="step"``),
    a period is ``period_steps`` optimisation steps, and ``epochs`` counts periods."""

    epochs: int
    start_epoch: int
    #: Batches per training period (0: unknown, e.g. a stream without a length).
    train_batches: int
    valid_batches: int
    #: "epoch" or "step": what the user asked the run to be measured in.
    unit: str = "epoch"
    #: In a run measured in steps: the steps in all and per period; 0 otherwise.
    total_steps: int = 0
    period_steps: int = 0
    kind: str = "fit_started"


@dataclass(frozen=True)
class BatchEnd:
    """Emitted at most every ``report_interval`` seconds (and at the last batch of a phase)."""

    epoch: int
    phase: str  # "train" or "valid"
    batch: int
    #: Batches in this phase of the period (0: unknown).
    batches: int
    #: Running mean loss of the phase so far.
    loss: float
    #: Optimisation steps taken since the run began (training batches; a resumed run counts on).
    step: int = 0
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
    #: Optimisation steps taken since the run began.
    step: int = 0
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
