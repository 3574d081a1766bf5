"""Optimisers and LR schedules built from a [train] section, driven by the loop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlstudio.checkpoints import load_train_state, save_train_state
from dlstudio.engine import Callback, fit
from dlstudio.engine.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
from dlstudio.spec import TrainSection
from tests.engine.fakes import ScriptedTask, batches, epoch_ends, regression


@pytest.mark.parametrize("name, cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                       ("adamw", torch.optim.AdamW)])
def test_each_optimizer_is_built_with_the_spec_settings(name, cls):
    optimizer = build_optimizer(nn.Linear(2, 2).parameters(), TrainSection(optimizer=name, lr=0.3, weight_decay=0.01))
    assert type(optimizer) is cls
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.3, 0.01)
    assert set(OPTIMIZERS) == {"sgd", "adam", "adamw", "lbfgs"}


def test_lbfgs_takes_one_iteration_a_step_and_only_through_a_closure():
    """Each step is one L-BFGS iteration (its history carries over), so N steps equal one step() of N
    iterations; a task that steps without a closure is told what to choose instead."""
    from dlstudio.engine import Stepper

    target = torch.tensor([3.0, -2.0])

    def run(steps: int, max_iter: int) -> torch.Tensor:
        x = torch.zeros(2, requires_grad=True)
        optimizer = build_optimizer([x], TrainSection(optimizer="lbfgs", lr=1.0))
        optimizer.param_groups[0].update(max_iter=max_iter, max_eval=max_iter * 5 // 4)
        for _ in range(steps):
            Stepper("cpu").optimize_closure(optimizer, lambda: ((x - target) ** 4).sum())
        return x.detach()

    assert type(build_optimizer([torch.zeros(1, requires_grad=True)], TrainSection(optimizer="lbfgs")))\
        is torch.optim.LBFGS
    assert torch.equal(run(steps=6, max_iter=1), run(steps=1, max_iter=6))
    x = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match=r"lbfgs optimizer re-evaluates the loss.*choose sgd, adam or adamw"):
        Stepper("cpu").optimize((x - 1).pow(2).sum(), build_optimizer([x], TrainSection(optimizer="lbfgs")))


def test_sgd_momentum_and_nesterov():
    params = list(nn.Linear(2, 2).parameters())
    group = build_optimizer(params, TrainSection(momentum=0.8, nesterov=True)).param_groups[0]
    assert (group["momentum"], group["nesterov"]) == (0.8, True)
    # Nesterov needs momentum; without it the flag is dropped instead of making torch raise.
    group = build_optimizer(params, TrainSection(momentum=0.0, nesterov=True)).param_groups[0]
    assert group["nesterov"] is False


def test_frozen_parameters_are_left_out_and_a_fully_frozen_model_is_refused():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[0].requires_grad_(False)
    optimizer = build_optimizer(model.parameters(), TrainSection())
    assert {id(p) for p in optimizer.param_groups[0]["params"]} == {id(p) for p in model[1].parameters()}
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(model.parameters(), TrainSection())


def scheduled(train: TrainSection, *, valid=None, train_losses=None, batches_per_epoch: int = 2,
              callbacks=()) -> tuple[list[float], ScriptedTask]:
    """Run a scripted task with the spec's scheduler; return the lr seen in each epoch."""
    epochs = train.epochs
    # Scripted training losses: the regression itself diverges with SGD at lr 1 (the divergence guard would end it).
    task = ScriptedTask(valid=valid or [0.5] * epochs, train=train_losses or [1.0] * epochs, lr=train.lr)
    scheduler = build_scheduler(task.optimizers[0], train, batches_per_epoch)
    data = regression(8 * batches_per_epoch)
    valid_batches = batches(regression(8)) if valid is not None else None
    cbs = [c for c in (*callbacks, scheduler) if c is not None]
    records = list(fit(task, batches(data, 8), valid_batches, epochs=epochs, callbacks=cbs, report_interval=0))
    assert records[-1].status == "completed", records[-1]
    return [e.metrics["lr"] for e in epoch_ends(records)], task


def test_no_scheduler_keeps_the_lr():
    assert build_scheduler(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1), TrainSection(), 3) is None
    lrs, _ = scheduled(TrainSection(lr=0.1, epochs=3))
    assert lrs == [0.1, 0.1, 0.1]


