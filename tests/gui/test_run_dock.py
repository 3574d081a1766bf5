"""The run dock: progress redrawn on its own clock from the latest batch record, ETA, log lines."""

import itertools

import pytest

from dlstudio.gui.run_dock import RunDock, Stopwatch, format_seconds
from dlstudio.gui.run_queue import QueuedRun


@pytest.fixture
def dock(qtbot):
    widget = RunDock()
    qtbot.addWidget(widget)
    widget.on_starting("run-1", "Tiny run")
    widget.on_fit_started({"epochs": 4, "start_epoch": 0})
    return widget


def batch(epoch, index, batches=10, phase="train", loss=0.5, step=0):
    return {"epoch": epoch, "phase": phase, "batch": index, "batches": batches, "loss": loss, "step": step,
            "kind": "batch_end"}


def epoch_end(epoch, epochs, metrics, step=0, is_best=False):
    return {"epoch": epoch, "epochs": epochs, "metrics": metrics, "seconds": 1.0, "is_best": is_best, "step": step,
            "kind": "epoch_end"}


def fit_started(epochs, start_epoch=0, train_batches=10, unit="epoch", total_steps=0, period_steps=0):
    return {"epochs": epochs, "start_epoch": start_epoch, "train_batches": train_batches, "valid_batches": 4,
            "unit": unit, "total_steps": total_steps, "period_steps": period_steps, "kind": "fit_started"}


def run_started(metrics=None):
    info = {"run_id": "r1", "run_dir": "/tmp/r1", "device": "cpu", "kind": "run_started"}
    if metrics is not None:
        info["metrics"] = metrics
    return info


def declared(name, title, unit="", group="", plot=True, direction="min"):
    """A metric declaration as the runner sends it in run_started (``MetricSpec.as_dict()``)."""
    return {"name": name, "title": title, "direction": direction, "unit": unit, "group": group or name,
            "plot": plot}


def clock(monkeypatch, *times):
    # Then the last time again: any dock's clock still ticking (one of an earlier test, not yet deleted) reads
    # the time when events are next processed, after the test's own reads.
    ticks = itertools.chain(times, itertools.repeat(times[-1]))
    monkeypatch.setattr("dlstudio.gui.run_dock.time.monotonic", lambda: next(ticks))


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
    clock(monkeypatch, 100.0, 130.0, 130.0)
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


# -- declared metrics -----------------------------------------------------------------------------------
REGRESSION = [declared("loss", "Loss"), declared("mse", "MSE", unit="kg²"),
              declared("r2", "R² (variance explained)", unit="%", direction="max"),
              declared("mae", "MAE", unit="kg", plot=False)]


def test_declared_metrics_are_plotted_by_group_with_their_titles_and_units(dock):
    dock.on_run_started(run_started(REGRESSION))
    dock.on_fit_started(fit_started(epochs=4))
    dock.on_epoch(epoch_end(1, 4, {"train_loss": 4100.0, "valid_loss": 4300.0, "train_mse": 4100.0,
                                   "valid_mse": 4300.0, "train_r2": 61.0, "valid_r2": 58.5, "valid_mae": 52.0,
                                   "lr": 0.01}))
    dock.curves.flush()
    curves = dock.curves
    r2_plot = curves.plot_for("valid_r2")
    assert r2_plot is not curves.plot_for("valid_mse")
    assert r2_plot is curves.plot_for("train_r2")
    assert r2_plot.titleLabel.text == "R² (variance explained)"
    assert r2_plot.getAxis("left").labelText == "%"
    assert curves.plot_for("valid_mae") is None  # declared plot=False: not shown unless asked
    assert [p.titleLabel.text for p in curves.shown_plots()] == ["Loss", "MSE", "R² (variance explained)"]
    assert "valid_r2 58.5%" in dock.log_view.toPlainText()  # the log reads in units too
    assert "valid_mae 52 kg" in dock.log_view.toPlainText()


