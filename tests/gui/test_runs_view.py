"""The Runs view: listing, sorting, filtering, overlaid curves, export, lazy refresh."""

from __future__ import annotations

import time
import tomllib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from dlstudio.gui.run_dock import format_seconds
from dlstudio.gui.runs_view import COLUMNS
from dlstudio.spec import RunSpec
from tests.gui.runs_view_helpers import (
    RUN_TIMEOUT,
    click,
    click_row,
    column,
    curves,
    row_texts,
    show_runs_page,
    shown_ids,
)

# -- listing, sorting, filtering ---------------------------------------------------------------------


def test_every_stored_run_is_listed_with_its_columns(window_with_runs):
    window, ids = window_with_runs
    view = window.runs_view
    store = window.studio.store
    assert sorted(shown_ids(view)) == sorted(ids.values())
    beta = store.get(ids["beta"])
    assert row_texts(view, ids["beta"]) == {
        "Run": ids["beta"],
        "Name": "beta run",
        "Plugin": "demo",
        "Model": "demo.mlp",
        "Dataset": "demo.blobs",
        "Hyperparameters": "epochs=10, batch_size=8, optimizer=sgd, lr=0.05",
        "Device": "cpu",
        "Status": "completed",
        "Best": f"valid_accuracy {beta.best_value:.4f}",
        "Epochs": "10/10",
        "Duration": format_seconds(beta.duration),
        "Started": time.strftime("%Y-%m-%d %H:%M", time.localtime(beta.created)),
    }
    assert row_texts(view, ids["alpha"])["Hyperparameters"] == "epochs=2, batch_size=16, optimizer=sgd, lr=0.2"
    assert row_texts(view, ids["gamma"])["Epochs"] == "1/1"


def test_newest_runs_come_first_until_another_column_is_sorted(window_with_runs):
    window, ids = window_with_runs
    view = window.runs_view
    assert shown_ids(view) == [ids["gamma"], ids["beta"], ids["alpha"]]
    view.table.sortByColumn(COLUMNS.index("Hyperparameters"), Qt.SortOrder.DescendingOrder)
    assert column(view, "Hyperparameters") == [
        "epochs=2, batch_size=16, optimizer=sgd, lr=0.2",
        "epochs=10, batch_size=8, optimizer=sgd, lr=0.05",
        "epochs=1, batch_size=16, optimizer=sgd, lr=0.05",
    ]
    view.table.sortByColumn(COLUMNS.index("Started"), Qt.SortOrder.DescendingOrder)
    assert shown_ids(view) == [ids["gamma"], ids["beta"], ids["alpha"]]


def test_sorting_by_name_ignores_case_like_the_filter_does(window_with_runs):
    window, _ids = window_with_runs
    view = window.runs_view
    view.table.sortByColumn(COLUMNS.index("Name"), Qt.SortOrder.AscendingOrder)
    assert column(view, "Name") == ["Alpha run", "beta run", "Gamma"]


def test_numeric_columns_sort_by_number_not_by_text(window_with_runs):
    window, ids = window_with_runs
    view = window.runs_view
    view.table.sortByColumn(COLUMNS.index("Epochs"), Qt.SortOrder.AscendingOrder)
    assert column(view, "Epochs") == ["1/1", "2/2", "10/10"]  # as text, "10/10" would sort before "2/2"
    view.table.sortByColumn(COLUMNS.index("Epochs"), Qt.SortOrder.DescendingOrder)
    assert shown_ids(view) == [ids["beta"], ids["alpha"], ids["gamma"]]
    view.table.sortByColumn(COLUMNS.index("Best"), Qt.SortOrder.DescendingOrder)
    best = [window.studio.store.get(run_id).best_value for run_id in shown_ids(view)]
    assert best == sorted(best, reverse=True)


def test_the_filter_box_narrows_rows_on_any_column_ignoring_case(window_with_runs, qtbot):
    window, ids = window_with_runs
    view = window.runs_view
    qtbot.keyClicks(view.filter_edit, "ALPHA")
    assert shown_ids(view) == [ids["alpha"]]
    view.filter_edit.clear()
    qtbot.keyClicks(view.filter_edit, "batch_size=8")  # a hyperparameter
    assert shown_ids(view) == [ids["beta"]]
    view.filter_edit.setText("run")
    assert sorted(shown_ids(view)) == sorted([ids["alpha"], ids["beta"]])
    view.filter_edit.setText("no such run")
    assert shown_ids(view) == []
    view.filter_edit.clear()
    assert len(shown_ids(view)) == 3


# -- overlaid curves ---------------------------------------------------------------------------------


def test_selected_runs_have_their_curves_overlaid_for_the_chosen_metric(window_with_runs, qtbot):
    window, ids = window_with_runs
    view = window.runs_view
    store = window.studio.store
    show_runs_page(window, qtbot)
    assert curves(view) == {}
    click_row(view, ids["alpha"], qtbot)
    click_row(view, ids["beta"], qtbot, Qt.KeyboardModifier.ControlModifier)
    assert sorted(view.selected_ids()) == sorted([ids["alpha"], ids["beta"]])
    combo = [view.metric_combo.itemText(i) for i in range(view.metric_combo.count())]
    assert combo == ["valid_accuracy", "valid_loss", "lr", "train_accuracy", "train_loss"]
    assert view.metric_combo.currentText() == "valid_accuracy"  # validation metrics come first

    def expected(metric, *keys):
        out = {}
        for key in keys:
            points = store.metrics(ids[key])[metric]
            out[f"{ids[key]} {store.get(ids[key]).name}"] = ([p[0] for p in points], [p[1] for p in points])
        return out

    assert curves(view) == expected("valid_accuracy", "alpha", "beta")
    assert len(curves(view)[f"{ids['beta']} beta run"][0]) == 10
    legend = [label.text for _sample, label in view.plot.plotItem.legend.items]
    assert sorted(legend) == sorted(expected("valid_accuracy", "alpha", "beta"))
    pens = {item.opts["pen"].color().name() for item in view.plot.plotItem.listDataItems()}
    assert len(pens) == 2  # each run its own colour

    view.metric_combo.setCurrentText("train_loss")
    assert curves(view) == expected("train_loss", "alpha", "beta")
    assert view.plot.plotItem.getAxis("left").labelText == "train_loss"

    click_row(view, ids["gamma"], qtbot)  # a plain click selects that run alone
    assert curves(view) == expected("train_loss", "gamma")  # the chosen metric is kept
    click_row(view, ids["gamma"], qtbot, Qt.KeyboardModifier.ControlModifier)
    assert view.selected_ids() == [] and curves(view) == {}


