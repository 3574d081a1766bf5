"""The Runs view's actions on runs: delete, clone, resume."""

from __future__ import annotations

import tomllib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.runs_view_helpers import (
    RUN_TIMEOUT,
    answer_questions,
    click,
    click_row,
    curves,
    row_centre,
    row_texts,
    show_runs_page,
    shown_ids,
)
from tests.runs import finished_run, interrupted_run

# -- delete ------------------------------------------------------------------------------------------


def test_deleting_runs_asks_first_and_no_keeps_them(window_with_runs, qtbot, monkeypatch):
    window, ids = window_with_runs
    view = window.runs_view
    store = window.studio.store
    view.select_ids([ids["alpha"], ids["beta"]])
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    click(view, "delete", qtbot)
    assert len(asked) == 1 and asked[0].startswith("Delete 2 run(s) and all their files")
    assert sorted(r.id for r in store.list_runs()) == sorted(ids.values())
    assert all(store.run_dir(run_id).is_dir() for run_id in ids.values())
    assert len(shown_ids(view)) == 3


def test_deleting_runs_removes_their_folders_rows_and_records(window_with_runs, qtbot, monkeypatch):
    window, ids = window_with_runs
    view = window.runs_view
    store = window.studio.store
    doomed = [ids["alpha"], ids["beta"]]
    assert all((store.run_dir(run_id) / "checkpoints").is_dir() for run_id in doomed)
    view.select_ids(doomed)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    click(view, "delete", qtbot)
    assert len(asked) == 1
    assert [r.id for r in store.list_runs()] == [ids["gamma"]]
    for run_id in doomed:
        assert not store.run_dir(run_id).exists()
        assert store.metrics(run_id) == {}
        with pytest.raises(KeyError):
            store.get(run_id)
    assert store.run_dir(ids["gamma"]).is_dir()
    assert shown_ids(view) == [ids["gamma"]]
    assert view.selected_ids() == [] and not view.buttons["delete"].isEnabled()
    assert curves(view) == {}
    assert window.errors == []


def test_a_run_in_progress_is_not_deleted_and_the_user_is_told(window_with_runs, qtbot, monkeypatch):
    window, ids = window_with_runs
    view = window.runs_view
    store = window.studio.store
    store.mark_running(ids["alpha"], "cpu")  # as if this process were training it
    view.refresh()
    view.select_ids([ids["alpha"], ids["gamma"]])
    answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    click(view, "delete", qtbot)
    assert window.errors[-1][0] == "Some runs were not deleted"
    assert ids["alpha"] in window.errors[-1][1] and "in progress" in window.errors[-1][1]
    assert store.get(ids["alpha"]).status == "running" and store.run_dir(ids["alpha"]).is_dir()
    assert not store.run_dir(ids["gamma"]).exists()
    assert sorted(shown_ids(view)) == sorted([ids["alpha"], ids["beta"]])


# -- clone -------------------------------------------------------------------------------------------


def test_cloning_a_run_reopens_its_settings_in_its_train_panel(make_window, demo_studio, qtbot):
    run_id = finished_run(demo_studio, 'run.name="clone me"', "run.seed=7", "train.epochs=1", "train.lr=0.2",
                          "train.batch_size=8", "train.momentum=0.5", "data.params.samples=60",
                          "data.params.noise=0.5", "model.params.hidden=8")
    window = make_window(demo_studio)
    panel = window.panels["demo.train"]
    assert panel.train_form.values()["lr"] == 0.05  # the recipe's, before cloning
    window.show_runs()
    view = window.runs_view
    view.select_ids([run_id])
    click(view, "clone", qtbot)

    assert window.pages.currentWidget() is window.family_pages["demo"]
    assert window.current_panel() is panel
    assert panel.recipe_combo.currentIndex() == 0  # "custom": the form no longer follows a recipe
    assert panel.name_edit.text() == "clone me" and panel.seed_spin.value() == 7
    assert panel.model_box.current_id() == "demo.mlp" and panel.model_box.form().values() == {"hidden": 8}
    data = panel.data_box.form().values()
    assert (data["samples"], data["noise"]) == (60, 0.5)
    train = panel.train_form.values()
    assert (train["epochs"], train["batch_size"], train["lr"], train["momentum"]) == (1, 8, 0.2, 0.5)
    stored = tomllib.loads(window.studio.store.get(run_id).spec)
    cloned = panel.current_spec().to_dict()
    assert cloned["train"] == stored["train"] and cloned["run"] == stored["run"]
    assert cloned["model"] == stored["model"]
    assert stored["data"]["params"].items() <= cloned["data"]["params"].items()
    assert window.errors == []


def test_double_clicking_a_run_clones_it(window_with_runs, qtbot):
    window, ids = window_with_runs
    view = window.runs_view
    show_runs_page(window, qtbot)
    click_row(view, ids["beta"], qtbot)  # the first click of a double click
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=row_centre(view, ids["beta"]))
    panel = window.panels["demo.train"]
    assert window.pages.currentWidget() is window.family_pages["demo"]
    assert panel.name_edit.text() == "beta run"
    assert (panel.train_form.values()["epochs"], panel.train_form.values()["batch_size"]) == (10, 8)


def test_cloning_a_run_no_loaded_panel_can_open_says_so(make_window, make_studio, demo_studio):
    run_id = finished_run(demo_studio, "train.epochs=1")
    window = make_window(make_studio())  # the same data folder, without the demo plugin
    view = window.runs_view
    view.select_ids([run_id])
    view.clone_selected()
    title, message = window.errors[-1]
    assert title == "Cannot clone this run"
    assert "'demo.mlp'" in message and "'demo'" in message


# -- resume ------------------------------------------------------------------------------------------


def test_an_unfinished_run_resumes_from_its_last_checkpoint(make_window, demo_studio, qtbot):
    done = finished_run(demo_studio, "train.epochs=1")
    broken = interrupted_run(demo_studio, "train.epochs=3")
    assert demo_studio.store.get(broken).epochs_done == 1
    window = make_window(demo_studio)
    window.show()
    window.show_runs()
    view = window.runs_view
    assert row_texts(view, broken)["Status"] == "interrupted" and row_texts(view, broken)["Epochs"] == "1/3"
    view.select_ids([done])
    assert not view.buttons["resume"].isEnabled()  # nothing left to train
    view.select_ids([broken])

    with qtbot.waitSignal(window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        click(view, "resume", qtbot)
    assert finished.args[:2] == [broken, "completed"]
    row = window.studio.store.get(broken)
    assert (row.status, row.epochs_done, row.epochs) == ("completed", 3, 3)
    assert [epoch for epoch, _ in window.studio.store.metrics(broken)["valid_accuracy"]] == [1, 2, 3]
    assert len(window.studio.store.list_runs()) == 2  # resumed in place, not as a new run
    assert row_texts(view, broken)["Status"] == "completed" and row_texts(view, broken)["Epochs"] == "3/3"
    assert view.selected_ids() == [broken] and not view.buttons["resume"].isEnabled()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=RUN_TIMEOUT)
