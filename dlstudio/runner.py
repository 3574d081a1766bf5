"""From a spec to a finished run: resolve plugins' parts, train with the engine, record in the store.

The CLI and the GUI's worker thread both go through :class:`Run`, so a run started from the window and
the same spec replayed by ``dlstudio train`` do exactly the same thing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dlstudio.checkpoints import (
    CheckpointError,
    apply_weights,
    load_checkpoint,
    load_train_state,
    save_checkpoint,
    save_train_state,
)
from dlstudio.contract import DataBundle, LoadContext
from dlstudio.engine import (
    BestWeights,
    Checkpoint,
    EarlyStopping,
    EpochEnd,
    FitEnded,
    FitState,
    LogMessage,
    Record,
    RunControl,
    TaskContext,
    WeightNorms,
    fit,
)
from dlstudio.engine.data import make_batches
from dlstudio.engine.devices import resolve_device
from dlstudio.engine.optim import build_scheduler
from dlstudio.engine.seed import seed_everything
from dlstudio.spec import RunSpec, SpecError, check_params

if TYPE_CHECKING:
    from dlstudio.studio import Studio


#: In each run's folder: every layer's weight norm at each epoch's end (see :class:`WeightNorms`).
WEIGHT_NORMS_FILE = "weight-norms.jsonl"


def read_weight_norms(run_dir: Path) -> dict[int, dict[str, float]]:
    """A run's per-epoch layer weight norms, ``{epoch: {layer: norm}}`` ({} for runs from before)."""
    return WeightNorms.read(Path(run_dir) / WEIGHT_NORMS_FILE)


class RunError(RuntimeError):
    """A run that cannot start; the message says what to change."""


@dataclass
class RunStarted:
    """First record of a run: which run in the store it is."""

    run_id: str
    run_dir: str
    device: str
    kind: str = "run_started"


def resolve_parts(studio: Studio, spec: RunSpec) -> tuple[Any, Any, Any, dict, dict]:
    """Model, dataset and task specs for ``spec``, with their parameters validated and filled in."""
    reg = studio.registry
    try:
        model_spec = reg.models.get(spec.model.id)
        data_spec = reg.datasets.get(spec.data.id)
        task_spec = reg.tasks.get(spec.run.task)
    except KeyError as exc:
        raise SpecError(str(exc.args[0])) from None
    for owner, kind in ((model_spec, "model"), (data_spec, "dataset")):
        if spec.run.task not in owner.tasks:
            raise SpecError(f"[{'model' if kind == 'model' else 'data'}] {owner.id} cannot be used for task "
                            f"{spec.run.task!r} (it supports {', '.join(owner.tasks)})")
    model_params = check_params("model.params", f"model {model_spec.id!r}", spec.model.params,
                                model_spec.defaults, model_spec.choices)
    data_params = check_params("data.params", f"dataset {data_spec.id!r}", spec.data.params,
                               data_spec.defaults, data_spec.choices)
    return model_spec, data_spec, task_spec, model_params, data_params


