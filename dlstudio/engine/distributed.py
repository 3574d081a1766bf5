"""The engine's side of a distributed run (one process per GPU or CPU share, started by torchrun).

:class:`Ranks` is this process's place among the run's processes and the few collectives the engine needs:
gradients averaged where DDP does not average them, the running training loss (:class:`SharedLoss`), each
phase's sums added up over the ranks, and the decisions that must agree (cancel, stop, divergence) taken on
numbers every rank shares. Nothing here starts processes or writes files: :mod:`dlstudio.distributed` launches
torchrun, the runner decides who writes.

How gradients are synchronised: a task whose training step is one forward of its model and one backward
(classification, the text classifiers, a language model carrying its state) gets the model wrapped in
``DistributedDataParallel`` by :meth:`Stepper.prepare_model <dlstudio.engine.step.Stepper.prepare_model>`, and DDP
averages the gradients while backward runs. A task DDP cannot express opts out there (a GAN calls its
discriminator twice a step and back-propagates the generator's loss through it; DDP's reducer expects one forward
per backward); for it the Stepper averages exactly the gradients an optimiser is about to step, right after
backward (:meth:`Ranks.average_gradients`: DDP's arithmetic, a sum over ranks divided by their number, in one
flattened all-reduce per optimiser). A task that steps some other way is caught by
:meth:`Ranks.check_same_weights` after its first step, instead of training different models silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler, Sampler

#: An odd 64-bit constant (the golden ratio's): spreads ranks' seeds far apart.
_SPREAD = 0x9E3779B97F4A7C15


class NotDistributable(RuntimeError):
    """Found while training: the task or its model cannot be trained by several processes (the message says why
    and what to do instead); the runner reports it as the user's error."""


class RanksDisagree(NotDistributable):
    """The processes of a distributed run no longer hold the same weights: the task cannot be distributed."""


class Ranks:
    """This process's rank among ``world`` processes (``local_rank`` on its machine), over an initialised
    default process group. Collectives travel on ``device`` (the GPU for NCCL, the CPU for gloo)."""

    def __init__(self, rank: int, world: int, local_rank: int = 0, device: torch.device | str = "cpu") -> None:
        self.rank, self.world, self.local_rank = int(rank), int(world), int(local_rank)
        self.device = torch.device(device)

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the store, checkpoints and logs."""
        return self.rank == 0

    def __repr__(self) -> str:
        return f"Ranks(rank={self.rank}, world={self.world}, local_rank={self.local_rank}, device={self.device})"

    # -- weights and gradients ---------------------------------------------------------------------
    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Replace each parameter's gradient by its mean over the ranks (a missing one counts as zeros)."""
        params = [p for p in parameters if p.requires_grad]
        if not params:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.detach().reshape(-1).to(torch.float32) for g in grads]).to(self.device)
        dist.all_reduce(flat)
        flat = flat.div_(self.world).to(grads[0].device)
        offset = 0
        for p, g in zip(params, grads, strict=True):
            count = g.numel()
            averaged = flat[offset:offset + count].view_as(g).to(g.dtype)
            offset += count
            if p.grad is None:
                p.grad = averaged
            else:
                p.grad.copy_(averaged)

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers on every rank (they start as one model, as DDP's do)."""
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        """Rank 0's buffers (batch norm's running statistics, which each rank keeps from its own batches) on every
        rank, as DDP broadcasts them: every rank then validates the model rank 0 saves."""
        with torch.no_grad():
            for tensor in module.buffers():
                dist.broadcast(tensor.data, src=0)

    def check_same_weights(self, module: torch.nn.Module, task_name: str = "") -> None:
        """Raise :class:`RanksDisagree` unless every rank holds the same weights (to float rounding)."""
        with torch.no_grad():
            total = sum((p.detach().double().sum() for p in module.parameters()), torch.zeros((), dtype=torch.float64))
            local = torch.stack([total, -total]).to(self.device)
            dist.all_reduce(local, op=dist.ReduceOp.MAX)
        high, low = float(local[0]), -float(local[1])
        if not math.isclose(high, low, rel_tol=1e-5, abs_tol=1e-6):
            what = f"task {task_name!r}" if task_name else "this task"
            raise RanksDisagree(
                f"the processes no longer hold the same weights (sums {low:.8g} .. {high:.8g}): {what} does not step "
                "its optimisers through the engine's Stepper, so its gradients are not averaged and it cannot be "
                "distributed; train it in one process (without --nproc)")

    # -- numbers every rank must share -------------------------------------------------------------
    def sum_values(self, values: Sequence[float]) -> list[float]:
        """``values`` added up over the ranks (float64)."""
        local = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self.device)
        dist.all_reduce(local)
        return local.tolist()

    def reduce_sums(self, sums: Mapping[str, Any], count: int) -> tuple[dict[str, float], int]:
        """A phase's sums and sample count added up over the ranks, so each rank's metrics are the run's:
        every sample weighs the same, whichever rank saw it."""
        names = sorted(sums)
        totals = self.sum_values([float(sums[name]) for name in names] + [count])
        return dict(zip(names, totals[:-1], strict=True)), round(totals[-1])

    def batch_totals(self, loss_sum: float, count: int, cancel: bool) -> tuple[float, int, bool]:
        """One training batch's loss sum and samples over all ranks, and whether any rank was cancelled."""
        loss, n, cancelled = self.sum_values([loss_sum, count, 1.0 if cancel else 0.0])
        return loss, round(n), cancelled > 0

    def any(self, flag: bool) -> bool:
        return self.sum_values([1.0 if flag else 0.0])[0] > 0

    def share(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) on every rank."""
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    def share_order(self, order: Sequence[int] | None, n: int) -> list[int]:
        """Rank 0's ``order`` of ``n`` indices on every rank."""
        tensor = (torch.as_tensor(list(order), dtype=torch.int64) if self.is_main
                  else torch.empty(n, dtype=torch.int64)).to(self.device)
        dist.broadcast(tensor, src=0)
        return tensor.tolist()

    def diversify_rng(self) -> None:
        """Reseed torch's RNG of ranks other than 0 with their rank mixed in: their dropout masks and noise
        (a GAN's latent vectors) differ, as each process's do in DDP; rank 0 keeps the run's own sequence,
        so its draws (the data order it shares) are a one-process run's."""
        if self.is_main:
            return
        draw = int(torch.randint(0, 2**62, (), dtype=torch.int64))
        torch.manual_seed((draw ^ (self.rank * _SPREAD)) % 2**63)


