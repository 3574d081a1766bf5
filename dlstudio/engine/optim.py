"""Optimisers and LR schedules from a spec's [train] section."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import torch

from dlstudio.engine.callbacks import LRScheduler
from dlstudio.engine.names import OPTIMIZERS, SCHEDULERS


class TrainSettings(Protocol):
    """The [train] settings the builders read (a run spec's ``TrainSection`` has them all)."""

    epochs: int
    optimizer: str
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    scheduler: str
    step_size: int
    gamma: float
    milestones: list[int]
    plateau_patience: int

__all__ = ["OPTIMIZERS", "SCHEDULERS", "build_optimizer", "build_scheduler"]


def build_optimizer(params: Iterable[torch.nn.Parameter], train: TrainSettings) -> torch.optim.Optimizer:
    """The optimiser the spec names, over ``params`` (pass only trainable ones for frozen layers)."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: unfreeze some layers")
    if train.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=train.lr, momentum=train.momentum, nesterov=train.nesterov and train.momentum > 0,
            weight_decay=train.weight_decay,
        )
    if train.optimizer == "adam":
        return torch.optim.Adam(params, lr=train.lr, weight_decay=train.weight_decay)
    if train.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=train.lr, weight_decay=train.weight_decay)
    if train.optimizer == "lbfgs":
        # One step is one iteration (max_iter=1); the history carries over from step to step, so N steps are
        # the usual loop of N iterations, cut where the run can record, checkpoint and be watched. Only a task
        # that steps with a closure (Stepper.optimize_closure) can use it.
        return torch.optim.LBFGS(params, lr=train.lr, max_iter=1)
    raise ValueError(f"unknown optimizer {train.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")


def build_scheduler(
    optimizer: torch.optim.Optimizer, train: TrainSettings, steps_per_epoch: int | None,
    *, periods: int | None = None, total_steps: int | None = None,
) -> LRScheduler | None:
    """A callback stepping the spec's LR schedule over ``optimizer``, or None for a constant LR.

    Per-epoch schedules step once per period (``periods`` of them; by default ``train.epochs``);
    one-cycle steps every batch, over ``total_steps`` (by default epochs × steps per epoch).
    """
    sched = torch.optim.lr_scheduler
    name = train.scheduler
    periods = periods or train.epochs
    if total_steps is None and steps_per_epoch:
        total_steps = periods * steps_per_epoch
    if name == "none":
        return None
    if name == "step":
        return LRScheduler(sched.StepLR(optimizer, step_size=train.step_size, gamma=train.gamma))
    if name == "multistep":
        return LRScheduler(sched.MultiStepLR(optimizer, milestones=list(train.milestones), gamma=train.gamma))
    if name == "exponential":
        return LRScheduler(sched.ExponentialLR(optimizer, gamma=train.gamma))
    if name == "plateau":
        return LRScheduler(
            sched.ReduceLROnPlateau(optimizer, factor=train.gamma, patience=train.plateau_patience),
            needs_metric=True,
        )
    if name == "cosine":
        return LRScheduler(sched.CosineAnnealingLR(optimizer, T_max=max(1, periods)))
    if name == "onecycle":
        if not total_steps:
            raise ValueError("the one-cycle schedule needs to know the run's length in steps: the training data "
                             "has no length, so measure the run in steps ([train] steps)")
        return LRScheduler(sched.OneCycleLR(optimizer, max_lr=train.lr, total_steps=max(1, total_steps)),
                           per_batch=True)
    raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
