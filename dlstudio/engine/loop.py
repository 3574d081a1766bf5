"""The training loop: periods of training (and optional validation) over a :class:`~dlstudio.engine.task.Task`.

``fit`` is a generator of progress records. The caller drives it (a CLI progress bar, a Qt worker, a
test) and decides what to do with each record; callbacks hook in at a handful of points; a
:class:`~dlstudio.engine.control.RunControl` pauses or cancels between batches.

A run is measured in epochs (a period is one pass over the training data) or in steps (a period is
``period_steps`` optimisation steps, drawn from the data pass after pass, or from a stream that never
ends). Each period ends with validation when there is validation data, then an :class:`EpochEnd`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from dlstudio.engine.callbacks import Callback
from dlstudio.engine.control import Cancelled, RunControl
from dlstudio.engine.distributed import Ranks, SharedLoss
from dlstudio.engine.divergence import exploded, rising
from dlstudio.engine.records import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage, Record
from dlstudio.engine.task import StepResult, Task, monitored_metric


class NonFiniteLoss(Exception):
    """The loss became NaN or infinite, or diverged (:mod:`dlstudio.engine.divergence`); training cannot
    meaningfully go on."""


@dataclass
class FitState:
    """Shared between the loop and its callbacks."""

    task: Task
    #: Periods in the run (epochs, or periods of steps).
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
    #: Optimisation steps since the run began (a resumed run counts on).
    step: int = 0
    #: "epoch" or "step": what the run is measured in; ``total_steps`` for the latter.
    unit: str = "epoch"
    total_steps: int = 0
    #: "train" or "valid" while a phase runs.
    phase: str = ""
    #: The last training batch (as the data gave it) and what the step made of it, for
    #: ``on_train_batch_end``; both are None outside it.
    batch: Any = None
    output: StepResult | None = None
    #: Where a run measured in steps stands in its data: the pass (1, 2, ...), the batches taken from it,
    #: and torch's RNG state as the pass began (it drew the pass's order). Saved with checkpoints, so a
    #: resume mid-pass replays the same order and skips what was taken.
    data_pass: int = 0
    pass_taken: int = 0
    pass_rng: Any = None
    #: The run's first training loss (its first batch's), which the divergence guard judges by; saved with
    #: checkpoints, so a resumed run is judged by where it started, not by where it resumed.
    start_loss: float | None = None
    #: The mean training loss of each period trained in this call of :func:`fit`.
    period_losses: list[float] = field(default_factory=list)

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
    epochs: int = 1,
    steps: int = 0,
    period_steps: int = 0,
    start_epoch: int = 0,
    callbacks: Sequence[Callback] = (),
    control: RunControl | None = None,
    report_interval: float = 0.1,
    state: FitState | None = None,
    ranks: Ranks | None = None,
) -> Iterator[Record]:
    """Train ``task`` for periods ``start_epoch+1 ..``, yielding progress records.

    With ``steps`` > 0 the run is measured in steps: periods of ``period_steps`` steps (the last one
    shorter), ``epochs`` ignored. ``report_interval`` bounds how often a :class:`BatchEnd` is yielded
    (and the loss synced to the host), so reporting costs the same whatever the batch rate.

    Every callback's ``on_fit_end`` is called however the run ends; an exception other than a cancel or
    a non-finite loss is passed to ``on_exception`` first, then raised.

    ``ranks``: this process's place in a distributed run. Each phase's sums are added up over the ranks, and
    every decision (cancel, divergence, the best epoch, stopping) is taken on numbers all ranks share, so no
    rank leaves the loop while another waits for it.
    """
    control = control or RunControl()
    train_length = _length(train_batches)
    if steps > 0:
        period_steps = period_steps or train_length or 100
        epochs = math.ceil(steps / period_steps)
    state = state or FitState(task=task, epochs=epochs)
    state.epochs = epochs
    state.unit, state.total_steps = ("step", steps) if steps > 0 else ("epoch", 0)
    state.epoch = start_epoch  # where the run stands when it starts (a resumed one: its last period)
    # Steps so far: a resumed run's state may carry them (a stream's epochs have no fixed length).
    state.step = state.step or (start_epoch * period_steps if steps > 0 else start_epoch * train_length)
    yield FitStarted(epochs, start_epoch, period_steps if steps > 0 else train_length, _length(valid_batches),
                     unit=state.unit, total_steps=steps if steps > 0 else 0,
                     period_steps=period_steps if steps > 0 else 0)
    status, message = "completed", ""
    try:
        for cb in callbacks:
            cb.on_fit_start(state)
        stream = _Passes(task, train_batches, state) if steps > 0 else None
        for epoch in range(start_epoch + 1, epochs + 1):
            state.epoch = epoch
            for cb in callbacks:
                cb.on_epoch_start(state)
            started = time.perf_counter()
            if stream is not None:
                budget = min(period_steps, steps - (epoch - 1) * period_steps)
                batches: Iterable[Any] = stream.take(budget, epoch)
                length = budget
            else:
                task.start_epoch(epoch, "train")
                batches, length = train_batches, train_length
            summary = yield from _run_phase(task, "train", batches, length, state, callbacks, control,
                                            report_interval, ranks)
            metrics = {f"train_{name}": value for name, value in summary.items()}
            if valid_batches is not None:
                if ranks is not None:
                    ranks.broadcast_buffers(task.model)
                task.start_epoch(epoch, "valid")
                summary = yield from _run_phase(task, "valid", valid_batches, _length(valid_batches), state,
                                                callbacks, control, report_interval, ranks)
                metrics.update({f"valid_{name}": value for name, value in summary.items()})
            metrics.update(task.learning_rates())
            for cb in callbacks:
                cb.on_evaluate(state, metrics)
            if ranks is not None:  # a callback's own metric may be measured on rank 0 alone: its numbers decide
                metrics = ranks.share(metrics)
            state.monitor, mode = monitored_metric(task, metrics)
            is_best = False
            if state.monitor:
                is_best = state.improved(metrics.get(state.monitor, math.nan), mode)
                if is_best:
                    state.best_epoch, state.best_value = epoch, metrics[state.monitor]
            record = EpochEnd(epoch, epochs, metrics, time.perf_counter() - started, is_best, step=state.step)
            state.history.append(record)
            for cb in callbacks:
                cb.on_epoch_end(state, record)
            if ranks is not None:
                state.stop_reason = ranks.share(state.stop_reason)
                ranks.check_same_weights(task.model, type(task).__name__)
            yield record
            yield from _drain(state)
            if state.stop_reason:
                status, message = "stopped", state.stop_reason
                break
    except Cancelled:
        status, message = "cancelled", f"cancelled during {state.unit} {_position(state)}"
    except NonFiniteLoss as exc:
        status, message = "failed", str(exc)
    except GeneratorExit:  # the caller stopped iterating: no more records may be yielded
        _end_callbacks(state, callbacks, "interrupted")
        raise
    except BaseException as exc:
        problems = [_call(cb.on_exception, state, exc) for cb in callbacks]
        problems += _end_callbacks(state, callbacks, "failed")
        for problem in filter(None, problems):  # the run's own error surfaces; the callbacks' are noted on it
            exc.add_note(problem)
        raise
    problems = _end_callbacks(state, callbacks, status)
    yield from _drain(state)
    if problems:  # every callback was ended; then the first one's failure fails the run, loudly
        raise CallbackError("; ".join(problems))
    yield FitEnded(status, message, state.best_epoch, state.best_value, state.monitor or task.monitor)


class CallbackError(RuntimeError):
    """A callback failed as the run ended (every callback was still given ``on_fit_end``)."""


def _end_callbacks(state: FitState, callbacks: Sequence[Callback], status: str) -> list[str]:
    """``on_fit_end`` of every callback, whichever of them fails; the failures, described."""
    state.phase, state.batch, state.output = "", None, None
    return [problem for cb in callbacks if (problem := _call(cb.on_fit_end, state, status))]


def _call(fn: Any, *args: Any) -> str:
    try:
        fn(*args)
    except Exception as exc:
        return f"{getattr(fn, '__qualname__', fn)} raised {type(exc).__name__}: {exc}"
    return ""


def _position(state: FitState) -> str:
    return str(state.step) if state.unit == "step" else str(state.epoch)


class _Passes:
    """Training batches for a run measured in steps: pass after pass over the data (the task's
    ``start_epoch`` before each pass), or one endless stream. Its position is kept on the state."""

    def __init__(self, task: Task, batches: Iterable[Any], state: FitState) -> None:
        self.task, self.batches, self.state = task, batches, state
        self._iterator: Iterator[Any] | None = None
        if state.pass_taken and state.pass_rng is not None:
            self._replay()

    def _replay(self) -> None:
        """Resume mid-pass: the pass's order is drawn again from the RNG state it began with, and the
        batches already taken are skipped; the RNG then continues from where the run left it."""
        now = torch.get_rng_state()
        torch.set_rng_state(self.state.pass_rng)  # as in take(): start_epoch, then the first batch draws
        self.task.start_epoch(self.state.data_pass, "train")
        self._iterator = iter(self.batches)
        for _ in range(self.state.pass_taken):
            next(self._iterator)
        torch.set_rng_state(now)

    def take(self, count: int, epoch: int) -> Iterator[Any]:
        state = self.state
        taken, fresh = 0, False
        while taken < count:
            if self._iterator is None:
                state.data_pass += 1
                state.pass_taken = 0
                state.pass_rng = torch.get_rng_state()
                self.task.start_epoch(state.data_pass, "train")
                self._iterator, fresh = iter(self.batches), True
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if fresh:
                    raise NonFiniteLoss("the training data yielded no batches") from None
                continue
            fresh = False
            taken += 1
            state.pass_taken += 1
            yield batch


def _run_phase(
    task: Task,
    phase: str,
    batches: Iterable[Any],
    total: int,
    state: FitState,
    callbacks: Sequence[Callback],
    control: RunControl,
    report_interval: float,
    ranks: Ranks | None = None,
) -> Iterator[Record]:
    training = phase == "train"
    state.phase = phase
    task.model.train(training)
    step = task.train_step if training else task.eval_step
    sums: dict[str, Any] = {}
    count = 0
    last_report = time.perf_counter()
    index = 0
    #: In a distributed run's training: the loss summed over all ranks so far, which every decision reads.
    shared = SharedLoss(ranks) if ranks is not None and training else None
    with torch.enable_grad() if training else torch.no_grad():
        for index, batch in enumerate(batches, 1):
            if ranks is None:
                control.check()
            else:  # cancel is decided after the step, with the ranks (rank 0 pauses here, the others wait)
                control.wait_while_paused()
            result = step(batch)
            count += result.count
            for name, value in result.sums.items():
                sums[name] = sums[name] + value if name in sums else value
            if shared is not None and shared.add(result.sums.get("loss", 0.0), result.count):
                _share_loss(shared, control, task, state, index)
            if training:
                state.step += 1
                if state.start_loss is None and shared is None:  # one device sync, once per run
                    state.start_loss = _first_loss(result)
                if callbacks:
                    state.batch, state.output = batch, result
                    for cb in callbacks:
                        cb.on_train_batch_end(state)
                    state.batch = state.output = None
            now = time.perf_counter()
            if now - last_report >= report_interval or index == total:
                last_report = now
                if shared is not None:
                    loss = shared.loss
                elif ranks is not None:  # validation: this rank's share, shown only (judged once summed)
                    loss = float(sums.get("loss", 0.0)) / max(count, 1)
                else:
                    loss = _finite_loss(sums, count, state.epoch, phase, index)
                    if training:
                        _check_divergence(task, state, loss, index)
                yield BatchEnd(state.epoch, phase, index, total, loss, step=state.step)
    state.phase = ""
    if shared is not None and shared.pending_steps:  # the same on every rank: they take as many steps
        _share_loss(shared, control, task, state, index)
    if ranks is not None:
        if not training and ranks.any(control.cancelled):
            raise Cancelled
        sums, count = ranks.reduce_sums(sums, count)
    if count == 0:
        raise NonFiniteLoss(f"the {phase} data yielded no batches in {state.unit} {_position(state)}")
    loss = _finite_loss(sums, count, state.epoch, phase, index)
    if training:
        _check_divergence(task, state, loss, index)
        state.period_losses.append(loss)
        if reason := rising(state.period_losses, state.start_loss, f"by {state.unit} {_position(state)}",
                             getattr(task, "lr", None)):
            raise NonFiniteLoss(reason)
    if total == 0:  # a stream of unknown length: report its end
        yield BatchEnd(state.epoch, phase, index, index, _finite_loss(sums, count, state.epoch, phase, index),
                       step=state.step)
    return task.summarize({name: float(value) for name, value in sums.items()}, count)


def _share_loss(shared: SharedLoss, control: RunControl, task: Task, state: FitState, index: int) -> None:
    """Bring the ranks' running loss up to date and judge it; at the first step, the run's first loss is all ranks'
    first batch, and a task stepping around the Stepper (training apart) is told so at once."""
    shared.share(control.cancelled)
    if shared.steps == 1:
        if state.start_loss is None:
            state.start_loss = shared.first
        shared.ranks.check_same_weights(task.model, type(task).__name__)
    _check_divergence(task, state, _finite_loss({"loss": shared.total}, shared.count, state.epoch, "train", index),
                      index)


def _finite_loss(sums: dict[str, Any], count: int, epoch: int, phase: str, batch: int) -> float:
    loss = float(sums.get("loss", 0.0)) / max(count, 1)
    if not math.isfinite(loss):
        raise NonFiniteLoss(
            f"the {phase} loss became {loss} in epoch {epoch} (by batch {batch}); training stopped. "
            "Lower the learning rate, enable gradient clipping or check the data for NaNs."
        )
    return loss


def _first_loss(result: StepResult) -> float | None:
    loss = float(result.sums.get("loss", 0.0)) / max(result.count, 1)
    return loss if math.isfinite(loss) else None


def _check_divergence(task: Task, state: FitState, loss: float, batch: int) -> None:
    """Raise :class:`NonFiniteLoss` when the running training ``loss`` is orders of magnitude above the start."""
    if reason := exploded(loss, state.start_loss, f"in {state.unit} {_position(state)} (by batch {batch})",
                         getattr(task, "lr", None)):
        raise NonFiniteLoss(reason)


def _drain(state: FitState) -> Iterator[LogMessage]:
    while state.messages:
        yield state.messages.pop(0)


def _length(batches: Iterable[Any] | None) -> int:
    """Batches in one pass; 0 when unknown (an iterable dataset, a stream)."""
    try:
        return len(batches)  # type: ignore[arg-type]
    except TypeError:
        return 0
