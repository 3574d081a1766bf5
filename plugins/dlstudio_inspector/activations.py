"""Activations: what a layer outputs for an input, as a paged grid of feature maps with per-map stats.

Outputs are captured with forward hooks that are always removed, and cloned at once: torchvision's
in-place ReLU would otherwise overwrite a conv/BN output (the "before ReLU" view) after the hook ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio_inspector.common import InspectorError, first_tensor, forward_hooks, module_named

#: Colour maps as a few anchor colours, interpolated into 256-entry lookup tables.
_ANCHORS = {
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "magma": [(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)],
    "inferno": [(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164)],
    "gray": [(0, 0, 0), (255, 255, 255)],
    "coolwarm": [(59, 76, 192), (141, 176, 254), (221, 221, 221), (244, 154, 123), (180, 4, 38)],
    "jet": [(0, 0, 131), (0, 60, 170), (5, 255, 255), (255, 255, 0), (250, 0, 0), (128, 0, 0)],
}
COLORMAPS = tuple(_ANCHORS)


def lut(name: str) -> np.ndarray:
    """A (256, 3) uint8 lookup table."""
    if name not in _ANCHORS:
        raise InspectorError(f"no colour map {name!r}; choose one of {', '.join(COLORMAPS)}")
    anchors = np.asarray(_ANCHORS[name], dtype=np.float32)
    where = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, where, anchors[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


_LUTS: dict[str, np.ndarray] = {}


def colorize(values: np.ndarray, cmap: str = "viridis", background: tuple[int, int, int] = (40, 40, 40)
             ) -> np.ndarray:
    """Floats in [0, 1] (NaN = background) → an (H, W, 3) uint8 RGB image."""
    table = _LUTS.get(cmap)
    if table is None:
        table = _LUTS[cmap] = lut(cmap)
    nan = np.isnan(values)
    idx = (np.nan_to_num(values, nan=0.0) * 255).clip(0, 255).astype(np.uint8)
    rgb = table[idx]
    if nan.any():
        rgb[nan] = background
    return rgb


class _Reached(Exception):
    """Raised by a hook once everything asked for has been captured: the rest of the forward is skipped."""


def capture(model: nn.Module, x: torch.Tensor, layers: list[str], *, calls: int | None = None
            ) -> dict[str, list[Any]]:
    """Each layer's output (every call, detached, cloned, on the CPU) for input ``x``; hooks removed after.

    With ``calls``, the forward pass stops as soon as every layer has been called that many times (the
    layers after it do not run: faster, and only the layers up to the last one asked for need to work).
    """
    if isinstance(model, torch.jit.ScriptModule):
        raise InspectorError("activations need forward hooks, which TorchScript models do not support; "
                             "open the model from its checkpoint or registered architecture instead")
    modules = [(name, module_named(model, name)) for name in layers]
    out: dict[str, list[Any]] = {name: [] for name in layers}

    def keep(name: str, _module: nn.Module, _inputs: Any, output: Any) -> None:
        out[name].append(_detach(output))
        if calls is not None and all(len(v) >= calls for v in out.values()):
            raise _Reached

    from dlstudio_inspector.inputs import run_forward

    with forward_hooks(modules, keep):
        try:
            run_forward(model, x)
        except _Reached:
            pass
    return out


def _detach(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_detach(o) for o in obj) if isinstance(obj, tuple) else [_detach(o) for o in obj]
    return obj


def layer_choices(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Layers worth stepping through, in execution order: leaf modules that output a tensor."""
    from dlstudio_inspector.summary import summarize

    summary = summarize(model, x, flops=False)
    return [n for n in summary.execution_order() if n and summary.row(n).leaf]


def as_maps(output: Any, sample: int = 0, batch: int | None = None) -> np.ndarray:
    """One sample's activation as maps (C, H, W).

    (N, C, H, W) → C maps; (N, C, L) (Conv1d, or sequences) → one C×L map; (N, F) → one 1×F strip.
    Given the input's ``batch`` size, a sequence-first output (L, N, F) — an LSTM's — is turned batch-first.
    """
    t = first_tensor(output)
    if t is None:
        raise InspectorError("this layer's output holds no tensor to show")
    t = t.float()
    if batch is not None and t.dim() >= 2 and t.shape[0] != batch and t.shape[1] == batch:
        t = t.transpose(0, 1)
    if t.dim() == 0:
        return t.reshape(1, 1, 1).numpy()
    if t.dim() == 1:
        return t.reshape(1, 1, -1).numpy()
    s = min(sample, t.shape[0] - 1)
    if t.dim() == 2:
        return t[s].reshape(1, 1, -1).numpy()
    if t.dim() == 3:
        return t[s][None].numpy()
    if t.dim() == 4:
        return t[s].numpy()
    return t[s].reshape(t.shape[1], t.shape[2], -1).numpy()  # (C, D, H, W): depth and width side by side


@dataclass
class MapStats:
    index: int
    min: float
    max: float
    mean: float
    std: float
    #: Fraction of exactly-zero values (dead after a ReLU).
    zeros: float


@dataclass
class Grid:
    #: Floats in [0, 1], NaN between cells; colourise with :func:`colorize`.
    values: np.ndarray
    #: (map index, x, y, w, h) of each cell in ``values``.
    cells: list[tuple[int, int, int, int, int]]
    stats: list[MapStats]
    page: int
    pages: int
    total: int


