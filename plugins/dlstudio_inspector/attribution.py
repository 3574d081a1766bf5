"""Attribution: which input pixels a class score depends on — plain saliency and Grad-CAM, with hooks.

Gradients are taken with ``torch.autograd.grad``, so the model's ``.grad`` fields are never touched, and
the hook is removed after use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlstudio_inspector.common import InspectorError, first_tensor, forward_hooks, module_named
from dlstudio_inspector.inputs import takes_tokens


@dataclass
class Attribution:
    #: (H, W) floats in [0, 1], the input's size.
    heat: np.ndarray
    target: int
    score: float
    #: Softmax probability of ``target``.
    probability: float
    method: str
    layer: str = ""


def _check(model: nn.Module, x: torch.Tensor) -> None:
    if isinstance(model, torch.jit.ScriptModule):
        raise InspectorError("attribution needs hooks, which TorchScript models do not support")
    if takes_tokens(model) or not x.is_floating_point():
        raise InspectorError("saliency and Grad-CAM need a float image input; this model takes token ids")
    if x.dim() != 4:
        raise InspectorError(f"saliency and Grad-CAM need an image batch (N, C, H, W); got {tuple(x.shape)}")


def _scores(output: Any) -> torch.Tensor:
    out = first_tensor(output)
    if out is None or out.dim() != 2:
        raise InspectorError("attribution needs a model that outputs class scores (batch, classes); "
                             f"this one outputs {None if out is None else tuple(out.shape)}")
    return out


def _pick(scores: torch.Tensor, target: int | None) -> tuple[int, torch.Tensor, float]:
    if target is None:
        target = int(scores[0].argmax())
    if not 0 <= target < scores.shape[1]:
        raise InspectorError(f"class {target} does not exist: the model has {scores.shape[1]} classes")
    prob = float(torch.softmax(scores[0].detach(), 0)[target])
    return target, scores[0, target], prob


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def saliency(model: nn.Module, x: torch.Tensor, target: int | None = None) -> Attribution:
    """|d score / d input|, the maximum over colour channels (Simonyan et al. 2014)."""
    _check(model, x)
    x = x[:1].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        scores = _scores(model(x))
        target, score, prob = _pick(scores, target)
        (grad,) = torch.autograd.grad(score, x)
    heat = grad[0].abs().amax(dim=0).numpy()
    return Attribution(_normalise(heat), target, float(score.detach()), prob, "saliency")


def default_cam_layer(model: nn.Module, x: torch.Tensor) -> str:
    """The last layer (in the order forward passes finish) with a spatial (N, C, H, W) output, H·W > 1."""
    from dlstudio_inspector.summary import summarize

    summary = summarize(model, x[:1], flops=False)
    spatial = [r.name for r in summary.rows if r.name and isinstance(r.output_shape, tuple)
               and len(r.output_shape) == 4 and all(isinstance(d, int) for d in r.output_shape)
               and r.output_shape[2] * r.output_shape[3] > 1]
    if not spatial:
        raise InspectorError("Grad-CAM needs a layer with spatial feature maps; this model has none")
    return max(spatial, key=lambda n: summary.row(n).order)


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str | None = None, target: int | None = None) -> Attribution:
    """Grad-CAM (Selvaraju et al. 2017): the layer's maps weighted by their mean gradient, ReLU, upsampled."""
    _check(model, x)
    layer = layer or default_cam_layer(model, x)
    module = module_named(model, layer)
    kept: list[torch.Tensor] = []

    def hook(_name: str, _module: nn.Module, _inputs: Any, output: Any) -> Any:
        t = first_tensor(output)
        if t is None or kept:
            return None
        kept.append(t)
        # Hand the rest of the network a copy, so an in-place ReLU after this layer cannot alter ``t``.
        return t.clone() if isinstance(output, torch.Tensor) else None

    x = x[:1].detach()
    with torch.enable_grad(), forward_hooks([(layer, module)], hook):
        scores = _scores(model(x))
        if not kept:
            raise InspectorError(f"layer {layer!r} was not called by the forward pass")
        acts = kept[0]
        if acts.dim() != 4:
            raise InspectorError(f"Grad-CAM needs a layer with (N, C, H, W) maps; {layer!r} outputs "
                                 f"{tuple(acts.shape)}")
        target, score, prob = _pick(scores, target)
        (grad,) = torch.autograd.grad(score, acts)
    weights = grad[0].mean(dim=(1, 2))
    cam = F.relu((weights[:, None, None] * acts[0].detach()).sum(0))
    cam = F.interpolate(cam[None, None], size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)[0, 0]
    return Attribution(_normalise(cam.numpy()), target, float(score.detach()), prob, "grad-cam", layer)


def overlay(image: np.ndarray, heat: np.ndarray, cmap: str = "jet", alpha: float = 0.45) -> np.ndarray:
    """An (H, W, 3) uint8 blend of an input image (floats in [0, 1], grey or RGB) and a heat map."""
    from dlstudio_inspector.activations import colorize

    base = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    colour = colorize(heat, cmap).astype(np.float32) / 255.0
    blend = ((1 - alpha) * base + alpha * colour).clip(0, 1)
    return (blend * 255).round().astype(np.uint8)
