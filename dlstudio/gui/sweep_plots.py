"""The Sweeps view's two plots (pyqtgraph): the metric against each parameter, and parallel coordinates.

A parameter's axis is numeric when all its values are numbers (on a log scale when they are positive and
span more than two decades, as a log-uniform learning rate does), else categorical: one tick per value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg

from dlstudio.sweep_store import SweepTrial

_POINT = pg.mkBrush(70, 130, 180, 200)
_BEST = pg.mkBrush(220, 120, 0, 255)
_LINE = (70, 130, 180, 110)
_BEST_LINE = (220, 120, 0, 255)


@dataclass
class Axis:
    """How one parameter's values are placed: ``position(value)`` in data units, and ticks for categories."""

    name: str
    categories: list[Any]
    log: bool
    low: float = 0.0
    high: float = 1.0

    def position(self, value: Any) -> float:
        if self.categories:
            return float(self.categories.index(value))
        return math.log10(value) if self.log else float(value)

    def fraction(self, value: Any) -> float:
        """0..1 along the axis (parallel coordinates)."""
        span = self.high - self.low
        return 0.5 if span == 0 else (self.position(value) - self.low) / span


def axis_for(name: str, values: Sequence[Any]) -> Axis:
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        categories = sorted(set(values), key=repr)
        return Axis(name, categories, False, 0.0, max(len(categories) - 1, 0))
    positive = all(v > 0 for v in values)
    log = positive and len(values) > 1 and max(values) / min(values) > 100
    axis = Axis(name, [], log)
    positions = [axis.position(v) for v in values]
    axis.low, axis.high = (min(positions), max(positions)) if positions else (0.0, 1.0)
    return axis


def scored(trials: Sequence[SweepTrial]) -> list[SweepTrial]:
    """The completed trials (a pruned one's value is of an earlier epoch: not comparable)."""
    return [t for t in trials if t.state == "complete" and t.value is not None and math.isfinite(t.value)]


class ParameterScatter(pg.GraphicsLayoutWidget):
    """One scatter per parameter: the trial's metric against that parameter's value; the best in orange."""

    def show_trials(self, trials: Sequence[SweepTrial], best: SweepTrial | None) -> None:
        self.clear()
        self.plots: dict[str, pg.PlotItem] = {}
        points = scored(trials)
        names = sorted({k for t in trials for k in t.params})
        for column, name in enumerate(names):
            with_value = [t for t in points if name in t.params]
            axis = axis_for(name, [t.params[name] for t in with_value])
            plot = self.addPlot(row=0, col=column, title=name)
            plot.setLabel("left", trials[0].metric if trials else "")
            plot.setLogMode(x=axis.log, y=False)
            if axis.categories:
                plot.getAxis("bottom").setTicks([[(i, str(c)) for i, c in enumerate(axis.categories)]])
            xs = [float(t.params[name]) if axis.log else axis.position(t.params[name]) for t in with_value]
            brushes = [_BEST if best is not None and t.run_id == best.run_id else _POINT for t in with_value]
            plot.addItem(pg.ScatterPlotItem(xs, [t.value for t in with_value], size=9, brush=brushes, pen=None))
            self.plots[name] = plot


class ParallelCoordinates(pg.PlotWidget):
    """Each trial one line across an axis per parameter and, last, the metric, each scaled to 0..1."""

    def show_trials(self, trials: Sequence[SweepTrial], best: SweepTrial | None) -> None:
        self.clear()
        self.lines: dict[str, pg.PlotDataItem] = {}
        points = scored(trials)
        names = sorted({k for t in trials for k in t.params})
        complete = [t for t in points if all(n in t.params for n in names)]
        if not complete:
            return
        metric = complete[0].metric
        axes = [axis_for(n, [t.params[n] for t in complete]) for n in names]
        axes.append(axis_for(metric, [t.value for t in complete]))
        axes[-1].log = False
        values = [t.value for t in complete]
        axes[-1].low, axes[-1].high = min(values), max(values)
        ticks = [(i, a.name) for i, a in enumerate(axes)]
        self.getAxis("bottom").setTicks([ticks])
        self.setYRange(-0.05, 1.05)
        for i in range(len(axes)):
            self.addItem(pg.InfiniteLine(i, angle=90, pen=pg.mkPen(150, 150, 150)))
        for trial in sorted(complete, key=lambda t: best is not None and t.run_id == best.run_id):
            ys = [a.fraction(trial.params[a.name]) for a in axes[:-1]] + [axes[-1].fraction(trial.value)]
            is_best = best is not None and trial.run_id == best.run_id
            pen = pg.mkPen(_BEST_LINE if is_best else _LINE, width=3 if is_best else 1.5)
            self.lines[trial.run_id] = self.plot(list(range(len(axes))), ys, pen=pen)
