"""Attribution: which input pixels a class score depends on, computed by Captum.

This module is the thin layer around ``captum.attr``: it checks the request, picks Grad-CAM's layer, turns
Captum's tensors into one (H, W) map of the input's size in [0, 1], and says why a map is empty instead of
showing a blank picture as if it were an answer. Captum's hooks are removed after each call and gradients are
taken with ``torch.autograd.grad``, so the model's ``.grad`` fields are never touched.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlstudio_inspector.common import InspectorError, first_tensor, module_named
from dlstudio_inspector.inputs import takes_tokens

#: Method id → the name shown to users (the panel's picker lists them in this order).
METHODS = {
    "grad-cam": "Grad-CAM",
    "hirescam": "HiResCAM",
    "guided-grad-cam": "Guided Grad-CAM",
    "integrated-gradients": "Integrated Gradients",
    "smoothgrad": "SmoothGrad",
    "occlusion": "Occlusion",
    "saliency": "Saliency",
}
#: Methods that read one layer's feature maps (the others attribute to the input pixels directly).
LAYER_METHODS = ("grad-cam", "hirescam", "guided-grad-cam")
#: Methods that compare the input with a baseline ("no information") image.
BASELINE_METHODS = ("integrated-gradients", "occlusion")


@dataclass
class Attribution:
    #: (H, W) floats in [0, 1], the input's size; all zeros when ``empty`` says why.
    heat: np.ndarray
    target: int
    score: float
    #: Softmax probability of ``target``.
    probability: float
    method: str
    layer: str = ""
    #: Why the map is all zeros ("" when it is not): what happened and what to try instead.
    empty: str = ""


class _Scores(nn.Module):
    """The model with its output reduced to (batch, classes) scores, as Captum's ``target`` indexing needs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _scores(self.model(x))


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


def _pick(model: nn.Module, x: torch.Tensor, target: int | None) -> tuple[int, float, float]:
    with torch.no_grad():
        scores = _scores(model(x))
    if target is None:
        target = int(scores[0].argmax())
    if not 0 <= target < scores.shape[1]:
        raise InspectorError(f"class {target} does not exist: the model has {scores.shape[1]} classes")
    prob = float(torch.softmax(scores[0].float(), 0)[target])
    return target, float(scores[0, target]), prob


def default_cam_layer(model: nn.Module, x: torch.Tensor) -> str:
    """The last layer (in the order forward passes finish) with a spatial (N, C, H, W) output, H·W > 1.

    A 1×1 map (after global pooling) can only give a uniform Grad-CAM, so such layers are skipped.
    """
    from dlstudio_inspector.summary import summarize

    summary = summarize(model, x[:1], flops=False)
    spatial = [r.name for r in summary.rows if r.name and isinstance(r.output_shape, tuple)
               and len(r.output_shape) == 4 and all(isinstance(d, int) for d in r.output_shape)
               and r.output_shape[2] * r.output_shape[3] > 1]
    if not spatial:
        raise InspectorError("Grad-CAM needs a layer with spatial feature maps; this model has none")
    return max(spatial, key=lambda n: summary.row(n).order)


def _layer_output(model: nn.Module, module: nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    kept: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: kept.append(first_tensor(out)) if not kept else None)
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    if not kept or kept[0] is None:
        raise InspectorError(f"layer {layer!r} was not called by the forward pass")
    return kept[0]


def _check_cam_layer(model: nn.Module, module: nn.Module, x: torch.Tensor, layer: str) -> None:
    acts = _layer_output(model, module, x, layer)
    if acts.dim() != 4:
        raise InspectorError(f"Grad-CAM needs a layer with (N, C, H, W) maps; {layer!r} outputs "
                             f"{tuple(acts.shape)}")
    if acts.shape[2] * acts.shape[3] == 1:
        raise InspectorError(f"layer {layer!r} has 1×1 maps: Grad-CAM there can only be uniform. Pick an "
                             "earlier layer with spatial maps, or leave the layer on 'auto'")


def _cell_centre(acts: torch.Tensor, x: torch.Tensor, i: int, j: int) -> tuple[float, float] | None:
    """Where feature cell (i, j) looks in the input: the centroid of |d cell / d input|."""
    (grad,) = torch.autograd.grad(acts[0, :, i, j].abs().sum(), x, retain_graph=True)
    weight = grad[0].abs().sum(0)
    total = float(weight.sum())
    if total <= 0:
        return None
    rows = torch.arange(weight.shape[0], dtype=weight.dtype)
    cols = torch.arange(weight.shape[1], dtype=weight.dtype)
    return float((weight.sum(1) * rows).sum()) / total, float((weight.sum(0) * cols).sum()) / total


