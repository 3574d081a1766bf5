"""The step-function interface: what a training task implements for the engine's loop.

The loop knows nothing about models, losses or optimisers. A task turns one batch into a
:class:`StepResult`; it owns its optimisers, so a GAN (two optimisers), a language model (hidden state
carried between batches, reset in :meth:`Task.start_epoch`) or L-BFGS (a closure) fits the same loop.
The engine is the bottom layer: it knows nothing of run specs or the plugin contract, and receives
what it needs as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import torch
    from torch import nn

    from dlstudio.engine.callbacks import Callback
    from dlstudio.engine.step import Stepper


class StepResult(NamedTuple):
    """One batch's contribution: additive sums (tensors or floats) and how many samples they cover.

    Sums stay on the device; the loop adds them up and only syncs when it reports, so a step costs
    no host round-trip. ``sums["loss"]`` must be the batch's loss times ``count``.
    """

    count: int
    sums: Mapping[str, Any]


@dataclass
class TaskContext:
    """What a task factory (``TaskSpec.create``) is given."""

    model: nn.Module
    #: What describes the data (the dataset's ``DataInfo``: input shape, classes, extra).
    data: Any
    #: The run's [train] settings (optimizer, lr, amp, grad_clip, ...), read by attribute.
    train: Any
    device: torch.device
    #: Batches per training epoch, for per-batch schedules; None when the data's length is unknown.
    steps_per_epoch: int | None = 1
    #: The task's own parameters from ``[task.params]``: validated, every declared key present.
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class Task:
    """Base class of step functions; subclasses implement :meth:`train_step` (and :meth:`eval_step` when
    the run has validation data)."""

    #: Metric the run tracks for "best epoch", early stopping and plateau schedules; "" for none (a GAN:
    #: no number says which epoch is best).
    monitor: str = "valid_loss"
    #: "min" or "max": which way is better for :attr:`monitor`.
    monitor_mode: str = "min"
    #: Names of :attr:`optimizers` in metrics (``lr_generator``); the first one's rate is plain ``lr``.
    optimizer_names: tuple[str, ...] = ()

    def __init__(self, model: nn.Module, stepper: Stepper | None = None) -> None:
        self.model = model
        self.optimizers: list[torch.optim.Optimizer] = []
        #: The :class:`~dlstudio.engine.step.Stepper` the task steps through, if any (its AMP state is saved).
        self.stepper = stepper

    @property
    def plain_model(self) -> nn.Module:
        """The model itself: :attr:`model` without the ``DistributedDataParallel`` wrapper a distributed run's
        :meth:`Stepper.prepare_model <dlstudio.engine.step.Stepper.prepare_model>` puts around it. What
        checkpoints, weight norms and callbacks read (the wrapper's weights are named ``module.…``), and what
        validation runs (DDP's forward would broadcast buffers, a collective a rank without batches never joins)."""
        from torch.nn.parallel import DistributedDataParallel

        return self.model.module if isinstance(self.model, DistributedDataParallel) else self.model

    def start_epoch(self, epoch: int, phase: str) -> None:
        """Called before each pass over the training data ("train") and each validation ("valid"):
        reset carried state (a language model's hidden state) here."""

    def train_step(self, batch: Any) -> StepResult:
        raise NotImplementedError

    def eval_step(self, batch: Any) -> StepResult:
        raise NotImplementedError(f"{type(self).__name__} has no eval_step: it cannot validate")

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        """Turn a phase's summed results into metrics; by default each sum divided by the count."""
        return {name: value / max(count, 1) for name, value in sums.items()}

    def callbacks(self) -> list[Callback]:
        """Callbacks the task adds to its runs (e.g. a GAN's sample grid saved each epoch)."""
        return []

    @property
    def lr(self) -> float | None:
        if not self.optimizers:
            return None
        return float(self.optimizers[0].param_groups[0]["lr"])

    def learning_rates(self) -> dict[str, float]:
        """``{"lr": first optimiser's rate, "lr_<name>": each other's}`` for the epoch's metrics."""
        rates = {}
        for i, optimizer in enumerate(self.optimizers):
            name = self.optimizer_names[i] if i < len(self.optimizer_names) else str(i)
            rates["lr" if i == 0 else f"lr_{name}"] = float(optimizer.param_groups[0]["lr"])
        return rates

    def state_dict(self) -> dict[str, Any]:
        """State beyond the model's weights needed to resume: optimisers (and the AMP scalers)."""
        state: dict[str, Any] = {f"optimizer{i}": opt.state_dict() for i, opt in enumerate(self.optimizers)}
        if self.stepper is not None and (scalers := self.stepper.state_dict()):
            state["stepper"] = scalers
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for i, opt in enumerate(self.optimizers):
            if f"optimizer{i}" in state:
                opt.load_state_dict(state[f"optimizer{i}"])
        if self.stepper is not None and "stepper" in state:
            self.stepper.load_state_dict(state["stepper"])


def monitored_metric(task: Task, metrics: Mapping[str, float]) -> tuple[str, str]:
    """The metric that decides the best epoch and which way is better (``"min"``/``"max"``).

    The task's :attr:`~Task.monitor` when the epoch produced it; otherwise (no validation data) the
    training loss, for which lower is better whatever the task's own metric direction. ``("", "")`` for
    a task that monitors nothing.
    """
    if not task.monitor:
        return "", ""
    if task.monitor in metrics:
        return task.monitor, task.monitor_mode
    return "train_loss", "min"
