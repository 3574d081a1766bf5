"""Hyperparameter sweeps with Optuna: every trial a normal run in the store, grouped under its sweep.

Optuna samples (grid, random, TPE), prunes (median) and keeps the study in a storage several processes or
machines can share: a journal file on a shared folder, or a database URL. Each trial is the base spec with
the sampled values applied as ``--set`` overrides, so the stored run replays with ``dlstudio train``. A
trial's run reports its metric at each epoch's end; when the pruner says so, the run stops after that
epoch and is stored as "pruned". A trial whose run fails (diverges, cannot be built) is a failed trial:
the sweep goes on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlstudio.engine.callbacks import Callback
from dlstudio.parts import metric_declarations, resolve_parts
from dlstudio.spec import SpecError, toml_literal
from dlstudio.sweep_params import ParamSpace, check_space, override
from dlstudio.sweep_store import SweepTable

if TYPE_CHECKING:
    from dlstudio.engine.control import RunControl
    from dlstudio.engine.loop import FitState
    from dlstudio.engine.records import EpochEnd
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "none")
#: The store status of a run its sweep's pruner stopped.
PRUNED = "pruned"


@dataclass
class SweepConfig:
    spaces: list[ParamSpace]
    trials: int = 20
    sampler: str = "tpe"
    pruner: str = "median"
    #: The metric to optimise ("": the task's monitored metric) and "min"/"max" ("": its declared direction).
    metric: str = ""
    direction: str = ""
    #: A journal file or a database URL ("": a journal file in the data folder's ``sweeps/``).
    storage: str = ""
    study: str = ""
    seed: int | None = None
    #: Median pruning starts once this many trials completed, and within a trial after this many epochs.
    startup_trials: int = 5
    warmup_epochs: int = 0


@dataclass
class TrialResult:
    number: int
    params: dict[str, Any]
    state: str  # running, complete, pruned, fail (Optuna's states, lower case)
    value: float | None
    run_id: str = ""
    message: str = ""


@dataclass
class SweepResult:
    study: str
    storage: str
    metric: str
    direction: str
    trials: list[TrialResult] = field(default_factory=list)

    @property
    def best(self) -> TrialResult | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        return (max if self.direction == "max" else min)(done, key=lambda t: t.value)


class TrialFailed(Exception):
    """A trial's run failed; Optuna records the trial as failed and the sweep goes on."""


class SweepCancelled(Exception):
    """The user cancelled a trial's run: the sweep stops there (the trial is recorded as failed)."""


class TrialReporter(Callback):
    """Reports the metric to the Optuna trial at each epoch's end; stops the run (cooperatively, after the
    epoch) when the pruner says so. Keeps the best value in the sweep's direction: the trial's result."""

    def __init__(self, trial: Any, metric: str, direction: str, sweep: str) -> None:
        self.trial, self.metric, self.direction, self.sweep = trial, metric, direction, sweep
        self.best: float | None = None
        self.last: float | None = None
        self.pruned = ""
        self.reported: list[str] = []

    def on_epoch_end(self, state: FitState, record: EpochEnd) -> None:
        self.reported = sorted(record.metrics)
        value = record.metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self.last = value
        if self.best is None or (value > self.best if self.direction == "max" else value < self.best):
            self.best = value
        self.trial.report(value, record.epoch)
        if self.trial.should_prune():
            self.pruned = (f"pruned by sweep {self.sweep!r} after {state.unit} {record.epoch}: {self.metric} "
                           f"{value:.4g} is worse than the median of the earlier trials there")
            state.stop_reason = self.pruned


def default_storage(studio: Studio, study: str) -> str:
    return str(studio.home / "sweeps" / f"{study}.journal")


def open_storage(text: str) -> Any:
    """Optuna storage for ``text``: a database URL as is, else a journal file (its folder created)."""
    if "://" in text:
        return text
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(text).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--storage {text}: its folder cannot be created ({exc.strerror})") from None
    return JournalStorage(JournalFileBackend(str(path)))


