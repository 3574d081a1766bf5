"""The step helper every task uses: device moves, clipping per optimiser, closures, resumable scalers."""

from __future__ import annotations

from collections import namedtuple

import pytest
import torch
from torch import nn

from dlstudio.engine import Stepper


def test_batches_of_any_shape_reach_the_device_keeping_their_type():
    Pair = namedtuple("Pair", "x y")
    stepper = Stepper("cpu")
    moved = stepper.to_device({"a": Pair(torch.zeros(2), [torch.ones(1), "label"]), "n": 3})
    assert isinstance(moved["a"], Pair) and moved["a"].y[1] == "label" and moved["n"] == 3


def test_gradients_are_clipped_per_optimiser_before_it_steps():
    torch.manual_seed(0)
    first, second = nn.Linear(3, 1), nn.Linear(3, 1)
    optimizers = [torch.optim.SGD(first.parameters(), lr=1.0), torch.optim.SGD(second.parameters(), lr=1.0)]
    stepper = Stepper("cpu", grad_clip=0.5)
    x = torch.randn(8, 3) * 100
    for model, optimizer in zip((first, second), optimizers):
        before = [p.detach().clone() for p in model.parameters()]
        stepper.optimize(model(x).pow(2).mean(), optimizer)
        moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
        assert moved.norm().item() == pytest.approx(0.5, rel=1e-5)  # lr 1: the step is the clipped gradient


def test_a_closure_optimiser_re_evaluates_with_fresh_gradients():
    target = torch.tensor([3.0, -2.0])
    point = nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.LBFGS([point], lr=1.0, max_iter=20)
    calls = []

    def loss():
        calls.append(point.grad)
        return (point - target).pow(2).sum()

    Stepper("cpu").optimize_closure(optimizer, loss)
    assert torch.allclose(point.detach(), target, atol=1e-4)
    assert len(calls) > 1 and all(grad is None for grad in calls)  # zeroed (set to None) before each


def test_scaler_state_restored_before_any_step_is_saved_again():
    stepper = Stepper("cpu")
    saved = {"scaler0": {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                         "_growth_tracker": 7}}
    stepper.load_state_dict(saved)
    assert stepper.state_dict() == saved  # a checkpoint written before the optimiser steps again keeps it
