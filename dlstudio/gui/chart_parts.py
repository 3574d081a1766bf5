"""Chart pieces every plot of the window shares (pyqtgraph): a log axis labelled at its decades, a "no data yet"
note instead of made-up axes on an empty plot, and a legend that sits in the plot's emptiest corner.

Written here because pyqtgraph's log axis labels only the ticks its linear spacing picks (often none at the
decades) and its legend stays where it was put, over the curves."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from dlstudio.gui.curve_metrics import nice_ceiling

#: The corners a legend may take: (x, y) of the anchor in the view box (0 left/top, 1 right/bottom).
CORNERS = ((1.0, 0.0), (0.0, 0.0), (1.0, 1.0), (0.0, 1.0))
#: Gap (px) between a legend and the view box's edges.
LEGEND_GAP = 8


def decade_label(exponent: float) -> str:
    """The label of the log-axis tick at 10**exponent: "1e-4", "0.01" … "1000", "1e+05"; "3e-4" between."""
    value = 10.0 ** exponent
    if -2 <= exponent <= 3:
        return f"{value:.3g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e+")


class DecadeAxis(pg.AxisItem):
    """An axis that, in log mode, puts its labelled ticks at the decades (1e-4, 1e-3 …) and unlabelled ones at
    2× and 5×; when the view spans less than a decade, those get labels instead. In linear mode it is
    pyqtgraph's own."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self._label_minor = False

    def tickValues(self, minVal: float, maxVal: float, size: float):
        if not self.logMode or not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return super().tickValues(minVal, maxVal, size)
        first, last = math.floor(minVal), math.ceil(maxVal)
        decades = [float(e) for e in range(first, last + 1) if minVal <= e <= maxVal]
        room = max(1, int(size // 45))  # a label needs ~45 px
        step = max(1, math.ceil(len(decades) / room))
        decades = decades[::step]
        minors = [e + math.log10(m) for e in range(first - 1, last + 1) for m in (2, 5)
                  if minVal <= e + math.log10(m) <= maxVal] if step == 1 else []
        self._label_minor = len(decades) < 2
        return [(1.0 * step, decades), (0.5, minors)]

    def tickStrings(self, values, scale, spacing):
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        if spacing < 1 and not self._label_minor:
            return ["" for _ in values]
        return [decade_label(v) for v in values]


#: The least room (px) between two labelled ticks of a :class:`SpacedAxis`: a label's height and a gap.
MIN_TICK_PX = 18


class SpacedAxis(pg.AxisItem):
    """pyqtgraph's axis, minus the tick levels too dense for its length: in a short plot pyqtgraph still labels
    every 0.2 of a 0–1 range, and the labels print over each other."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        if not levels or span <= 0 or size <= 0:
            return levels
        roomy = [(spacing, offset) for spacing, offset in levels if spacing / span * size >= MIN_TICK_PX]
        # Not even the coarsest level fits: one of 1, 2, 2.5, 5 × 10^k that does.
        return roomy or [(nice_ceiling(span * MIN_TICK_PX / size), 0.0)]


def log_plot_item(**kwargs) -> pg.PlotItem:
    """A PlotItem whose axes are :class:`DecadeAxis` (for ``setLogMode``)."""
    return pg.PlotItem(axisItems={"bottom": DecadeAxis("bottom"), "left": DecadeAxis("left")}, **kwargs)


class EmptyNote:
    """A plot with no data says so ("no data yet") and hides its axes, instead of showing a 0–1 grid that
    looks like a result."""

    def __init__(self, plot: pg.PlotItem, text: str = "no data yet") -> None:
        self.plot = plot
        self.label = pg.LabelItem(text, color="#888", size="11pt")
        self.label.setParentItem(plot.getViewBox())
        self.label.anchor(itemPos=(0.5, 0.5), parentPos=(0.5, 0.5))
        self.empty: bool | None = None
        self.set_empty(True)

    def set_empty(self, empty: bool, text: str | None = None) -> None:
        if text is not None:
            self.label.setText(text, color="#888", size="11pt")
        self.empty = empty
        self.label.setVisible(empty)
        for side in ("left", "bottom"):
            if self.plot.getAxis(side).isVisible() == empty:  # setLabel elsewhere may have shown one
                self.plot.showAxis(side, not empty)


def emptiest_corner(plot: pg.PlotItem, points: list[tuple[np.ndarray, np.ndarray]],
                    size: tuple[float, float]) -> tuple[float, float]:
    """The corner of the plot's view where a ``size`` (px) legend covers the fewest data points (top right when
    several are free): the legend then sits beside the curves, not on them."""
    view = plot.getViewBox()
    rect = view.sceneBoundingRect()
    if rect.width() <= 0 or rect.height() <= 0:
        return CORNERS[0]
    xs = np.concatenate([x for x, _ in points]) if points else np.empty(0)
    ys = np.concatenate([y for _, y in points]) if points else np.empty(0)
    finite = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[finite], ys[finite]
    if xs.size:
        (x_low, x_high), (y_low, y_high) = view.viewRange()
        # Scene pixels of every point, relative to the view box (y grows downwards).
        px = (xs - x_low) / max(x_high - x_low, 1e-12) * rect.width()
        py = (y_high - ys) / max(y_high - y_low, 1e-12) * rect.height()
    best, fewest = CORNERS[0], math.inf
    width, height = size[0] + 2 * LEGEND_GAP, size[1] + 2 * LEGEND_GAP
    for cx, cy in CORNERS:
        if not xs.size:
            return best
        left = 0 if cx == 0 else rect.width() - width
        top = 0 if cy == 0 else rect.height() - height
        inside = int(np.count_nonzero((px >= left) & (px <= left + width) & (py >= top) & (py <= top + height)))
        if inside < fewest:
            best, fewest = (cx, cy), inside
    return best


def legend_fits(plot: pg.PlotItem) -> bool:
    """Whether the legend fits in the plot's view without covering most of it (else it is better hidden: the
    curves' colours are in the menu)."""
    legend, view = plot.legend, plot.getViewBox()
    return (legend.height() + 2 * LEGEND_GAP <= 0.75 * view.height()
            and legend.width() + 2 * LEGEND_GAP <= 0.75 * view.width())


def place_legend(legend: pg.LegendItem, corner: tuple[float, float]) -> None:
    cx, cy = corner
    legend.anchor(itemPos=corner, parentPos=corner,
                  offset=(LEGEND_GAP if cx == 0 else -LEGEND_GAP, LEGEND_GAP if cy == 0 else -LEGEND_GAP))


def legend_to_emptiest_corner(plot: pg.PlotItem) -> None:
    """Move the plot's legend (if any) to the corner its curves leave emptiest, from the curves' own data."""
    legend = plot.legend
    if legend is None:
        return
    points = []
    for item in plot.listDataItems():
        xs, ys = item.getData()
        if xs is not None and len(xs):
            points.append((np.asarray(xs, float), np.asarray(ys, float)))
    if points:
        plot.getViewBox().updateAutoRange()
        place_legend(legend, emptiest_corner(plot, points, (legend.width(), legend.height())))
