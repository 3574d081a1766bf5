"""The step-function interface: what a training task implements for the engine's loop.

The loop knows nothing about models, losses or optimisers. A task turns one batch into a
:class:`StepResult`; it owns its optimisers, so a GAN (two optimisers), a language model (hidden state
carried between batches, reset in :meth:`Task.start_epoch`) or L-BFGS (a closure) fits the same loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import torch
    from torch import nn

    from dlstudio.contract import DataInfo
    from dlstudio.spec import TrainSection


class StepResult(NamedTuple):
    """One batch's contribution: additive sums (tensors or floats) and how many samples they cover.

    Sums stay on the device; the loop adds them up and only syncs when it reports, so a step costs
    no host round-trip. ``sums["loss"]`` must be the batch's loss times ``count``.
    """

    count: int
    sums: Mapping[str, Any]


@dataclass
class TaskContext:
    """What a task factory (:attr:`dlstudio.contract.TaskSpec.create`) is given."""

    model: nn.Module
    data: DataInfo
    train: TrainSection
    device: torch.device
    #: Batches per training epoch, for per-batch schedules.
    steps_per_epoch: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class Task:
    """Base class of step functions; subclasses implement :meth:`train_step` and :meth:`eval_step`."""

    #: Metric the run tracks for "best epoch", early stopping and plateau schedules.
    monitor: str = "valid_loss"
    #: "min" or "max": which way is better for :attr:`monitor`.
    monitor_mode: str = "min"

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.optimizers: list[torch.optim.Optimizer] = []

    def start_epoch(self, epoch: int, phase: str) -> None:
        """Called before each phase ("train"/"valid") of each epoch: reset carried state here."""

    def train_step(self, batch: Any) -> StepResult:
        raise NotImplementedError

    def eval_step(self, batch: Any) -> StepResult:
        raise NotImplementedError

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        """Turn a phase's summed results into metrics; by default each sum divided by the count."""
        return {name: value / max(count, 1) for name, value in sums.items()}

    @property
    def lr(self) -> float | None:
        if not self.optimizers:
            return None
        return float(self.optimizers[0].param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        """State beyond the model's weights needed to resume: optimisers (and e.g. AMP scaler)."""
        return {f"optimizer{i}": opt.state_dict() for i, opt in enumerate(self.optimizers)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for i, opt in enumerate(self.optimizers):
            if f"optimizer{i}" in state:
                opt.load_state_dict(state[f"optimizer{i}"])


def monitored_metric(task: Task, metrics: Mapping[str, float]) -> tuple[str, str]:
    """The metric that decides the best epoch and which way is better (``"min"``/``"max"``).

    The task's :attr:`~Task.monitor` when the epoch produced it; otherwise (no validation data) the
    training loss, for which lower is better whatever the task's own metric direction.
    """
    if task.monitor in metrics:
        return task.monitor, task.monitor_mode
    return "train_loss", "min"
