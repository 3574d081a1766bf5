"""The runs API: read what runs recorded, and get their trained models back. Part of the plugin contract.

Everything here takes the :class:`~dlstudio.studio.Studio` a plugin is given (``context.studio`` in a panel,
``studio`` in a command) and only reads: no function creates, changes or deletes a run. ::

    from dlstudio import runs

    done = runs.list_runs(studio, plugin="hello", status=runs.FINISHED_STATUSES)
    history = runs.read_metrics(studio, done[0].id)         # [{"epoch": 1, "train_loss": ...}, ...]
    loaded = runs.load_model(studio, done[0].id, "best")    # loaded.model: an nn.Module in eval mode

Besides runs, it loads the files a user picks (a checkpoint, a ``.pt``/``.pth`` state dict) and builds
registered models, so a plugin never needs dlstudio's internal modules (store, runner, checkpoints).
Importing this module does not import torch; the functions that return tensors or models do.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from dlstudio.errors import CheckpointError
from dlstudio.modelio import LoadedModel
from dlstudio.store import ACTIVE, FINISHED, RunRow

if TYPE_CHECKING:
    import torch
    from torch import nn

    from dlstudio.contract import DataInfo
    from dlstudio.studio import Studio

#: What a run's status can be, while it goes on and once it ended.
ACTIVE_STATUSES: tuple[str, ...] = ACTIVE
FINISHED_STATUSES: tuple[str, ...] = FINISHED
STATUSES: tuple[str, ...] = ACTIVE + FINISHED
#: The weights a run saves: its best epoch's (by its monitored metric), its latest epoch's, and those it ended
#: with (the best ones again when the run keeps the best weights).
WEIGHTS: tuple[str, ...] = ("best", "last", "final")

__all__ = [
    "ACTIVE_STATUSES",
    "FINISHED_STATUSES",
    "STATUSES",
    "WEIGHTS",
    "Artifact",
    "CheckpointError",
    "LoadedModel",
    "RunInfo",
    "RunNotFound",
    "Weights",
    "apply_weights",
    "artifacts",
    "build_model",
    "get_run",
    "layer_weight_norms",
    "list_runs",
    "load_model",
    "load_model_file",
    "load_weights",
    "read_metrics",
    "read_spec",
    "save_weights",
    "weight_norms",
    "weights_meta",
]


class RunNotFound(KeyError):
    """No run with this id in the studio's run store (a ``KeyError``, so ``except KeyError`` catches it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such run"


@dataclass(frozen=True)
class RunInfo:
    """One run as the run store describes it (a snapshot: call :func:`get_run` again for news)."""

    id: str
    name: str
    #: "created", "running", "paused" (active) or "completed", "stopped", "cancelled", "failed", "interrupted",
    #: "pruned" (a sweep's trial its pruner stopped early).
    status: str
    #: Why it failed or was interrupted; empty otherwise.
    message: str
    #: The plugin that registered the run's model (the name dlstudio gave it).
    plugin: str
    task: str
    model: str
    dataset: str
    device: str
    epochs: int
    epochs_done: int
    #: The metric that decides the best epoch ("valid_accuracy", "valid_loss", ...) and its best value so far.
    monitor: str
    best_value: float | None
    best_epoch: int | None
    #: Unix times: when the run was created, and when it ended (None while active).
    created: float
    ended: float | None
    #: Seconds spent training (summed over resumes).
    duration: float
    #: The run's folder (its spec.toml, checkpoints, weight norms).
    run_dir: Path
    #: The key hyperparameters (epochs, batch size, optimizer, learning rate...), for tables.
    summary: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def resumable(self) -> bool:
        """Ended before its last epoch without being completed or stopped: ``dlstudio train --resume`` continues it."""
        return self.status in ("interrupted", "cancelled", "failed") and self.epochs_done < self.epochs


@dataclass(frozen=True)
class Artifact:
    """A checkpoint a run saved: its weights file (``.safetensors``, with a ``.json`` sidecar)."""

    #: "best", "last" or "final".
    kind: str
    path: Path
    #: The epoch whose weights it holds (None when unknown).
    epoch: int | None


class Weights(NamedTuple):
    """A weights file's tensors and its description (the sidecar: empty for a bare state dict)."""

    state: dict[str, torch.Tensor]
    meta: dict[str, Any]