def test_a_refresh_keeps_the_selected_runs_and_the_chosen_metric(window_with_runs):
    window, ids = window_with_runs
    view = window.runs_view
    view.select_ids([ids["alpha"], ids["beta"]])
    view.metric_combo.setCurrentText("train_loss")
    view.refresh()  # what a run starting or ending does while the view is on screen
    assert sorted(view.selected_ids()) == sorted([ids["alpha"], ids["beta"]])
    assert view.metric_combo.currentText() == "train_loss"


# -- export ------------------------------------------------------------------------------------------


def test_exporting_a_run_writes_its_spec_as_replayable_toml(window_with_runs, qtbot, monkeypatch, tmp_path):
    window, ids = window_with_runs
    view = window.runs_view
    target = tmp_path / "exported.toml"
    offered = []

    def save_name(parent, caption, directory, filter_):
        offered.append(directory)
        return str(target), filter_

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    view.select_ids([ids["beta"]])
    click(view, "export", qtbot)
    assert offered == [f"{ids['beta']}.toml"]
    row = window.studio.store.get(ids["beta"])
    text = target.read_text(encoding="utf-8")
    assert text == row.spec
    spec = RunSpec.from_dict(tomllib.loads(text))
    assert spec.run.name == "beta run"
    assert (spec.train.epochs, spec.train.batch_size) == (10, 8)
    assert spec.to_dict() == tomllib.loads(row.spec)
    assert str(target) in window.statusBar().currentMessage()


def test_cancelling_the_export_dialog_writes_nothing(window_with_runs, qtbot, monkeypatch, tmp_path):
    window, ids = window_with_runs
    view = window.runs_view
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: ("", ""))
    view.select_ids([ids["alpha"]])
    before = sorted(tmp_path.rglob("*.toml"))
    click(view, "export", qtbot)
    assert sorted(tmp_path.rglob("*.toml")) == before


def test_actions_for_one_run_are_disabled_unless_exactly_one_is_selected(window_with_runs):
    window, ids = window_with_runs
    view = window.runs_view
    single = ("clone", "export")

    def enabled():
        return {key: button.isEnabled() for key, button in view.buttons.items()}

    assert enabled() == {"refresh": True, "clone": False, "resume": False, "evaluate": False, "export": False,
                         "delete": False}
    view.select_ids([ids["alpha"]])
    assert all(enabled()[key] for key in (*single, "delete"))
    view.select_ids([ids["alpha"], ids["gamma"]])
    assert not any(enabled()[key] for key in single) and enabled()["delete"]


# -- lazy refresh ------------------------------------------------------------------------------------


def start_tiny_run(window, qtbot, name: str) -> str:
    """Start a one-epoch run from the demo panel and wait for its end; its id."""
    panel = window.panels["demo.train"]
    panel.name_edit.setText(name)
    panel.train_form.set_values({"epochs": 1, "batch_size": 16})
    panel.data_box.form().set_values({"samples": 80})
    with qtbot.waitSignal(window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        panel.start()
    assert finished.args[1] == "completed"
    qtbot.waitUntil(lambda: not window.is_running(), timeout=RUN_TIMEOUT)
    return finished.args[0]


def test_a_hidden_view_only_marks_itself_stale_and_showing_the_runs_page_rebuilds_it(demo_window, qtbot):
    view = demo_window.runs_view
    assert not view.isVisible() and shown_ids(view) == []
    run_id = start_tiny_run(demo_window, qtbot, "made while hidden")
    assert view._stale
    assert shown_ids(view) == []  # not rebuilt while nobody looks
    demo_window.show()
    demo_window.show_runs()
    assert view.isVisible() and not view._stale
    assert shown_ids(view) == [run_id]
    assert row_texts(view, run_id)["Name"] == "made while hidden"


def test_showing_the_window_on_the_runs_page_rebuilds_a_stale_view(demo_window, qtbot):
    demo_window.show_runs()  # the current page, but the window is not on screen yet
    view = demo_window.runs_view
    run_id = start_tiny_run(demo_window, qtbot, "made before showing")
    assert view._stale and shown_ids(view) == []
    demo_window.show()
    qtbot.waitExposed(demo_window)
    assert not view._stale
    assert shown_ids(view) == [run_id]


def test_a_visible_view_lists_a_finished_run_at_once(demo_window, qtbot):
    demo_window.show()
    demo_window.show_runs()
    view = demo_window.runs_view
    run_id = start_tiny_run(demo_window, qtbot, "made while looking")
    assert not view._stale
    assert shown_ids(view) == [run_id]
    assert row_texts(view, run_id)["Status"] == "completed" and row_texts(view, run_id)["Epochs"] == "1/1"
