"""The Sweeps view over a real (tiny) sweep: trials, the best, both plots, and cloning the best."""

from __future__ import annotations

import tomllib

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from dlstudio.gui.panel_pages import SWEEPS_PAGE
from dlstudio.sweep import SweepConfig, run_sweep
from dlstudio.sweep_params import parse_space
from tests.runs import demo_spec


@pytest.fixture
def swept(demo_studio):
    config = SweepConfig(parse_space(["train.lr=choice:0.01,0.1", "model.hidden=choice:4,16"]), trials=3,
                         sampler="grid", study="view", metric="valid_accuracy", direction="max", seed=0)
    run_sweep(demo_studio, demo_spec(demo_studio, "train.momentum=0.5"), config)
    return demo_studio


def test_the_sweeps_view_shows_trials_best_plots_and_clones_the_best(swept, make_window, qtbot):
    window = make_window(swept)
    window._select_family(SWEEPS_PAGE)
    view = window.sweeps_view
    assert window.pages.currentWidget() is view
    assert view.sweep_combo.currentText() == "view"

    store = swept.store
    # The reference: each trial's run as the store recorded it (its best valid_accuracy over its epochs).
    runs = {t.run_id: store.get(t.run_id) for t in view.trials}
    best_run = max(runs.values(), key=lambda r: r.best_value)
    headers = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    assert headers == ["#", "State", "valid_accuracy", "model.params.hidden", "train.lr", "Run"]
    assert view.table.rowCount() == 3
    shown = {view.table.item(r, 5).text(): r for r in range(view.table.rowCount())}
    assert set(shown) == set(runs)
    for run_id, row in shown.items():
        assert float(view.table.item(row, 2).text()) == pytest.approx(runs[run_id].best_value, abs=1e-4)
    best_row = shown[best_run.id]
    assert view.best_row() == best_row and view.table.item(best_row, 0).font().bold()
    assert not any(view.table.item(r, 0).font().bold() for r in shown.values() if r != best_row)

    # The metric against the learning rate: one point per trial, at (its lr, its value).
    spec_lr = {run_id: tomllib.loads(run.spec)["train"]["lr"] for run_id, run in runs.items()}
    scatter = next(i for i in view.scatter.plots["train.lr"].items if isinstance(i, pg.ScatterPlotItem))
    x, y = scatter.getData()
    expected = sorted((spec_lr[r], runs[r].best_value) for r in runs)
    for (px, py), (ex, ey) in zip(sorted(zip(x, y)), expected, strict=True):
        assert (px, py) == pytest.approx((ex, ey), abs=1e-4)
    # Parallel coordinates: a line per trial, the best one drawn wider.
    assert set(view.parallel.lines) == set(runs)
    assert view.parallel.lines[best_run.id].opts["pen"].widthF() == 3

    panel = window.panels["demo.train"]
    qtbot.mouseClick(view.clone_button, Qt.MouseButton.LeftButton)
    cloned = panel.current_spec().to_dict()
    stored = tomllib.loads(best_run.spec)
    assert cloned["train"] == stored["train"] and cloned["model"] == stored["model"]
    assert window.errors == []


def test_without_sweeps_the_view_says_how_to_start_one(demo_studio, make_window):
    window = make_window(demo_studio)
    window._select_family(SWEEPS_PAGE)
    assert "dlstudio sweep" in window.sweeps_view.summary.text()
    assert not window.sweeps_view.clone_button.isEnabled()

