"""The CUDA-only paths of the step helper: mixed precision with one GradScaler per optimiser, clipping of the
unscaled gradients, and channels_last. They skip without a GPU; run them on one.

The references are torch's documented GradScaler behaviour (initial scale 2**16, halved on an overflow, the
step skipped) and hand arithmetic (SGD at lr 1 moves the parameters by exactly the clipped gradient).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from dlstudio.engine import Stepper

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

#: torch.amp.GradScaler's documented defaults.
INITIAL_SCALE = 2.0**16
BACKOFF = 0.5


def _params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).clone()


def test_amp_computes_the_forward_pass_in_float16():
    stepper = Stepper("cuda", amp=True)
    model = stepper.prepare_model(nn.Linear(4, 2))
    x = stepper.to_device(torch.randn(3, 4))
    with stepper.autocast():
        out = model(x)
    assert out.dtype == torch.float16
    assert model.weight.dtype == torch.float32  # the master weights stay float32


def test_an_overflowing_step_is_skipped_for_its_own_optimiser_only():
    torch.manual_seed(0)
    stepper = Stepper("cuda", amp=True)
    first, second = (stepper.prepare_model(nn.Linear(3, 1)) for _ in range(2))
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (first, second)]
    x = stepper.to_device(torch.randn(8, 3))

    before = [_params(first), _params(second)]
    with stepper.autocast():
        overflowing = (first(x) * torch.tensor(float("inf"), device="cuda")).float().sum()
        fine = second(x).float().pow(2).mean()
    stepper.optimize(overflowing, optimizers[0])
    stepper.optimize(fine, optimizers[1])

    assert torch.equal(_params(first), before[0])  # inf gradients: the step was skipped
    assert not torch.equal(_params(second), before[1])  # its own scaler saw no overflow: it stepped
    state = stepper.state_dict()
    assert set(state) == {"scaler0", "scaler1"}  # one GradScaler per optimiser
    assert state["scaler0"]["scale"] == INITIAL_SCALE * BACKOFF
    assert state["scaler1"]["scale"] == INITIAL_SCALE

    # the next finite step of the first optimiser goes through
    with stepper.autocast():
        loss = first(x).float().pow(2).mean()
    stepper.optimize(loss, optimizers[0])
    assert not torch.equal(_params(first), before[0])


def test_gradients_are_unscaled_before_they_are_clipped():
    # Clipping the scaled gradients (65536× too large) and unscaling afterwards would move the weights by
    # clip / 65536; clipping the true gradients moves them (SGD, lr 1) by exactly the clip norm.
    torch.manual_seed(0)
    clip = 1e-3
    stepper = Stepper("cuda", amp=True, grad_clip=clip)
    model = stepper.prepare_model(nn.Linear(3, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    x = stepper.to_device(torch.randn(16, 3))
    y = stepper.to_device(torch.randn(16, 1) + 5)
    with stepper.autocast():
        loss = (model(x).float() - y).pow(2).mean()  # gradient norm ~10, far above the clip
    before = _params(model)
    stepper.optimize(loss, optimizer)
    moved = (_params(model) - before).norm().item()
    assert moved == pytest.approx(clip, rel=1e-3)


def _small_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 4, 3, stride=2), nn.Flatten(), nn.Linear(4 * 7 * 7, 5))


def test_channels_last_puts_model_and_batch_in_that_layout_with_the_same_results():
    torch.manual_seed(0)
    reference = _small_cnn().cuda().eval()
    stepper = Stepper("cuda", channels_last=True)
    model = stepper.prepare_model(copy.deepcopy(reference).cpu())
    x = torch.randn(4, 3, 16, 16)
    batch = stepper.to_device(x)

    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert batch.is_contiguous(memory_format=torch.channels_last) and not batch.is_contiguous()
    labels = stepper.to_device(torch.arange(4))
    assert labels.is_contiguous()  # only 4-d floating-point batches change layout

    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ours = model(batch)
        expected = reference(x.cuda())
    assert torch.allclose(ours, expected, atol=1e-5, rtol=1e-4)


def test_channels_last_training_steps_match_contiguous_ones():
    torch.manual_seed(0)
    reference = _small_cnn().cuda()
    stepper = Stepper("cuda", channels_last=True)
    model = stepper.prepare_model(copy.deepcopy(reference))
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (reference, model)]
    plain = Stepper("cuda")
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        for _ in range(3):
            x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 5, (8,))
            for net, optimizer, step in ((reference, optimizers[0], plain), (model, optimizers[1], stepper)):
                xb, yb = step.to_device((x, y))
                step.optimize(nn.functional.cross_entropy(net(xb), yb), optimizer)
    assert torch.allclose(_params(model), _params(reference), atol=1e-4, rtol=1e-3)
