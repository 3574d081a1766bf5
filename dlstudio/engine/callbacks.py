"""Callbacks: small objects the loop calls at fixed points (Lightning's shape, a handful of methods)."""

from __future__ import annotations

import copy
import errno
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.nn.parameter import UninitializedTensorMixin

from dlstudio.engine.task import monitored_metric

#: errno values that mean "no space left": the disk is full, or the user's quota is used up.
NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})

if TYPE_CHECKING:
    from dlstudio.engine.loop import FitState
    from dlstudio.engine.records import EpochEnd


class Callback:
    """No-op base; override what you need. Events, in order:

    - ``on_fit_start(state)``: once, before the first period (``state.epoch``: the periods already done).
    - ``on_epoch_start(state)``: before each period (an epoch, or ``period_steps`` steps).
    - ``on_train_batch_end(state)``: after each training step; ``state.batch`` is the batch as the data
      gave it, ``state.output`` the task's :class:`StepResult`, ``state.step`` the steps so far.
    - ``on_evaluate(state, metrics)``: at each period's end, after validation (if any): add metrics of
      your own to the dict (a pluggable validation: samples scored, a FID, a held-out perplexity).
    - ``on_epoch_end(state, record)``: with the period's :class:`EpochEnd`.
    - ``on_exception(state, exc)``: an error other than a cancel or a non-finite loss ended the run.
    - ``on_fit_end(state, status)``: always, last; status is completed, stopped, cancelled, failed or
      interrupted (the caller stopped iterating).
    """

    def on_fit_start(self, state: FitState) -> None: ...

    def on_epoch_start(self, state: FitState) -> None: ...

    def on_train_batch_end(self, state: FitState) -> None: ...

    def on_evaluate(self, state: FitState, metrics: dict[str, float]) -> None: ...

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None: ...

    def on_exception(self, state: FitState, exc: BaseException) -> None: ...

    def on_fit_end(self, state: FitState, status: str) -> None: ...


class EveryNSteps(Callback):
    """Call ``fn(state)`` after every ``n`` training steps (counted over the whole run)."""

    def __init__(self, n: int, fn: Callable[[FitState], None]) -> None:
        if n < 1:
            raise ValueError(f"EveryNSteps needs n >= 1, got {n}")
        self.n, self.fn = n, fn

    def on_train_batch_end(self, state: FitState) -> None:
        if state.step % self.n == 0:
            self.fn(state)


class EarlyStopping(Callback):
    """Stop when the monitored metric has not improved for ``patience`` epochs."""

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        if state.best_epoch is not None and record.epoch - state.best_epoch >= self.patience:
            state.stop_reason = (
                f"early stopping: {state.monitor or state.task.monitor} has not improved for {self.patience} epochs "
                f"(best {state.best_value:.4g} at epoch {state.best_epoch})"
            )


class BestWeights(Callback):
    """Keep a CPU copy of the weights of the best epoch and restore them when the run ends."""

    def __init__(self) -> None:
        self.best_state: dict[str, Any] | None = None

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        if record.is_best:
            weights = state.task.plain_model.state_dict()
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}

    def on_fit_end(self, state: FitState, status: str) -> None:
        if self.best_state is not None and state.best_epoch != state.epoch:
            state.task.plain_model.load_state_dict(self.best_state)
            state.log(f"restored the weights of epoch {state.best_epoch} (best {state.monitor or state.task.monitor})")


class LRScheduler(Callback):
    """Step a torch LR scheduler per epoch (per batch for e.g. one-cycle; with the metric for plateau)."""

    def __init__(self, scheduler: Any, *, per_batch: bool = False, needs_metric: bool = False) -> None:
        self.scheduler = scheduler
        self.per_batch = per_batch
        self.needs_metric = needs_metric

    def on_train_batch_end(self, state: FitState) -> None:
        if self.per_batch:
            self.scheduler.step()

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        if self.per_batch:
            return
        if self.needs_metric:
            name, mode = monitored_metric(state.task, record.metrics)
            if not name or name not in record.metrics:
                state.log(f"the LR schedule needs the metric {name!r}, which this task does not report", "warning")
                return
            _match_mode(self.scheduler, mode)
            self.scheduler.step(record.metrics[name])
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(copy.deepcopy(state))