# -- runs --------------------------------------------------------------------------------------------


def list_runs(studio: Studio, *, plugin: str | None = None, task: str | None = None,
              status: str | Iterable[str] | None = None, model: str | None = None,
              dataset: str | None = None) -> list[RunInfo]:
    """The runs, newest first; each filter given keeps only the runs that match it (``status`` may be several)."""
    wanted = _statuses(status)
    out = []
    for row in studio.store.list_runs():
        if ((plugin is None or row.plugin == plugin) and (task is None or row.task == task)
                and (wanted is None or row.status in wanted) and (model is None or row.model == model)
                and (dataset is None or row.dataset == dataset)):
            out.append(_info(studio, row))
    return out


def get_run(studio: Studio, run_id: str) -> RunInfo:
    """The run ``run_id``; :class:`RunNotFound` (a ``KeyError``) names it when there is none."""
    return _info(studio, _row(studio, run_id))


def read_spec(studio: Studio, run_id: str) -> dict[str, Any]:
    """The run's spec as a dict (``RunSpec.from_dict`` turns it into a spec; clone and replay use it)."""
    return tomllib.loads(_row(studio, run_id).spec)


def read_metrics(studio: Studio, run_id: str) -> list[dict[str, Any]]:
    """One dict per epoch recorded, in order: ``{"epoch": 1, "train_loss": ..., "valid_accuracy": ...}``.

    A metric that was not a number (a NaN loss) reads as NaN. A resumed run's epochs after its checkpoint
    were forgotten and trained again: each epoch appears once.
    """
    _row(studio, run_id)
    by_epoch: dict[int, dict[str, Any]] = {}
    for name, points in studio.store.metrics(run_id).items():
        for epoch, value in points:
            by_epoch.setdefault(epoch, {"epoch": epoch})[name] = float("nan") if value is None else float(value)
    return [by_epoch[e] for e in sorted(by_epoch)]


def artifacts(studio: Studio, run_id: str) -> dict[str, Artifact]:
    """The run's checkpoints that exist on disk, by kind ("best", "last", "final"); {} before its first epoch."""
    row = _row(studio, run_id)
    found = {kind: Artifact(kind, Path(path), epoch) for kind, (path, epoch) in studio.store.artifacts(run_id).items()
             if Path(path).exists()}
    if "final" in found and not _keeps_best(row):
        # The store gives "final" the best epoch; without train.keep_best its weights are the last epoch's.
        found["final"] = Artifact("final", found["final"].path, row.epochs_done)
    return {kind: found[kind] for kind in sorted(found, key=_kind_order)}


def load_model(studio: Studio, run_id: str, weights: str = "best") -> LoadedModel:
    """The run's model with its ``weights`` ("best", "last" or "final"), on the CPU in eval mode.

    Raises :class:`CheckpointError` when the run has no such checkpoint (the message lists those it has) or the
    file cannot be used, and ``KeyError`` when the run is unknown or its model's plugin is not loaded.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    saved = artifacts(studio, run_id)
    if weights not in saved:
        has = f"it has: {', '.join(saved)}" if saved else "it has none yet (a run saves them at each epoch's end)"
        raise CheckpointError(f"run {run_id} has no {weights!r} checkpoint; {has}")
    artifact = saved[weights]
    loaded = load_model_file(studio, artifact.path)
    loaded.weights, loaded.run_id, loaded.epoch = weights, run_id, artifact.epoch
    return loaded


def weight_norms(studio: Studio, run_id: str) -> dict[int, dict[str, float]]:
    """Every layer's weight norm at each epoch's end, ``{epoch: {layer: norm}}`` ({} for runs that predate them).

    The norms are those of :func:`layer_weight_norms`, so a checkpoint's weights can be compared with them.
    """
    from dlstudio.runner import read_weight_norms

    return read_weight_norms(get_run(studio, run_id).run_dir)


# -- models and weights files ------------------------------------------------------------------------


def build_model(studio: Studio, model_id: str, params: Mapping[str, Any] | None = None,
                data: DataInfo | None = None) -> LoadedModel:
    """A registered model, freshly initialised as a run would build it (``params`` over its defaults, checked).

    ``data`` defaults to the model's ``default_data``. The module is returned as built (in training mode).
    """
    from dlstudio import modelio

    return modelio.build_model(studio, model_id, params, data)


def load_model_file(studio: Studio, path: str | Path, *, architecture: str | None = None,
                    params: Mapping[str, Any] | None = None, data: DataInfo | None = None) -> LoadedModel:
    """A registered model with the weights of a file, on the CPU in eval mode.

    A dlstudio checkpoint names its architecture, parameters and data in its sidecar; a bare ``.pt``/``.pth``
    state dict needs ``architecture`` (and ``data`` unless the model has default data). Nothing is unpickled.
    """
    from dlstudio import modelio

    loaded = modelio.load_model(studio, path, architecture, params, data)
    loaded.model.eval()
    return loaded


def load_weights(path: str | Path) -> Weights:
    """The tensors and description of a checkpoint (``.safetensors``) or a ``.pt``/``.pth``/``.bin`` state dict.

    Loading never runs code from the file: a pickle holding more than tensors is refused with
    :class:`CheckpointError`, as are missing, corrupt and truncated files.
    """
    from dlstudio.checkpoints import load_checkpoint

    state, meta = load_checkpoint(path)
    return Weights(state, meta)


def weights_meta(path: str | Path) -> dict[str, Any]:
    """A weights file's description without loading its tensors ({} when it has no sidecar)."""
    from dlstudio.checkpoints import read_sidecar

    return read_sidecar(Path(path))


