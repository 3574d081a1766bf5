"""The dataset: two interleaved spirals of 2-D points, generated from a seed (no download, no files)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from dlstudio.contract import DataBundle, DataInfo, LoadContext
from torch.utils.data import TensorDataset

CLASSES = ("arm A", "arm B")


def make_spirals(samples: int, noise: float, turns: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``samples`` points (float32, shape (n, 2), within about [-1, 1]) and their arm (int64, 0 or 1)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(samples) % 2
    # sqrt spreads the points evenly along the arm instead of crowding them at the centre
    t = torch.rand(samples, generator=g).sqrt() * turns * 2 * math.pi
    angle = t + math.pi * labels
    radius = t / (turns * 2 * math.pi)
    points = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    points += noise * torch.randn(samples, 2, generator=g)
    return points.float(), labels


def load_spirals(params: Mapping[str, Any], context: LoadContext) -> DataBundle:
    """``DatasetSpec.load``: the points of the run's seed, shuffled and split into train and valid."""
    x, y = make_spirals(params["samples"], params["noise"], params["turns"], context.seed)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(context.seed))
    x, y = x[order], y[order]
    cut = len(x) - int(len(x) * params["valid_fraction"])
    valid = TensorDataset(x[cut:], y[cut:]) if cut < len(x) else None  # None: the run has no validation phase
    info = DataInfo(input_shape=(2,), classes=CLASSES, input_kind="points")
    return DataBundle(TensorDataset(x[:cut], y[:cut]), valid, info,
                      messages=[f"{cut} training and {len(x) - cut} validation points"])
