"""What the Data page shows, computed without Qt: sample images per class, class counts, the same samples
after the chosen augmentation, and the normalisation in use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.contract import LoadContext
from dlstudio_images.data.common import Prepared, to_display


@dataclass
class Preview:
    classes: tuple[str, ...]
    #: Per class, up to n images as uint8 ``[H, W, C]`` arrays at the model's size (not augmented).
    samples: dict[str, list[np.ndarray]]
    train_counts: list[int]
    valid_counts: list[int]
    mean: list[float]
    std: list[float]
    normalize: str
    messages: list[str] = field(default_factory=list)
    augmenting: bool = False
    #: The raw samples, kept to augment them again ("regenerate").
    raw: dict[str, list[torch.Tensor]] = field(default_factory=dict, repr=False)
    prepared: Prepared | None = field(default=None, repr=False)


def prepare_source(studio: Any, data_id: str, params: Mapping[str, Any], seed: int = 0) -> Prepared:
    from dlstudio.spec import check_params
    from dlstudio_images.data.catalog import source

    src = source(data_id)
    merged = check_params("data.params", f"dataset {data_id!r}", params, src.defaults, src.choices)
    return src.prepare(merged, LoadContext(cache_dir=Path(studio.cache_dir) / data_id, seed=seed))


def make_preview(prepared: Prepared, per_class: int = 8, seed: int = 0) -> Preview:
    """Up to ``per_class`` training images of each class (seeded choice), and the class counts."""
    g = torch.Generator().manual_seed(seed)
    labels = prepared.train.labels
    shown = prepared.pipeline.unnormalized()
    raw: dict[str, list[torch.Tensor]] = {}
    samples: dict[str, list[np.ndarray]] = {}
    for k, name in enumerate(prepared.classes):
        idx = torch.nonzero(labels == k).flatten()
        pick = idx[torch.randperm(len(idx), generator=g)[:per_class]].tolist()
        raw[name] = [prepared.train.image(i) for i in pick]
        samples[name] = [to_display(shown(img), {}).numpy() for img in raw[name]]
    p = prepared.pipeline
    return Preview(prepared.classes, samples,
                   torch.bincount(labels, minlength=len(prepared.classes)).tolist(),
                   torch.bincount(prepared.valid.labels, minlength=len(prepared.classes)).tolist(),
                   list(p.mean), list(p.std), p.normalize, list(prepared.messages), p.augmenting, raw, prepared)


def augmented(preview: Preview) -> dict[str, list[np.ndarray]]:
    """The same samples through the training transform (random: call again for new variants)."""
    assert preview.prepared is not None
    transform = preview.prepared.pipeline.train_transform()
    extra = preview.prepared.pipeline.describe()
    return {name: [to_display(transform(img), extra).numpy() for img in imgs] for name, imgs in preview.raw.items()}
