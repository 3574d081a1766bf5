"""Live training curves with pyqtgraph, redrawn on a timer so plotting never slows training.

Points are appended to Python lists as signals arrive (cheap); a QTimer pushes them to the plot items
a few times a second, only when something changed.

Metrics are drawn one small plot per group, side by side, so an MSE in the thousands never flattens an
R² between 0 and 1: a task declares each metric's title, unit, group and whether it is plotted
(:class:`dlstudio.contract.MetricSpec`, as dicts); train and valid of a metric share its plot. A metric
nobody declared gets a plot of its own, except losses (the loss plot, beside the running batch loss)
and accuracy (its own plot, as before declarations existed). :attr:`CurvesWidget.menu` lets a person
show or hide each metric.

Axes are the expensive part of a redraw (their tick labels are replayed text, ~2 ms per axis each
paint, measured), so they are kept still: each axis is cached as a pixmap, the x range spans the
whole run from the start, and the y range only grows, in "nice" steps, when a point leaves it. A
redraw then repaints only the curves (bench/bench_core.py (c) measures what the event loop feels).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QMenu, QWidget

from dlstudio.gui.chart_parts import EmptyNote, SpacedAxis, emptiest_corner, legend_fits, place_legend
from dlstudio.gui.curve_metrics import Metric, is_learning_rate, split_metric, steady_y_range

#: Redraws per second at most.
REDRAW_HZ = 2
#: Below this height (px) the plots drop their x axis's title ("epoch"): the curves need the room more.
COMPACT_HEIGHT = 200
#: Points of a series looked at to find its plot's emptiest corner for the legend (a long run's batch loss has
#: tens of thousands; each redraw must stay cheap).
LEGEND_SAMPLE = 1000

#: The running mean loss of the training batches: drawn on the loss metric's plot.
BATCH_LOSS = "batch_loss"

_COLOURS = {
    "train": (52, 120, 200),
    "valid": (220, 110, 30),
    "batch": (150, 170, 200),
}
#: Line styles of the second, third ... metric sharing a plot (the first is solid).
_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)


def _pen(phase: str, index: int = 0, width: float = 2.0):
    colour = _COLOURS.get(phase, _COLOURS["train"])
    return pg.mkPen(color=colour, width=width, style=_STYLES[index % len(_STYLES)])


class CurvesWidget(pg.GraphicsLayoutWidget):
    """The running batch loss and every epoch's metrics, one plot per metric group, side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        #: Checkable entries, one per metric of the run: which curves are drawn.
        self.menu = QMenu("Curves", self)
        self.menu.aboutToShow.connect(self._rebuild_menu)
        self._plots: dict[str, pg.PlotItem] = {}  # by group; kept across runs, shown when needed
        self._laid_out: list[str] = []
        self._metrics: dict[str, Metric] = {}  # by bare name, in the order they became known
        self._x_label = "epoch"
        self._x_span: tuple[float, float] | None = None
        self._following: set[pg.PlotItem] = set()
        self._y_ranges: dict[pg.PlotItem, tuple[float, float]] = {}
        self._extremes: dict[str, tuple[float, float]] = {}  # by series
        self._series: dict[str, tuple[list[float], list[float]]] = {}
        self._items: dict[str, pg.PlotDataItem] = {}
        self._notes: dict[pg.PlotItem, EmptyNote] = {}
        self._corners: dict[pg.PlotItem, tuple[float, float]] = {}
        self._stale_layout = False
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()
        self.clear_curves()

    # -- what a run tells it -----------------------------------------------------------------------
    def clear_curves(self) -> None:
        """Forget the last run: no points, no declarations, only the loss plot."""
        self._x_label, self._x_span = "epoch", None
        for plot in self._plots.values():
            plot.clear()
            plot.legend.clear()
            plot.legend.setColumnCount(1)
            self._apply_x(plot)
        self._series.clear()
        self._items.clear()
        self._extremes.clear()
        self._y_ranges.clear()
        self._metrics.clear()
        self._following = set(self._plots.values())
        for note in self._notes.values():
            note.set_empty(True)
        self._know("loss")
        self._relayout()

    def set_metrics(self, declarations: list[dict]) -> None:
        """Take the run's metric declarations (``MetricSpec.as_dict()``); call before points arrive."""
        self._metrics = {spec["name"]: Metric.declared_by(spec) for spec in declarations if spec.get("name")}
        for name in list(self._series):
            self._know(split_metric(name)[1] if name != BATCH_LOSS else "loss")
        self._know("loss")
        self._items_out()
        self._relayout()

    def set_span(self, first: float, last: float | None, unit: str = "epoch") -> None:
        """Label the x axes in ``unit`` and fix them to the run's length (None: unknown, they follow the data),
        so they do not move as points arrive."""
        self._x_label = unit
        self._x_span = None if last is None else (first, max(last, first + 1))
        for plot in self._plots.values():
            self._apply_x(plot)

    def set_shown(self, name: str, shown: bool) -> None:
        """Show or hide a bare metric's curves (train and valid); a plot with nothing left to show goes."""
        metric = self._metrics.get(name)
        if metric is None or metric.shown == shown:
            return
        metric.shown = shown
        self._items_out()
        self._relayout()
        self.flush()

    def add_batch_loss(self, x: float, loss: float) -> None:
        self._append(BATCH_LOSS, x, loss)

    def add_epoch(self, x: float, metrics: dict[str, float]) -> None:
        """One epoch's (or period's) metrics, at ``x`` on the axis (the epoch, or the step in a run of steps)."""
        if not any(name != BATCH_LOSS for name in self._series):
            self._stale_layout = True  # the first epoch: declared plots that got no point give way
        for name, value in metrics.items():
            if not is_learning_rate(name):
                self._append(name, float(x), value)

    # -- what the dock and tests ask -----------------------------------------------------------------
    @property
    def loss_plot(self) -> pg.PlotItem:
        return self.plot_for("train_loss")

    def plot_for(self, name: str) -> pg.PlotItem:
        """The plot a series ("valid_r2", "batch_loss") is drawn on; None while its metric is not shown."""
        group = self._metric_of(name).group
        return self._plots[group] if group in self._laid_out else None

    def shown_plots(self) -> list[pg.PlotItem]:
        """The plots on screen, left to right."""
        return [self._plots[group] for group in self._laid_out]

    def flush(self) -> None:
        """Draw pending points now (tests, screenshots)."""
        self._dirty = True
        self._redraw()

    def close(self) -> bool:
        # pyqtgraph's close() clears the scene (its items are deleted): nothing may be redrawn after it.
        self._timer.stop()
        return super().close()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._dirty = True  # the next redraw finds each legend's emptiest corner at the new size

    # -- internals ---------------------------------------------------------------------------------
    def _know(self, name: str) -> Metric:
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics[name] = Metric.undeclared(name)
            self._stale_layout = True
        return metric

    def _metric_of(self, series: str) -> Metric:
        return self._know("loss" if series == BATCH_LOSS else split_metric(series)[1])

    def _append(self, name: str, x: float, y: float) -> None:
        if name not in self._series:
            metric = self._metric_of(name)
            if metric.shown and metric.group not in self._laid_out:
                self._stale_layout = True  # a declared metric's first point, after its plot gave way
        xs, ys = self._series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        self._dirty = True
        if math.isfinite(y):
            low, high = self._extremes.get(name, (y, y))
            self._extremes[name] = (min(low, y), max(high, y))

    def _plot(self, group: str) -> pg.PlotItem:
        plot = self._plots.get(group)
        if plot is not None:
            return plot
        plot = self._plots[group] = pg.PlotItem(axisItems={"left": SpacedAxis("left")})  # short plots stay legible
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.addLegend(offset=(-10, 10), brush=(255, 255, 255, 170))  # moved to the emptiest corner as points come
        self._notes[plot] = EmptyNote(plot)
        plot.setClipToView(True)
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.setDownsampling(mode="peak")
        for side in ("left", "bottom"):
            plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.enableAutoRange(y=False)  # x follows the data until a run sets its span
        # Once a person pans or zooms, the plot is theirs until the next run.
        plot.getViewBox().sigRangeChangedManually.connect(lambda *_, p=plot: self._following.discard(p))
        self._following.add(plot)
        self._apply_x(plot)
        self._park(plot)
        return plot

    def _apply_x(self, plot: pg.PlotItem) -> None:
        plot.getAxis("bottom").setLabel(self._x_label)  # (PlotItem.setLabel would show an empty plot's axis)
        if self._x_span is not None:
            plot.setXRange(*self._x_span, padding=0.02)
        else:
            plot.enableAutoRange(x=True)

    def _group_metrics(self, group: str) -> list[Metric]:
        return [m for m in self._metrics.values() if m.group == group and m.shown]

    def _relayout(self) -> None:
        """Put a plot on screen for each group with a metric to show: before the first epoch the declared ones
        (the plots do not jump about when it ends), afterwards those with points (a metric a task reports only
        sometimes, e.g. a GAN's score without a scorer, leaves no empty plot)."""
        self._stale_layout = False
        seen = {split_metric(name)[1] for name in self._series} | {"loss"}
        before_first_epoch = not any(name != BATCH_LOSS for name in self._series)
        groups: list[str] = []
        for metric in self._metrics.values():
            wanted = metric.name in seen or (metric.declared and before_first_epoch)
            if metric.shown and wanted and metric.group not in groups:
                groups.append(metric.group)
        loss = self._metrics["loss"].group
        groups.sort(key=lambda group: group != loss)  # the loss plot first, as people expect it
        for group in groups:
            self._dress(group)
        if groups == self._laid_out:
            return
        self.ci.clear()
        for group, plot in self._plots.items():
            if group not in groups:
                self._park(plot)
        for column, group in enumerate(groups):
            self._plots[group].setVisible(True)
            self.ci.addItem(self._plots[group], row=0, col=column)
        self._laid_out = groups

    def _park(self, plot: pg.PlotItem) -> None:
        """Keep a plot that is not shown in the scene, hidden, so Qt frees it with the widget (an item in no
        scene is Python's alone, freed whenever Python gets to it, possibly after Qt)."""
        if plot.scene() is None:
            self.scene().addItem(plot)
        plot.setVisible(False)

    def _dress(self, group: str) -> None:
        """The plot's title and its y axis's unit, from the metrics it shows."""
        plot, metrics = self._plot(group), self._group_metrics(group)
        titles = [m.title for m in metrics if m.declared] or [metrics[0].title]  # undeclared: "Loss" as ever
        title = " · ".join(titles) if len(titles) <= 3 else group.replace("_", " ")
        units = list(dict.fromkeys(m.unit for m in metrics if m.unit))
        if plot.titleLabel.text != title:
            plot.setTitle(title)
        axis, label = plot.getAxis("left"), ", ".join(units)
        if label and (axis.labelText != label or not axis.label.isVisible()):
            axis.setLabel(label)  # (PlotItem.setLabel would show an empty plot's axis)
        elif not label and axis.label.isVisible():
            axis.showLabel(False)

    def _items_out(self) -> None:
        """Take every curve off its plot; the next redraw puts back those still shown, where they now belong."""
        for item in self._items.values():
            for plot in self._plots.values():
                if item in plot.items:
                    plot.removeItem(item)
        self._items.clear()
        self._dirty = True

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        if self._stale_layout:
            self._relayout()
        for name, (xs, ys) in self._series.items():
            item = self._items.get(name)
            if item is None:
                if not self._metric_of(name).shown:
                    continue
                item = self._make_item(name)
            item.setData(xs, ys)
        self._follow_data()
        self._dress_plots()

    def _dress_plots(self) -> None:
        """Each shown plot: "no data yet" while it has no point, and its legend in its emptiest corner."""
        drawn: dict[pg.PlotItem, list[tuple[np.ndarray, np.ndarray]]] = {}
        for name in self._items:
            xs, ys = self._series[name]
            if xs:
                step = max(1, len(xs) // LEGEND_SAMPLE)  # a sample of a long series is enough to find a corner
                drawn.setdefault(self.plot_for(name), []).append((np.asarray(xs[::step], float),
                                                                  np.asarray(ys[::step], float)))
        compact = self.height() < COMPACT_HEIGHT
        for plot in self.shown_plots():
            points = drawn.get(plot, [])
            self._notes[plot].set_empty(not points)
            plot.legend.setVisible(legend_fits(plot))
            x_axis = plot.getAxis("bottom")
            if x_axis.label.isVisible() == compact:  # a short dock keeps its height for the curves
                x_axis.showLabel(not compact)
            if points:
                legend = plot.legend
                corner = emptiest_corner(plot, points, (legend.width(), legend.height()))
                if self._corners.get(plot) != corner:
                    self._corners[plot] = corner
                    place_legend(legend, corner)

    def _follow_data(self) -> None:
        extremes: dict[pg.PlotItem, tuple[float, float]] = {}
        for name, (low, high) in self._extremes.items():
            if name in self._items:
                plot = self.plot_for(name)
                was = extremes.get(plot, (low, high))
                extremes[plot] = (min(was[0], low), max(was[1], high))
        for plot, (low, high) in extremes.items():
            if plot not in self._following:
                continue
            wanted = steady_y_range(self._y_ranges.get(plot), low, high)
            if wanted is not None:
                self._y_ranges[plot] = wanted
                plot.setYRange(*wanted, padding=0.02)

    def _make_item(self, name: str) -> pg.PlotDataItem:
        metric = self._metric_of(name)
        plot = self._plot(metric.group)
        if name == BATCH_LOSS:
            item = plot.plot(name="train (running)", pen=_pen("batch", width=1.0))
        else:
            phase = split_metric(name)[0]
            metrics = self._group_metrics(metric.group)
            index = metrics.index(metric) if metric in metrics else 0
            title = metric.title if metric.declared else metric.name.replace("_", " ")
            label = f"{phase} {title}" if len(metrics) > 1 and phase else (phase or title)
            pen = _pen(phase, index)
            item = plot.plot(name=label, pen=pen, symbol="s" if phase == "valid" else "o", symbolSize=6,
                             symbolBrush=pen.color())
        # Four entries or more in two columns, or the legend outgrows a small plot.
        plot.legend.setColumnCount(2 if len(plot.legend.items) > 3 else 1)
        self._items[name] = item
        return item

    def _rebuild_menu(self) -> None:
        """The menu as it is about to open: one entry per metric the run has declared or reported."""
        self.menu.clear()
        for metric in self._metrics.values():
            plain = metric.title.lower() == metric.name.replace("_", " ")
            text = metric.title if plain else f"{metric.title} ({metric.name})"
            action = self.menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(metric.shown)
            action.toggled.connect(lambda shown, name=metric.name: self.set_shown(name, shown))
