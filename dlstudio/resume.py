"""Resuming a run with changed settings (``dlstudio train --resume ID --set ... --device ...``).

What may change once a run has trained is applied exactly and said in the run's log: its length (epochs,
or steps), its device, its learning rate for the rest of the schedule, how it loads data, checkpoints and
stops early. Everything else is refused naming the key and why: a resumed run that silently kept, or
silently mixed, settings would be worse than none. The stored spec follows what the run now is.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlstudio.engine import FitState, LogMessage
from dlstudio.errors import RunError
from dlstudio.runner import Run
from dlstudio.spec import RunSpec, SpecError, apply_override

if TYPE_CHECKING:
    from dlstudio.engine import RunControl
    from dlstudio.studio import Studio

#: Keys a resumed run can take a new value of, each with how the new value applies ("" needs no word).
CHANGEABLE: dict[tuple[str, str], str] = {
    ("run", "name"): "",
    ("run", "device"): "the weights and the training state move to it",
    ("run", "callbacks"): "",
    ("train", "epochs"): "",  # what a new length does to the schedule is said by :func:`_length_note`
    ("train", "steps"): "",
    ("train", "lr"): "",  # see :func:`_lr_note`
    ("train", "num_workers"): "",
    ("train", "checkpoint_every"): "",
    ("train", "early_stopping"): "epochs without improvement are counted from the resumed epoch on",
    ("train", "keep_best"): "",
    ("train", "grad_clip"): "from the next step on",
    ("train", "channels_last"): "",
}

_MIXES = "of a run that has trained would mix two runs"
#: Why the other keys cannot change, by (section, key) or by whole section.
WHY_NOT: dict[tuple[str, str] | str, str] = {
    "model": f"changing the model {_MIXES}",
    "data": f"changing the data {_MIXES}",
    "task": f"changing the task {_MIXES}",
    ("run", "task"): f"changing the task {_MIXES}",
    ("run", "seed"): "the seed chose the initial weights and the data order the run has used; it goes on from its "
                     "saved random state",
    ("train", "batch_size"): "the batch size sets the steps of an epoch and the data order of the saved state",
    ("train", "eval_every"): "it sets the periods the run has recorded and checkpointed",
    ("train", "amp"): "mixed precision changes how every step computes, and its saved gradient scaling",
    **dict.fromkeys([("train", k) for k in ("optimizer", "momentum", "nesterov", "weight_decay")],
                    "the optimiser is restored from the checkpoint with its state (momentum, moments), which "
                    "belongs to these settings; a new learning rate can be set (train.lr)"),
    **dict.fromkeys([("train", k) for k in ("scheduler", "step_size", "gamma", "milestones", "plateau_patience")],
                    "the learning-rate schedule is restored from the checkpoint where it stands; to raise or "
                    "lower it, set train.lr"),
}
#: Schedules whose shape depends on the run's length, and the attributes of theirs that encode it.
_LENGTH_ATTRIBUTES = ("T_max", "total_steps", "_schedule_phases")
_LENGTH_SCHEDULES = ("cosine", "onecycle")
#: Learning rates kept in an optimiser's parameter groups (torch's schedulers add the last three).
_GROUP_RATES = ("lr", "initial_lr", "max_lr", "min_lr")


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    old: Any
    new: Any

    @property
    def name(self) -> str:
        return f"[{self.section}] {self.key}"


@dataclass
class ResumePlan:
    """The run's spec with the changes asked for, each already checked to be one a resumed run can take."""

    run_id: str
    before: RunSpec
    spec: RunSpec
    changes: list[Change]

    def changed(self, section: str, key: str) -> Change | None:
        return next((c for c in self.changes if (c.section, c.key) == (section, key)), None)

    @property
    def longer(self) -> bool:
        """Whether the run's length changed (then a finished run may train on)."""
        return bool(self.changed("train", "steps") or (not self.spec.train.steps and self.changed("train", "epochs")))

    def log_lines(self) -> list[str]:
        lines = []
        for change in self.changes:
            note = CHANGEABLE[(change.section, change.key)]
            if change.key in ("epochs", "steps"):
                note = _length_note(self.spec, change)
            elif change.key == "lr":
                note = _lr_note(change)
            lines.append(f"changed on resume: {change.name}: {change.old!r} → {change.new!r}"
                         + (f"; {note}" if note else ""))
        return lines


def resume_run(studio: Studio, run_id: str, *, control: RunControl | None = None, overrides: Sequence[str] = (),
               device: str | None = None, ranks: Any = None) -> Run:
    """:meth:`Run.resume`: the stored run, with the changes asked for checked and applied."""
    row = studio.store.get(run_id)
    if row.status in ("created", "running", "paused"):
        raise RunError(f"run {run_id} is {row.status}; only a finished or interrupted run can be resumed")
    spec = RunSpec.from_dict(tomllib.loads(row.spec), source=f"run {run_id}")
    plan = plan_resume(run_id, spec, overrides, device, epochs_done=row.epochs_done)
    if row.epochs_done >= row.epochs and not plan.longer:
        raise RunError(f"run {run_id} already trained all its {row.epochs} epochs; to train it on, give it a "
                       f"longer run (--set train.{'steps' if spec.train.steps else 'epochs'}=N)")
    if not plan.changes:
        return Run(studio, spec, control=control, resume_id=run_id, ranks=ranks)
    return ResumedRun(studio, plan, control=control, ranks=ranks)