class Run:
    """One training run. Iterate :meth:`records` to perform it."""

    def __init__(self, studio: Studio, spec: RunSpec, *, control: RunControl | None = None,
                 resume_id: str | None = None, log: Callable[[str], None] | None = None) -> None:
        self.studio = studio
        self.spec = spec
        self.control = control or RunControl()
        self.resume_id = resume_id
        self.run_id: str | None = resume_id
        self._log = log

    @classmethod
    def resume(cls, studio: Studio, run_id: str, *, control: RunControl | None = None) -> Run:
        row = studio.store.get(run_id)
        if row.status in ("created", "running", "paused"):
            raise RunError(f"run {run_id} is {row.status}; only a finished or interrupted run can be resumed")
        if row.epochs_done >= row.epochs:
            raise RunError(f"run {run_id} already trained all its {row.epochs} epochs")
        import tomllib

        spec = RunSpec.from_dict(tomllib.loads(row.spec), source=f"run {run_id}")
        return cls(studio, spec, control=control, resume_id=run_id)

    # ---------------------------------------------------------------------------------------------
    def records(self) -> Iterator[Record | RunStarted]:
        """Prepare, then train; every step is reported as a record. Errors before training raise."""
        spec = self.spec
        model_spec, data_spec, task_spec, model_params, data_params = resolve_parts(self.studio, spec)
        try:
            device = resolve_device(spec.run.device)
        except ValueError as exc:
            raise SpecError(f"[run] device: {exc}") from None
        seed_everything(spec.run.seed)

        messages: list[str] = []
        yield LogMessage(f"loading data: {data_spec.title}")
        bundle = self._load_data(data_spec, data_params, messages, str(device))
        for text in messages + bundle.messages:
            yield LogMessage(text)
        try:
            model = model_spec.build(model_params, bundle.info)
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(f"model {model_spec.id!r} could not be built: {exc}") from None
        if spec.model.weights:
            state, _ = load_checkpoint(spec.model.weights)
            apply_weights(model, state, source=spec.model.weights)
            yield LogMessage(f"initialised the weights from {spec.model.weights}")

        train = spec.train
        pin = device.type == "cuda"
        train_batches = make_batches(bundle.train, train.batch_size, shuffle=bundle.shuffle, seed=spec.run.seed,
                                     num_workers=train.num_workers, pin_memory=pin)
        valid_batches = None
        if bundle.valid is not None and len(bundle.valid):
            valid_batches = make_batches(bundle.valid, train.batch_size, shuffle=False,
                                         num_workers=train.num_workers, pin_memory=pin)
        task = task_spec.create(TaskContext(model, bundle.info, train, device, len(train_batches)))
        scheduler = build_scheduler(task.optimizers[0], train, len(train_batches)) if task.optimizers else None

        store = self.studio.store
        start_epoch = 0
        state = FitState(task=task, epochs=train.epochs)
        if self.resume_id is None:
            self.run_id = store.create_run(
                name=spec.run.name or f"{model_spec.title} on {data_spec.title}", plugin=model_spec.plugin,
                task=spec.run.task, model=model_spec.id, dataset=data_spec.id, params=spec.summary(),
                spec=spec.to_toml(), device=str(device), epochs=train.epochs, monitor=task.monitor,
            )
        else:
            start_epoch = self._restore(task, scheduler, state)
            yield LogMessage(f"resuming run {self.run_id} after epoch {start_epoch}")
        run_id = self.run_id
        run_dir = store.run_dir(run_id)
        store.mark_running(run_id, str(device))
        yield RunStarted(run_id, str(run_dir), str(device))

        meta = {
            "architecture": model_spec.id, "plugin": model_spec.plugin, "model_params": model_params,
            "dataset": data_spec.id, "classes": list(bundle.info.classes),
            "input_shape": list(bundle.info.input_shape), "input_kind": bundle.info.input_kind,
            "preprocessing": dict(bundle.info.extra), "task": spec.run.task, "spec": spec.to_dict(),
            "run_id": run_id,
        }
        callbacks: list[Any] = []
        if scheduler is not None:
            callbacks.append(scheduler)
        if train.early_stopping:
            callbacks.append(EarlyStopping(train.early_stopping))
        if train.keep_best:
            best = BestWeights()
            if self.resume_id is not None:
                best.best_state = self._saved_best()
            callbacks.append(best)
        callbacks.append(Checkpoint(lambda st, rec: self._save(st, rec, scheduler, meta), train.checkpoint_every))
        callbacks.append(WeightNorms(run_dir / WEIGHT_NORMS_FILE))

        ended: FitEnded | None = None
        try:
            for record in fit(task, train_batches, valid_batches, epochs=train.epochs, start_epoch=start_epoch,
                              callbacks=callbacks, control=self.control, state=state):
                if isinstance(record, EpochEnd):
                    store.record_epoch(run_id, record.epoch, record.metrics,
                                       best_epoch=state.best_epoch, best_value=state.best_value)
                    store.add_duration(run_id, record.seconds)
                elif isinstance(record, FitEnded):
                    ended = record
                    if record.status in ("completed", "stopped"):
                        self._save_final(task, meta, record)
                    # Before yielding: whoever sees the end may read the store at once.
                    store.set_status(run_id, record.status, record.message)
                yield record
        except BaseException as exc:
            if ended is None:
                status = "interrupted" if isinstance(exc, (KeyboardInterrupt, GeneratorExit)) else "failed"
                store.set_status(run_id, status, f"{type(exc).__name__}: {exc}")
            raise

    # ---------------------------------------------------------------------------------------------
    def _load_data(self, data_spec: Any, params: dict, messages: list[str], device: str) -> DataBundle:
        cache_dir = self.studio.cache_dir / data_spec.id
        cache_dir.mkdir(parents=True, exist_ok=True)
        ctx = LoadContext(cache_dir=cache_dir, seed=self.spec.run.seed, report=messages.append, device=device)
        try:
            bundle = data_spec.load(params, ctx)
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(f"dataset {data_spec.id!r} could not be loaded: {exc}") from None
        if not isinstance(bundle, DataBundle):
            raise RunError(f"dataset {data_spec.id!r} returned {type(bundle).__name__}, not a DataBundle")
        if len(bundle.train) == 0:
            raise RunError(f"dataset {data_spec.id!r} has no training samples")
        return bundle

    def _save(self, state: FitState, record: EpochEnd, scheduler: Any, meta: dict) -> None:
        store = self.studio.store
        folder = store.run_dir(self.run_id) / "checkpoints"
        info = {**meta, "epoch": record.epoch, "metrics": record.metrics}
        weights = state.task.model.state_dict()
        if record.is_best:
            path = save_checkpoint(folder / "best", weights, info)
            store.add_artifact(self.run_id, "best", path, record.epoch)
        train_state = {
            "task": state.task.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else {},
            "epoch": record.epoch,
            "best_epoch": state.best_epoch,
            "best_value": state.best_value,
            "rng": torch.get_rng_state(),
        }
        # The training state of each epoch gets its own files, and "last" names the one that belongs to
        # its weights; older states go only once "last" is on disk. Whichever write fails (a full disk),
        # "last" and the state it names are always of the same epoch.
        state_stem = folder / f"last-state-{record.epoch}"
        save_train_state(state_stem, train_state)
        path = save_checkpoint(folder / "last", weights, {**info, "train_state": state_stem.name})
        store.add_artifact(self.run_id, "last", path, record.epoch)
        for old in folder.glob("last-state-*"):
            if old.stem != state_stem.name:
                old.unlink(missing_ok=True)

    def _save_final(self, task: Any, meta: dict, ended: FitEnded) -> None:
        folder = self.studio.store.run_dir(self.run_id) / "checkpoints"
        info = {**meta, "epoch": ended.best_epoch, "monitor": ended.monitor, "best_value": ended.best_value}
        try:
            path = save_checkpoint(folder / "final", task.model.state_dict(), info)
        except OSError:
            return  # "last" and "best" are still on disk
        self.studio.store.add_artifact(self.run_id, "final", path, ended.best_epoch)

    def _saved_best(self) -> dict | None:
        path = self.studio.store.run_dir(self.run_id) / "checkpoints" / "best.safetensors"
        try:
            return load_checkpoint(path)[0] if path.exists() else None
        except CheckpointError:
            return None

    def _restore(self, task: Any, scheduler: Any, state: FitState) -> int:
        store = self.studio.store
        folder = store.run_dir(self.run_id) / "checkpoints"
        if not (folder / "last.safetensors").exists():
            store.truncate_metrics(self.run_id, 0)
            return 0  # interrupted before its first checkpoint: start again from epoch 1
        try:
            weights, meta = load_checkpoint(folder / "last.safetensors")
            apply_weights(task.model, weights, source=f"run {self.run_id}")
            saved = load_train_state(folder / meta.get("train_state", "last-state"))
        except CheckpointError as exc:
            raise RunError(f"run {self.run_id} cannot be resumed: {exc}") from None
        task.load_state_dict(saved["task"])
        if scheduler is not None and saved.get("scheduler"):
            scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"])
        epoch = int(saved["epoch"])
        state.best_epoch, state.best_value = saved.get("best_epoch"), saved.get("best_value")
        if state.best_value is not None and not math.isfinite(state.best_value):
            state.best_value = None
        store.truncate_metrics(self.run_id, epoch)
        return epoch


def run_to_end(run: Run, on_record: Callable[[Any], None] | None = None) -> FitEnded:
    """Drive ``run`` to its end, passing each record to ``on_record``; returns the final record."""
    ended = None
    started = time.perf_counter()
    for record in run.records():
        if on_record is not None:
            on_record(record)
        if isinstance(record, FitEnded):
            ended = record
    assert ended is not None, f"run ended without a final record after {time.perf_counter() - started:.1f}s"
    return ended
