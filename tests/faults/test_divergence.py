"""The divergence guard (issue 12, item 2): a run whose training loss explodes by orders of magnitude ends
"failed" with a message naming the loss and what to try, instead of "completed" with a loss of 4e22; healthy
runs whose losses are large, wander or rise from almost nothing are left alone."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

import dlstudio_images.plugin as images_plugin
from dlstudio.engine import FitState, StepResult, Task, fit
from dlstudio.runner import Run
from tests.engine.fakes import batches, blobs, classifier, epoch_ends, last
from tests.runs import demo_spec, drive, ended


class ScriptedLosses(Task):
    """Reports a scripted loss per training batch (the sum of a GAN's two losses when ``g`` is given); the
    weights do not matter to the loop's guard, which sees only what the task reports."""

    def __init__(self, losses, g=None, monitor: str = "") -> None:
        super().__init__(nn.Linear(2, 1))
        self.optimizers = [torch.optim.SGD(self.model.parameters(), lr=0.01)]
        self.losses, self.g = list(losses), list(g) if g is not None else None
        self.monitor = monitor
        self.step_index = 0

    def train_step(self, batch) -> StepResult:
        i, self.step_index = self.step_index, self.step_index + 1
        n = len(batch[0])
        d = self.losses[i % len(self.losses)]
        if self.g is None:
            return StepResult(n, {"loss": torch.tensor(d) * n})
        g = self.g[i % len(self.g)]
        return StepResult(n, {"loss": torch.tensor(d + g) * n, "d_loss": d * n, "g_loss": g * n})


def run(task, epochs=3, n=64, state=None, valid=None):
    data = batches(TensorDataset(torch.randn(n, 2), torch.randn(n)), batch_size=8)
    return list(fit(task, data, valid, epochs=epochs, report_interval=0, state=state))


# -- divergence is caught ----------------------------------------------------------------------------


def test_a_loss_that_explodes_without_becoming_inf_fails_the_run_and_says_what_to_do():
    # The audit's shape: 2.3 at the start, 4e22 a few batches later, still finite (Adam keeps it finite).
    records = run(ScriptedLosses([2.3, 2.2, 4e22, 3e22, 5e21, 1e22, 2e22, 6e21]))

    end = last(records)
    assert end.status == "failed"
    assert "diverged" in end.message and "e+22" in end.message
    assert "2.3" in end.message  # where it started
    assert "learning rate" in end.message
    assert epoch_ends(records) == []  # stopped in the epoch it diverged in, not 3 epochs later


def test_a_slower_explosion_over_periods_is_caught_too():
    # Finite, and below the orders of magnitude for a whole epoch, then climbing a decade a period.
    losses = [2.0] * 8 + [25.0] * 8 + [300.0] * 8 + [4000.0] * 8
    records = run(ScriptedLosses(losses), epochs=4)

    end = last(records)
    assert end.status == "failed" and "diverged" in end.message
    assert len(epoch_ends(records)) == 3  # the fourth decade in a row is one too many


def test_a_resumed_run_judges_by_where_the_run_started_not_by_the_resume():
    # A resumed run's first batch may already be exploding: the run's own start (saved with its checkpoint)
    # is the reference, so the first batch after the resume is caught.
    state = FitState(task=None, epochs=2, start_loss=2.3)
    task = ScriptedLosses([5e8])
    state.task = task
    records = run(task, epochs=2, state=state)

    assert last(records).status == "failed" and "2.3" in last(records).message




def test_the_reported_case_digits_cnn_with_lr_1e6_ends_failed_with_a_non_zero_exit(make_studio, monkeypatch,
                                                                                   capsys, one_thread):
    from dlstudio.cli import main
    from dlstudio.plugins import module_candidate

    monkeypatch.setattr("dlstudio.studio.entry_point_candidates",
                        lambda: [module_candidate("images", images_plugin)])
    code = main(["train", "--recipe", "digits-cnn", "--set", "train.lr=1e6", "--set", "train.epochs=2",
                 "--device", "cpu"])
    out = capsys.readouterr().out

    assert code != 0
    assert "failed." in out and "diverged" in out and "learning rate" in out
    studio = make_studio(("images", images_plugin))
    row = studio.store.list_runs()[0]
    assert row.status == "failed" and "diverged" in row.message
    assert row.epochs_done == 0  # not a single epoch of 4e22 was recorded as if it were training


# -- no false alarms -----------------------------------------------------------------------------------


def test_a_healthy_classification_run_completes(demo_studio):
    records = drive(Run(demo_studio, demo_spec(demo_studio, "train.epochs=3", "train.lr=0.05")))
    assert ended(records).status == "completed"


def test_a_gan_whose_two_losses_wander_widely_completes():
    # D wins and G's loss climbs ~100-fold, then recovers, again and again; no metric is monitored.
    g = torch.Generator().manual_seed(0)
    walk = torch.cumsum(torch.randn(240, generator=g) * 0.6, 0).clamp(-6, 5)
    g_losses = (0.7 * torch.exp(walk)).tolist()
    d_losses = (1.4 * torch.exp(-walk)).clamp(1e-3, 50).tolist()
    records = run(ScriptedLosses(d_losses, g_losses), epochs=30)

    assert max(g_losses) / g_losses[0] > 50  # the script does wander
    assert last(records).status == "completed"


def test_a_regression_with_losses_in_the_thousands_completes():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 2, generator=g)
    y = x @ torch.tensor([40.0, -25.0]) + 300.0

    class Regression(Task):
        monitor = ""

        def __init__(self) -> None:
            super().__init__(nn.Linear(2, 1))
            self.optimizers = [torch.optim.Adam(self.model.parameters(), lr=5.0)]

        def train_step(self, batch) -> StepResult:
            xb, yb = batch
            loss = F.mse_loss(self.model(xb).squeeze(1), yb)
            self.optimizers[0].zero_grad()
            loss.backward()
            self.optimizers[0].step()
            return StepResult(len(xb), {"loss": loss.detach() * len(xb)})

    records = list(fit(Regression(), batches(TensorDataset(x, y), 16), epochs=6, report_interval=0))
    losses = [e.metrics["train_loss"] for e in epoch_ends(records)]
    assert losses[0] > 1e3  # MSE in the thousands (and more) to begin with
    assert last(records).status == "completed"


def test_a_loss_rising_from_almost_nothing_is_not_taken_for_divergence():
    # A fine-tune that starts at 1e-4 and overfits to 3: thousands of times its start, but an ordinary loss.
    records = run(ScriptedLosses([1e-4, 1e-3, 0.05, 0.4, 3.0, 2.5, 2.9, 3.1]))
    assert last(records).status == "completed"


def test_falling_losses_from_a_huge_start_complete():
    # Style transfer's Gram losses start in the millions and fall.
    records = run(ScriptedLosses([3e6 * math.exp(-i / 4) for i in range(24)]))
    assert last(records).status == "completed"


def test_a_real_classifier_learning_normally_completes():
    records = list(fit(classifier(lr=0.1), batches(blobs(48)), batches(blobs(16, seed=1)), epochs=4,
                       report_interval=0))
    assert last(records).status == "completed"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_losses_still_fail_as_before(bad):
    records = run(ScriptedLosses([1.0, bad]))
    assert last(records).status == "failed" and "became" in last(records).message
