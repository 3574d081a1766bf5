"""The training loop: epochs of train/valid phases over a :class:`~dlstudio.engine.task.Task`.

``fit`` is a generator of progress records. The caller drives it (a CLI progress bar, a Qt worker, a
test) and decides what to do with each record; callbacks hook in at a handful of points; a
:class:`~dlstudio.engine.control.RunControl` pauses or cancels between batches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

from dlstudio.engine.callbacks import Callback
from dlstudio.engine.control import Cancelled, RunControl
from dlstudio.engine.records import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage, Record
from dlstudio.engine.task import Task, monitored_metric


class NonFiniteLoss(Exception):
    """The loss became NaN or infinite; training cannot meaningfully go on."""


@dataclass
class FitState:
    """Shared between the loop and its callbacks."""

    task: Task
    epochs: int
    epoch: int = 0
    history: list[EpochEnd] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    #: Set by a callback to end the run after the current epoch (e.g. early stopping).
    stop_reason: str = ""
    #: Messages callbacks want shown in the run log.
    messages: list[LogMessage] = field(default_factory=list)
    #: Metric the best epoch is judged by (the task's monitor, or train_loss without validation data).
    monitor: str = ""

    def log(self, text: str, level: str = "info") -> None:
        self.messages.append(LogMessage(text, level))

    def improved(self, value: float, mode: str | None = None) -> bool:
        """Whether ``value`` beats the best so far; ``mode`` ("min"/"max") defaults to the task's."""
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        if (mode or self.task.monitor_mode) == "max":
            return value > self.best_value
        return value < self.best_value


def fit(
    task: Task,
    train_batches: Iterable[Any],
    valid_batches: Iterable[Any] | None = None,
    *,
    epochs: int,
    start_epoch: int = 0,
    callbacks: Sequence[Callback] = (),
    control: RunControl | None = None,
    report_interval: float = 0.1,
    state: FitState | None = None,
) -> Iterator[Record]:
    """Train ``task`` for epochs ``start_epoch+1 .. epochs``, yielding progress records.

    ``report_interval`` bounds how often a :class:`BatchEnd` is yielded (and the loss synced to the
    host), so reporting costs the same whatever the batch rate.
    """
    control = control or RunControl()
    state = state or FitState(task=task, epochs=epochs)
    state.epoch = start_epoch  # where the run stands when it starts (a resumed one: its last epoch)
    yield FitStarted(epochs, start_epoch, _length(train_batches), _length(valid_batches))
    for cb in callbacks:
        cb.on_fit_start(state)
    status, message = "completed", ""
    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            state.epoch = epoch
            for cb in callbacks:
                cb.on_epoch_start(state)
            started = time.perf_counter()
            metrics: dict[str, float] = {}
            phases = [("train", train_batches)] + ([("valid", valid_batches)] if valid_batches else [])
            for phase, batches in phases:
                summary = yield from _run_phase(
                    task, phase, batches, state, callbacks, control, report_interval
                )
                metrics.update({f"{phase}_{name}": value for name, value in summary.items()})
            if task.lr is not None:
                metrics["lr"] = task.lr
            state.monitor, mode = monitored_metric(task, metrics)
            monitored = metrics.get(state.monitor, math.nan)
            is_best = state.improved(monitored, mode)
            if is_best:
                state.best_epoch, state.best_value = epoch, monitored
            record = EpochEnd(epoch, epochs, metrics, time.perf_counter() - started, is_best)
            state.history.append(record)
            for cb in callbacks:
                cb.on_epoch_end(state, record)
            yield record
            yield from _drain(state)
            if state.stop_reason:
                status, message = "stopped", state.stop_reason
                break
    except Cancelled:
        status, message = "cancelled", f"cancelled during epoch {state.epoch}"
    except NonFiniteLoss as exc:
        status, message = "failed", str(exc)
    for cb in callbacks:
        cb.on_fit_end(state, status)
    yield from _drain(state)
    yield FitEnded(status, message, state.best_epoch, state.best_value, state.monitor or task.monitor)


def _run_phase(
    task: Task,
    phase: str,
    batches: Iterable[Any],
    state: FitState,
    callbacks: Sequence[Callback],
    control: RunControl,
    report_interval: float,
) -> Iterator[Record]:
    training = phase == "train"
    task.model.train(training)
    task.start_epoch(state.epoch, phase)
    step = task.train_step if training else task.eval_step
    total = _length(batches)
    sums: dict[str, Any] = {}
    count = 0
    last_report = time.perf_counter()
    index = 0
    with nullcontext() if training else torch.no_grad():
        for index, batch in enumerate(batches, 1):
            control.check()
            result = step(batch)
            count += result.count
            for name, value in result.sums.items():
                sums[name] = sums[name] + value if name in sums else value
            if training:
                for cb in callbacks:
                    cb.on_train_batch_end(state)
            now = time.perf_counter()
            if now - last_report >= report_interval or index == total:
                last_report = now
                loss = _finite_loss(sums, count, state.epoch, phase, index)
                yield BatchEnd(state.epoch, phase, index, total or index, loss)
    if count == 0:
        raise NonFiniteLoss(f"the {phase} data yielded no batches in epoch {state.epoch}")
    _finite_loss(sums, count, state.epoch, phase, index)
    return task.summarize({name: float(value) for name, value in sums.items()}, count)


def _finite_loss(sums: dict[str, Any], count: int, epoch: int, phase: str, batch: int) -> float:
    loss = float(sums.get("loss", 0.0)) / max(count, 1)
    if not math.isfinite(loss):
        raise NonFiniteLoss(
            f"the {phase} loss became {loss} in epoch {epoch} (by batch {batch}); training stopped. "
            "Lower the learning rate, enable gradient clipping or check the data for NaNs."
        )
    return loss


def _drain(state: FitState) -> Iterator[LogMessage]:
    while state.messages:
        yield state.messages.pop(0)


def _length(batches: Iterable[Any] | None) -> int:
    try:
        return len(batches)  # type: ignore[arg-type]
    except TypeError:
        return 0
