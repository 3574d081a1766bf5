"""The run dock says nothing stale: no ETA once a run is being stopped, elapsed time that goes on across a resume,
no title of a deleted run; it is one line while idle and opens when a run starts; "Evaluate this run" after one
that trained."""

import pytest

from dlstudio.gui.run_dock import IDLE_TITLE, RunDock
from tests.gui.test_run_dock import batch, clock, fit_started, run_started


@pytest.fixture
def dock(qtbot):
    widget = RunDock()
    qtbot.addWidget(widget)
    return widget


def test_an_idle_dock_is_one_line_and_opens_when_a_run_starts(dock):
    assert not dock.expanded and dock.details.isHidden()
    dock.on_starting("t1", "Tiny run")
    assert dock.expanded
    dock.set_expanded(False)  # the person may close it while the run goes on
    assert dock.details.isHidden() and dock.progress.isVisibleTo(dock)


def test_the_eta_goes_when_the_run_is_cancelled(dock, monkeypatch):
    clock(monkeypatch, 100.0, 130.0, 130.0, 131.0)
    dock.on_starting("t1", "Tiny run")
    dock.on_fit_started(fit_started(4))
    dock.on_batch(batch(2, 10))  # half of 4 epochs in 30 s
    dock._update_times()
    assert "ETA" in dock.times.text()
    dock.cancel_button.click()
    assert "ETA" not in dock.times.text()
    dock._update_times()  # the clock ticks on until the run has stopped
    assert "ETA" not in dock.times.text()


def test_elapsed_goes_on_from_where_a_resumed_run_stopped(dock, monkeypatch):
    clock(monkeypatch, 100.0, 110.0)
    dock.on_starting("t1", "resume r1")
    dock.on_run_started(run_started())
    dock.carry_earlier(125.0)  # what the run trained before (its stored duration)
    assert dock.times.text().startswith("elapsed 02:15")  # 125 s before + 10 s now


def test_the_eta_of_a_resumed_run_is_paced_by_this_segment_only(dock, monkeypatch):
    clock(monkeypatch, 100.0, 130.0, 130.0)
    dock.on_starting("t1", "resume r1")
    dock.on_fit_started(fit_started(4, start_epoch=2))
    dock.carry_earlier(1000.0)
    dock.on_batch(batch(3, 10))  # a quarter of the run in 30 s: three quarters done, one to go
    dock._update_times()
    assert dock.times.text() == "elapsed 17:10 · ETA 00:30"


def test_a_deleted_run_leaves_the_dock(dock):
    dock.on_starting("t1", "Tiny run")
    dock.on_run_started(run_started())
    dock.on_fit_ended({"status": "completed", "message": ""})
    dock.on_done("t1")
    dock.forget_run("other")
    assert dock.title.text() == "Tiny run"
    dock.forget_run("r1")
    assert dock.title.text() == IDLE_TITLE and dock.progress.format() == "idle" and dock.times.text() == ""


@pytest.mark.parametrize(("status", "shown"), [("completed", True), ("stopped", True), ("cancelled", False)])
def test_evaluate_this_run_is_offered_after_a_run_that_trained(dock, qtbot, status, shown):
    dock.can_evaluate = lambda run_id: run_id == "r1"
    dock.on_starting("t1", "Tiny run")
    assert dock.evaluate_button.isHidden()
    dock.on_run_started(run_started())
    dock.on_fit_ended({"status": status, "message": ""})
    assert dock.evaluate_button.isVisibleTo(dock) is shown
    if shown:
        with qtbot.waitSignal(dock.evaluate_requested) as signal:
            dock.evaluate_button.click()
        assert signal.args == ["r1"]


def test_a_distributed_run_says_how_many_processes_train_it(qtbot):
    dock = RunDock()
    qtbot.addWidget(dock)
    dock.on_run_started(run_started() | {"device": "2×cuda", "processes": 2})
    assert "2×cuda, 2 processes (rank 0 shown)" in dock.status.text()
    dock.on_run_started(run_started())
    assert "processes" not in dock.status.text()
