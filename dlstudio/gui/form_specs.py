"""Whether the Train panel's forms can show a spec as it is, and what they show: a spec is shown exactly or
refused, never altered by a field that cannot hold a value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlstudio.gui.fields import INT_RANGE
from dlstudio.gui.train_fields import train_form_parts
from dlstudio.params import describe, range_problem
from dlstudio.spec import RunSpec


def unshowable(where: str, owner: str, values: Mapping[str, Any], defaults: Mapping[str, Any],
               choices: Mapping[str, Any] | None = None) -> list[str]:
    """Why a :class:`ParamForm` of these parameters could not show ``values`` as they are: a key it has
    no field for, a value of another type, a whole number outside its spin box's range."""
    params = describe(defaults, choices)
    out = []
    for key, value in values.items():
        param = params.get(key)
        if param is None:
            out.append(f"[{where}] {key}: {owner} has no such parameter")
            continue
        expected = type(param.default)
        fits = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        fits = fits or (expected is float and isinstance(value, int) and not isinstance(value, bool))
        if not fits:
            out.append(f"[{where}] {key}: expected a {expected.__name__}, got {value!r}")
        elif expected is int and param.choices is None:
            problem = range_problem(param, value)
            if not problem and not INT_RANGE[0] <= value <= INT_RANGE[1]:
                problem = f"{value} is too large"
            if problem:
                out.append(f"[{where}] {key}: {problem} (the field cannot show it)")
    return out


# -- a whole spec in the Train panel's forms ---------------------------------------------------------


def unshowable_in_forms(spec: RunSpec, parts: Any) -> list[str]:
    """What the Train panel's forms could not show as it is, in a spec ``dlstudio train`` accepts (``parts``:
    what :func:`dlstudio.runner.resolve_parts` made of it); a number larger than a spin box holds, say."""
    basic, advanced, choices = train_form_parts()
    return (unshowable("model.params", f"model {parts.model_spec.id!r}", spec.model.params,
                       parts.model_spec.defaults, parts.model_spec.choices)
            + unshowable("data.params", f"dataset {parts.data_spec.id!r}", spec.data.params,
                         parts.data_spec.defaults, parts.data_spec.choices)
            + unshowable("task.params", f"task {parts.task_spec.id!r}", spec.task.params,
                         parts.task_spec.defaults, parts.task_spec.choices)
            + unshowable("train", "[train]", spec.to_dict()["train"], {**basic, **advanced}, choices))


def completed_spec(spec: RunSpec, parts: Any) -> dict[str, Any]:
    """``spec`` as a dict, each parameter table completed by its declared defaults: what the forms show."""
    out = spec.to_dict()
    out["model"]["params"], out["data"]["params"] = dict(parts.model_params), dict(parts.data_params)
    out["task"]["params"] = dict(parts.task_params)
    return out


def spec_differences(expected: Mapping[str, Any], shown: Mapping[str, Any]) -> list[str]:
    """The keys (``[section] key``) whose value ``shown`` does not have as ``expected`` has it."""
    out = []
    for section, values in expected.items():
        for key, value in values.items():
            other = shown.get(section, {}).get(key)
            if key == "params":
                out += [f"[{section}.params] {k}" for k, v in value.items() if (other or {}).get(k) != v]
            elif other != value:
                out.append(f"[{section}] {key}")
    return out or ["the form"]

