"""Charts read right: an empty plot says "no data yet" (no made-up axes), a legend sits where no point is, a log
axis is labelled at its decades."""

import itertools
import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication

from dlstudio.gui.chart_parts import (
    MIN_TICK_PX,
    DecadeAxis,
    SpacedAxis,
    decade_label,
    legend_to_emptiest_corner,
    log_plot_item,
)
from dlstudio.gui.curves import CurvesWidget


@pytest.fixture
def curves(qtbot):
    widget = CurvesWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_an_empty_plot_says_no_data_yet_and_shows_no_axes(curves):
    plot = curves.loss_plot
    note = curves._notes[plot]
    assert note.label.isVisible() and "no data yet" in note.label.text
    assert not plot.getAxis("left").isVisible() and not plot.getAxis("bottom").isVisible()
    curves.set_span(0, 4)
    curves.add_epoch(1, {"train_loss": 1.0})
    curves.flush()
    assert not note.label.isVisible()
    assert plot.getAxis("left").isVisible() and plot.getAxis("bottom").isVisible()
    curves.clear_curves()  # the next run starts empty again
    assert note.label.isVisible() and not plot.getAxis("left").isVisible()


def _points_under_legend(plot):
    """Scene positions of the plot's points that the legend's rectangle covers (an independent count: the
    points' own scene coordinates, from pyqtgraph's mapping, against the legend's scene rectangle)."""
    view, legend = plot.getViewBox(), plot.legend.sceneBoundingRect()
    covered = 0
    for item in plot.listDataItems():
        xs, ys = item.getData()
        for x, y in zip(xs, ys, strict=True):
            if legend.contains(view.mapViewToScene(pg.Point(float(x), float(y)))):
                covered += 1
    return covered


@pytest.mark.parametrize("rising", [True, False])
def test_the_legend_sits_in_a_corner_without_points(curves, rising):
    curves.set_span(0, 20)
    for epoch in range(1, 21):
        value = epoch / 20 if rising else 1 - epoch / 20  # a rising curve fills the top right corner
        curves.add_epoch(epoch, {"train_loss": value, "valid_loss": value * 0.98})
    curves.flush()
    QApplication.processEvents()
    plot = curves.loss_plot
    # Before the fix the legend sat top right whatever the data: a rising curve ran under it.
    assert _points_under_legend(plot) == 0


@pytest.mark.parametrize(("exponent", "text"), [(-4, "1e-4"), (-3, "1e-3"), (-2, "0.01"), (0, "1"), (2, "100"),
                                                 (5, "1e+5"), (math.log10(3e-4), "3e-4")])
def test_decade_labels(exponent, text):
    assert decade_label(exponent) == text


def test_a_log_axis_is_labelled_at_every_decade(qtbot):
    widget = pg.PlotWidget(plotItem=log_plot_item())
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    widget.setLogMode(x=True, y=False)
    widget.plot(np.logspace(-6, -1, 50), np.linspace(0, 1, 50))
    widget.setXRange(-6, -1, padding=0)
    axis = widget.getPlotItem().getAxis("bottom")
    assert isinstance(axis, DecadeAxis)
    low, high = axis.range
    labelled = []
    for spacing, values in axis.tickValues(low, high, axis.geometry().width()):
        labelled += [s for s in axis.tickStrings(values, 1.0, spacing) if s]
    assert labelled == ["1e-6", "1e-5", "1e-4", "1e-3", "0.01", "0.1"]



def test_any_plot_s_legend_can_be_moved_off_its_curves(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(500, 300)
    widget.show()
    qtbot.waitExposed(widget)
    widget.addLegend(offset=(-10, 10))  # top right, where a rising curve ends
    xs = np.arange(30, dtype=float)
    widget.plot(xs, xs, name="rising", symbol="o")
    widget.plot(xs, xs * 0.9, name="also rising", symbol="o")
    legend_to_emptiest_corner(widget.getPlotItem())
    QApplication.processEvents()
    assert _points_under_legend(widget.getPlotItem()) == 0


@pytest.mark.parametrize("size", [30, 45, 80, 400])
def test_a_short_axis_labels_ticks_far_enough_apart_to_read(qtbot, size):
    axis = SpacedAxis("left")
    values = sorted({v for _spacing, level in axis.tickValues(-0.02, 1.02, size) for v in level})
    assert values, "an axis with no label at all says nothing"
    pixels = [v / 1.04 * size for v in values]
    assert all(b - a >= MIN_TICK_PX - 1e-9 for a, b in itertools.pairwise(pixels))
    if size == 400:  # a tall axis keeps pyqtgraph's own fine ticks
        assert 0.2 in [round(v, 6) for v in values]


def test_a_legend_that_would_cover_a_short_plot_is_hidden(qtbot):
    widget = CurvesWidget()
    qtbot.addWidget(widget)
    widget.show()
    widget.set_span(0, 3)
    for epoch in (1, 2, 3):
        widget.add_epoch(epoch, {"train_loss": 1 / epoch, "valid_loss": 1.2 / epoch})
    widget.resize(700, 110)
    widget.flush()
    QApplication.processEvents()
    widget.flush()
    assert not widget.loss_plot.legend.isVisible()
    widget.resize(700, 400)
    QApplication.processEvents()
    widget.flush()
    assert widget.loss_plot.legend.isVisible()
