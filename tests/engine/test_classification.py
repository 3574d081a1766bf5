"""The built-in classification step function."""

from __future__ import annotations

import copy
from collections import namedtuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio.engine import TaskContext
from dlstudio.engine.classification import AUX_LOSS_WEIGHT, ClassificationTask, main_logits
from dlstudio.spec import TrainSection
from tests.engine.fakes import blobs, classifier

Inception = namedtuple("Inception", "logits aux_logits")


def make_task(model: nn.Module, classes=("a", "b", "c"), **train) -> ClassificationTask:
    info = DataInfo(input_shape=(4,), classes=tuple(classes))
    return ClassificationTask(TaskContext(model, info, TrainSection(**{"lr": 0.1, "momentum": 0.0, **train}),
                                          torch.device("cpu")))


def test_a_step_returns_additive_sums():
    task = classifier()
    x, y = blobs(10).tensors
    result = task.eval_step((x, y))
    logits = task.model(x).detach()
    assert result.count == 10
    assert float(result.sums["loss"]) == pytest.approx(float(F.cross_entropy(logits, y)) * 10, rel=1e-5)
    assert int(result.sums["correct"]) == int((logits.argmax(1) == y).sum())
    metrics = task.summarize({"loss": 5.0, "correct": 7.0}, 10)
    assert metrics == {"loss": 0.5, "accuracy": 0.7}


def test_train_steps_learn_and_eval_steps_do_not_touch_the_weights():
    task = classifier()
    batch = blobs(32).tensors
    before = [p.detach().clone() for p in task.model.parameters()]
    task.eval_step(batch)
    assert all(torch.equal(a, b) for a, b in zip(before, task.model.parameters()))
    losses = [float(task.train_step(batch).sums["loss"]) for _ in range(20)]
    assert losses[-1] < losses[0] / 2


def test_the_monitor_is_accuracy_with_classes_and_the_loss_without():
    assert (classifier().monitor, classifier().monitor_mode) == ("valid_accuracy", "max")
    task = make_task(nn.Linear(4, 3), classes=())
    assert (task.monitor, task.monitor_mode) == ("valid_loss", "min")


def test_main_logits_of_the_usual_output_shapes():
    t = torch.zeros(2, 3)
    assert main_logits(t) is t
    assert main_logits(Inception(t, None)) is t
    assert main_logits((t, torch.ones(2, 3))) is t


class WithAux(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body, self.aux = nn.Linear(4, 3), nn.Linear(4, 3)

    def forward(self, x):
        return Inception(self.body(x), self.aux(x)) if self.training else self.body(x)


def test_auxiliary_logits_add_a_weighted_loss():
    model = WithAux()
    task = make_task(model)
    x, y = blobs(16).tensors
    aux_copy = copy.deepcopy(model.aux)
    expected_aux_grad = AUX_LOSS_WEIGHT * torch.autograd.grad(F.cross_entropy(aux_copy(x), y), aux_copy.weight)[0]
    with torch.no_grad():
        main = F.cross_entropy(model(x).logits, y)
    result = task.train_step((x, y))
    assert float(result.sums["loss"]) / 16 == pytest.approx(float(main), rel=1e-5)  # reported: the main loss
    assert torch.allclose(model.aux.weight.grad, expected_aux_grad, atol=1e-6)
    model.eval()
    assert task.eval_step((x, y)).count == 16


def test_log_softmax_outputs_train_as_well():
    task = make_task(nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1)))
    batch = blobs(32).tensors
    losses = [float(task.train_step(batch).sums["loss"]) for _ in range(20)]
    assert losses[-1] < losses[0] / 2


def test_gradient_clipping_bounds_the_update():
    model = nn.Linear(4, 3)
    task = make_task(model, grad_clip=0.01, lr=1.0)
    x, y = blobs(16).tensors
    x = x * 100  # huge gradients
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    task.train_step((x, y))
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert float((after - before).norm()) == pytest.approx(0.01, rel=1e-3)


def test_mixed_precision_and_channels_last_are_cuda_only():
    task = make_task(nn.Linear(4, 3), amp=True, channels_last=True)
    assert not task.stepper.amp and not task.stepper.channels_last
    assert "scaler" not in task.state_dict()


def test_optimizer_state_round_trips_through_the_task():
    task = classifier(momentum=0.9)
    batch = blobs(16).tensors
    task.train_step(batch)
    state = copy.deepcopy(task.state_dict())  # state_dict() holds the live buffers
    assert set(state) == {"optimizer0"}
    other = classifier(momentum=0.9)
    other.model.load_state_dict(task.model.state_dict())
    other.load_state_dict(state)
    task.train_step(batch)
    other.train_step(batch)
    for a, b in zip(task.model.parameters(), other.model.parameters()):
        assert torch.equal(a, b)
