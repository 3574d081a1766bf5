"""Run specs: the TOML file that says everything about a run, so any run can be replayed headless.

    [run]    name, task, seed, device, callbacks
    [model]  id, weights, [model.params]
    [data]   id, [data.params]
    [task]   [task.params]  (the task's own hyperparameters, declared by its TaskSpec)
    [train]  epochs or steps, batch_size, optimizer, lr, scheduler, ...

Every error names the key at fault: ``[train] epochs: expected an integer, got 'ten'``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from dlstudio.engine.names import OPTIMIZERS, SCHEDULERS


class SpecError(ValueError):
    """A spec file or override that cannot be used; the message points at the key."""


@dataclass
class RunSection:
    name: str = ""
    task: str = "classification"
    seed: int = 0
    #: "auto", "cpu", "cuda:0", "mps"...
    device: str = "auto"
    #: Ids of plugins' callbacks and loggers to use (``dlstudio plugins -v`` lists each plugin's).
    callbacks: list[str] = field(default_factory=list)


@dataclass
class ModelSection:
    id: str = ""
    #: Optional file to initialise the weights from (a dlstudio checkpoint or a .pt/.pth state dict).
    weights: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataSection:
    id: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskSection:
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainSection:
    epochs: int = 10
    #: Measure the run in optimisation steps instead of epochs (style transfer's iterations, a stream
    #: without epochs); 0 measures it in epochs.
    steps: int = 0
    #: In a run measured in steps: validate, record metrics and checkpoint every this many steps
    #: (0: once per pass over the training data, or every 100 steps when its length is unknown).
    eval_every: int = 0
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    scheduler: str = "none"
    step_size: int = 7
    gamma: float = 0.1
    milestones: list[int] = field(default_factory=list)
    plateau_patience: int = 3
    #: Stop after this many epochs without improvement; 0 never stops early.
    early_stopping: int = 0
    #: Restore the best epoch's weights at the end.
    keep_best: bool = True
    #: Clip the gradient norm to this value; 0 disables clipping.
    grad_clip: float = 0.0
    #: Mixed precision (CUDA only).
    amp: bool = False
    #: channels_last memory format (CUDA only).
    channels_last: bool = False
    num_workers: int = 0
    checkpoint_every: int = 1

    def check(self) -> None:
        _one_of("train", "optimizer", self.optimizer, OPTIMIZERS)
        _one_of("train", "scheduler", self.scheduler, SCHEDULERS)
        for key in ("epochs", "batch_size", "step_size", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise SpecError(f"[train] {key}: must be at least 1, got {getattr(self, key)}")
        if self.lr <= 0:
            raise SpecError(f"[train] lr: must be positive, got {self.lr}")
        for key in ("weight_decay", "momentum", "grad_clip", "early_stopping", "num_workers", "plateau_patience",
                    "steps", "eval_every"):
            if getattr(self, key) < 0:
                raise SpecError(f"[train] {key}: must not be negative, got {getattr(self, key)}")
        if self.eval_every and not self.steps:
            raise SpecError("[train] eval_every: only a run measured in steps ([train] steps) has periods of "
                            f"steps; this one is measured in epochs (eval_every = {self.eval_every})")
        if self.gamma <= 0:
            raise SpecError(f"[train] gamma: must be positive, got {self.gamma}")
        if self.scheduler == "plateau" and self.gamma >= 1:
            raise SpecError(f"[train] gamma: the plateau scheduler multiplies the LR by gamma, so it must be "
                            f"below 1, got {self.gamma}")


SECTIONS: dict[str, type] = {
    "run": RunSection,
    "model": ModelSection,
    "data": DataSection,
    "task": TaskSection,
    "train": TrainSection,
}
#: Sections with a ``params`` table checked against a plugin's declared defaults.
PARAM_SECTIONS = ("model", "data", "task")
REQUIRED = ("model", "data")


@dataclass
class RunSpec:
    run: RunSection = field(default_factory=RunSection)
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    task: TaskSection = field(default_factory=TaskSection)
    train: TrainSection = field(default_factory=TrainSection)

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "spec") -> RunSpec:
        if not isinstance(raw, Mapping):
            raise SpecError(f"{source}: expected a table of sections, got {type(raw).__name__}")
        unknown = [k for k in raw if k not in SECTIONS]
        if unknown:
            raise SpecError(f"{source}: unknown section [{unknown[0]}]{_suggest(unknown[0], SECTIONS)}; "
                            f"sections are {', '.join(f'[{s}]' for s in SECTIONS)}")
        missing = [s for s in REQUIRED if s not in raw]
        if missing:
            raise SpecError(f"{source}: missing section [{missing[0]}] (it needs at least an 'id')")
        sections = {name: _build_section(name, SECTIONS[name], raw.get(name, {}), source) for name in SECTIONS}
        spec = cls(**sections)
        for name in REQUIRED:
            if not getattr(spec, name).id:
                raise SpecError(f"{source}: [{name}] id is missing")
        spec.train.check()
        return spec

    @classmethod
    def load(cls, path: str | Path) -> RunSpec:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpecError(f"spec file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path}: cannot be read: {exc}") from None
        return cls.from_dict(raw, source=str(path))

    # -- output ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dataclasses.asdict(self))

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_toml(), encoding="utf-8")

    # -- overrides ---------------------------------------------------------------------------------
    def with_overrides(self, overrides: list[str]) -> RunSpec:
        """Apply ``section.key=value`` (``model.params.key=value``) overrides; values are TOML literals."""
        raw = self.to_dict()
        for item in overrides:
            apply_override(raw, item)
        return RunSpec.from_dict(raw, source="spec with overrides")

    def summary(self) -> dict[str, Any]:
        """The key hyperparameters, for tables."""
        t = self.train
        length = {"steps": t.steps} if t.steps else {"epochs": t.epochs}
        out = {**length, "batch_size": t.batch_size, "optimizer": t.optimizer, "lr": t.lr}
        if t.scheduler != "none":
            out["scheduler"] = t.scheduler
        if t.weight_decay:
            out["weight_decay"] = t.weight_decay
        return out


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Set one ``a.b.c=value`` in a raw spec dict, refusing keys that do not exist."""
    if "=" not in item:
        raise SpecError(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=3")
    key, text = item.split("=", 1)
    parts = key.strip().split(".")
    value = parse_value(text.strip())
    section = parts[0]
    if section not in SECTIONS:
        raise SpecError(f"--set {key}: unknown section [{section}]{_suggest(section, SECTIONS)}")
    if len(parts) == 2:
        names = {f.name for f in dataclasses.fields(SECTIONS[section])}
        if parts[1] == "params" and "params" in names:
            raise SpecError(f"--set {key}: set one parameter at a time, e.g. {section}.params.NAME=VALUE")
        if parts[1] not in names:
            raise SpecError(f"--set {key}: [{section}] has no key {parts[1]!r}{_suggest(parts[1], names)}")
        raw.setdefault(section, {})[parts[1]] = value
    elif len(parts) == 3 and parts[1] == "params" and section in PARAM_SECTIONS:
        # Whether the parameter exists is checked against the model/dataset when the run is prepared.
        raw.setdefault(section, {}).setdefault("params", {})[parts[2]] = value
    else:
        raise SpecError(f"--set {key}: expected SECTION.KEY or model.params.KEY / data.params.KEY / task.params.KEY")


def parse_value(text: str) -> Any:
    """A TOML literal (3, 0.1, true, [1, 2], "x"); anything else is taken as a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def toml_literal(value: Any) -> str:
    """``value`` as one line of TOML, the inverse of :func:`parse_value` (a form field, a ``--set``).

    tomli_w writes arrays over several lines and a dict as a table; here both stay inline.
    """
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(str(k))} = {toml_literal(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else tomli_w.dumps({key: 0}).rsplit("=", 1)[0].strip()


def check_params(where: str, owner: str, params: Mapping[str, Any], defaults: Mapping[str, Any],
                 choices: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate a [model.params]/[data.params]/[task.params] table against the declared parameters.

    ``defaults`` holds bare values or :class:`dlstudio.params.Param`; the result is the params merged over
    the plain defaults (every key, typed), after checking types, ranges and choices (callable choices are
    called with that merged table).
    """
    from dlstudio.params import choice_problem, describe, range_problem, resolve_choices

    described = describe(defaults, choices)
    merged = {key: param.default for key, param in described.items()}
    for key, value in params.items():
        if key not in described:
            known = ", ".join(described) or "none"
            raise SpecError(f"[{where}] unknown key {key!r} for {owner}{_suggest(key, described)}; known: {known}")
        param = described[key]
        merged[key] = _coerce(f"[{where}] {key}", value, type(param.default))
        problem = range_problem(param, merged[key])
        if not problem and param.choices is not None and not callable(param.choices):
            problem = choice_problem(merged[key], param.choices)
        if problem:
            raise SpecError(f"[{where}] {key}: {problem}")
    for key, param in described.items():
        if not callable(param.choices):
            continue
        try:
            options = resolve_choices(param, merged)
        except Exception as exc:  # a plugin's function: whatever it raises is a reason to show
            raise SpecError(f"[{where}] {key}: its choices could not be listed: {type(exc).__name__}: {exc}") from None
        problem = choice_problem(merged[key], options)
        if problem:
            raise SpecError(f"[{where}] {key}: {problem}")
    return merged


def _build_section(name: str, cls: type, raw: Any, source: str) -> Any:
    if not isinstance(raw, Mapping):
        raise SpecError(f"{source}: [{name}] must be a table, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        if key not in hints:
            raise SpecError(f"{source}: [{name}] unknown key {key!r}{_suggest(key, hints)}")
        values[key] = _coerce(f"[{name}] {key}", value, hints[key])
    return cls(**values)


def _coerce(where: str, value: Any, expected: Any) -> Any:
    origin = typing.get_origin(expected) or expected
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is int and isinstance(value, bool):
        raise SpecError(f"{where}: expected an integer, got {value!r}")
    if not isinstance(value, origin):
        names = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
                 list: "a list", dict: "a table"}
        raise SpecError(f"{where}: expected {names.get(origin, origin.__name__)}, got {value!r}")
    args = typing.get_args(expected)
    if origin is list and args:
        return [_coerce(f"{where}[{i}]", v, args[0]) for i, v in enumerate(value)]
    return value


def _one_of(section: str, key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise SpecError(f"[{section}] {key}: {value!r} is not one of {', '.join(options)}")


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
