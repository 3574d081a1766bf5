"""Feature visualisation: optimise an input image so that one channel of a layer (or one class) fires strongly.

The regularised method of Olah et al. 2017 ("Feature Visualization", Distill) and the Lucid library, which is what
makes the images readable instead of a grey gradient or high-frequency noise:

* the image is parameterised in Fourier space with each frequency scaled by 1/f (a "decorrelated" basis: Adam's
  steps act on all frequencies equally, so low frequencies, which carry shapes, are not starved), and for RGB
  images its colours are decorrelated with the ImageNet colour-correlation square root;
* a sigmoid keeps the pixels in [0, 1], and the data's own normalisation (mean, std) turns them into model inputs;
* every step the image is transformed at random (jitter, scale, small rotation) before the model sees it, so only
  features robust to such changes survive;
* optional total-variation and L2 penalties smooth it further.

A generator yielding frames as it optimises (run it with ``context.run_in_background``; cancelling closes it at its
next ``yield``, and the hook is removed even then). For a class, choose the classifier's last Linear layer: its
output channel ``k`` is class ``k``'s logit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio_inspector.common import InspectorError, first_tensor, forward_hooks, module_named
from dlstudio_inspector.inputs import guess_input_shape, takes_tokens

#: Square root of ImageNet's colour correlation (Lucid's ``color_correlation_svd_sqrt``).
_COLOUR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOUR_SQRT = _COLOUR_SQRT / _COLOUR_SQRT.norm(dim=0).max()


@dataclass
class Frame:
    step: int
    steps: int
    #: (H, W, 3) or (H, W) floats in [0, 1].
    image: np.ndarray
    #: Mean activation of the chosen channel (what is being maximised), on the transformed image.
    activation: float
    #: The image as the model takes it, (1, C, H, W), normalised like the data (no random transform).
    input: torch.Tensor | None = None


class _Reached(Exception):
    """Raised by the hook once the chosen layer has run."""


class FourierImage(nn.Module):
    """An image parameterised by its 1/f-scaled spectrum (and decorrelated colours): pixels in [0, 1]."""

    def __init__(self, channels: int, height: int, width: int, *, sd: float = 0.01, decay_power: float = 1.0,
                 fourier: bool = True, decorrelate: bool = True, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.shape = (channels, height, width)
        self.fourier = fourier
        self.decorrelate = decorrelate and channels == 3
        if fourier:
            fy = torch.fft.fftfreq(height)[:, None]
            fx = torch.fft.rfftfreq(width)[None, :]
            freqs = (fy ** 2 + fx ** 2).sqrt()
            scale = 1.0 / freqs.clamp_min(1.0 / max(height, width)) ** decay_power
            self.register_buffer("scale", scale * math.sqrt(height * width))
            self.spectrum = nn.Parameter(torch.randn(channels, height, width // 2 + 1, 2, generator=generator) * sd)
        else:
            self.pixels = nn.Parameter(torch.randn(channels, height, width, generator=generator) * sd)

    def forward(self) -> torch.Tensor:
        _c, h, w = self.shape
        if self.fourier:
            spectrum = torch.view_as_complex(self.spectrum) * self.scale
            x = torch.fft.irfft2(spectrum, s=(h, w), norm="backward") / 4.0
        else:
            x = self.pixels
        if self.decorrelate:
            x = torch.einsum("ij,jhw->ihw", _COLOUR_SQRT, x)
        return torch.sigmoid(x)[None]


def _transform(x: torch.Tensor, generator: torch.Generator, jitter: int, scales: tuple[float, float],
               degrees: float) -> torch.Tensor:
    _, _, h, w = x.shape
    u = torch.rand(4, generator=generator)
    s = scales[0] + (scales[1] - scales[0]) * float(u[0])
    angle = math.radians(degrees * (2 * float(u[1]) - 1))
    dx, dy = ((2 * float(v) - 1) * jitter for v in u[2:])
    cos, sin = math.cos(angle) / s, math.sin(angle) / s  # affine_grid maps output to input: the inverse
    theta = torch.tensor([[[cos, -sin, 2 * dx / w], [sin, cos, 2 * dy / h]]], dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def _normaliser(data: DataInfo | None, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The data's mean and std (pixels in [0, 1] → model inputs); none known: the model takes [0, 1]."""
    extra = data.extra if data is not None else {}
    mean, std = extra.get("mean") or [], extra.get("std") or []
    if len(mean) == channels and len(std) == channels:
        as_column = functools.partial(torch.tensor, dtype=torch.float32)
        return as_column(mean)[:, None, None], as_column(std)[:, None, None]
    return torch.zeros(channels, 1, 1), torch.ones(channels, 1, 1)