def _match_mode(scheduler: Any, mode: str) -> None:
    """Point a ReduceLROnPlateau the way the monitored metric improves.

    It is built (as "min") before the task, and so the direction of its metric, is known; left so, it
    would cut the LR while a "max" metric such as accuracy keeps improving.
    """
    if getattr(scheduler, "mode", mode) == mode or not hasattr(scheduler, "_init_is_better"):
        return
    scheduler._init_is_better(mode=mode, threshold=scheduler.threshold, threshold_mode=scheduler.threshold_mode)
    scheduler.best = scheduler.mode_worse
    scheduler.num_bad_epochs = 0


class Checkpoint(Callback):
    """Call ``save(state, record)`` after every ``every`` epochs and on the best epoch.

    The run layer supplies ``save`` (it knows where the run's files live); errors while saving are
    reported in the log and training goes on: the previous checkpoint is still valid. A full disk ends the
    run instead (raised as it came): nothing more could be saved, and the run resumes once space is freed.
    """

    def __init__(self, save: Callable[[FitState, EpochEnd], None], every: int = 1) -> None:
        self.save = save
        self.every = max(1, every)

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        if record.epoch % self.every and not record.is_best and record.epoch != state.epochs:
            return
        try:
            self.save(state, record)
        except OSError as exc:
            if exc.errno in NO_SPACE:
                raise
            state.log(f"could not save the checkpoint of epoch {record.epoch}: {exc}; "
                      "the previous checkpoint is kept", "warning")


class WeightNorms(Callback):
    """The L2 norm of every layer's weight at each epoch's end, one JSON line per epoch.

    A run keeps only a few checkpoints (best, last, final); these few numbers per epoch let a viewer
    show how each layer's weights moved over the whole run (the inspector's "norms across epochs").
    When a run starts (or resumes after epoch N) the file is rewritten with only epochs 1..N, so an
    abandoned attempt's epochs and a line cut short by a crash never mix with the new ones.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_fit_start(self, state: FitState) -> None:
        kept = {epoch: norms for epoch, norms in self.read(self.path).items() if epoch <= state.epoch}
        lines = "".join(_norms_line(epoch, norms) for epoch, norms in sorted(kept.items()))
        try:
            self.path.write_text(lines, encoding="utf-8")
        except OSError:
            pass  # a diagnostic: see on_epoch_end

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        try:
            norms = layer_weight_norms(state.task.plain_model.state_dict())
            with self.path.open("a", encoding="utf-8") as out:
                out.write(_norms_line(record.epoch, norms))
        except (OSError, RuntimeError, ValueError):
            pass  # a diagnostic: a full disk or an odd layer must not end the run (checkpoints say so loudly)

    @staticmethod
    def read(path: Path) -> dict[int, dict[str, float]]:
        """Norms by epoch (a repeated epoch: its latest line); {} if there is no file.
        Unreadable lines (a write cut short) are skipped."""
        by_epoch: dict[int, dict[str, float]] = {}
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError:
            return by_epoch
        for line in lines:
            try:
                entry = json.loads(line)
                by_epoch[int(entry["epoch"])] = {str(k): float(v) for k, v in entry["norms"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return by_epoch


def layer_weight_norms(state: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """L2 norm of each layer's ``weight`` in a state dict (the model's own as "(model)"), 7 significant
    digits. Computed in float32 on the weights' device and read back at once: one device sync, no copies.
    """
    named = [(key[: -len("weight")].rstrip(".") or "(model)", t) for key, t in state.items()
             if (key == "weight" or key.endswith(".weight")) and t.is_floating_point()
             and not isinstance(t, UninitializedTensorMixin)]
    if not named:
        return {}
    device = named[0][1].device
    values = torch.stack([torch.linalg.vector_norm(t.detach(), dtype=torch.float32).to(device)
                          for _, t in named]).tolist()
    return {name: float(f"{value:.7g}") for (name, _), value in zip(named, values, strict=True)}


def _norms_line(epoch: int, norms: dict[str, float]) -> str:
    return json.dumps({"epoch": epoch, "norms": norms}) + "\n"
