"""What the live curves know about metrics, without Qt: which phase and bare metric a record's name is, how a
metric is shown (from its declaration, or the defaults for one without), and the steady y range of a plot."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Phases the run's records prefix metric names with ("valid_r2").
PHASES = ("train", "valid")

def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ ``value`` (for value > 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10.0 * power


def steady_y_range(current: tuple[float, float] | None, low: float, high: float) -> tuple[float, float] | None:
    """A y range holding [low, high] that changes rarely: from 0 (or below) up to a nice ceiling.

    Returns None when ``current`` already holds the data, so the axis is left alone.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    if current is not None and current[0] <= low and high <= current[1]:
        return None
    bottom = 0.0 if low >= 0 else -nice_ceiling(-low)
    top = nice_ceiling(high) if high > 0 else 0.0
    if top - bottom <= 0:
        top = bottom + 1.0
    return bottom, top


def split_metric(name: str) -> tuple[str, str]:
    """``("valid", "r2")`` for ``"valid_r2"``; ``("", name)`` for a name without a phase."""
    for phase in PHASES:
        if name.startswith(phase + "_"):
            return phase, name[len(phase) + 1:]
    return "", name


def is_learning_rate(name: str) -> bool:
    """The records carry the learning rate(s) among the metrics; they are not curves."""
    return name == "lr" or name.startswith("lr_")


@dataclass
class Metric:
    """How one bare metric ("r2") is shown: from its declaration, or the defaults for one without."""

    name: str
    title: str
    unit: str
    group: str
    shown: bool
    declared: bool = False

    @classmethod
    def declared_by(cls, spec: dict) -> Metric:
        name = str(spec["name"])
        return cls(name=name, title=str(spec.get("title") or name.replace("_", " ")), unit=str(spec.get("unit") or ""),
                   group=str(spec.get("group") or name), shown=bool(spec.get("plot", True)), declared=True)

    @classmethod
    def undeclared(cls, name: str) -> Metric:
        if name == "loss":
            return cls(name, "Loss", "", "loss", True)
        if name.endswith("loss"):
            return cls(name, name.replace("_", " "), "", "loss", True)
        if name == "accuracy":
            return cls(name, "Accuracy", "", "accuracy", True)
        return cls(name, name.replace("_", " "), "", name, True)
