"""One optimisation step done right, for any task and any number of optimisers.

Device moves, autocast, gradient scaling, unscale-then-clip and ``optimizer.step`` are the same in every
task and easy to get subtly wrong (clipping scaled gradients, one GradScaler shared across optimisers
with ``update`` called twice, ``amp`` silently ignored by a GAN). Tasks call a :class:`Stepper` instead.
The plain path (no AMP, no clipping) costs a few Python calls per step: see ``bench/bench_core.py`` (a).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from dlstudio.engine.distributed import NotDistributable

#: The run log's words for how a distributed run's gradients are synchronised.
SYNC_BY_DDP = "gradients synchronised by DistributedDataParallel"
SYNC_BY_HAND = "gradients all-reduced after backward (the task calls its modules several times a step)"

#: Why an optimiser that re-evaluates its loss cannot be distributed.
CLOSURE_NOT_DISTRIBUTED = (
    "the lbfgs optimizer re-evaluates the loss several times a step, each evaluation on this process's data "
    "alone, so the processes of a distributed run would step apart: train it in one process (without --nproc), "
    "or choose sgd, adam or adamw")


class Stepper:
    """What a task's steps share: the device, mixed precision and gradient clipping of the run.

    ``amp`` and ``channels_last`` apply on CUDA only (elsewhere they are off, as the spec documents).
    """

    def __init__(self, device: torch.device | str, *, amp: bool = False, grad_clip: float = 0.0,
                 channels_last: bool = False, ranks: Any = None) -> None:
        self.device = torch.device(device)
        #: In a distributed run, this process's :class:`~dlstudio.engine.distributed.Ranks`: gradients are
        #: averaged over the processes before each step (None: one process).
        self.ranks = ranks
        cuda = self.device.type == "cuda"
        self.amp = bool(amp) and cuda
        self.channels_last = bool(channels_last) and cuda
        self.grad_clip = float(grad_clip)
        self.non_blocking = cuda
        #: One GradScaler per optimiser, in the order they first step (their state goes in checkpoints).
        self._scalers: list[tuple[torch.optim.Optimizer, torch.amp.GradScaler]] = []
        self._pending: dict[int, Mapping[str, Any]] = {}
        #: The parameters whose gradients DistributedDataParallel averages during backward (by ``id``), and each
        #: with its name until the first step has shown that all take part in the loss.
        self._synced: set[int] = set()
        self._unchecked: list[tuple[str, torch.nn.Parameter]] = []
        #: How a distributed run's gradients are synchronised (:data:`SYNC_BY_DDP` once a model is wrapped).
        self.gradient_sync = SYNC_BY_HAND

    @classmethod
    def from_context(cls, ctx: Any) -> Stepper:
        """The stepper a task built from ``ctx`` (a :class:`~dlstudio.engine.task.TaskContext`) should use."""
        train = ctx.train
        return cls(ctx.device, amp=getattr(train, "amp", False), grad_clip=getattr(train, "grad_clip", 0.0),
                   channels_last=getattr(train, "channels_last", False),
                   ranks=(getattr(ctx, "extra", None) or {}).get("ranks"))

    # -- data and model ----------------------------------------------------------------------------
    def prepare_model(self, model: torch.nn.Module, *, one_forward: bool = True) -> torch.nn.Module:
        """``model`` on the run's device; in a distributed run, wrapped in ``DistributedDataParallel``.

        ``one_forward``: each training step calls the returned model once, then back-propagates one loss
        through it, as DDP requires. A task that calls the model's parts directly or one module several times
        a step (a GAN) passes False: the model stays unwrapped and :meth:`optimize` averages the gradients
        by hand. Checkpoints and callbacks read :attr:`Task.plain_model <dlstudio.engine.task.Task.plain_model>`.
        """
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.ranks is None or not one_forward or not any(p.requires_grad for p in model.parameters()):
            return model
        # DDP broadcasts rank 0's weights as it is built, and its buffers at each training forward
        # (broadcast_buffers' default); it averages the gradients bucket by bucket while backward still runs.
        wrapped = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self._unchecked += [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        self._synced.update(id(p) for _, p in self._unchecked)
        self.gradient_sync = SYNC_BY_DDP
        return wrapped

    def to_device(self, batch: Any) -> Any:
        """``batch`` with every tensor in it (nested in tuples, lists, dicts) on the run's device."""
        if isinstance(batch, torch.Tensor):
            batch = batch.to(self.device, non_blocking=self.non_blocking)
            if self.channels_last and batch.dim() == 4 and batch.is_floating_point():
                batch = batch.contiguous(memory_format=torch.channels_last)
            return batch
        if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple (collate keeps them)
            return type(batch)(*(self.to_device(item) for item in batch))
        if isinstance(batch, tuple | list):
            return type(batch)(self.to_device(item) for item in batch)
        if isinstance(batch, Mapping):
            return {key: self.to_device(value) for key, value in batch.items()}
        return batch

    def autocast(self) -> Any:
        """The context to compute forward passes and losses in (float16 autocast with AMP, else nothing)."""
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    # -- steps -------------------------------------------------------------------------------------
    def optimize(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                 parameters: Iterable[torch.nn.Parameter] | None = None) -> None:
        """Zero ``optimizer``'s gradients, back-propagate ``loss`` and step: scaled under AMP, its gradients
        unscaled before clipping to the run's ``grad_clip`` (over ``parameters``, by default the
        optimiser's own). Zeroing first makes two optimisers over one graph (a GAN) correct."""
        if isinstance(optimizer, torch.optim.LBFGS):
            raise ValueError("the lbfgs optimizer re-evaluates the loss at each step, and this task's steps do not "
                             "let it (only a task that steps with a closure can, e.g. style transfer): choose "
                             "sgd, adam or adamw")
        optimizer.zero_grad(set_to_none=True)
        if not self.amp:  # the plain path: a disabled GradScaler still costs Python calls per step
            loss.backward()
            if self.ranks is not None:
                self._average_unsynced(optimizer)
            if self.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self._clip_params(optimizer, parameters), self.grad_clip)
            optimizer.step()
            return
        scaler = self._scaler(optimizer)
        scaler.scale(loss).backward()
        if self.ranks is not None:  # every rank's scale is the same: averaging scaled gradients is exact
            self._average_unsynced(optimizer)
        if self.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(self._clip_params(optimizer, parameters), self.grad_clip)
        scaler.step(optimizer)
        scaler.update()

    def optimize_closure(self, optimizer: torch.optim.Optimizer, compute_loss: Callable[[], torch.Tensor]) -> Any:
        """Step an optimiser that re-evaluates the loss (L-BFGS): ``compute_loss()`` is called as often as
        it asks, each time with zeroed gradients, back-propagated and clipped. Returns the first loss."""
        if self.ranks is not None:
            raise ValueError(CLOSURE_NOT_DISTRIBUTED)
        if self.amp:
            raise ValueError("mixed precision (amp) cannot scale the gradients of an optimiser that re-evaluates "
                             "its loss (L-BFGS); turn amp off for this task")

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            loss = compute_loss()
            loss.backward()
            if self.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self._clip_params(optimizer, None), self.grad_clip)
            return loss

        return optimizer.step(closure)

    def _average_unsynced(self, optimizer: torch.optim.Optimizer) -> None:
        """Average over the ranks the gradients of ``optimizer``'s parameters that DDP did not already average."""
        params = self._clip_params(optimizer, None)
        if self._unchecked:
            self._check_all_used()
        if self._synced:
            params = [p for p in params if id(p) not in self._synced]
        if params:
            self.ranks.average_gradients(params)

    def _check_all_used(self) -> None:
        """After the first backward: raise NotDistributable when a wrapped parameter took no part in the loss.

        DDP (without ``find_unused_parameters``, whose graph search costs every step) averages a bucket of
        gradients once all of its parameters have one: a parameter the loss never reaches leaves its bucket
        unaveraged, so the ranks would step apart, and DDP itself fails at the next forward with advice the spec
        cannot follow. The same on every rank (one model), so all of them stop here together."""
        unused = [name for name, p in self._unchecked if p.grad is None]
        self._unchecked = []
        if unused:
            shown = ", ".join(unused[:5]) + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
            raise NotDistributable(
                f"the model's parameters {shown} took no part in the training loss, and DistributedDataParallel "
                "averages the gradients of a model whose every trainable parameter does: train it in one process "
                "(without --nproc), or leave those layers out of the model")

    @staticmethod
    def _clip_params(optimizer: torch.optim.Optimizer, parameters: Iterable[torch.nn.Parameter] | None) -> list:
        if parameters is not None:
            return list(parameters)
        return [p for group in optimizer.param_groups for p in group["params"]]

    def _scaler(self, optimizer: torch.optim.Optimizer) -> torch.amp.GradScaler:
        for known, scaler in self._scalers:
            if known is optimizer:
                return scaler
        scaler = torch.amp.GradScaler("cuda")
        index = len(self._scalers)
        if index in self._pending:
            scaler.load_state_dict(self._pending.pop(index))
        self._scalers.append((optimizer, scaler))
        return scaler

    # -- resume ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        # A scaler restored on resume but not used since (its optimiser has not stepped yet) is kept too.
        state = {f"scaler{i}": dict(pending) for i, pending in self._pending.items()}
        state.update({f"scaler{i}": scaler.state_dict() for i, (_, scaler) in enumerate(self._scalers)})
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key, value in state.items():
            index = int(key.removeprefix("scaler"))
            if index < len(self._scalers):
                self._scalers[index][1].load_state_dict(value)
            else:  # restored before the first step: applied when that optimiser first steps
                self._pending[index] = value