def monitored_metric_of(studio: Studio, spec: RunSpec) -> tuple[str, str]:
    """The metric the spec's task monitors and its direction. Only the task knows (it may depend on its
    parameters), so the run is prepared (data, model, task) once, without storing anything."""
    from dlstudio.runner import Run

    preparing = Run(studio, spec, events=False)._prepare()  # the runner's own preparation: the same task
    while True:
        try:
            next(preparing)
        except StopIteration as done:
            task = done.value.task
            break
    if not task.monitor:
        raise SpecError(f"task {spec.run.task!r} monitors no metric: name one with --metric and --direction")
    return task.monitor, task.monitor_mode


def _declared_direction(studio: Studio, spec: RunSpec, metric: str) -> str:
    names = {metric}
    for phase in ("valid_", "train_"):
        if metric.startswith(phase):
            names.add(metric[len(phase):])
    declared = metric_declarations(resolve_parts(studio, spec).task_spec)
    return next((m["direction"] for m in declared if m["name"] in names and m["direction"]), "")


def _metric_and_direction(studio: Studio, spec: RunSpec, config: SweepConfig) -> tuple[str, str]:
    direction = {"minimize": "min", "maximize": "max"}.get(config.direction, config.direction)
    if direction not in ("", "min", "max"):
        raise SpecError(f"--direction: expected min or max, got {config.direction!r}")
    if config.metric and direction:
        return config.metric, direction
    if config.metric:
        direction = _declared_direction(studio, spec, config.metric)
        if not direction:
            monitor, mode = monitored_metric_of(studio, spec)
            direction = mode if monitor == config.metric else ""
        if not direction:
            raise SpecError(f"--metric {config.metric}: the task declares no direction for it; give --direction "
                            "min or max")
        return config.metric, direction
    monitor, mode = monitored_metric_of(studio, spec)
    return monitor, direction or mode


def _sampler(config: SweepConfig) -> Any:
    import optuna

    if config.sampler == "grid":
        return optuna.samplers.GridSampler({s.key: s.grid() for s in config.spaces}, seed=config.seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=config.seed)
    if config.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=config.seed)
    raise SpecError(f"--sampler: expected one of {', '.join(SAMPLERS)}, got {config.sampler!r}")


def _pruner(config: SweepConfig) -> Any:
    import optuna

    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=config.startup_trials,
                                           n_warmup_steps=config.warmup_epochs)
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    raise SpecError(f"--pruner: expected one of {', '.join(PRUNERS)}, got {config.pruner!r}")


def open_study(studio: Studio, spec: RunSpec, config: SweepConfig) -> tuple[Any, str, str, str]:
    """Check everything a sweep needs before any trial; the Optuna study (created, or joined when another
    process made it), its storage, metric and direction."""
    import optuna

    if config.trials < 1:
        raise SpecError(f"--trials: must be at least 1, got {config.trials}")
    check_space(studio, spec, config.spaces)
    sampler, pruner = _sampler(config), _pruner(config)
    # A new study unless one is named: two sweeps of one spec must not merge by accident.
    name = config.study or time.strftime("sweep-%Y%m%d-%H%M%S")
    storage_text = config.storage or default_storage(studio, name)
    storage = open_storage(storage_text)
    # Each trial's end is reported by the caller (a failed one with its message); Optuna's own warnings would
    # repeat it with a traceback.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    existing = _existing_metric(storage, name)
    if existing and config.metric and existing[0] != config.metric:
        raise SpecError(f"--metric {config.metric}: study {name!r} optimises {existing[0]}")
    metric, direction = existing or _metric_and_direction(studio, spec, config)
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                direction="maximize" if direction == "max" else "minimize", load_if_exists=True)
    wanted = optuna.study.StudyDirection.MAXIMIZE if direction == "max" else optuna.study.StudyDirection.MINIMIZE
    if study.direction != wanted:  # a study made elsewhere: its direction is what Optuna will optimise
        raise SpecError(f"study {name!r} in {storage_text} {study.direction.name.lower()}s, but {metric} is "
                        f"better {direction}; give --direction or another --study")
    labels = [s.label for s in config.spaces]
    given = study.user_attrs.get("space")
    if given is not None and sorted(given) != sorted(labels):
        raise SpecError(f"study {name!r} in {storage_text} sweeps {'; '.join(given)}, not {'; '.join(labels)}")
    if given is None:
        study.set_user_attr("space", labels)
        study.set_user_attr("metric", metric)
    return study, storage_text, metric, direction


