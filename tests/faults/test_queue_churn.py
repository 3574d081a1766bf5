"""Rapid start/cancel churn in the window (issue 12, item 6): a Cancel stops what was started, so cycles of
Start then Cancel leave no queued run to train afterwards and no run thread behind."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

import dlstudio.gui.run_queue as run_queue

RUN_TIMEOUT = 60_000
CYCLES = 12


@pytest.fixture
def run_threads(monkeypatch):
    """Every run thread the queue starts: how many started and how many finished."""
    counts = {"started": 0, "finished": 0}
    start = run_queue.start_worker

    def counting_start(worker):
        thread = start(worker)
        counts["started"] += 1
        thread.finished.connect(lambda: counts.__setitem__("finished", counts["finished"] + 1))
        return thread

    monkeypatch.setattr(run_queue, "start_worker", counting_start)
    return counts


def long_runs_from_the_panel(window):
    panel = window.panels["demo.train"]
    panel.data_box.form().set_values({"samples": 2000})
    panel.train_form.set_values({"epochs": 500, "batch_size": 8})
    return panel


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize("pattern", ["start-cancel", "starts-then-one-cancel"])
def test_rapid_start_and_cancel_leave_no_queued_run_and_no_thread(demo_window, qtbot, run_threads, pattern):
    threads_before = threading.active_count()
    panel = long_runs_from_the_panel(demo_window)
    cancel = demo_window.run_dock.cancel_button
    ended = []
    demo_window.context.run_finished.connect(lambda run_id, status, _message: ended.append(status))
    for _ in range(CYCLES):
        click(qtbot, panel.start_button)
        if pattern == "start-cancel":
            click(qtbot, cancel)
    if pattern == "starts-then-one-cancel":
        assert cancel.text() == f"Cancel all ({CYCLES})"
        click(qtbot, cancel)
    assert demo_window.queue.pending() == 0, "queued runs survived Cancel"
    qtbot.waitUntil(lambda: not demo_window.is_running() and run_threads["finished"] == run_threads["started"],
                    timeout=RUN_TIMEOUT)
    qtbot.wait(50)  # nothing queued may start after the last run's end either
    assert demo_window.queue.pending() == 0 and not demo_window.is_running()
    assert run_threads["started"] == run_threads["finished"] >= 1
    assert threading.active_count() <= threads_before
    statuses = [row.status for row in demo_window.studio.store.list_runs()]
    assert "completed" not in ended and set(statuses) <= {"cancelled"}, (ended, statuses)
