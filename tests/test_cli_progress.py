"""``dlstudio train``'s progress output: the bar's rate, epoch lines, JSON lines."""

import json

import pytest

from dlstudio.cli_progress import ProgressPrinter
from dlstudio.engine import BatchEnd, EpochEnd, FitEnded, FitStarted


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("dlstudio.cli_progress.time.time", lambda: now[0])
    monkeypatch.setattr("tqdm.std.time", lambda: now[0])
    return now


def test_the_bar_rate_counts_from_the_start_of_the_epoch(clock, capsys):
    printer = ProgressPrinter()
    printer(FitStarted(epochs=2, start_epoch=0, train_batches=100, valid_batches=0))
    clock[0] += 2.0  # the first batch record comes 2 s into the epoch, at batch 50
    printer(BatchEnd(epoch=1, phase="train", batch=50, batches=100, loss=0.5))
    assert printer.bar.format_dict["elapsed"] == pytest.approx(2.0)
    assert "25.00batch/s" in str(printer.bar)
    clock[0] += 2.0
    printer(EpochEnd(epoch=1, epochs=2, metrics={"train_loss": 0.4}, seconds=4.0))
    clock[0] += 1.0
    printer(BatchEnd(epoch=2, phase="train", batch=30, batches=100, loss=0.3))
    assert printer.bar.format_dict["elapsed"] == pytest.approx(1.0)
    printer.close()
    assert "epoch 1/2  train_loss 0.4  (4.0s)" in capsys.readouterr().out


def test_json_lines_are_one_object_per_epoch_and_a_summary(capsys):
    printer = ProgressPrinter(json_lines=True)
    printer(BatchEnd(epoch=1, phase="train", batch=5, batches=10, loss=0.5))
    printer(EpochEnd(epoch=1, epochs=1, metrics={"valid_accuracy": 0.9}, seconds=1.25, is_best=True))
    printer(FitEnded("completed", best_epoch=1, best_value=0.9, monitor="valid_accuracy"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"event": "epoch", "epoch": 1, "epochs": 1, "step": 0, "seconds": 1.25, "best": True,
                        "valid_accuracy": 0.9}
    assert lines[1]["event"] == "summary" and lines[1]["best_value"] == 0.9 and lines[1]["status"] == "completed"


def test_a_run_measured_in_steps_reports_steps(capsys):
    printer = ProgressPrinter()
    printer(FitStarted(epochs=3, start_epoch=0, train_batches=20, valid_batches=0, unit="step", total_steps=50,
                       period_steps=20))
    printer(BatchEnd(epoch=1, phase="train", batch=10, batches=20, loss=0.5, step=10))
    assert printer.bar.desc.startswith("steps to 20")
    printer(EpochEnd(epoch=1, epochs=3, metrics={"train_loss": 0.4}, seconds=1.0, step=20, is_best=True))
    printer(EpochEnd(epoch=3, epochs=3, metrics={"train_loss": 0.2}, seconds=1.0, step=50))
    printer(FitEnded("completed", best_epoch=1, best_value=0.4, monitor="train_loss"))
    out = capsys.readouterr().out
    assert "step 20/50  train_loss 0.4" in out and "step 50/50  train_loss 0.2" in out
    assert "best train_loss 0.4000 at the period ending at step 20" in out


def test_a_run_measured_in_steps_that_monitors_nothing_ends_without_a_best(capsys):
    printer = ProgressPrinter()
    printer(FitStarted(epochs=1, start_epoch=0, train_batches=1, valid_batches=0, unit="step", total_steps=4,
                       period_steps=4))
    printer(FitEnded("completed", best_epoch=None, best_value=None, monitor=""))
    assert capsys.readouterr().out.strip().endswith("completed.")


def test_a_stream_of_unknown_length_counts_batches_without_a_total():
    printer = ProgressPrinter()
    printer(FitStarted(epochs=1, start_epoch=0, train_batches=0, valid_batches=0))
    printer(BatchEnd(epoch=1, phase="train", batch=7, batches=0, loss=0.5, step=7))
    assert printer.bar.total is None and printer.bar.n == 7
    printer.close()
