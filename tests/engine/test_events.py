"""Contract 2's loop: every event a callback relies on, runs measured in steps, streams without a length,
and the end of a run reported however it ends."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import IterableDataset, TensorDataset, WeightedRandomSampler

from dlstudio.engine import Callback, EpochEnd, EveryNSteps, FitEnded, FitStarted, fit
from dlstudio.engine.data import make_batches
from tests.engine.fakes import ScriptedTask, batches, blobs, classifier, regression


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_fit_start(self, state):
        self.events.append(("fit_start", state.epoch))

    def on_epoch_start(self, state):
        self.events.append(("epoch_start", state.epoch))

    def on_train_batch_end(self, state):
        self.events.append(("batch", state.step, len(state.batch[0]), state.output.count))

    def on_evaluate(self, state, metrics):
        self.events.append(("evaluate", sorted(metrics)))
        metrics["extra"] = 1.5

    def on_epoch_end(self, state, record):
        self.events.append(("epoch_end", record.epoch, record.step, record.metrics["extra"]))

    def on_exception(self, state, exc):
        self.events.append(("exception", type(exc).__name__))

    def on_fit_end(self, state, status):
        self.events.append(("fit_end", status))


def test_callbacks_see_each_batch_with_its_output_and_may_add_metrics():
    recorder = Recorder()
    records = list(fit(classifier(), batches(blobs(24), 8), batches(blobs(16), 8), epochs=2,
                       callbacks=[recorder]))
    assert recorder.events[0] == ("fit_start", 0)
    assert recorder.events[1] == ("epoch_start", 1)
    assert recorder.events[2:5] == [("batch", 1, 8, 8), ("batch", 2, 8, 8), ("batch", 3, 8, 8)]
    assert recorder.events[5] == ("evaluate", ["lr", "train_accuracy", "train_loss", "valid_accuracy",
                                               "valid_loss"])
    assert recorder.events[6] == ("epoch_end", 1, 3, 1.5)
    assert recorder.events[-1] == ("fit_end", "completed")
    assert [r.metrics["extra"] for r in records if isinstance(r, EpochEnd)] == [1.5, 1.5]


def test_an_unexpected_error_reaches_on_exception_then_on_fit_end_and_is_raised():
    recorder = Recorder()

    class Broken(Callback):
        def on_train_batch_end(self, state):
            if state.step == 2:
                raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        list(fit(classifier(), batches(blobs(24), 8), epochs=2, callbacks=[recorder, Broken()]))
    assert recorder.events[-2:] == [("exception", "RuntimeError"), ("fit_end", "failed")]


def test_a_caller_that_stops_iterating_still_ends_the_callbacks():
    recorder = Recorder()
    records = fit(classifier(), batches(blobs(24), 8), epochs=3, callbacks=[recorder])
    for record in records:
        if isinstance(record, EpochEnd):
            break
    records.close()
    assert recorder.events[-1] == ("fit_end", "interrupted")


def test_every_n_steps_counts_over_the_whole_run():
    seen = []
    list(fit(classifier(), batches(blobs(40), 8), epochs=3, callbacks=[EveryNSteps(4, lambda s: seen.append(s.step))]))
    assert seen == [4, 8, 12]  # 5 batches an epoch, 15 steps


def test_a_run_measured_in_steps_draws_pass_after_pass():
    task = classifier()
    passes = []
    task.start_epoch = lambda epoch, phase: passes.append((epoch, phase))
    records = list(fit(task, batches(blobs(24), 8), steps=7, period_steps=3))
    started = next(r for r in records if isinstance(r, FitStarted))
    assert (started.unit, started.epochs, started.total_steps, started.period_steps) == ("step", 3, 7, 3)
    assert [r.step for r in records if isinstance(r, EpochEnd)] == [3, 6, 7]  # the last period is short
    assert passes == [(1, "train"), (2, "train"), (3, "train")]  # 3 batches a pass: 7 steps start 3 passes
    assert records[-1].status == "completed"


class Stream(IterableDataset):
    """Batches from a generator, with no length (a token stream)."""

    def __init__(self, data: TensorDataset, size: int):
        self.data, self.size = data, size

    def __iter__(self):
        x, y = self.data.tensors
        for start in range(0, len(y), self.size):
            yield x[start : start + self.size], y[start : start + self.size]


def test_a_stream_without_a_length_trains_by_epochs_and_by_steps():
    stream = make_batches(Stream(blobs(40), 8), None, shuffle=True)  # shuffle is refused quietly for a stream
    records = list(fit(classifier(), stream, epochs=2))
    assert next(r for r in records if isinstance(r, FitStarted)).train_batches == 0
    assert records[-1].status == "completed"
    epoch_batches = [r.batches for r in records if getattr(r, "kind", "") == "batch_end"]
    assert epoch_batches[-1] == 5  # the end of a pass reports how many batches it had
    records = list(fit(classifier(), stream, steps=12, period_steps=4))
    assert [r.step for r in records if isinstance(r, EpochEnd)] == [4, 8, 12]


def test_an_empty_stream_fails_with_a_message_instead_of_spinning():
    empty = make_batches(Stream(blobs(8), 8), None, shuffle=False)
    empty.dataset.data = TensorDataset(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    records = list(fit(classifier(), empty, steps=5, period_steps=5))
    assert records[-1].status == "failed" and "yielded no batches" in records[-1].message


def test_a_sampler_draws_the_order():
    data = blobs(32)
    weights = torch.zeros(32)
    weights[:4] = 1.0  # only the first four samples may be drawn
    sampler = WeightedRandomSampler(weights, num_samples=32, replacement=True)
    loader = make_batches(data, 8, shuffle=True, sampler=sampler)
    seen = torch.cat([x for x, _ in loader])
    assert all(any(torch.equal(row, data.tensors[0][i]) for i in range(4)) for row in seen)


def test_a_task_without_a_monitor_never_invents_a_best_epoch():
    task = ScriptedTask(valid=[0.1, 0.5, 0.9])
    task.monitor = ""
    records = list(fit(task, batches(regression(16), 8), batches(regression(8), 8), epochs=3))
    assert not any(r.is_best for r in records if isinstance(r, EpochEnd))
    ended = records[-1]
    assert isinstance(ended, FitEnded) and ended.best_epoch is None


def test_two_optimisers_each_report_their_rate():
    task = ScriptedTask()
    task.optimizers.append(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.5))
    task.optimizer_names = ("model", "critic")
    records = list(fit(task, batches(regression(16), 8), epochs=1))
    epoch = next(r for r in records if isinstance(r, EpochEnd))
    assert epoch.metrics["lr"] == pytest.approx(0.05) and epoch.metrics["lr_critic"] == pytest.approx(0.5)


class Raising(Callback):
    def __init__(self, where):
        self.where = where

    def on_fit_end(self, state, status):
        if self.where == "fit_end":
            raise OSError("log disk full")

    def on_train_batch_end(self, state):
        if self.where == "batch":
            raise RuntimeError("broken step hook")


def test_a_callback_failing_at_the_end_fails_the_run_after_every_callback_ended():
    recorder = Recorder()
    with pytest.raises(Exception, match="raised OSError: log disk full") as info:
        list(fit(classifier(), batches(blobs(16), 8), epochs=1, callbacks=[Raising("fit_end"), recorder]))
    assert type(info.value).__name__ == "CallbackError"
    assert recorder.events[-1] == ("fit_end", "completed")  # the later callback was still ended


def test_when_the_run_fails_the_callbacks_failures_are_noted_on_its_error():
    with pytest.raises(RuntimeError, match="broken step hook") as info:
        list(fit(classifier(), batches(blobs(16), 8), epochs=1, callbacks=[Raising("batch"), Raising("fit_end")]))
    assert any("raised OSError: log disk full" in note for note in info.value.__notes__)
