"""The training loop: typed records in order, pause/resume/cancel, NaN, seeds, and tasks that are not
plain classification (two optimisers, carried hidden state, L-BFGS) run through the same ``fit``."""

from __future__ import annotations

import json
import threading

import pytest
import torch

from dlstudio.engine import (
    BatchEnd,
    Callback,
    FitEnded,
    FitStarted,
    RunControl,
    fit,
)
from dlstudio.engine.data import make_batches
from dlstudio.engine.records import as_dict
from dlstudio.engine.seed import seed_everything
from tests.engine.fakes import ScriptedTask, batches, blobs, classifier, epoch_ends, kinds, last, regression


def run(task, train, valid=None, **kwargs):
    return list(fit(task, train, valid, report_interval=kwargs.pop("report_interval", 0), **kwargs))


# -- records -----------------------------------------------------------------------------------------


def test_records_come_typed_and_in_order():
    task = classifier()
    records = run(task, batches(blobs(24)), batches(blobs(16, seed=1)), epochs=2)

    per_epoch = ["batch_end"] * 3 + ["batch_end"] * 2 + ["epoch_end"]
    assert kinds(records) == ["fit_started", *per_epoch, *per_epoch, "fit_ended"]
    assert isinstance(records[0], FitStarted)
    assert (records[0].epochs, records[0].start_epoch, records[0].train_batches, records[0].valid_batches) == (
        2, 0, 3, 2)
    batch_ends = [r for r in records if isinstance(r, BatchEnd)]
    assert [(r.epoch, r.phase, r.batch, r.batches) for r in batch_ends[:5]] == [
        (1, "train", 1, 3), (1, "train", 2, 3), (1, "train", 3, 3), (1, "valid", 1, 2), (1, "valid", 2, 2)]
    ends = epoch_ends(records)
    assert [e.epoch for e in ends] == [1, 2] and all(e.epochs == 2 for e in ends)
    assert set(ends[0].metrics) == {"train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "lr"}
    assert ends[0].metrics["lr"] == pytest.approx(0.1)
    ended = last(records)
    assert isinstance(ended, FitEnded) and ended.status == "completed" and ended.message == ""
    assert ended.monitor == "valid_accuracy" and ended.best_epoch in (1, 2)


def test_records_hold_plain_values_that_serialise_to_json():
    records = run(classifier(), batches(blobs(16)), batches(blobs(8, seed=1)), epochs=1)
    for record in records:
        data = as_dict(record)
        json.dumps(data)  # a tensor or a numpy scalar anywhere would make this raise
        assert not any(isinstance(v, torch.Tensor) for v in data.values())
    metrics = epoch_ends(records)[0].metrics
    assert all(type(v) is float for v in metrics.values()), metrics


def test_metrics_are_means_over_samples_and_learning_happens():
    data = blobs(64)
    records = run(classifier(), batches(data, 16, shuffle=True), batches(data, 64), epochs=4)
    first, final = epoch_ends(records)[0].metrics, epoch_ends(records)[-1].metrics
    assert final["train_loss"] < first["train_loss"]
    assert final["valid_accuracy"] >= 0.9
    assert 0.0 <= first["train_accuracy"] <= 1.0


def test_report_interval_bounds_the_batch_records():
    records = run(classifier(), batches(blobs(40)), batches(blobs(16, seed=1)), epochs=2, report_interval=1e9)
    # Only the last batch of each phase is always reported.
    assert [(r.epoch, r.phase, r.batch) for r in records if isinstance(r, BatchEnd)] == [
        (1, "train", 5), (1, "valid", 2), (2, "train", 5), (2, "valid", 2)]


def test_start_epoch_continues_the_numbering():
    records = run(classifier(), batches(blobs(16)), None, epochs=3, start_epoch=2)
    assert records[0].start_epoch == 2
    assert [e.epoch for e in epoch_ends(records)] == [3]


def test_no_validation_data_means_no_valid_metrics():
    records = run(classifier(), batches(blobs(16)), None, epochs=1)
    assert set(epoch_ends(records)[0].metrics) == {"train_loss", "train_accuracy", "lr"}


def test_best_epoch_without_validation_data_is_the_lowest_train_loss():
    # The task's own monitor (a "max" score) is missing; the fallback, the training loss, is better when lower.
    task = ScriptedTask(train=[3.0, 1.0, 2.0])
    records = run(task, batches(regression()), None, epochs=3)
    assert [e.is_best for e in epoch_ends(records)] == [True, True, False]
    ended = last(records)
    assert (ended.best_epoch, ended.best_value, ended.monitor) == (2, 1.0, "train_loss")


def test_best_epoch_follows_the_monitor_direction():
    records = run(ScriptedTask(valid=[0.2, 0.5, 0.4]), batches(regression()), batches(regression(8)), epochs=3)
    assert [e.is_best for e in epoch_ends(records)] == [True, True, False]
    assert (last(records).best_epoch, last(records).best_value) == (2, 0.5)

    task = ScriptedTask(valid=[0.2, 0.5, 0.1], monitor="valid_score", mode="min")
    records = run(task, batches(regression()), batches(regression(8)), epochs=3)
    assert last(records).best_epoch == 3


def test_an_error_in_a_step_propagates():
    class Broken(ScriptedTask):
        def train_step(self, batch):
            raise ValueError("plugin bug")

    with pytest.raises(ValueError, match="plugin bug"):
        run(Broken(), batches(regression()), None, epochs=1)


def test_a_phase_without_batches_fails_the_run_with_a_message():
    records = run(ScriptedTask(train=[1.0]), [], None, epochs=1)
    assert last(records).status == "failed"
    assert "yielded no batches" in last(records).message


# -- non-finite losses -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_fails_the_run_with_a_clear_message(bad):
    task = ScriptedTask(train=[1.0, bad, 1.0])
    records = run(task, batches(regression()), None, epochs=3)
    ended = last(records)
    assert ended.status == "failed"
    assert f"the train loss became {bad} in epoch 2" in ended.message
    assert "learning rate" in ended.message
    assert [e.epoch for e in epoch_ends(records)] == [1]
    assert ended.best_epoch == 1


def test_nan_in_the_data_fails_the_run():
    data = blobs(32)
    data.tensors[0][3, 0] = float("nan")
    records = run(classifier(), batches(data), None, epochs=2)
    assert last(records).status == "failed" and "nan" in last(records).message
    assert epoch_ends(records) == []


# -- pause, resume, cancel ---------------------------------------------------------------------------


class CountingSteps(ScriptedTask):
    """Counts steps, and lets a test act when a given (1-based) training step has started."""

    def __init__(self, at_step: int = 0, on_step=None, **kwargs) -> None:
        super().__init__(train=[1.0] * 10, valid=[0.5] * 10, **kwargs)
        self.at_step, self.on_step = at_step, on_step
        self.started = 0

    def train_step(self, batch):
        self.started += 1
        if self.started == self.at_step and self.on_step is not None:
            self.on_step()
        return super().train_step(batch)


class CancelAt(Callback):
    def __init__(self, control: RunControl, step: int) -> None:
        self.control, self.step, self.seen = control, step, 0

    def on_train_batch_end(self, state) -> None:
        self.seen += 1
        if self.seen == self.step:
            self.control.cancel()


def test_cancel_from_a_callback_stops_before_the_next_batch():
    control = RunControl()
    task = CountingSteps()
    records = run(task, batches(regression(64), 4), batches(regression(8)), epochs=3,
                  callbacks=[CancelAt(control, 6)], control=control)
    assert task.started == 6  # no batch after the one that cancelled
    ended = last(records)
    assert ended.status == "cancelled" and ended.message == "cancelled during epoch 1"
    assert epoch_ends(records) == []


def test_cancel_from_another_thread_takes_effect_within_one_batch():
    control = RunControl()
    cancelled = threading.Event()

    def cancel_from_elsewhere():
        thread = threading.Thread(target=lambda: (control.cancel(), cancelled.set()))
        thread.start()
        thread.join()

    task = CountingSteps(at_step=11, on_step=cancel_from_elsewhere)  # step 3 of epoch 2
    records = run(task, batches(regression(64), 8), None, epochs=3, control=control)
    assert cancelled.is_set()
    assert task.started - 11 == 0  # the step in flight when cancelled finishes; no other one starts
    assert last(records).status == "cancelled"
    assert last(records).message == "cancelled during epoch 2"
    assert [e.epoch for e in epoch_ends(records)] == [1]


class WatchedEvent(threading.Event):
    """An Event that says when someone starts waiting on it (to see that the loop really blocks)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout=None):
        self.waiting.set()
        return super().wait(timeout)


def drive_in_thread(records: list, *args, **kwargs) -> threading.Thread:
    thread = threading.Thread(target=lambda: records.extend(fit(*args, report_interval=0, **kwargs)), daemon=True)
    thread.start()
    return thread


def test_pause_blocks_the_loop_and_resume_continues():
    control = RunControl()
    control._running = WatchedEvent()
    control._running.set()
    task = CountingSteps(at_step=3, on_step=control.pause)
    records: list = []
    thread = drive_in_thread(records, task, batches(regression(32), 8), None, epochs=2, control=control)

    assert control._running.waiting.wait(30), "the loop never waited on the pause"
    assert control.paused and thread.is_alive()
    assert task.started == 3  # paused before step 4 could start
    thread.join(0.2)
    assert task.started == 3 and thread.is_alive()

    control.resume()
    thread.join(30)
    assert not thread.is_alive()
    assert task.started == 8
    assert last(records).status == "completed"
    assert [e.epoch for e in epoch_ends(records)] == [1, 2]


def test_cancel_wakes_a_paused_loop():
    control = RunControl()
    control._running = WatchedEvent()
    control._running.set()
    task = CountingSteps(at_step=2, on_step=control.pause)
    records: list = []
    thread = drive_in_thread(records, task, batches(regression(32), 8), None, epochs=2, control=control)
    assert control._running.waiting.wait(30)
    control.cancel()
    thread.join(30)
    assert not thread.is_alive()
    assert task.started == 2
    assert last(records).status == "cancelled"


# -- reproducibility ---------------------------------------------------------------------------------


def seeded_metrics(seed: int) -> list[dict]:
    seed_everything(seed)
    task = classifier(momentum=0.9)
    data = blobs(48)
    records = run(task, make_batches(data, 8, shuffle=True, seed=seed), make_batches(data, 16, shuffle=False),
                  epochs=2)
    return [e.metrics for e in epoch_ends(records)]


def test_the_same_seed_gives_identical_metrics():
    assert seeded_metrics(7) == seeded_metrics(7)
    assert seeded_metrics(7) != seeded_metrics(8)