def _existing_metric(storage: Any, name: str) -> tuple[str, str] | None:
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None
    metric = study.user_attrs.get("metric")
    if not metric:
        return None
    return metric, "max" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "min"


def run_sweep(studio: Studio, spec: RunSpec, config: SweepConfig, *,
              on_trial: Callable[[TrialResult], None] | None = None,
              on_record: Callable[[Any], None] | None = None, control: RunControl | None = None) -> SweepResult:
    """Run ``config.trials`` trials of the sweep in this process (others may run more of the same study)."""
    import optuna

    study, storage_text, metric, direction = open_study(studio, spec, config)
    table = SweepTable(studio.store)

    def objective(trial: optuna.Trial) -> float:
        values = {space.key: space.suggest(trial) for space in config.spaces}
        changes = [override(k, v) for k, v in values.items()]
        changes.append(f"run.name={toml_literal(f'{study.study_name} #{trial.number}')}")
        result = TrialResult(trial.number, values, "fail", None)
        try:
            value = _run_trial(studio, spec.with_overrides(changes), trial, study.study_name, metric, direction,
                               table, result, on_record, control)
        finally:
            if on_trial is not None:
                on_trial(result)
        return value

    study.optimize(objective, n_trials=config.trials, catch=(TrialFailed,))
    return collect(study, storage_text, metric, direction)


def _run_trial(studio: Studio, spec: RunSpec, trial: Any, sweep: str, metric: str, direction: str,
               table: SweepTable, result: TrialResult, on_record: Callable | None,
               control: RunControl | None) -> float:
    import optuna

    from dlstudio.runner import Run, run_to_end

    reporter = TrialReporter(trial, metric, direction, sweep)
    run = Run(studio, spec, callbacks=[reporter], control=control)

    def seen(record: Any) -> None:
        if getattr(record, "kind", "") == "run_started":
            result.run_id = record.run_id
            trial.set_user_attr("run_id", record.run_id)
            table.add_trial(record.run_id, sweep, trial.number, result.params, metric, direction)
        if on_record is not None:
            on_record(record)

    def end(state: str, message: str = "", value: float | None = None) -> None:
        result.state, result.message, result.value = state, message, value
        trial.set_user_attr("message", message)
        if result.run_id:
            table.set_result(result.run_id, state, value)

    try:
        ended = run_to_end(run, seen)
    except Exception as exc:
        end("fail", f"{type(exc).__name__}: {exc}")
        raise TrialFailed(result.message) from None
    except BaseException:
        end("fail", "interrupted")
        raise
    if reporter.pruned:
        studio.store.set_status(result.run_id, PRUNED, reporter.pruned)
        end("pruned", reporter.pruned, reporter.last)
        raise optuna.TrialPruned(reporter.pruned)
    if ended.status == "cancelled":
        end("fail", ended.message)
        raise SweepCancelled(ended.message)  # the user stopped the sweep, not only this trial
    if ended.status not in ("completed", "stopped"):
        end("fail", ended.message or ended.status)
        raise TrialFailed(result.message)
    if reporter.best is None:
        end("fail", f"the run never reported {metric} (it reported {', '.join(reporter.reported) or 'nothing'})")
        raise TrialFailed(result.message)
    end("complete", ended.message, reporter.best)
    return reporter.best


def collect(study: Any, storage: str, metric: str, direction: str) -> SweepResult:
    """Every trial of the study, from whichever process ran it."""
    result = SweepResult(study.study_name, storage, metric, direction)
    for t in study.get_trials(deepcopy=False):
        value = t.value if t.value is not None else (
            t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
        result.trials.append(TrialResult(t.number, dict(t.params), t.state.name.lower(), value,
                                         t.user_attrs.get("run_id", ""), t.user_attrs.get("message", "")))
    return result
