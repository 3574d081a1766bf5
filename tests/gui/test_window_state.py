"""The window's state follows the runs: the dock grows when a run starts and keeps the height the person gave it,
"Evaluate this run" opens the run's family's Evaluate page with the run chosen, a deleted run leaves the dock."""

import pytest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from dlstudio.contract import PanelSpec
from dlstudio.gui.app import gui_settings
from dlstudio.gui.dock_sizer import RELEASE_MS
from dlstudio.gui.widgets import RunPicker
from tests.fake_plugins import registers
from tests.fixture_plugins import demo_plugin
from tests.runs import finished_run


def _evaluate_page(context):
    page = QWidget()
    page.picker = RunPicker(context, task="classification")
    QVBoxLayout(page).addWidget(page.picker)
    return page


EVALUATE_PLUGIN = registers("panels", PanelSpec(id="demo.evaluate", title="Evaluate", family="demo",
                                                factory=_evaluate_page), name="demo_eval")


def _settle(qtbot):
    """Until the dock's height is let go (dlstudio.gui.dock_sizer.RELEASE_MS) and laid out."""
    for _ in range(3):
        qtbot.wait(RELEASE_MS)
        QApplication.processEvents()


@pytest.mark.parametrize("resize_docks_refused", [False, True])
def test_the_dock_grows_for_a_run_and_comes_back_at_the_height_the_person_chose(make_window, demo_studio, qtbot,
                                                                               monkeypatch, resize_docks_refused):
    window = make_window(demo_studio)
    if resize_docks_refused:  # as some PySide builds do
        def refuse(*_args):
            raise TypeError("resizeDocks refused")

        monkeypatch.setattr(window, "resizeDocks", refuse)
    window.resize(1024, 640)
    window.show()
    qtbot.waitExposed(window)
    _settle(qtbot)
    idle = window.dock.height()
    assert idle < 80
    window.run_dock.on_starting("t1", "Tiny run")
    _settle(qtbot)
    assert window.dock.height() > 150  # the run's log and curves have room
    window.dock_sizer.height = 220  # as a drag of the dock's edge leaves it
    window.run_dock.set_expanded(False)
    _settle(qtbot)
    assert window.dock.height() == idle
    window.run_dock.set_expanded(True)
    _settle(qtbot)
    if resize_docks_refused:  # a held height only grows a dock (the layout keeps the taller size it knew)
        assert window.dock.height() > 150
        return
    assert abs(window.dock.height() - 220) <= 2
    window.close()
    assert int(gui_settings(demo_studio.home).value("window/dock_height")) == 220


def test_evaluate_this_run_shows_the_evaluate_page_with_the_run_chosen(make_window, make_studio, qtbot):
    studio = make_studio(("demo", demo_plugin), ("demo_eval", EVALUATE_PLUGIN))
    older = finished_run(studio, "train.epochs=1")
    newer = finished_run(studio, "train.epochs=1")
    window = make_window(studio)
    picker = window.panels["demo.evaluate"].picker
    assert picker.currentData() == newer  # the newest completed run by default
    posted = []
    window.context.message_posted.connect(lambda topic, payload: posted.append((topic, payload)))
    window.show_runs()
    assert window.runs_view.can_evaluate(older)
    window.runs_view.select_ids([older])
    menu = window.runs_view.context_menu()
    action = next(a for a in menu.actions() if a.text() == "Evaluate this run")
    assert action.isEnabled()
    action.trigger()
    assert window.current_panel() is window.panels["demo.evaluate"]
    assert picker.currentData() == older
    assert posted == [("run.evaluate", {"run_id": older, "panel": "demo.evaluate"})]


def test_a_deleted_run_is_forgotten_by_the_dock(make_window, demo_studio, qtbot):
    run_id = finished_run(demo_studio, "train.epochs=1")
    window = make_window(demo_studio)
    dock = window.run_dock
    dock.on_starting("t1", "Tiny run")
    dock.on_run_started({"run_id": run_id, "run_dir": "", "device": "cpu"})
    dock.on_fit_ended({"status": "completed", "message": ""})
    dock.on_done("t1")
    window.show_runs()
    window.runs_view.select_ids([run_id])
    window.runs_view.delete_selected(confirm=False)
    assert dock.title.text() != "Tiny run" and dock.run_id == ""


def test_a_dock_squeezed_by_a_small_window_gets_its_height_back_when_the_window_grows(make_window, demo_studio,
                                                                                     qtbot):
    window = make_window(demo_studio)
    window.resize(1024, 480)
    window.show()
    qtbot.waitExposed(window)
    window.run_dock.on_starting("t1", "Tiny run")
    _settle(qtbot)
    squeezed = window.dock.height()
    assert squeezed < window.dock_sizer.height
    window.resize(1280, 1000)
    _settle(qtbot)
    assert window.dock.height() == pytest.approx(window.dock_sizer.height, abs=2)
