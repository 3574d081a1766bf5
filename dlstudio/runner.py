"""From a spec to a finished run: resolve plugins' parts, train with the engine, record in the store.

The CLI and the GUI's worker thread both go through :class:`Run`, so a run started from the window and
the same spec replayed by ``dlstudio train`` do exactly the same thing.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dlstudio.checkpoints import apply_weights, load_checkpoint
from dlstudio.contract import DataBundle, LoadContext, RunContext
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
from dlstudio.engine.distributed import NotDistributable
from dlstudio.engine.optim import build_scheduler
from dlstudio.engine.seed import seed_everything
from dlstudio.errors import DiskFullError, RunError, as_disk_full
from dlstudio.parts import Parts, metric_declarations, resolve_parts  # resolve_parts: also the window's
from dlstudio.run_checkpoints import RunCheckpoints
from dlstudio.run_ranks import FollowerStore, describe_device, gradient_sync, refuse_undistributable, share_out
from dlstudio.spec import RunSpec, SpecError

if TYPE_CHECKING:
    from dlstudio.engine.distributed import Ranks
    from dlstudio.studio import Studio


#: In each run's folder: every layer's weight norm at each epoch's end (see :class:`WeightNorms`).
WEIGHT_NORMS_FILE = "weight-norms.jsonl"


def read_weight_norms(run_dir: Path) -> dict[int, dict[str, float]]:
    """A run's per-epoch layer weight norms, ``{epoch: {layer: norm}}`` ({} for runs from before)."""
    return WeightNorms.read(Path(run_dir) / WEIGHT_NORMS_FILE)


@dataclass
class RunStarted:
    """First record of a run: which run in the store it is, and how to show its metrics."""

    run_id: str
    run_dir: str
    device: str
    #: "epoch" or "step": what the run is measured in.
    unit: str = "epoch"
    #: The task's declared metrics (``MetricSpec.as_dict()``): title, direction, unit, plot group.
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: Processes training the run together (a distributed run: rank 0 reports for all).
    processes: int = 1
    kind: str = "run_started"


#: Steps between a step-measured run's period ends when neither the spec nor the data's length says.
DEFAULT_PERIOD_STEPS = 100


def _length(items: Any) -> int | None:
    """``len(items)``, or None for an iterable without a length (a stream, an IterableDataset)."""
    try:
        return len(items)
    except TypeError:
        return None


@dataclass
class _Prepared:
    """A run's parts, built: what the loop is driven with."""

    parts: Parts
    device: torch.device
    bundle: DataBundle
    task: Any
    train_batches: Any
    valid_batches: Any
    schedulers: list[Any]
    #: Batches in one pass over the training data (None: unknown).
    steps_per_epoch: int | None
    #: In a run measured in steps: steps per period (else 0) and periods in all.
    period_steps: int
    periods: int