def _to_image(pixels: torch.Tensor) -> np.ndarray:
    a = pixels[0].detach().clamp(0, 1).numpy()
    return a[0] if a.shape[0] != 3 else a.transpose(1, 2, 0)


def maximise(model: nn.Module, layer: str, channel: int, *, data: DataInfo | None = None, steps: int = 128,
             lr: float = 0.05, size: int | None = None, fourier: bool = True, decorrelate: bool = True,
             jitter: int | None = None, scale: float = 0.1, degrees: float = 10.0, tv: float = 0.0,
             decay: float = 0.0, every: int = 4, seed: int = 0) -> Generator[Frame, None, Frame]:
    """Yield a :class:`Frame` every ``every`` steps; return the final frame. ``model`` should be in eval mode.

    ``jitter`` (pixels; default a 16th of the image side), ``scale`` (random zoom within ±scale) and ``degrees``
    (random rotation) are the transforms; ``tv`` and ``decay`` weigh the total-variation and L2 penalties.
    """
    if isinstance(model, torch.jit.ScriptModule):
        raise InspectorError("feature visualisation needs hooks, which TorchScript models do not support")
    if takes_tokens(model, data):
        raise InspectorError("feature visualisation optimises an image; this model takes token ids")
    shape = tuple(data.input_shape) if data is not None and data.input_shape else guess_input_shape(model)
    if len(shape) != 3:
        raise InspectorError(f"feature visualisation needs an image input (C, H, W); this model takes {shape}")
    if steps < 1:
        raise InspectorError(f"feature visualisation needs at least one step, got {steps}")
    channels, height, width = shape
    if size:
        height = width = size
    jitter = max(1, round(min(height, width) / 16)) if jitter is None else max(0, jitter)
    module = module_named(model, layer)
    gen = torch.Generator().manual_seed(seed)
    param = FourierImage(channels, height, width, fourier=fourier, decorrelate=decorrelate, generator=gen)
    mean, std = _normaliser(data, channels)
    optimiser = torch.optim.Adam(param.parameters(), lr=lr)
    captured: list[torch.Tensor] = []

    def hook(_n: str, _m: nn.Module, _i: Any, output: Any) -> None:
        captured.append(first_tensor(output))
        # Nothing after this layer matters: stopping here is faster, and lets the image have any size even
        # when later layers (a Linear after a flatten) only accept the training size.
        raise _Reached

    def frame_of(step: int, value: float) -> Frame:
        with torch.no_grad():
            pixels = param()
        return Frame(step, steps, _to_image(pixels), value, ((pixels - mean) / std).detach())

    frame = frame_of(0, 0.0)
    # torch.autograd.grad instead of backward(): gradients reach only the image, never the model's .grad.
    with forward_hooks([(layer, module)], hook), torch.enable_grad():
        for step in range(1, steps + 1):
            captured.clear()
            pixels = param()
            seen = _transform(pixels, gen, jitter, (1 - scale, 1 + scale), degrees)
            try:
                model((seen - mean) / std)
            except _Reached:
                pass
            if not captured or captured[0] is None:
                raise InspectorError(f"layer {layer!r} was not called by the forward pass")
            act = captured[0]
            if act.dim() < 2 or not 0 <= channel < act.shape[1]:
                raise InspectorError(f"layer {layer!r} outputs {tuple(act.shape)}: channel {channel} does not exist")
            value = act[0, channel].mean()
            loss = -value
            if tv:
                loss = loss + tv * _total_variation(pixels)
            if decay:
                loss = loss + decay * (pixels - 0.5).pow(2).mean()
            grads = torch.autograd.grad(loss, list(param.parameters()))
            for p, g in zip(param.parameters(), grads):
                p.grad = g
            optimiser.step()
            if step % every == 0 or step == steps:
                frame = frame_of(step, float(value.detach()))
                yield frame
    return frame


def run_to_end(model: nn.Module, layer: str, channel: int, **kwargs: Any) -> tuple[list[Frame], Frame]:
    """Drive :func:`maximise` to completion (tests, CLI): the frames yielded and the final one."""
    frames = []
    gen = maximise(model, layer, channel, **kwargs)
    while True:
        try:
            frames.append(next(gen))
        except StopIteration as stop:
            return frames, stop.value
