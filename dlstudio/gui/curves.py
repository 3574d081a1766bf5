"""Live training curves with pyqtgraph, redrawn on a timer so plotting never slows training.

Points are appended to Python lists as signals arrive (cheap); a QTimer pushes them to the plot items
a few times a second, only when something changed.

Axes are the expensive part of a redraw (their tick labels are replayed text, ~2 ms per axis each
paint, measured), so they are kept still: each axis is cached as a pixmap, the x range spans the
whole run from the start, and the y range only grows, in "nice" steps, when a point leaves it. A
redraw then repaints only the curves (bench/bench_core.py (c) measures what the event loop feels).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem, QWidget

#: Redraws per second at most.
REDRAW_HZ = 2

_COLOURS = {
    "train": (52, 120, 200),
    "valid": (220, 110, 30),
    "batch": (150, 170, 200),
}


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


def _pen(name: str, width: float = 2.0, style=None):
    phase = "valid" if name.startswith("valid") else ("batch" if name == "batch_loss" else "train")
    kwargs = {"color": _COLOURS[phase], "width": width}
    if style is not None:
        kwargs["style"] = style
    return pg.mkPen(**kwargs)


class CurvesWidget(pg.GraphicsLayoutWidget):
    """Loss (running batch loss + per-epoch train/valid) and the other metrics per epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.loss_plot = self.addPlot(title="Loss")
        self.metric_plot = self.addPlot(title="Metrics")
        for plot in (self.loss_plot, self.metric_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setLabel("bottom", "epoch")
            plot.addLegend(offset=(-10, 10))
            plot.setClipToView(True)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setDownsampling(mode="peak")
            for side in ("left", "bottom"):
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.enableAutoRange(y=False)  # x follows the data until a run sets its epoch span
            # Once a person pans or zooms, the plot is theirs until the next run.
            plot.getViewBox().sigRangeChangedManually.connect(lambda *_, p=plot: self._following.discard(p))
        self._following = {self.loss_plot, self.metric_plot}
        self._y_ranges: dict[pg.PlotItem, tuple[float, float]] = {}
        self._extremes: dict[pg.PlotItem, tuple[float, float]] = {}
        self._series: dict[str, tuple[list[float], list[float]]] = {}
        self._items: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def clear_curves(self) -> None:
        for plot in (self.loss_plot, self.metric_plot):
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        self._series.clear()
        self._items.clear()
        self._following = {self.loss_plot, self.metric_plot}
        for plot in self._following:
            plot.enableAutoRange(x=True)
        self._y_ranges.clear()
        self._extremes.clear()

    def set_epoch_span(self, first: int, last: int) -> None:
        """Fix the x axes to the run's epochs, so they do not move as points arrive."""
        for plot in (self.loss_plot, self.metric_plot):
            plot.setXRange(first, max(last, first + 1), padding=0.02)

    def add_batch_loss(self, x: float, loss: float) -> None:
        self._append("batch_loss", x, loss)

    def add_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            if name == "lr":
                continue
            self._append(name, float(epoch), value)

    def _append(self, name: str, x: float, y: float) -> None:
        xs, ys = self._series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        self._dirty = True
        if math.isfinite(y):
            plot = self._plot_for(name)
            low, high = self._extremes.get(plot, (y, y))
            self._extremes[plot] = (min(low, y), max(high, y))

    def _plot_for(self, name: str) -> pg.PlotItem:
        return self.loss_plot if name.endswith("loss") else self.metric_plot

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for name, (xs, ys) in self._series.items():
            item = self._items.get(name)
            if item is None:
                item = self._make_item(name)
            item.setData(xs, ys)
        self._follow_data()

    def _follow_data(self) -> None:
        for plot in self._following:
            extremes = self._extremes.get(plot)
            if extremes is None:
                continue
            wanted = steady_y_range(self._y_ranges.get(plot), *extremes)
            if wanted is not None:
                self._y_ranges[plot] = wanted
                plot.setYRange(*wanted, padding=0.02)

    def _make_item(self, name: str) -> pg.PlotDataItem:
        plot = self._plot_for(name)
        if name == "batch_loss":
            item = plot.plot(name="train (running)", pen=_pen(name, 1.0))
        else:
            symbol = "o" if not name.startswith("valid") else "s"
            label = name.replace("_", " ")
            item = plot.plot(name=label, pen=_pen(name), symbol=symbol, symbolSize=6,
                             symbolBrush=_pen(name).color())
        self._items[name] = item
        return item

    def flush(self) -> None:
        """Draw pending points now (tests, screenshots)."""
        self._dirty = True
        self._redraw()
