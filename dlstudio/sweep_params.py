"""A sweep's search space: ``--param KEY=KIND:ARGS`` parsed, checked against the spec, and sampled.

    train.lr=loguniform:1e-4:1e-1     a float, sampled on a log scale
    model.params.dropout=uniform:0:0.5
    train.batch_size=int:16:128:16    an integer from 16 to 128 in steps of 16 (step optional)
    model.dropout=choice:0,0.25,0.5   one of the listed values (TOML literals: 0.5, true, "adam", adam)

``KEY`` is what ``dlstudio train --set`` takes; ``model.X``/``data.X``/``task.X`` that is not a key of that
section is read as ``model.params.X``. A space is refused before any trial when its syntax, its range or
any of its values would not make a valid spec.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlstudio.parts import resolve_parts
from dlstudio.spec import PARAM_SECTIONS, SECTIONS, SpecError, parse_value, toml_literal

if TYPE_CHECKING:
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

KINDS = ("uniform", "loguniform", "int", "choice")
SYNTAX = "KEY=uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH[:STEP] or choice:A,B,C"


@dataclass(frozen=True)
class ParamSpace:
    """One swept key and the values it may take."""

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    step: int = 1
    choices: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        if self.kind == "choice":
            return f"{self.key}=choice:{','.join(toml_literal(c) for c in self.choices)}"
        step = f":{self.step}" if self.kind == "int" and self.step != 1 else ""
        return f"{self.key}={self.kind}:{self.low:g}:{self.high:g}{step}"

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial draws for this key."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=self.step)
        return trial.suggest_float(self.key, self.low, self.high, log=self.kind == "loguniform")

    def grid(self) -> list[Any]:
        """Every value, for the grid sampler (only choices and integers have a finite list)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, self.step))
        raise SpecError(f"--param {self.label}: the grid sampler needs a finite list of values; "
                        "use choice:... or int:... (or --sampler random/tpe)")

    def extremes(self) -> list[Any]:
        """The values that must all make a valid spec: both ends of a range, every choice."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]


def override(key: str, value: Any) -> str:
    """``value`` for ``key`` as a ``--set`` override."""
    return f"{key}={toml_literal(value)}"


def parse_param(text: str) -> ParamSpace:
    """``KEY=KIND:ARGS`` as a :class:`ParamSpace`; a :class:`SpecError` naming it when it cannot be read."""
    if "=" not in text:
        raise SpecError(f"--param {text!r}: expected {SYNTAX}")
    key, _, body = text.partition("=")
    key = _canonical_key(key.strip(), text)
    kind, _, args = body.strip().partition(":")
    if kind not in KINDS:
        raise SpecError(f"--param {text!r}: unknown kind {kind!r}; expected {SYNTAX}")
    if kind == "choice":
        choices = tuple(parse_value(item.strip()) for item in args.split(",") if item.strip())
        if not choices:
            raise SpecError(f"--param {text!r}: choice needs at least one value, e.g. choice:0,0.25,0.5")
        if len(set(map(toml_literal, choices))) != len(choices):
            raise SpecError(f"--param {text!r}: a value is listed twice")
        return ParamSpace(key, kind, choices=choices)
    bounds = args.split(":")
    wanted = (2, 3) if kind == "int" else (2,)
    if len(bounds) not in wanted:
        raise SpecError(f"--param {text!r}: {kind} takes {'LOW:HIGH[:STEP]' if kind == 'int' else 'LOW:HIGH'}")
    try:
        numbers = [int(b) if kind == "int" else float(b) for b in bounds]
    except ValueError:
        raise SpecError(f"--param {text!r}: {kind} bounds must be {'integers' if kind == 'int' else 'numbers'}, "
                        f"got {args!r}") from None
    low, high = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if not all(math.isfinite(n) for n in numbers):
        raise SpecError(f"--param {text!r}: bounds must be finite")
    if low >= high:
        raise SpecError(f"--param {text!r}: LOW must be below HIGH, got {low:g} and {high:g}")
    if kind == "loguniform" and low <= 0:
        raise SpecError(f"--param {text!r}: loguniform needs LOW > 0 (a log scale), got {low:g}")
    if kind == "int" and (step < 1 or (high - low) % step):
        raise SpecError(f"--param {text!r}: STEP must be at least 1 and divide HIGH - LOW ({high - low})")
    return ParamSpace(key, kind, float(low), float(high), int(step))


def _canonical_key(key: str, text: str) -> str:
    """``model.dropout`` -> ``model.params.dropout`` when ``dropout`` is not a key of [model] itself."""
    parts = key.split(".")
    if len(parts) == 2 and parts[0] in PARAM_SECTIONS and parts[0] in SECTIONS:
        own = {f.name for f in dataclasses.fields(SECTIONS[parts[0]])}
        if parts[1] not in own:
            return f"{parts[0]}.params.{parts[1]}"
    if not key or any(not p for p in parts):
        raise SpecError(f"--param {text!r}: expected {SYNTAX}")
    return key


def parse_space(texts: Sequence[str]) -> list[ParamSpace]:
    spaces = [parse_param(text) for text in texts]
    keys = [s.key for s in spaces]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise SpecError(f"--param {twice[0]}: given twice")
    if not spaces:
        raise SpecError(f"a sweep needs at least one --param ({SYNTAX})")
    return spaces


def check_space(studio: Studio, spec: RunSpec, spaces: Sequence[ParamSpace]) -> None:
    """Refuse (with the words ``dlstudio train --set`` would use) any value of the space that does not make a
    valid spec: an unknown key, a value of the wrong type or outside a parameter's choices. A model's own
    limits (a dropout below 1) are only known to its builder: the model is built at each end of a swept
    model parameter, on the data's description (the data is loaded once for it)."""
    for space in spaces:
        for value in space.extremes():
            try:
                resolve_parts(studio, spec.with_overrides([override(space.key, value)]))
            except SpecError as exc:
                raise SpecError(f"--param {space.label}: {exc}") from None
    model_spaces = [space for space in spaces if space.key.startswith("model.params.")]
    if model_spaces:
        _check_model_builds(studio, spec, model_spaces)


def _check_model_builds(studio: Studio, spec: RunSpec, spaces: Sequence[ParamSpace]) -> None:
    from dlstudio.runner import Run

    parts = resolve_parts(studio, spec)
    # The runner's own data loading (its checks and messages), so the model sees what a trial's would.
    info = Run(studio, spec, events=False)._load_data(parts, [], "cpu").info
    for space in spaces:
        for value in space.extremes():
            trial_parts = resolve_parts(studio, spec.with_overrides([override(space.key, value)]))
            try:
                trial_parts.model_spec.build(trial_parts.model_params, info)
            except (OSError, ValueError, RuntimeError) as exc:
                raise SpecError(f"--param {space.label}: model {parts.model_spec.id!r} cannot be built with "
                                f"{space.key} = {toml_literal(value)}: {exc}") from None