def test_a_run_without_declarations_plots_as_before(dock):
    dock.on_run_started(run_started())  # an older runner or plugin: no "metrics"
    dock.on_epoch(epoch_end(1, 4, {"train_loss": 1.2, "valid_loss": 1.3, "train_accuracy": 0.5,
                                   "valid_accuracy": 0.6, "lr": 0.1}))
    dock.curves.flush()
    assert [p.titleLabel.text for p in dock.curves.shown_plots()] == ["Loss", "Accuracy"]
    assert dock.curves.plot_for("valid_loss") is dock.curves.plot_for("batch_loss")


def test_the_curves_menu_lists_the_run_s_metrics(dock):
    dock.on_run_started(run_started(REGRESSION))
    menu = dock.curves_button.menu()
    menu.aboutToShow.emit()
    checked = {action.text(): action.isChecked() for action in menu.actions()}
    assert checked == {"Loss": True, "MSE": True, "R² (variance explained) (r2)": True, "MAE": False}


# -- runs measured in steps --------------------------------------------------------------------------------
@pytest.fixture
def step_dock(qtbot):
    """A run of 300 steps, validated every 50 (periods), 4 batches of validation."""
    widget = RunDock()
    qtbot.addWidget(widget)
    widget.on_starting("run-1", "Stream run")
    widget.on_fit_started(fit_started(epochs=6, train_batches=0, unit="step", total_steps=300, period_steps=50))
    return widget


def test_a_run_in_steps_counts_steps(step_dock):
    step_dock.on_batch(batch(3, 40, batches=0, loss=0.75, step=140))
    step_dock._show_batch()
    assert step_dock.progress.format() == "step 140/300 · loss 0.7500"
    assert step_dock.progress.value() == 466  # 140 of 300 steps
    step_dock.on_batch(batch(3, 2, batches=4, phase="valid", step=150))
    step_dock._show_batch()
    assert step_dock.progress.format() == "step 150/300 · validating 2/4"
    assert step_dock.progress.value() == 500


def test_a_run_in_steps_puts_steps_on_the_curves_and_in_the_log(step_dock):
    step_dock.on_batch(batch(3, 40, batches=0, loss=0.75, step=140))
    step_dock.on_epoch(epoch_end(3, 6, {"train_loss": 0.7, "valid_loss": 0.8}, step=150, is_best=True))
    step_dock.curves.flush()
    assert step_dock.curves._series["batch_loss"][0] == [140]
    assert step_dock.curves._series["valid_loss"][0] == [150]
    assert step_dock.curves.loss_plot.getAxis("bottom").labelText == "step"
    assert step_dock.curves.loss_plot.getViewBox().viewRange()[0][1] >= 300
    assert "step 150/300  train_loss 0.7  valid_loss 0.8  (1.0s)  ★ best" in step_dock.log_view.toPlainText()
    step_dock.on_fit_ended({"status": "completed", "best_value": 0.8, "monitor": "valid_loss", "best_epoch": 3,
                            "message": ""})
    assert step_dock.progress.format() == "completed — best valid_loss 0.8000 at step 150"


def test_eta_of_a_resumed_run_in_steps_counts_only_the_steps_done_now(qtbot, monkeypatch):
    dock = RunDock()
    qtbot.addWidget(dock)
    dock.on_starting("run-1", "Resumed")
    dock.on_fit_started(fit_started(epochs=6, start_epoch=2, unit="step", total_steps=300, period_steps=50))
    clock(monkeypatch, 100.0, 130.0, 130.0)
    dock.watch.reset()
    dock.watch.start()
    dock.on_batch(batch(4, 10, step=200))  # 100 steps done in 30 s since the resume, 100 to go
    dock._update_times()
    assert dock.times.text() == "elapsed 00:30 · ETA 00:30"


def test_a_run_in_steps_of_unknown_length_has_a_busy_bar_and_no_eta(qtbot):
    dock = RunDock()
    qtbot.addWidget(dock)
    dock.on_starting("run-1", "Endless")
    dock.on_fit_started(fit_started(epochs=1, train_batches=0, unit="step"))
    dock.on_batch(batch(1, 140, batches=0, loss=0.5, step=140))
    dock._show_batch()
    dock._update_times()
    assert dock.busy
    assert dock.times.text().startswith("step 140 · loss 0.5000 · elapsed")
    assert "ETA" not in dock.times.text()


