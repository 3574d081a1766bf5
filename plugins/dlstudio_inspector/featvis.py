"""Feature visualisation: optimise an input image so that one channel of a layer fires strongly.

A generator yielding frames as it optimises (run it with ``context.run_in_background``; cancelling closes
it at its next ``yield``, and the hook is removed even then). Regularisation keeps images readable: random
jitter, L2 decay on the image, and a small blur every few steps.
"""

from __future__ import annotations

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


@dataclass
class Frame:
    step: int
    steps: int
    #: (H, W, 3) or (H, W) floats in [0, 1].
    image: np.ndarray
    #: Mean activation of the chosen channel (what is being maximised).
    activation: float


class _Reached(Exception):
    """Raised by the hook once the chosen layer has run."""


def _blur(x: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :]) / 16
    c = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel.expand(c, 1, 3, 3), groups=c)


def _to_image(x: torch.Tensor) -> np.ndarray:
    a = x[0].detach()
    a = (a - a.mean()) / (a.std() + 1e-8) * 0.15 + 0.5
    a = a.clamp(0, 1).numpy()
    return a[0] if a.shape[0] != 3 else a.transpose(1, 2, 0)


def maximise(model: nn.Module, layer: str, channel: int, *, data: DataInfo | None = None, steps: int = 128,
             lr: float = 0.05, size: int | None = None, decay: float = 1e-3, jitter: int = 4, blur_every: int = 4,
             every: int = 4, seed: int = 0) -> Generator[Frame, None, Frame]:
    """Yield a :class:`Frame` every ``every`` steps; return the final frame. ``model`` should be in eval mode."""
    if isinstance(model, torch.jit.ScriptModule):
        raise InspectorError("feature visualisation needs hooks, which TorchScript models do not support")
    if takes_tokens(model, data):
        raise InspectorError("feature visualisation optimises an image; this model takes token ids")
    shape = tuple(data.input_shape) if data is not None and data.input_shape else guess_input_shape(model)
    if len(shape) != 3:
        raise InspectorError(f"feature visualisation needs an image input (C, H, W); this model takes {shape}")
    channels, height, width = shape
    if size:
        height = width = size
    module = module_named(model, layer)
    gen = torch.Generator().manual_seed(seed)
    image = (torch.randn(1, channels, height, width, generator=gen) * 0.1).requires_grad_(True)
    optimiser = torch.optim.Adam([image], lr=lr)
    captured: list[torch.Tensor] = []

    def hook(_n: str, _m: nn.Module, _i: Any, output: Any) -> None:
        captured.append(first_tensor(output))
        # Nothing after this layer matters: stopping here is faster, and lets the image have any size even
        # when later layers (a Linear after a flatten) only accept the training size.
        raise _Reached

    frame = Frame(0, steps, _to_image(image), 0.0)
    # torch.autograd.grad instead of backward(): gradients reach only the image, never the model's .grad.
    with forward_hooks([(layer, module)], hook), torch.enable_grad():
        for step in range(1, steps + 1):
            captured.clear()
            dx, dy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
            try:
                model(torch.roll(image, shifts=(dy, dx), dims=(2, 3)))
            except _Reached:
                pass
            if not captured or captured[0] is None:
                raise InspectorError(f"layer {layer!r} was not called by the forward pass")
            act = captured[0]
            if act.dim() < 2 or not 0 <= channel < act.shape[1]:
                raise InspectorError(f"layer {layer!r} outputs {tuple(act.shape)}: channel {channel} does not exist")
            value = act[0, channel].mean()
            loss = -value + decay * image.pow(2).mean()
            (image.grad,) = torch.autograd.grad(loss, [image])
            optimiser.step()
            if blur_every and step % blur_every == 0:
                with torch.no_grad():
                    image.copy_(_blur(image))
            if step % every == 0 or step == steps:
                frame = Frame(step, steps, _to_image(image), float(value.detach()))
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
