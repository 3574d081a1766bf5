"""Weights: conv filters as image grids, histograms per layer, and weight norms across a run's epochs."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from dlstudio import runs
from dlstudio.runs import CheckpointError
from dlstudio_inspector.activations import Grid, grid, map_stats
from dlstudio_inspector.common import InspectorError, module_named

if TYPE_CHECKING:
    from dlstudio.studio import Studio


def weight_layers(model: nn.Module) -> list[str]:
    """Layers with their own ``weight`` tensor, in definition order."""
    return [name for name, m in model.named_modules()
            if isinstance(getattr(m, "weight", None), torch.Tensor) and name]


def conv_layers(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, nn.modules.conv._ConvNd)]


@dataclass
class FilterGrid:
    #: (H, W) floats in [0, 1] (NaN between cells) for a colour map, or (H, W, 3) RGB floats for colour filters.
    values: np.ndarray
    rgb: bool
    grid: Grid | None
    layer: str
    shape: tuple[int, ...]
    note: str = ""


def filter_grid(model: nn.Module, layer: str, *, in_channel: int | None = None, page: int = 0,
                per_page: int = 64, pad: int = 1) -> FilterGrid:
    """A conv layer's filters. Three input channels → one colour image per filter (the first layer of an
    RGB model); otherwise one map per filter: input channel ``in_channel``, or the mean over them."""
    module = module_named(model, layer)
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() < 3:
        raise InspectorError(f"layer {layer!r} ({type(module).__name__}) has no convolution filters to draw")
    w = weight.detach().float().cpu()
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        w = w.transpose(0, 1)  # (in, out, k) → (out, in, k)
    if w.dim() == 3:
        w = w[:, :, None, :]  # Conv1d: each filter a 1-pixel-high strip
    if w.dim() == 5:
        w = w[:, :, w.shape[2] // 2]  # Conv3d: the middle depth slice
    shape = tuple(weight.shape)
    if w.shape[1] == 3 and in_channel is None:
        return _rgb_grid(w, layer, shape, page, per_page, pad)
    if in_channel is None:
        maps, note = w.mean(dim=1).numpy(), "mean over input channels"
    else:
        if not 0 <= in_channel < w.shape[1]:
            raise InspectorError(f"layer {layer!r} has {w.shape[1]} input channels; "
                                 f"channel {in_channel} does not exist")
        maps, note = w[:, in_channel].numpy(), f"input channel {in_channel}"
    g = grid(maps, page, per_page, pad=pad, scale="shared")
    return FilterGrid(g.values, False, g, layer, shape, note)


def _rgb_grid(w: torch.Tensor, layer: str, shape: tuple[int, ...], page: int, per_page: int, pad: int) -> FilterGrid:
    total = w.shape[0]
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 0), pages - 1)
    chosen = w[page * per_page: (page + 1) * per_page].numpy()
    n, _, h, wd = chosen.shape
    lim = max(float(np.abs(chosen).max()), 1e-12)
    normed = chosen / (2 * lim) + 0.5  # symmetric around grey: positive bright, negative dark
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    values = np.full((rows * (h + pad) - pad, cols * (wd + pad) - pad, 3), np.nan, dtype=np.float32)
    cells = []
    for k in range(n):
        r, c = divmod(k, cols)
        y, x = r * (h + pad), c * (wd + pad)
        values[y:y + h, x:x + wd] = normed[k].transpose(1, 2, 0)
        cells.append((page * per_page + k, x, y, wd, h))
    stats = map_stats(chosen.reshape(n, 3 * h, wd), range(n))
    for s, k in zip(stats, range(n)):
        s.index = page * per_page + k
    g = Grid(values, cells, stats, page, pages, total)
    return FilterGrid(values, True, g, layer, shape, "colour: the filter's RGB weights, grey = 0")


def rgb_to_uint8(values: np.ndarray, background: tuple[int, int, int] = (40, 40, 40)) -> np.ndarray:
    nan = np.isnan(values).any(axis=-1)
    out = (np.nan_to_num(values, nan=0.0).clip(0, 1) * 255).round().astype(np.uint8)
    out[nan] = background
    return out


@dataclass
class Histogram:
    layer: str
    counts: np.ndarray
    edges: np.ndarray
    mean: float
    std: float
    norm: float
    numel: int


def histogram(model: nn.Module, layer: str, bins: int = 60, tensor: str = "weight") -> Histogram:
    module = module_named(model, layer)
    t = getattr(module, tensor, None)
    if not isinstance(t, torch.Tensor):
        raise InspectorError(f"layer {layer!r} has no {tensor!r} tensor")
    values = t.detach().float().cpu().flatten().numpy()
    counts, edges = np.histogram(values, bins=bins)
    return Histogram(layer, counts, edges, float(values.mean()), float(values.std()),
                     float(np.linalg.norm(values)), values.size)



@dataclass
class NormHistory:
    """Per-layer weight norms at each epoch the run's checkpoints (and earlier refreshes) covered."""

    epochs: list[int]
    norms: dict[str, list[float]]
    notes: list[str] = field(default_factory=list)


def _history_file(studio: Studio, run_id: str) -> Path:
    return studio.cache_dir / "inspector" / f"{run_id}-weight-norms.json"


def weight_norm_history(studio: Studio, run_id: str) -> NormHistory:
    """Norms per layer across the run's epochs.

    Runs record every epoch's norms beside their checkpoints (:func:`dlstudio.runs.weight_norms`).
    Runs from before that keep only their best, last and final checkpoints, so for them each call adds
    the epochs those hold to a small cache, and the history fills in as the run moves on; such a run
    resumed since has both, merged.
    """
    recorded = runs.weight_norms(studio, run_id)  # raises a clear KeyError for an unknown run
    saved = runs.artifacts(studio, run_id)
    if not saved and not recorded:
        raise InspectorError(f"run {run_id} has no checkpoint yet")
    notes: list[str] = []
    seen: dict[str, dict[str, float]] = {}
    if not recorded or min(recorded) > 1:  # a run from before, perhaps resumed since: its early epochs
        seen = _norms_from_checkpoints(studio, run_id, saved, notes)
    seen.update({str(epoch): norms for epoch, norms in recorded.items()})
    epochs = sorted(int(e) for e in seen)
    layers = list(dict.fromkeys(k for e in epochs for k in seen[str(e)]))
    norms = {layer: [seen[str(e)].get(layer, float("nan")) for e in epochs] for layer in layers}
    if len(epochs) < 2:
        notes.append("only one epoch's weights are known so far; more appear as the run moves on")
    return NormHistory(epochs, norms, notes)


def _norms_from_checkpoints(studio: Studio, run_id: str, saved: dict[str, runs.Artifact],
                            notes: list[str]) -> dict[str, dict]:
    cache = _history_file(studio, run_id)
    seen: dict[str, dict[str, float]] = {}
    if cache.exists():
        try:
            seen = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            seen = {}
    for kind, artifact in sorted(saved.items()):
        if artifact.epoch is None or str(artifact.epoch) in seen:
            continue
        try:
            state = runs.load_weights(artifact.path).state
        except CheckpointError as exc:
            notes.append(f"{kind} checkpoint unreadable: {exc}")
            continue
        seen[str(artifact.epoch)] = runs.layer_weight_norms(state)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(seen), encoding="utf-8")
    except OSError as exc:
        notes.append(f"could not cache the history ({exc})")
    return seen
