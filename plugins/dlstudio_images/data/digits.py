"""scikit-learn's bundled digits (1,797 8×8 images): the offline default demo, held as one tensor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from dlstudio.contract import DataBundle, LoadContext
from dlstudio_images.data.common import Images, Prepared, build_bundle, prepare_images


def digit_images() -> tuple[Images, tuple[str, ...]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are 0..16; scale to uint8 like any other image.
    pixels = torch.from_numpy(digits.images).float().mul(255 / 16).round().to(torch.uint8).unsqueeze(1)
    return Images(torch.from_numpy(digits.target).long(), tensor=pixels, mode="L"), tuple(map(str, range(10)))


def prepare(params: Mapping[str, Any], ctx: LoadContext) -> Prepared:
    images, classes = digit_images()
    return prepare_images(images, None, classes, params, ctx.seed)


def load(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    return build_bundle(prepare(params, ctx))
