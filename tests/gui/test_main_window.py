from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QScrollArea

from dlstudio import hookimpl
from dlstudio.contract import FamilySpec, PanelSpec
from dlstudio.engine import EpochEnd
from tests.fixture_plugins import demo_plugin
from tests.runs import finished_run

RUN_TIMEOUT = 60_000


def family_with_one_panel(family: str, factory):
    """A plugin adding family ``family`` with one panel, ``<family>.panel``, built by ``factory``."""

    class Plugin:
        @hookimpl
        def dlstudio_register_families(self, register):
            register(FamilySpec(id=family, title=family.title()))

        @hookimpl
        def dlstudio_register_panels(self, register):
            register(PanelSpec(id=f"{family}.panel", title=family.title(), family=family, factory=factory))

    return Plugin()


def family_keys(window):
    return [window.families.item(i).data(Qt.ItemDataRole.UserRole) for i in range(window.families.count())]


def train_panel(window):
    return window.panels["demo.train"]


def start_demo_run(window, qtbot, **train):
    panel = train_panel(window)
    panel.train_form.set_values(train)
    with qtbot.waitSignal(window.context.run_started, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)


def test_window_lists_families_panels_and_runs(demo_window):
    assert family_keys(demo_window)[0] == "demo"
    assert family_keys(demo_window)[-1] == "__runs__"
    assert "demo.train" in demo_window.panels
    assert demo_window.device_selector.current() == "cpu"
    assert demo_window.device_selector.isEnabled()