def plan_resume(run_id: str, stored: RunSpec, overrides: Sequence[str] = (), device: str | None = None, *,
                epochs_done: int = 0) -> ResumePlan:
    """The run's spec with ``overrides`` (``section.key=value``) and ``device`` applied; raises SpecError naming
    every key that cannot change on resume, and why."""
    raw = stored.to_dict()
    for item in overrides:
        apply_override(raw, item)
    if device:
        raw["run"]["device"] = device
    spec = RunSpec.from_dict(raw, source=f"run {run_id} with your changes")
    changes = [Change(section, key, old, new) for (section, key), (old, new) in _differences(stored, spec).items()]
    refusals = [_refusal(run_id, change) for change in changes if (change.section, change.key) not in CHANGEABLE]
    if bool(stored.train.steps) != bool(spec.train.steps):
        refusals.append(f"[train] steps: run {run_id} is measured in {'steps' if stored.train.steps else 'epochs'}; "
                        "what a run is measured in cannot change once it has trained; start a new run with --set "
                        "or clone it")
    elif not spec.train.steps and spec.train.epochs != stored.train.epochs and spec.train.epochs <= epochs_done:
        refusals.append(f"[train] epochs: run {run_id} has trained {epochs_done} epochs already; to train on, give "
                        f"more than {epochs_done}")
    if refusals:
        raise SpecError("\n".join(refusals))
    return ResumePlan(run_id, stored, spec, changes)


def _differences(before: RunSpec, after: RunSpec) -> dict[tuple[str, str], tuple[Any, Any]]:
    """``{(section, key): (old, new)}`` for every key whose value differs (parameters as ``params.NAME``)."""
    out = {}
    old, new = before.to_dict(), after.to_dict()
    for section in old:
        flat_old, flat_new = _flatten(old[section]), _flatten(new[section])
        for key in dict.fromkeys([*flat_old, *flat_new]):
            if flat_old.get(key) != flat_new.get(key):
                out[(section, key)] = (flat_old.get(key), flat_new.get(key))
    return out


def _flatten(section: dict[str, Any]) -> dict[str, Any]:
    flat = {key: value for key, value in section.items() if key != "params"}
    flat.update({f"params.{key}": value for key, value in section.get("params", {}).items()})
    return flat


def _refusal(run_id: str, change: Change) -> str:
    why = WHY_NOT.get((change.section, change.key)) or WHY_NOT.get(change.section) or "it cannot change on resume"
    return (f"{change.name}: {why}; start a new run with --set or clone it (run {run_id} has "
            f"{change.old!r}, asked for {change.new!r})")


def _length_note(spec: RunSpec, change: Change) -> str:
    train = spec.train
    if change.key == "epochs" and train.steps:
        return "not used: the run is measured in steps"
    if train.scheduler in _LENGTH_SCHEDULES:
        unit = "steps" if train.steps else "epochs"
        return (f"the {train.scheduler} schedule is planned again over {change.new} {unit}: from here the learning "
                "rate follows that plan")
    return ""


def _lr_note(change: Change) -> str:
    return (f"the learning rate and the rest of its schedule are multiplied by {change.new / change.old:g} from "
            "here (what has trained stays as it was)")


class ResumedRun(Run):
    """A run resumed with changed settings: says each change in its log, applies a new length and learning rate
    to the restored schedules and optimisers, and stores the spec once the run has been restored."""

    def __init__(self, studio: Studio, plan: ResumePlan, *, control: RunControl | None = None,
                 ranks: Any = None) -> None:
        super().__init__(studio, plan.spec, control=control, resume_id=plan.run_id, ranks=ranks)
        self.plan = plan

    def records(self) -> Iterator[Any]:
        for line in self.plan.log_lines():
            yield LogMessage(line)
        yield from super().records()

    def _restore(self, task: Any, schedulers: list[Any], state: FitState) -> int:
        # Built for the new length; restoring the saved state would bring back the old one.
        planned = [{name: copy.deepcopy(getattr(s.scheduler, name)) for name in _LENGTH_ATTRIBUTES
                    if hasattr(s.scheduler, name)} for s in schedulers]
        epoch = super()._restore(task, schedulers, state)
        train, before = self.spec.train, self.plan.before.train
        if train.steps and train.steps != before.steps and train.steps <= state.step:
            raise SpecError(f"[train] steps: run {self.run_id} has trained {state.step} steps already; to train on, "
                            f"give more than {state.step}")
        lr = self.plan.changed("train", "lr")
        if epoch:  # else nothing was restored (no checkpoint yet): the run starts again as the new spec says
            if self.plan.longer:
                for scheduler, attributes in zip(schedulers, planned):
                    for name, value in attributes.items():
                        setattr(scheduler.scheduler, name, value)
            if lr is not None:
                _scale_rates(task.optimizers, schedulers, lr.new / lr.old)
        self._store_spec(state.epochs)
        return epoch

    def _store_spec(self, periods: int) -> None:
        """The stored spec (the run's row and its spec.toml) says what the run now is."""
        spec = self.spec
        self.store.replace_spec(self.run_id, spec.to_toml(), epochs=periods, params=spec.summary(),
                                name=spec.run.name or None)

def _scale_rates(optimizers: Sequence[Any], schedulers: Sequence[Any], factor: float) -> None:
    """Multiply every learning rate the optimisers and their schedules hold by ``factor``: the rate now, and the
    rates the schedule will go through (its base, one-cycle's peak and floor)."""
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            for name in _GROUP_RATES:
                if name in group:
                    group[name] *= factor
    for callback in schedulers:
        scheduler = callback.scheduler
        for name in ("base_lrs", "_last_lr"):
            if isinstance(getattr(scheduler, name, None), list):
                setattr(scheduler, name, [rate * factor for rate in getattr(scheduler, name)])