# -- epochs of unknown length (a stream) -------------------------------------------------------------
@pytest.fixture
def stream_dock(qtbot):
    widget = RunDock()
    qtbot.addWidget(widget)
    widget.on_starting("run-1", "Stream in epochs")
    widget.on_fit_started(fit_started(epochs=3, train_batches=0))
    return widget


def test_the_first_pass_of_a_stream_shows_a_busy_bar_with_its_words_beside_it(stream_dock):
    stream_dock.on_batch(batch(1, 40, batches=0, loss=0.5, step=40))
    stream_dock._show_batch()
    stream_dock._update_times()
    assert stream_dock.busy
    assert stream_dock.progress.format() == "epoch 1/3 · batch 40 · loss 0.5000"
    assert stream_dock.times.text().startswith("epoch 1/3 · batch 40 · loss 0.5000 · elapsed")
    assert "batch_loss" not in stream_dock.curves._series  # nowhere to put it on an axis of epochs yet
    stream_dock.on_batch(batch(1, 3, batches=0, phase="valid", step=50))
    stream_dock._show_batch()
    assert stream_dock.progress.format() == "epoch 1/3 · validating 3"


def test_later_passes_of_a_stream_are_measured_by_the_first(stream_dock):
    stream_dock.on_batch(batch(1, 40, batches=0, step=40))
    stream_dock.on_epoch(epoch_end(1, 3, {"train_loss": 0.9}, step=50))  # the first pass had 50 batches
    stream_dock.on_batch(batch(2, 25, batches=0, step=75))
    stream_dock._show_batch()
    assert not stream_dock.busy
    assert stream_dock.progress.value() == 500  # 1.5 of 3 epochs
    assert stream_dock.progress.format() == "epoch 2/3 · batch 25 · loss 0.5000"
    assert stream_dock.curves._series["batch_loss"] == ([1.5], [0.5])


def test_a_failure_during_a_busy_bar_still_says_failed(stream_dock):
    stream_dock.on_batch(batch(1, 40, batches=0, step=40))
    stream_dock._show_batch()
    stream_dock.on_failed("RuntimeError: boom", "Traceback ...")
    assert not stream_dock.busy and stream_dock.progress.text() == "failed"


def test_the_queue_lists_each_waiting_run_and_removes_one_at_a_time(dock, qtbot):
    assert dock.queue_button.isHidden()
    dock.on_queue([QueuedRun("run-2", "Alpha", "demo.mlp", "demo.blobs"),
                   QueuedRun("run-3", "resume Beta", "demo.mlp", "demo.blobs")])
    assert not dock.queue_button.isHidden() and dock.queue_button.text() == "2 queued"
    texts = [action.text() for action in dock.queue_menu.actions()]
    assert texts[:2] == ["Remove “Alpha · demo.mlp · demo.blobs”", "Remove “resume Beta · demo.mlp · demo.blobs”"]
    with qtbot.waitSignal(dock.remove_requested) as removed:
        dock.queue_menu.actions()[1].trigger()
    assert removed.args == ["run-3"]
    dock.on_queue([])
    assert dock.queue_button.isHidden()


def test_cancel_cancels_the_queued_runs_too_and_says_so(dock, qtbot):
    cancelled, cancelled_all = [], []
    dock.cancel_requested.connect(lambda: cancelled.append(1))
    dock.cancel_all_requested.connect(lambda: cancelled_all.append(1))
    dock.on_queue([QueuedRun("run-2", "Alpha", "demo.mlp", "demo.blobs")])
    assert dock.cancel_button.text() == "Cancel all (2)"
    dock.cancel_button.click()
    assert (cancelled, cancelled_all) == ([], [1])
    assert dock.status.text() == "stopping…"
    only = next(a for a in dock.queue_menu.actions() if a.text().startswith("Cancel only the current run"))
    only.trigger()
    assert (cancelled, cancelled_all) == ([1], [1])
    dock.on_queue([])
    assert dock.cancel_button.text() == "Cancel"
    dock.cancel_button.click()
    assert (cancelled, cancelled_all) == ([1, 1], [1])