class Run(RunCheckpoints):
    """One training run. Iterate :meth:`records` to perform it.

    Three parts: :meth:`_prepare` (data, model, task, batches, schedules), :meth:`_callbacks` (the run's
    own, the task's and plugins'), and driving the engine's :func:`~dlstudio.engine.fit` while recording
    each epoch in the store; checkpoints are saved and restored by :class:`RunCheckpoints`.
    """

    def __init__(self, studio: Studio, spec: RunSpec, *, control: RunControl | None = None,
                 resume_id: str | None = None, log: Callable[[str], None] | None = None,
                 ranks: Ranks | None = None, callbacks: Sequence[Any] = (), events: bool = True) -> None:
        self.studio = studio
        # -- sweeps and TensorBoard (dlstudio.sweep, dlstudio.tensorboard_log): a sweep's trial reporter, and
        # whether this process writes TensorBoard events (only the one that writes the store should).
        self.extra_callbacks = list(callbacks)
        self.events = events and (ranks is None or ranks.is_main)  # rank 0 alone writes, events too
        self.spec = spec
        self.control = control or RunControl()
        self.resume_id = resume_id
        self.run_id: str | None = resume_id
        self._log = log
        #: This process's place in a distributed run (None: the run is this process alone).
        self.ranks = ranks
        self._store = studio.store if ranks is None or ranks.is_main else FollowerStore(studio.store)

    @property
    def store(self) -> Any:
        """The run store; for a distributed run's ranks other than 0, one that reads but never writes."""
        return self._store

    @property
    def processes(self) -> int:
        return self.ranks.world if self.ranks is not None else 1

    @classmethod
    def resume(cls, studio: Studio, run_id: str, *, control: RunControl | None = None,
               overrides: Sequence[str] = (), device: str | None = None, ranks: Ranks | None = None) -> Run:
        """The run ``run_id`` continued from its last checkpoint, with ``overrides`` (``section.key=value``) and
        ``device`` applied where a resumed run can take them; the rest is refused (:mod:`dlstudio.resume`)."""
        from dlstudio.resume import resume_run

        return resume_run(studio, run_id, control=control, overrides=overrides, device=device, ranks=ranks)

    # ---------------------------------------------------------------------------------------------
    def records(self) -> Iterator[Record | RunStarted]:
        """Prepare, then train; every step is reported as a record. Errors before training raise."""
        spec = self.spec
        prepared = yield from self._prepare()
        parts, task, device = prepared.parts, prepared.task, prepared.device
        model_spec, data_spec = parts.model_spec, parts.data_spec

        store = self.store
        start_epoch = 0
        state = FitState(task=task, epochs=prepared.periods)
        shown_device = describe_device(device, self.processes)
        if self.resume_id is None:
            if self.ranks is None or self.ranks.is_main:
                self.run_id = store.create_run(
                    name=spec.run.name or f"{model_spec.title} on {data_spec.title}", plugin=model_spec.plugin,
                    task=spec.run.task, model=model_spec.id, dataset=data_spec.id,
                    params={**spec.summary(), **({"processes": self.processes} if self.processes > 1 else {})},
                    spec=spec.to_toml(), device=shown_device, epochs=prepared.periods, monitor=task.monitor,
                )
            if self.ranks is not None:
                self.run_id = self.ranks.share(self.run_id)
        else:
            start_epoch = self._restore(task, prepared.schedulers, state)
            yield LogMessage(f"resuming run {self.run_id} after {self._unit()} {start_epoch}")
        run_id = self.run_id
        run_dir = store.run_dir(run_id)
        store.mark_running(run_id, shown_device)
        if self.processes > 1:
            yield LogMessage(f"{self.processes} processes train this run together (rank 0 reports and writes); "
                             f"{gradient_sync(task)}")

        meta = {
            "architecture": model_spec.id, "plugin": model_spec.plugin, "model_params": parts.model_params,
            "dataset": data_spec.id, "classes": list(prepared.bundle.info.classes),
            "input_shape": list(prepared.bundle.info.input_shape), "input_kind": prepared.bundle.info.input_kind,
            "preprocessing": dict(prepared.bundle.info.extra), "task": spec.run.task,
            "task_params": parts.task_params, "spec": spec.to_dict(), "run_id": run_id,
        }
        train = spec.train
        ended: FitEnded | None = None
        # The run's duration is its wall time, summed over segments (a resume adds one): each epoch adds its
        # seconds as it ends, and the end of the segment adds the rest (a cancelled epoch, checkpoint saving).
        segment_began, counted = time.monotonic(), 0.0

        def count_the_rest() -> None:
            store.add_duration(run_id, max(0.0, time.monotonic() - segment_began - counted))

        try:  # from here on, however the run ends, the store says how
            yield RunStarted(run_id, str(run_dir), shown_device, unit=self._unit(),
                             metrics=metric_declarations(parts.task_spec), processes=self.processes)
            callbacks = self._callbacks(prepared, meta, run_dir)
            trained = fit(task, prepared.train_batches, prepared.valid_batches, epochs=prepared.periods,
                          steps=train.steps, period_steps=prepared.period_steps, start_epoch=start_epoch,
                          callbacks=callbacks, control=self.control, state=state, ranks=self.ranks)
            for record in _as_run_error(trained):
                if isinstance(record, EpochEnd):
                    store.record_epoch(run_id, record.epoch, record.metrics,
                                       best_epoch=state.best_epoch, best_value=state.best_value)
                    store.add_duration(run_id, record.seconds)
                    counted += record.seconds
                elif isinstance(record, FitEnded):
                    ended = record
                    problem = ""
                    if record.status in ("completed", "stopped") and store is self.studio.store:
                        problem = self._save_final(task, meta, record, state)
                        if problem:
                            yield LogMessage(problem, "warning")
                    # Before yielding: whoever sees the end may read the store at once.
                    count_the_rest()
                    store.set_status(run_id, record.status, "; ".join(filter(None, (record.message, problem))))
                yield record
        except BaseException as exc:
            full = as_disk_full(exc, run_dir)  # whichever write found the disk full: one message
            if ended is None:
                stopped = full is not None or isinstance(exc, (KeyboardInterrupt, GeneratorExit))
                full = full and _interrupted_by(full, run_id)
                with contextlib.suppress(DiskFullError):
                    count_the_rest()
                # A status the full disk refuses is still read as such here (and as "interrupted" elsewhere).
                with contextlib.suppress(DiskFullError):
                    store.set_status(run_id, "interrupted" if stopped else "failed",
                                     str(full) if full else f"{type(exc).__name__}: {exc}")
            if full is not None and full is not exc:
                raise full from None
            raise
        finally:
            if isinstance(store, FollowerStore):
                store.close()

    def _unit(self) -> str:
        return "step" if self.spec.train.steps else "epoch"

    # -- prepare -----------------------------------------------------------------------------------
    def _prepare(self) -> Iterator[Record]:
        spec = self.spec
        parts = resolve_parts(self.studio, spec)
        ranks = self.ranks
        if ranks is not None:
            refuse_undistributable(spec, ranks.world)
        try:
            device = resolve_device(spec.run.device) if ranks is None else ranks.device
        except ValueError as exc:
            raise SpecError(f"[run] device: {exc}") from None
        seed_everything(spec.run.seed)

        messages: list[str] = []
        yield LogMessage(f"loading data: {parts.data_spec.title}")
        bundle = self._load_data(parts, messages, str(device))
        for text in messages + bundle.messages:
            yield LogMessage(text)
        try:
            model = parts.model_spec.build(parts.model_params, bundle.info)
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(f"model {parts.model_spec.id!r} could not be built: {exc}") from None
        if spec.model.weights:
            state, meta = load_checkpoint(spec.model.weights)
            saved_from = meta.get("architecture")
            other = f" (a checkpoint of {saved_from}; the model is {parts.model_spec.id})" if (
                saved_from and saved_from != parts.model_spec.id) else ""
            apply_weights(model, state, source=f"{spec.model.weights}{other}")
            yield LogMessage(f"initialised the weights from {spec.model.weights}")

        train = spec.train
        pin = device.type == "cuda"
        train_batches = self._batches(bundle, bundle.train, shuffle=bundle.shuffle, pin=pin, training=True)
        valid_batches = None
        if bundle.valid is not None and _length(bundle.valid) != 0:
            valid_batches = self._batches(bundle, bundle.valid, shuffle=False, pin=pin, training=False)
        steps_per_epoch = _length(train_batches)
        if train.steps:
            period_steps = train.eval_every or steps_per_epoch or DEFAULT_PERIOD_STEPS
            periods = math.ceil(train.steps / period_steps)
            yield LogMessage(f"measured in steps: {train.steps} steps in {periods} periods of {period_steps} "
                             f"([train] epochs = {train.epochs} is not used; schedules, early stopping and "
                             "checkpoints count periods)")
        else:  # an epoch is one pass over the data, however long (a stream's length may be unknown)
            period_steps, periods = 0, train.epochs
        context = TaskContext(model, bundle.info, train, device, steps_per_epoch, params=dict(parts.task_params),
                              extra={"ranks": ranks} if ranks is not None else {})
        try:
            task = parts.task_spec.create(context)
        except (ValueError, RuntimeError) as exc:
            raise RunError(f"task {parts.task_spec.id!r} could not be set up: {exc}") from None
        if ranks is not None:  # refused here, before the run is stored, if it cannot be shared out
            share_out(ranks, task, f"task {parts.task_spec.id!r}",
                      None if bundle.batched else _length(bundle.train), f"dataset {parts.data_spec.id!r}")
        if not task.monitor:  # nothing says which epoch is best: refuse what needs it rather than ignore it
            needs_best = [(key, what) for key, what, asked in (
                ("early_stopping", "early stopping", train.early_stopping > 0),
                ("scheduler", "the plateau schedule", train.scheduler == "plateau")) if asked]
            for key, what in needs_best:
                raise SpecError(f"[train] {key}: task {parts.task_spec.id!r} reports no metric that says which "
                                f"epoch is best, so {what} cannot be used")
        try:
            schedulers = [s for s in (build_scheduler(opt, train, steps_per_epoch, periods=periods,
                                                      total_steps=train.steps or None)
                                      for opt in task.optimizers) if s is not None]
        except ValueError as exc:
            raise SpecError(f"[train] scheduler: {exc}") from None
        return _Prepared(parts, device, bundle, task, train_batches, valid_batches, schedulers, steps_per_epoch,
                         period_steps, periods)

    def _batches(self, bundle: DataBundle, dataset: Any, *, shuffle: bool, pin: bool, training: bool) -> Any:
        train = self.spec.train
        if bundle.batched:
            return make_batches(dataset, None, shuffle=False, num_workers=train.num_workers, pin_memory=pin,
                                ranks=self.ranks)
        sampler = bundle.sampler if training else None
        return make_batches(dataset, train.batch_size, shuffle=shuffle and sampler is None, seed=self.spec.run.seed,
                            num_workers=train.num_workers, pin_memory=pin, sampler=sampler, collate=bundle.collate,
                            ranks=self.ranks, pad=training)

    def _callbacks(self, prepared: _Prepared, meta: dict, run_dir: Path) -> list[Any]:
        """The run's own callbacks (schedules, early stopping, best weights, checkpoints, weight norms), then
        the task's, then plugins' (named in ``[run] callbacks`` or ``always``), in that order."""
        train = self.spec.train
        callbacks: list[Any] = list(prepared.schedulers)
        if train.early_stopping:
            callbacks.append(EarlyStopping(train.early_stopping))
        if train.keep_best and prepared.task.monitor:
            best = BestWeights()
            if self.resume_id is not None:
                best.best_state = self._saved_best()
            callbacks.append(best)
        follower = isinstance(self.store, FollowerStore)
        if not follower:  # rank 0 alone writes checkpoints and the weight norms
            callbacks.append(Checkpoint(lambda st, rec: self._save(st, rec, prepared.schedulers, meta),
                                        train.checkpoint_every))
            callbacks.append(WeightNorms(run_dir / WEIGHT_NORMS_FILE))
        callbacks.extend(prepared.task.callbacks())
        # Plugins' callbacks run on every rank (one may change how the run trains); the files of ranks other
        # than 0 go to a scratch folder.
        context = RunContext(run_id=self.run_id, run_dir=self.store.scratch if follower else run_dir,
                             spec=self.spec.to_dict(), task=self.spec.run.task,
                             device=str(prepared.device), resumed=self.resume_id is not None, studio=self.studio)
        registry = self.studio.registry
        chosen = [registry.callbacks.get(i) for i in self.spec.run.callbacks]
        chosen += [c for c in registry.callbacks if c.always and c not in chosen
                   and (not c.tasks or self.spec.run.task in c.tasks)]
        for spec in chosen:
            try:
                callback = spec.create(context)
            except Exception as exc:
                raise RunError(f"callback {spec.id!r} of plugin {spec.plugin!r} could not be set up: "
                               f"{type(exc).__name__}: {exc}") from None
            if callback is not None:
                callbacks.append(callback)
        # -- sweeps and TensorBoard: last, so they see every other callback's metrics and messages
        callbacks.extend(self.extra_callbacks)
        if self.events:
            from dlstudio.tensorboard_log import run_logger

            callbacks.extend(run_logger(self.studio.home, run_dir, self.spec.to_dict(), prepared.parts))
        return callbacks

    def _load_data(self, parts: Parts, messages: list[str], device: str) -> DataBundle:
        data_spec = parts.data_spec
        cache_dir = self.studio.cache_dir / data_spec.id
        cache_dir.mkdir(parents=True, exist_ok=True)
        ctx = LoadContext(cache_dir=cache_dir, seed=self.spec.run.seed, report=messages.append, device=device,
                          batch_size=self.spec.train.batch_size, task=self.spec.run.task,
                          task_params=dict(parts.task_params))
        try:
            bundle = data_spec.load(parts.data_params, ctx)
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(f"dataset {data_spec.id!r} could not be loaded: {exc}") from None
        if not isinstance(bundle, DataBundle):
            raise RunError(f"dataset {data_spec.id!r} returned {type(bundle).__name__}, not a DataBundle")
        if _length(bundle.train) == 0:  # None (a stream) is checked when the first epoch yields nothing
            raise RunError(f"dataset {data_spec.id!r} has no training samples")
        return bundle


def _as_run_error(records: Iterator[Record]) -> Iterator[Record]:
    """``records``, a task found not distributable while training reported as the user's error (no traceback)."""
    try:
        yield from records
    except NotDistributable as exc:
        raise RunError(str(exc)) from None


def _interrupted_by(full: DiskFullError, run_id: str) -> DiskFullError:
    return DiskFullError(full.path, full.what, f"run {run_id} stopped and is marked interrupted, its last checkpoint "
                         f"kept. Free some space, then resume it: dlstudio train --resume {run_id}")


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
