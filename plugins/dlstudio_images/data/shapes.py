"""A generated colour dataset: shapes of several classes at random position, size, colour and background.

The offline stand-in for dogs-vs-cats: colour images of a chosen size, N per class, the same for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from dlstudio.contract import DataBundle, LoadContext
from dlstudio_images.data.common import Images, Prepared, build_bundle, prepare_images
from dlstudio_images.data.params import SHAPES

#: Drawn at this multiple of the final size, then downsampled, for smooth edges.
SUPERSAMPLE = 2


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if kind == "square":
        corners, radii = 4, [r]
    elif kind == "triangle":
        corners, radii = 3, [r]
    else:  # star
        corners, radii = 10, [r, r * 0.45]
    pts = []
    for i in range(corners):
        a = angle + 2 * math.pi * i / corners
        rad = radii[i % len(radii)]
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def _colours(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    while True:
        bg, fg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        if np.abs(bg.astype(int) - fg.astype(int)).sum() > 180:
            return tuple(int(v) for v in bg), tuple(int(v) for v in fg)


def draw(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``size``×``size`` RGB image of ``kind`` as a uint8 array."""
    from PIL import Image, ImageDraw

    big = size * SUPERSAMPLE
    bg, fg = _colours(rng)
    img = Image.new("RGB", (big, big), bg)
    pen = ImageDraw.Draw(img)
    r = big * rng.uniform(0.2, 0.4)
    cx, cy = rng.uniform(r, big - r, 2)
    angle = rng.uniform(0, 2 * math.pi)
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == "circle":
        pen.ellipse(box, fill=fg)
    elif kind == "ring":
        pen.ellipse(box, outline=fg, width=max(2, int(r * 0.3)))
    elif kind == "cross":
        w = r * 0.35
        for dx, dy in ((r, w), (w, r)):
            corners = [(-dx, -dy), (dx, -dy), (dx, dy), (-dx, dy)]
            ca, sa = math.cos(angle), math.sin(angle)
            pen.polygon([(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in corners], fill=fg)
    else:
        pen.polygon(_polygon(kind, cx, cy, r, angle), fill=fg)
    return np.asarray(img.resize((size, size), Image.Resampling.LANCZOS))


def shape_images(per_class: int, num_classes: int, size: int, seed: int) -> tuple[Images, tuple[str, ...]]:
    if per_class < 2:
        raise ValueError(f"per_class must be at least 2, got {per_class}")
    if not 2 <= num_classes <= len(SHAPES):
        raise ValueError(f"num_classes must be between 2 and {len(SHAPES)}, got {num_classes}")
    rng = np.random.default_rng(seed)
    classes = SHAPES[:num_classes]
    pixels = np.stack([draw(kind, size, rng) for kind in classes for _ in range(per_class)])
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    return Images(labels, tensor=torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()), classes


def prepare(params: Mapping[str, Any], ctx: LoadContext) -> Prepared:
    images, classes = shape_images(int(params["per_class"]), int(params["num_classes"]), int(params["size"]),
                                   ctx.seed)
    return prepare_images(images, None, classes, params, ctx.seed)


def load(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    return build_bundle(prepare(params, ctx))
