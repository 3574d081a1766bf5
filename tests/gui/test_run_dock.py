"""The run dock: progress redrawn on its own clock from the latest batch record, ETA, log lines."""

import pytest

from dlstudio.gui.run_dock import RunDock, Stopwatch, format_seconds


@pytest.fixture
def dock(qtbot):
    widget = RunDock()
    qtbot.addWidget(widget)
    widget.on_starting("run-1", "Tiny run")
    widget.on_fit_started({"epochs": 4, "start_epoch": 0})
    return widget


def batch(epoch, index, batches=10, phase="train", loss=0.5):
    return {"epoch": epoch, "phase": phase, "batch": index, "batches": batches, "loss": loss}


def test_batch_records_are_shown_on_the_next_clock_tick_only(dock):
    dock.on_batch(batch(2, 4, loss=0.9))
    dock.on_batch(batch(2, 5, loss=0.75))
    assert dock.progress.value() == 0  # nothing repainted per record
    dock._show_batch()
    assert dock.progress.value() == 375  # 1.5 of 4 epochs
    assert dock.progress.format() == "epoch 2/4 · batch 5/10 · loss 0.7500"
    assert dock.curves._series["batch_loss"] == ([1.4, 1.5], [0.9, 0.75])


def test_validation_records_keep_the_bar_moving_and_say_so(dock):
    dock.on_batch(batch(3, 10))
    dock.on_batch(batch(3, 2, batches=4, phase="valid"))
    dock._show_batch()
    assert dock.progress.value() == 750
    assert dock.progress.format() == "epoch 3/4 · validating 2/4"


def test_the_end_of_a_run_shows_the_last_record_then_the_result(dock):
    dock.on_batch(batch(4, 10))
    dock.on_fit_ended({"status": "completed", "best_value": 0.93, "monitor": "valid_accuracy", "best_epoch": 3,
                       "message": ""})
    assert dock.progress.value() == 1000
    assert dock.progress.format() == "completed — best valid_accuracy 0.9300 at epoch 3"
    assert "completed — best valid_accuracy 0.9300 at epoch 3" in dock.log_view.toPlainText()


def test_eta_follows_the_fraction_done(dock, monkeypatch):
    clock = iter([100.0, 130.0, 130.0])
    monkeypatch.setattr("dlstudio.gui.run_dock.time.monotonic", lambda: next(clock))
    dock.watch.reset()
    dock.watch.start()
    dock.on_batch(batch(2, 10))  # half of 4 epochs in 30 s
    dock._update_times()
    assert dock.times.text() == "elapsed 00:30 · ETA 00:30"


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00"), (75.9, "01:15"), (3725, "1:02:05"), (-3, "00:00")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_stopwatch_stands_still_while_paused(monkeypatch):
    clock = iter([10.0, 15.0, 40.0, 42.0])
    monkeypatch.setattr("dlstudio.gui.run_dock.time.monotonic", lambda: next(clock))
    watch = Stopwatch()
    watch.start()  # 10
    watch.stop()  # 15: 5 s
    watch.start()  # 40
    assert watch.elapsed == pytest.approx(7.0)  # 42


def test_a_failed_run_is_not_painted_over_by_a_batch_still_waiting(dock):
    dock.on_batch(batch(2, 5))
    dock.on_failed("RuntimeError: boom", "Traceback ...")
    dock._show_batch()
    assert dock.progress.format() == "failed"