def apply_weights(model: nn.Module, state: Mapping[str, torch.Tensor], *, source: str = "") -> None:
    """Load ``state`` into ``model``, or raise :class:`CheckpointError` naming the keys and shapes that do not fit."""
    from dlstudio import checkpoints

    checkpoints.apply_weights(model, state, source=source)


def save_weights(path: str | Path, state: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> Path:
    """Write ``state`` as a dlstudio checkpoint at ``path`` (``.safetensors`` added) with ``meta`` as its sidecar.

    Both files are written atomically. A sidecar with ``architecture``, ``model_params``, ``input_shape`` and
    ``classes`` lets :func:`load_model_file` rebuild the model. Returns the weights file's path.
    """
    from dlstudio.checkpoints import save_checkpoint

    path = Path(path)
    return save_checkpoint(path.with_suffix("") if path.suffix == ".safetensors" else path, state, meta)


def layer_weight_norms(state: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The L2 norm of each layer's ``weight`` in a state dict, as runs record them (:func:`weight_norms`)."""
    from dlstudio.engine.callbacks import layer_weight_norms as norms

    return norms(state)


# -- internals ---------------------------------------------------------------------------------------


def _row(studio: Studio, run_id: str) -> RunRow:
    try:
        return studio.store.get(run_id)
    except KeyError as exc:
        raise RunNotFound(str(exc.args[0]) if exc.args else f"no run {run_id!r}") from None


def _info(studio: Studio, row: RunRow) -> RunInfo:
    return RunInfo(
        id=row.id, name=row.name, status=row.status, message=row.message, plugin=row.plugin, task=row.task,
        model=row.model, dataset=row.dataset, device=row.device, epochs=row.epochs, epochs_done=row.epochs_done,
        monitor=row.monitor, best_value=row.best_value, best_epoch=row.best_epoch, created=row.created,
        ended=row.ended, duration=row.duration, run_dir=studio.store.run_dir(row.id),
        summary=MappingProxyType(dict(row.params)),
    )


def _statuses(status: str | Iterable[str] | None) -> frozenset[str] | None:
    if status is None:
        return None
    wanted = frozenset([status] if isinstance(status, str) else status)
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        raise ValueError(f"unknown run status {', '.join(map(repr, unknown))}; a run is {', '.join(STATUSES)}")
    return wanted


def _keeps_best(row: RunRow) -> bool:
    try:
        return bool(tomllib.loads(row.spec).get("train", {}).get("keep_best", True))
    except (tomllib.TOMLDecodeError, AttributeError):
        return True


def _kind_order(kind: str) -> tuple[int, str]:
    return (WEIGHTS.index(kind) if kind in WEIGHTS else len(WEIGHTS), kind)