def test_run_from_panel_finishes_and_is_stored(demo_window, qtbot):
    panel = train_panel(demo_window)
    assert panel.recipe_combo.currentData() == "demo-blobs"
    with qtbot.waitSignal(demo_window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    run_id, status, _ = finished.args
    assert status == "completed"
    row = demo_window.studio.store.get(run_id)
    assert row.status == "completed" and row.epochs_done == 3
    qtbot.waitUntil(lambda: not demo_window.is_running())
    assert "completed" in demo_window.run_dock.progress.format()
    assert len(demo_window.run_dock.curves._series["valid_accuracy"][0]) == 3


def test_pause_resume_and_cancel(demo_window, qtbot):
    train_panel(demo_window).data_box.form().set_values({"samples": 20000})
    start_demo_run(demo_window, qtbot, epochs=200, batch_size=8)
    qtbot.mouseClick(demo_window.run_dock.pause_button, Qt.MouseButton.LeftButton)
    assert demo_window.queue.paused
    assert demo_window.run_dock.pause_button.text() == "Resume"
    qtbot.mouseClick(demo_window.run_dock.pause_button, Qt.MouseButton.LeftButton)
    assert not demo_window.queue.paused
    with qtbot.waitSignal(demo_window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        qtbot.mouseClick(demo_window.run_dock.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args[1] == "cancelled"
    assert demo_window.studio.store.get(finished.args[0]).status == "cancelled"


def test_cancel_while_paused_ends_the_run(demo_window, qtbot):
    train_panel(demo_window).data_box.form().set_values({"samples": 20000})
    start_demo_run(demo_window, qtbot, epochs=200, batch_size=8)
    demo_window.queue.pause()
    with qtbot.waitSignal(demo_window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        demo_window.queue.cancel()
    assert finished.args[1] == "cancelled"


def test_closing_during_a_run_asks_then_stops_it_cleanly(demo_window, qtbot, monkeypatch):
    train_panel(demo_window).data_box.form().set_values({"samples": 20000})
    start_demo_run(demo_window, qtbot, epochs=200, batch_size=8)
    qtbot.waitUntil(lambda: demo_window.studio.store.list_runs()[0].epochs_done >= 1, timeout=RUN_TIMEOUT)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    demo_window.close()
    assert asked and demo_window.is_running()  # "No" keeps the window and the run
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    demo_window.close()
    assert not demo_window.queue._thread or demo_window.queue._thread.isFinished()
    row = demo_window.studio.store.list_runs()[0]
    assert row.status == "cancelled"
    assert (demo_window.studio.store.run_dir(row.id) / "checkpoints" / "last.safetensors").exists()


def test_bad_spec_shows_an_error_and_starts_nothing(demo_window):
    panel = train_panel(demo_window)
    panel.train_form.widget("lr").setText("fast")
    panel.start()
    assert demo_window.errors[-1][0] == "Cannot start the run"
    assert "Learning rate" in demo_window.errors[-1][1]
    assert not demo_window.is_running()
    assert demo_window.studio.store.list_runs() == []


def test_run_that_fails_to_load_data_reports_it(demo_window, qtbot):
    panel = train_panel(demo_window)
    panel.data_box.form().set_values({"samples": 0})
    refused = []
    demo_window.context.run_refused.connect(lambda ticket, message: refused.append((ticket, message)))
    with qtbot.waitSignal(demo_window.queue.run_done, timeout=RUN_TIMEOUT):
        ticket = panel.start()
    title, message = demo_window.errors[-1]
    assert title == "The run could not start"
    assert "no training samples" in message
    assert refused == [(ticket, message)]  # a panel can tell which of its runs never started


def test_a_resume_that_cannot_resume_is_refused_and_the_stored_run_is_untouched(demo_window, qtbot):
    studio = demo_window.studio
    done_id = finished_run(studio, "train.epochs=1")
    refused, finished = [], []
    demo_window.context.run_refused.connect(lambda ticket, message: refused.append(ticket))
    demo_window.context.run_finished.connect(lambda run_id, status, _m: finished.append((run_id, status)))
    with qtbot.waitSignal(demo_window.queue.run_done, timeout=RUN_TIMEOUT):
        ticket = demo_window.context.start_run(None, resume_id=done_id)
    assert refused == [ticket] and finished == [("", "failed")]
    assert studio.store.get(done_id).status == "completed"
    assert "already trained all its 1 epochs" in demo_window.errors[-1][1]


def test_a_run_being_resumed_is_not_queued_twice(demo_window, qtbot):
    from dlstudio.runner import Run
    from tests.runs import demo_spec

    studio = demo_window.studio
    run = Run(studio, demo_spec(studio, "train.epochs=3"))
    records = run.records()
    next(r for r in records if isinstance(r, EpochEnd))
    records.close()  # interrupted after epoch 1
    with qtbot.waitSignal(demo_window.context.run_finished, timeout=RUN_TIMEOUT):
        assert demo_window.context.start_run(None, resume_id=run.run_id) is not None
        assert demo_window.context.start_run(None, resume_id=run.run_id) is None  # a second click
    assert studio.store.get(run.run_id).status == "completed"


def test_nan_loss_ends_the_run_as_failed_with_a_message(demo_window, qtbot):
    panel = train_panel(demo_window)
    panel.data_box.form().set_values({"nan": True})
    with qtbot.waitSignal(demo_window.context.run_finished, timeout=RUN_TIMEOUT) as finished:
        panel.start()
    assert finished.args[1] == "failed"
    assert "nan" in finished.args[2].lower()


def test_runs_are_queued_one_after_another(demo_window, qtbot):
    panel = train_panel(demo_window)
    finished = []
    demo_window.context.run_finished.connect(lambda run_id, status, _m: finished.append(status))
    panel.start()
    panel.start()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=RUN_TIMEOUT)
    assert finished == ["completed", "completed"]
    assert len(demo_window.studio.store.list_runs()) == 2


def test_a_panel_cancels_the_run_it_started_and_only_that_one(demo_window, qtbot):
    panel = train_panel(demo_window)
    panel.data_box.form().set_values({"samples": 20000})
    panel.train_form.set_values({"epochs": 200, "batch_size": 8})
    finished = []
    demo_window.context.run_finished.connect(lambda run_id, status, _m: finished.append((bool(run_id), status)))
    with qtbot.waitSignal(demo_window.context.run_started, timeout=RUN_TIMEOUT):
        first = panel.start()
    second = panel.start()  # queued behind the first
    assert demo_window.queue.pending() == 1
    assert not demo_window.context.cancel_run("run-999")  # neither current nor queued
    with qtbot.waitSignal(demo_window.context.run_refused) as refused:
        assert demo_window.context.cancel_run(second)  # dropped before it starts
    assert refused.args[0] == second and demo_window.queue.pending() == 0
    with qtbot.waitSignal(demo_window.context.run_finished, timeout=RUN_TIMEOUT):
        assert demo_window.context.cancel_run(first)
    qtbot.waitUntil(lambda: not demo_window.is_running(), timeout=RUN_TIMEOUT)
    assert finished == [(False, "cancelled"), (True, "cancelled")]  # the queued one never had a run id
    assert len(demo_window.studio.store.list_runs()) == 1


def test_the_dock_shows_queued_runs_removes_one_and_cancels_all(demo_window, qtbot):
    panel = train_panel(demo_window)
    panel.data_box.form().set_values({"samples": 20000})
    panel.train_form.set_values({"epochs": 200, "batch_size": 8})
    finished, refused = [], []
    demo_window.context.run_finished.connect(lambda run_id, status, _m: finished.append((run_id, status)))
    demo_window.context.run_refused.connect(lambda ticket, message: refused.append((ticket, message)))
    with qtbot.waitSignal(demo_window.context.run_started, timeout=RUN_TIMEOUT):
        panel.start()
    tickets = {}
    for name in ("second", "third"):
        panel.name_edit.setText(name)
        tickets[name] = panel.start()
    dock = demo_window.run_dock
    assert dock.queue_button.text() == "2 queued"
    remove_second = next(a for a in dock.queue_menu.actions() if "second · demo.mlp · demo.blobs" in a.text())
    remove_second.trigger()
    assert [run.name for run in demo_window.queue.queued()] == ["third"]
    # The panel that queued it hears that it never starts (as of a refused run).
    assert refused == [(tickets["second"], "cancelled before it started")] and finished == [("", "cancelled")]
    assert dock.queue_button.text() == "1 queued" and dock.cancel_button.text() == "Cancel all (2)"
    with qtbot.waitSignal(demo_window.queue.run_done, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.wait(50)  # nothing queued may start after the current run's end
    assert not demo_window.is_running() and demo_window.queue.pending() == 0 and dock.queue_button.isHidden()
    assert [ticket for ticket, _ in refused] == [tickets["second"], tickets["third"]]
    assert [status for _, status in finished] == ["cancelled"] * 3 and len(demo_window.studio.store.list_runs()) == 1


def test_a_panel_that_fails_to_build_becomes_an_error_tab(make_window, make_studio):
    studio = make_studio(("demo", demo_plugin), ("broken", family_with_one_panel("broken", lambda ctx: 1 / 0)))
    window = make_window(studio)
    widget = window.panels["broken.panel"]
    assert isinstance(widget, QLabel) and "ZeroDivisionError" in widget.text()
    assert "demo.train" in window.panels
    assert any("broken.panel" in w for w in studio.plugin_record("broken").warnings)


def test_a_panel_taller_than_the_screen_scrolls_instead_of_growing_the_window(make_window, make_studio):
    def build(ctx):
        panel = QLabel("tall")
        panel.setMinimumSize(900, 1500)
        return panel

    window = make_window(make_studio(("demo", demo_plugin), ("tall", family_with_one_panel("tall", build))))
    assert window.minimumSizeHint().height() < 720  # fits a 1280×720 screen, run dock included
    assert window.show_panel("tall.panel")
    page = window.family_pages["tall"].currentWidget().findChild(QScrollArea)
    assert page.widget() is window.panels["tall.panel"]
    window.resize(1280, 720)
    window.show()
    assert page.verticalScrollBar().maximum() > 0


def test_show_panel_switches_family_and_tab(demo_window):
    demo_window.show_runs()
    assert demo_window.pages.currentWidget() is demo_window.runs_view
    assert demo_window.show_panel("demo.train")
    assert demo_window.pages.currentWidget() is demo_window.family_pages["demo"]
    assert not demo_window.show_panel("nope")


def test_device_choice_is_remembered(make_window, demo_studio, monkeypatch):
    from dlstudio.engine import devices

    fake = [devices.DeviceInfo("cpu", "CPU"), devices.DeviceInfo("cuda:0", "Fake GPU", 8 << 30, 6 << 30)]
    monkeypatch.setattr(devices, "list_devices", lambda: fake)
    first = make_window(demo_studio)
    assert first.device_selector.current() == "cuda:0"  # a GPU is preferred when nothing was chosen
    assert "Fake GPU" in first.device_selector.currentText() and "GiB" in first.device_selector.currentText()
    first.device_selector.setCurrentIndex(0)
    first.settings.sync()
    second = make_window(demo_studio)
    assert second.device_selector.current() == "cpu"
    assert second.current_device() == "cpu"