def test_step_schedule():
    lrs, _ = scheduled(TrainSection(lr=1.0, epochs=5, scheduler="step", step_size=2, gamma=0.5))
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_multistep_schedule():
    lrs, _ = scheduled(TrainSection(lr=1.0, epochs=5, scheduler="multistep", milestones=[1, 3], gamma=0.1))
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])


def test_exponential_and_cosine_schedules():
    lrs, _ = scheduled(TrainSection(lr=1.0, epochs=3, scheduler="exponential", gamma=0.5))
    assert lrs == [1.0, 0.5, 0.25]
    lrs, _ = scheduled(TrainSection(lr=1.0, epochs=4, scheduler="cosine"))
    assert lrs[0] == 1.0 and lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.2


def test_plateau_drops_the_lr_when_the_metric_stalls():
    train = TrainSection(lr=1.0, epochs=5, scheduler="plateau", plateau_patience=1, gamma=0.1)
    lrs, _ = scheduled(train, valid=[0.5, 0.5, 0.5, 0.5, 0.5])
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1])


def test_plateau_keeps_the_lr_while_a_max_metric_improves():
    # The monitor (valid_score, like accuracy) is better when higher: improving must not count as a plateau.
    train = TrainSection(lr=1.0, epochs=5, scheduler="plateau", plateau_patience=0, gamma=0.1)
    lrs, _ = scheduled(train, valid=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert lrs == [1.0] * 5
    lrs, _ = scheduled(train, valid=[0.5, 0.4, 0.3, 0.3, 0.3])
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.01, 0.001])


def test_plateau_without_validation_watches_the_train_loss():
    train = TrainSection(lr=1.0, epochs=4, scheduler="plateau", plateau_patience=0, gamma=0.1)
    lrs, _ = scheduled(train, train_losses=[4.0, 3.0, 2.0, 1.0])
    assert lrs == [1.0] * 4
    lrs, _ = scheduled(train, train_losses=[1.0, 2.0, 3.0, 4.0])
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.01])


class LrPerBatch(Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_end(self, state) -> None:
        self.lrs.append(state.task.lr)


def test_one_cycle_steps_every_batch():
    per_batch = LrPerBatch()
    train = TrainSection(lr=1.0, epochs=3, scheduler="onecycle")
    scheduled(train, batches_per_epoch=4, callbacks=[per_batch])  # 12 steps: exactly its total, no overrun
    lrs = per_batch.lrs  # the lr each batch was trained with
    assert len(lrs) == 12 and len(set(lrs)) == 12  # changed after every batch
    peak = lrs.index(max(lrs))
    assert 0 < peak < 11 and max(lrs) == pytest.approx(1.0, rel=0.05)
    assert lrs[:peak + 1] == sorted(lrs[:peak + 1]) and lrs[peak:] == sorted(lrs[peak:], reverse=True)


@pytest.mark.parametrize("name", [s for s in SCHEDULERS if s != "none"])
def test_scheduler_state_survives_a_save_and_resume(name, tmp_path):
    train = TrainSection(lr=1.0, epochs=4, scheduler=name, step_size=1, milestones=[2], gamma=0.5,
                         plateau_patience=0)

    def make():
        optimizer = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=train.lr)
        return optimizer, build_scheduler(optimizer, train, 2)

    task = ScriptedTask(valid=[0.5] * 4)
    optimizer, scheduler = make()
    task.optimizers = [optimizer]

    class Epoch:
        def __init__(self, n):
            self.metrics = {"valid_score": 0.5, "train_loss": 1.0}
            self.epoch = n

    class State:
        def __init__(self):
            self.task = task

        def log(self, *args):
            raise AssertionError(args)

    def advance(sched, n):
        for _ in range(2):
            task.optimizers[0].step()  # no gradients: the weights stay, the schedule sees a step
            sched.on_train_batch_end(State())
        sched.on_epoch_end(State(), Epoch(n))

    advance(scheduler, 1)
    advance(scheduler, 2)  # plateau: epoch 2 is its first bad one
    save_train_state(tmp_path / "state", {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})

    saved = load_train_state(tmp_path / "state")
    resumed_optimizer, resumed = make()
    resumed_optimizer.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    task.optimizers = [optimizer]
    advance(scheduler, 3)
    expected = optimizer.param_groups[0]["lr"]
    task.optimizers = [resumed_optimizer]
    advance(resumed, 3)
    assert resumed_optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    assert expected != 1.0  # the schedule did move