class SharedLoss:
    """A distributed training phase's running loss over all ranks, brought up to date every :data:`SHARE_EVERY`
    steps (and at the first): one small all-reduce that also carries rank 0's cancel; the steps between add up on
    the device, without a host sync. Every rank sees the same numbers at the same step, so the loop's judgements
    on them (divergence, cancel) stop all ranks together or none."""

    def __init__(self, ranks: Ranks) -> None:
        self.ranks = ranks
        self.total, self.count = 0.0, 0
        self.pending: Any = 0.0
        self.pending_count = self.pending_steps = self.steps = 0
        #: The first shared step's loss over all ranks (None before it, or when it was not finite).
        self.first: float | None = None

    @property
    def loss(self) -> float:
        return self.total / max(self.count, 1)

    def add(self, loss_sum: Any, count: int) -> bool:
        """Count one step's loss sum (a tensor may stay on the device); whether it is time to :meth:`share`."""
        self.pending = self.pending + loss_sum
        self.pending_count += count
        self.pending_steps += 1
        self.steps += 1
        return self.steps == 1 or self.steps % SHARE_EVERY == 0

    def share(self, cancelled: bool) -> None:
        """Add the steps since the last share up over the ranks; raise Cancelled when any rank was cancelled."""
        from dlstudio.engine.control import Cancelled

        loss_sum, n, cancel = self.ranks.batch_totals(float(self.pending), self.pending_count, cancelled)
        self.pending, self.pending_count, self.pending_steps = 0.0, 0, 0
        if cancel:
            raise Cancelled
        if self.count == 0 and n:
            first = loss_sum / n
            self.first = first if math.isfinite(first) else None
        self.total += loss_sum
        self.count += n


#: Training steps between the ranks' shared look at the running loss and at a cancel (and the first step).
SHARE_EVERY = 8


class ShardSampler(DistributedSampler):
    """This rank's share of the order ``base`` draws, as :class:`~torch.utils.data.DistributedSampler` shares
    ``range(n)``: padded to a multiple of the ranks by repeating from the start (``pad=True``, so every rank
    takes as many training steps), every ``world``-th index from ``rank`` on.

    torch's sampler draws its own order from ``seed + epoch``; this one shares rank 0's draw of the run's own
    order instead (the global RNG, saved with checkpoints), so with a global batch of ``world × local`` the
    ranks' batches together are exactly the one-process run's batches, and a resumed run continues its order.
    There is nothing to ``set_epoch``: each pass draws anew.
    """

    def __init__(self, dataset: Any, base: Sampler[int] | Iterable[int], ranks: Ranks, *, pad: bool) -> None:
        super().__init__(dataset, num_replicas=ranks.world, rank=ranks.rank, shuffle=False, drop_last=False)
        self.base, self.ranks, self.pad = base, ranks, pad
        self.n = len(dataset)

    def __len__(self) -> int:
        if self.pad:
            return self.num_samples
        return len(range(self.rank, self.n, self.num_replicas))

    def __iter__(self) -> Iterator[int]:
        order = self.ranks.share_order(list(self.base) if self.ranks.is_main else None, self.n)
        if self.pad and len(order) < self.total_size:
            repeats = math.ceil((self.total_size - len(order)) / len(order))
            order = (order + order * repeats)[: self.total_size]
        return iter(order[self.rank::self.num_replicas])


class RowShards:
    """This rank's rows of each whole batch a dataset yields (a language model's windows, a stream): every
    tensor in the batch split along its first dimension into ``world`` near-equal parts. Rows keep their place
    from batch to batch, so state carried per row (an RNN's hidden state) stays with its row."""

    def __init__(self, batches: Iterable[Any], ranks: Ranks) -> None:
        self.batches, self.ranks = batches, ranks

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]  (a stream without one raises TypeError: unknown)

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches:
            yield self._rows(batch)

    def _rows(self, batch: Any) -> Any:
        if isinstance(batch, torch.Tensor):
            if batch.dim() == 0 or batch.shape[0] < self.ranks.world:
                rows = 0 if batch.dim() == 0 else batch.shape[0]
                raise ValueError(f"a batch of {rows} rows cannot be shared by {self.ranks.world} processes: "
                                 "raise [train] batch_size or use fewer processes")
            return torch.tensor_split(batch, self.ranks.world)[self.ranks.rank]
        if isinstance(batch, tuple) and hasattr(batch, "_fields"):
            return type(batch)(*(self._rows(item) for item in batch))
        if isinstance(batch, tuple | list):
            return type(batch)(self._rows(item) for item in batch)
        if isinstance(batch, Mapping):
            return {key: self._rows(value) for key, value in batch.items()}
        return batch