def _place(cam: torch.Tensor, model: nn.Module, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The (1, 1, h, w) layer map resampled onto the input, each cell at the centre of its receptive field.

    Stretching the map over the whole image is only right for padded convolutions; after unpadded ones (the
    book's Net: an 8×8 map whose cells look at pixels 6.5…20.5 of a 28×28 digit) it shifts the heat off the
    strokes. The centres are measured, not assumed: the first and last cells' input-gradient centroids.
    """
    size = tuple(x.shape[2:])
    plain = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    h, w = cam.shape[2:]
    if h < 2 or w < 2:
        return plain
    kept: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: kept.append(first_tensor(out)) if not kept else None)
    try:
        xi = x.detach().clone().requires_grad_(True)
        model(xi)
    finally:
        handle.remove()
    first, last = _cell_centre(kept[0], xi, 0, 0), _cell_centre(kept[0], xi, h - 1, w - 1)
    if first is None or last is None or last[0] <= first[0] or last[1] <= first[1]:
        return plain  # the corners do not depend on the input: keep the plain stretch
    rows = (torch.arange(size[0], dtype=cam.dtype) - first[0]) / (last[0] - first[0]) * 2 - 1
    cols = (torch.arange(size[1], dtype=cam.dtype) - first[1]) / (last[1] - first[1]) * 2 - 1
    grid = torch.stack(torch.meshgrid(cols, rows, indexing="xy"), -1)[None]
    # Beyond the outermost cells the heat fades to zero over one cell: no cell is centred there.
    return F.grid_sample(cam, grid, mode="bilinear", align_corners=True, padding_mode="zeros")


def _grad_cam(model: nn.Module, x: torch.Tensor, module: nn.Module, layer: str, target: int,
              class_name: str) -> tuple[torch.Tensor, str]:
    """Captum's LayerGradCam, unclamped first so that an empty map can be explained."""
    from captum.attr import LayerGradCam, LayerGradientXActivation

    cam = LayerGradCam(_Scores(model), module).attribute(x, target=target, relu_attributions=False).detach()
    if cam.max() > 0:
        return _place(cam.clamp(min=0), model, module, x).detach(), ""
    grads = LayerGradientXActivation(_Scores(model), module, multiply_by_inputs=False).attribute(x, target=target)
    if not bool(grads.any()):
        why = (f"all gradients at layer {layer} are zero for {class_name}: the ReLUs after it are dead for this "
               "input (or the score does not depend on this layer)")
    else:
        why = (f"the Grad-CAM map at layer {layer} is negative everywhere, and Grad-CAM's ReLU clamps it to zero: "
               f"its mean-gradient channel weights point away from {class_name} (they cancel when the network "
               "flattens the maps into a Linear layer instead of pooling them)")
    return torch.zeros_like(x[:, :1]), why + ". Try HiResCAM, Integrated Gradients or Occlusion, or an earlier layer."


def _hirescam(model: nn.Module, x: torch.Tensor, module: nn.Module, layer: str, class_name: str,
              target: int) -> tuple[torch.Tensor, str]:
    """HiResCAM (Draelos & Carin 2020): each map times its own gradient, summed over channels, then ReLU. Unlike
    Grad-CAM it does not average the gradients first, so it stays faithful to a network that flattens its maps
    into a Linear layer (where Grad-CAM's averaged weights cancel and its map goes blank)."""
    from captum.attr import LayerGradientXActivation

    cam = LayerGradientXActivation(_Scores(model), module).attribute(x, target=target).sum(1, keepdim=True).detach()
    if cam.max() > 0:
        return _place(cam.clamp(min=0), model, module, x).detach(), ""
    why = (f"no part of layer {layer}'s maps speaks for {class_name} (every gradient × activation is zero or "
           "negative)")
    return torch.zeros_like(x[:, :1]), why + ". Try Integrated Gradients or Occlusion, or an earlier layer."


def _input_attribution(model: nn.Module, x: torch.Tensor, method: str, target: int,
                       baseline: float | torch.Tensor) -> torch.Tensor:
    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency

    scores = _Scores(model)
    if method == "saliency":  # |d score / d input|, the maximum over channels (Simonyan et al. 2014)
        return Saliency(scores).attribute(x, target=target, abs=True).amax(1, keepdim=True)
    if method == "smoothgrad":  # saliency averaged over noisy copies, noise 15 % of the input's range
        spread = float(x.max() - x.min()) or 1.0
        tunnel = NoiseTunnel(Saliency(scores))
        return tunnel.attribute(x, nt_type="smoothgrad", nt_samples=16, stdevs=0.15 * spread,
                                target=target).amax(1, keepdim=True)
    if method == "integrated-gradients":  # evidence for the class: the positive part, summed over channels
        base = torch.as_tensor(baseline, dtype=x.dtype).expand_as(x)
        ig = IntegratedGradients(scores).attribute(x, base, target=target, n_steps=32)
        return ig.sum(1, keepdim=True).clamp(min=0)
    if method == "occlusion":  # the score's drop when a patch (1/7 of the side) is replaced by the baseline
        side = max(1, min(x.shape[2:]) // 7)
        stride = max(1, side // 2)
        occ = Occlusion(scores).attribute(x, target=target, sliding_window_shapes=(x.shape[1], side, side),
                                          strides=(x.shape[1], stride, stride), perturbations_per_eval=64,
                                          baselines=torch.as_tensor(baseline, dtype=x.dtype).expand_as(x))
        return occ.sum(1, keepdim=True).clamp(min=0)
    raise InspectorError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")


def attribute(model: nn.Module, x: torch.Tensor, method: str = "grad-cam", target: int | None = None,
              layer: str | None = None, baseline: float | torch.Tensor = 0.0,
              class_name: str | None = None) -> Attribution:
    """One attribution map for ``target`` (default: the predicted class) of the first input in ``x``.

    :param layer: Grad-CAM's layer (default: the last with spatial maps larger than 1×1).
    :param baseline: the "no information" input for Integrated Gradients and Occlusion, in the model's
        (normalised) input space: a black image is ``(0 - mean) / std``, not 0.
    """
    if method not in METHODS:
        raise InspectorError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    _check(model, x)
    x = x[:1].detach()
    target, score, prob = _pick(model, x, target)
    name = class_name or f"class {target}"
    used_layer, empty = "", ""
    with torch.enable_grad(), warnings.catch_warnings():
        # Captum warns that it sets requires_grad on the input copy it is given: expected here.
        warnings.filterwarnings("ignore", message=".*required_grads.*|.*requires_grad.*", category=UserWarning)
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU", category=UserWarning)
        if method in LAYER_METHODS:
            used_layer = layer or default_cam_layer(model, x)
            module = module_named(model, used_layer)
            _check_cam_layer(model, module, x, used_layer)
            if method == "hirescam":
                heat, empty = _hirescam(model, x, module, used_layer, name, target)
            else:
                heat, empty = _grad_cam(model, x, module, used_layer, target, name)
            if method == "guided-grad-cam" and not empty:
                from captum.attr import GuidedBackprop

                guided = GuidedBackprop(_Scores(model)).attribute(x.clone(), target=target)
                heat = (guided.abs().amax(1, keepdim=True) * heat).detach()
        else:
            heat = _input_attribution(model, x, method, target, baseline).detach()
    heat = heat[0, 0].detach().float()
    peak = float(heat.max())
    if not empty and peak <= 0:
        empty = (f"all {METHODS[method]} attributions for {name} are zero: the score does not change with the "
                 "input here (saturated or dead units). Try Occlusion, or another class.")
    heat_np = (heat / peak).numpy() if peak > 0 and not empty else np.zeros(tuple(heat.shape), np.float32)
    return Attribution(heat_np, target, score, prob, method, used_layer, empty)


def saliency(model: nn.Module, x: torch.Tensor, target: int | None = None) -> Attribution:
    """|d score / d input|, the maximum over colour channels (Simonyan et al. 2014)."""
    return attribute(model, x, "saliency", target)


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str | None = None, target: int | None = None) -> Attribution:
    """Grad-CAM (Selvaraju et al. 2017): the layer's maps weighted by their mean gradient, ReLU, upsampled."""
    return attribute(model, x, "grad-cam", target, layer)


def overlay(image: np.ndarray, heat: np.ndarray, cmap: str = "jet", alpha: float = 0.45) -> np.ndarray:
    """An (H, W, 3) uint8 blend of an input image (floats in [0, 1], grey or RGB) and a heat map."""
    from dlstudio_inspector.activations import colorize

    base = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    colour = colorize(heat, cmap).astype(np.float32) / 255.0
    blend = ((1 - alpha) * base + alpha * colour).clip(0, 1)
    return (blend * 255).round().astype(np.uint8)
