"""What a run does differently as one process of a distributed run: which device it trains on, what cannot be
distributed (refused before anything starts), and the store as the ranks other than 0 see it (read, never
written: rank 0 alone writes rows, checkpoints and logs).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from dlstudio.engine.distributed import Ranks
    from dlstudio.spec import RunSpec
    from dlstudio.store import RunStore


def gpu_list(choice: str) -> list[int] | None:
    """The GPUs a device like ``cuda:0,1`` lists (a run trained by one process on each), else None."""
    if not choice.startswith("cuda:") or "," not in choice:
        return None
    try:
        gpus = [int(part) for part in choice.removeprefix("cuda:").split(",")]
    except ValueError:
        raise ValueError(f"device {choice!r}: list GPUs by number, as cuda:0,1") from None
    if len(set(gpus)) != len(gpus) or min(gpus) < 0:
        raise ValueError(f"device {choice!r}: each GPU once, by its number")
    return gpus


def distributed_device(choice: str, local_rank: int) -> str:
    """The device this process of a distributed run trains on: ``cuda:LOCAL_RANK`` when the run asks for a
    GPU (``auto`` where CUDA is present, ``cuda``, ``cuda:K``: the launcher chose the GPUs, each process takes
    its own), else the CPU. Raises ValueError for a device that cannot be shared out (MPS, a missing GPU)."""
    import torch

    if choice.startswith("mps"):
        raise ValueError("MPS runs one process on one Apple GPU: a distributed run needs CUDA GPUs or the CPU")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if not torch.cuda.is_available():
        raise ValueError(f"device {choice!r}: no CUDA GPU is available here")
    # (a listed device, cuda:0,1, reaches here with only its GPUs visible: the launcher set CUDA_VISIBLE_DEVICES)
    if local_rank >= torch.cuda.device_count():
        raise ValueError(f"process {local_rank} of this machine has no GPU of its own: {torch.cuda.device_count()} "
                         "visible; use at most that many processes per machine (--nproc)")
    return f"cuda:{local_rank}"


def refuse_undistributable(spec: RunSpec, processes: int) -> None:
    """Raise SpecError, before anything starts, for a spec that ``processes`` processes cannot train together."""
    from dlstudio.spec import SpecError

    if processes < 1:
        raise SpecError(f"--nproc: at least one process, got {processes}")
    if processes == 1:
        return
    train = spec.train
    if train.optimizer == "lbfgs":
        from dlstudio.engine.step import CLOSURE_NOT_DISTRIBUTED

        raise SpecError(f"[train] optimizer: {CLOSURE_NOT_DISTRIBUTED}")
    if train.batch_size % processes:
        raise SpecError(f"[train] batch_size {train.batch_size} is the batch of all {processes} processes together "
                        f"and must divide among them: choose a multiple of {processes}")
    if spec.run.device.startswith("mps"):
        raise SpecError("[run] device: MPS runs one process on one Apple GPU; a distributed run needs CUDA GPUs or "
                        "the CPU")


def share_out(ranks: Ranks, task: Any, task_name: str, samples: int | None, data_name: str) -> None:
    """Start a distributed run's processes as one model (rank 0's weights), each then drawing random numbers of its
    own; raise RunError for a task or data that cannot be shared out (L-BFGS, fewer samples than processes)."""
    import torch

    from dlstudio.errors import RunError

    if any(isinstance(optimizer, torch.optim.LBFGS) for optimizer in task.optimizers):
        from dlstudio.engine.step import CLOSURE_NOT_DISTRIBUTED

        raise RunError(f"{task_name}: {CLOSURE_NOT_DISTRIBUTED}")
    if samples is not None and samples < ranks.world:  # style transfer's one picture
        raise RunError(f"{data_name} has {samples} training sample{'s' if samples != 1 else ''}, fewer than the "
                       f"{ranks.world} processes that would share it: it cannot be distributed; train it in one "
                       "process (without --nproc)")
    ranks.broadcast_module(task.plain_model)  # (DDP's wrapper already did)
    ranks.diversify_rng()


def gradient_sync(task: Any) -> str:
    """How the run's gradients are synchronised, for its log: by DistributedDataParallel, or all-reduced by the
    Stepper after backward (a task that opted out of DDP: it calls its modules several times a step)."""
    stepper = getattr(task, "stepper", None)
    if stepper is None:
        return ("the task steps without the engine's Stepper: nothing synchronises its gradients (the ranks' "
                "weights are compared after its first step)")
    return stepper.gradient_sync


class FollowerStore:
    """The run store as a rank other than 0 sees it: every read is the store's, every write is left to rank 0
    (it is done there), and plugins' files go to a private scratch folder that is removed at the end."""

    _WRITES = frozenset({"create_run", "mark_running", "set_status", "add_duration", "record_epoch", "add_artifact",
                         "truncate_metrics", "replace_spec", "delete"})

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._scratch = tempfile.TemporaryDirectory(prefix="dlstudio-rank-")
        self.scratch = Path(self._scratch.name)

    def __getattr__(self, name: str) -> Any:
        if name in self._WRITES:
            return _nothing
        return getattr(self._store, name)

    def close(self) -> None:
        self._scratch.cleanup()


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def describe_device(device: torch.device | str, processes: int) -> str:
    """The device column of a run: ``cpu``, or ``2×cuda`` / ``2×cpu`` for a run of several processes."""
    device = str(device)
    if processes <= 1:
        return device
    return f"{processes}×{device.split(':')[0]}"