def map_stats(maps: np.ndarray, indices: range | list[int]) -> list[MapStats]:
    out = []
    for i in indices:
        m = maps[i]
        out.append(MapStats(i, float(m.min()), float(m.max()), float(m.mean()), float(m.std()),
                            float((m == 0).mean())))
    return out


def grid(maps: np.ndarray, page: int = 0, per_page: int = 64, columns: int | None = None, pad: int = 2,
         scale: str = "each", relu: bool = False) -> Grid:
    """A page of maps laid out in a grid; only that page is computed (hundreds of channels stay fast).

    ``scale``: "each" stretches every map to its own range, "shared" uses the page's range (compare maps).
    ``relu``: show the maps after a ReLU (negative values clipped).
    """
    total = maps.shape[0]
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 0), pages - 1)
    chosen = maps[page * per_page: (page + 1) * per_page]
    if relu:
        chosen = np.maximum(chosen, 0)
    n, h, w = chosen.shape
    cols = columns or max(1, math.ceil(math.sqrt(n * h / max(w, 1))))
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    values = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan, dtype=np.float32)
    if scale == "shared":
        lo = np.full((n, 1, 1), chosen.min(), dtype=np.float32)
        hi = np.full((n, 1, 1), chosen.max(), dtype=np.float32)
    else:
        flat = chosen.reshape(n, -1)
        lo, hi = flat.min(axis=1)[:, None, None], flat.max(axis=1)[:, None, None]
    normed = (chosen - lo) / np.maximum(hi - lo, 1e-12)
    cells = []
    for k in range(n):
        r, c = divmod(k, cols)
        y, x = r * (h + pad), c * (w + pad)
        values[y:y + h, x:x + w] = normed[k]
        cells.append((page * per_page + k, x, y, w, h))
    stats = map_stats(chosen, range(n))
    for s, k in zip(stats, range(n)):
        s.index = page * per_page + k
    return Grid(values, cells, stats, page, pages, total)


def layer_grid(model: nn.Module, x: torch.Tensor, layer: str, *, call: int = 0, page: int = 0,
               per_page: int = 64, relu: bool = False, scale: str = "each") -> Grid:
    """Capture ``layer`` for ``x`` and lay its maps out (the Activations view in one call)."""
    outputs = capture(model, x, [layer], calls=call + 1)[layer]
    if not outputs:
        raise InspectorError(f"layer {layer!r} was not called by the forward pass")
    maps = as_maps(outputs[min(call, len(outputs) - 1)], batch=x.shape[0])
    return grid(maps, page, per_page, relu=relu, scale=scale)


@dataclass
class Histogram:
    """The distribution of one layer's activations over a batch of inputs (TensorBoard's histograms)."""

    counts: np.ndarray
    #: ``len(counts) + 1`` bin edges.
    edges: np.ndarray
    #: Share of values that are exactly zero (units a ReLU switched off).
    zeros: float
    #: Channels (dimension 1) that are zero for every sample and position: dead for this batch.
    dead: int
    channels: int
    values: int
    samples: int
    min: float
    max: float
    mean: float
    std: float


def histogram(output: Any, *, bins: int = 60, relu: bool = False, batch: int | None = None) -> Histogram:
    """Histogram of a captured output over the whole batch; exact zeros are counted apart and stated."""
    t = first_tensor(output)
    if t is None:
        raise InspectorError("this layer's output holds no tensor to show")
    t = t.detach().float().cpu()
    if batch is not None and t.dim() >= 2 and t.shape[0] != batch and t.shape[1] == batch:
        t = t.transpose(0, 1)  # sequence-first (an LSTM's) → batch-first
    if relu:
        t = t.clamp_min(0)
    if t.numel() == 0:
        raise InspectorError("this layer's output is empty")
    if not torch.isfinite(t).all():
        raise InspectorError("this layer's output holds NaN or infinite values: no histogram can be drawn")
    values = t.reshape(-1).numpy()
    lo, hi = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=max(1, bins), range=(lo, hi) if hi > lo else (lo - 0.5, hi + 0.5))
    if t.dim() >= 2:
        per_channel = t.transpose(0, 1).reshape(t.shape[1], -1)
        dead, channels = int((per_channel == 0).all(dim=1).sum()), int(t.shape[1])
    else:
        dead, channels = int((t == 0).all()), 1
    return Histogram(counts, edges, float((values == 0).mean()), dead, channels, values.size,
                     int(t.shape[0]) if t.dim() >= 2 else 1, lo, hi, float(values.mean()), float(values.std()))


def layer_histogram(model: nn.Module, x: torch.Tensor, layer: str, *, call: int = 0, bins: int = 60,
                    relu: bool = False) -> Histogram:
    """Capture ``layer`` for a batch ``x`` (N, ...) and histogram its activations."""
    outputs = capture(model, x, [layer], calls=call + 1)[layer]
    if not outputs:
        raise InspectorError(f"layer {layer!r} was not called by the forward pass")
    return histogram(outputs[min(call, len(outputs) - 1)], bins=bins, relu=relu, batch=x.shape[0])


def dataset_batch(bundle: Any, count: int, expected: tuple[int, ...] | None = None, split: str = "valid"
                  ) -> torch.Tensor:
    """The first ``count`` samples of a dataset split, stacked into one batch (N, ...)."""
    from dlstudio_inspector.samples import sample_at

    dataset = bundle.valid if split == "valid" and bundle.valid is not None and len(bundle.valid) else bundle.train
    if len(dataset) == 0:
        raise InspectorError("the dataset is empty")
    n = min(max(1, count), len(dataset))
    return torch.cat([sample_at(bundle, i, split, expected).x for i in range(n)])
