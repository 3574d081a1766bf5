"""What every image source shares: preprocessing and augmentation (their parameters are in ``params``),
holdout and k-fold splits, normalisation, and turning images into datasets (whole tensors when they fit in
memory, so the engine can slice batches at once; per-sample transforms through a DataLoader otherwise, e.g.
with augmentation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch.utils.data import Dataset, TensorDataset
from torchvision.transforms import v2

from dlstudio.contract import DataBundle, DataInfo
from dlstudio_images.data.params import AUGMENT_KEYS, IMAGENET_MEAN, IMAGENET_STD

#: Above this many bytes (as float32) a split is transformed per sample instead of held as one tensor.
IN_MEMORY_LIMIT = 1 << 30
#: Training images used to compute normalisation statistics.
STATS_SAMPLES = 2000


@dataclass
class Images:
    """The images of one split: a uint8 tensor ``[N, C, H, W]`` or a list of files, with integer labels."""

    labels: torch.Tensor
    tensor: torch.Tensor | None = None
    paths: list[str] | None = None
    #: PIL mode files are decoded to ("RGB" or "L").
    mode: str = "RGB"

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def channels(self) -> int:
        if self.tensor is not None:
            return int(self.tensor.shape[1])
        return 1 if self.mode == "L" else 3

    def subset(self, index: Sequence[int] | torch.Tensor) -> Images:
        index = torch.as_tensor(index, dtype=torch.long)
        if self.tensor is not None:
            return Images(self.labels[index], tensor=self.tensor[index], mode=self.mode)
        assert self.paths is not None
        return Images(self.labels[index], paths=[self.paths[i] for i in index.tolist()], mode=self.mode)

    def concat(self, other: Images) -> Images:
        labels = torch.cat([self.labels, other.labels])
        if self.tensor is not None and other.tensor is not None:
            return Images(labels, tensor=torch.cat([self.tensor, other.tensor]), mode=self.mode)
        if self.paths is not None and other.paths is not None:
            return Images(labels, paths=self.paths + other.paths, mode=self.mode)
        raise ValueError("cannot pool in-memory images with images on disk")

    def image(self, i: int) -> torch.Tensor:
        """Image ``i`` as a uint8 ``[C, H, W]`` tensor."""
        if self.tensor is not None:
            return self.tensor[i]
        from PIL import Image

        assert self.paths is not None
        with Image.open(self.paths[i]) as img:
            return v2.functional.pil_to_tensor(img.convert(self.mode))


@dataclass
class Pipeline:
    """Preprocessing (deterministic) and augmentation (random, training only) of one dataset."""

    size: int
    channels: int
    resize: str = "resize"
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    normalize: str = "none"
    hflip: bool = False
    rotation: float = 0.0
    color_jitter: float = 0.0
    random_resized_crop: bool = False

    @property
    def augmenting(self) -> bool:
        return bool(self.hflip or self.rotation or self.color_jitter or self.random_resized_crop)

    def without_augmentation(self) -> Pipeline:
        return replace(self, hflip=False, rotation=0.0, color_jitter=0.0, random_resized_crop=False)

    def _head(self) -> list[v2.Transform]:
        return [v2.RGB()] if self.channels == 3 else [v2.Grayscale(1)]

    def geometry(self) -> list[v2.Transform]:
        if self.resize == "resize_crop":
            return [v2.Resize(self.size, antialias=True), v2.CenterCrop(self.size)]
        return [v2.Resize((self.size, self.size), antialias=True)]

    def _tail(self) -> list[v2.Transform]:
        tail: list[v2.Transform] = [v2.ToDtype(torch.float32, scale=True)]
        if self.mean:
            tail.append(v2.Normalize(self.mean, self.std))
        return tail

    def unnormalized(self) -> v2.Compose:
        """uint8 image → float image in [0, 1] at the model's size (for statistics and display)."""
        return v2.Compose(self._head() + self.geometry() + [v2.ToDtype(torch.float32, scale=True)])

    def eval_transform(self) -> v2.Compose:
        return v2.Compose(self._head() + self.geometry() + self._tail())

    def augmentation(self) -> list[v2.Transform]:
        steps: list[v2.Transform] = []
        if self.random_resized_crop:
            steps.append(v2.RandomResizedCrop(self.size, antialias=True))
        if self.hflip:
            steps.append(v2.RandomHorizontalFlip())
        if self.rotation:
            steps.append(v2.RandomRotation(self.rotation))
        if self.color_jitter:
            j = self.color_jitter
            steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(0.5, j / 4)))
        return steps

    def train_transform(self) -> v2.Compose:
        if not self.augmenting:
            return self.eval_transform()
        geometry = [] if self.random_resized_crop else self.geometry()
        return v2.Compose(self._head() + geometry + self.augmentation() + self._tail())

    def describe(self) -> dict[str, Any]:
        """What a model needs to preprocess a new image the same way (stored in the checkpoint's sidecar)."""
        return {"size": [self.size, self.size], "channels": self.channels, "resize": self.resize,
                "normalize": self.normalize, "mean": list(self.mean), "std": list(self.std)}


def is_augmenting(params: Mapping[str, Any]) -> bool:
    return any(params.get(k) for k in AUGMENT_KEYS)


def make_pipeline(params: Mapping[str, Any], native_channels: int) -> Pipeline:
    """The pipeline the parameters describe; normalisation statistics are filled in by :func:`build_bundle`."""
    size = int(params["size"])
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    channels = int(params["channels"]) or native_channels
    mode = params["normalize"]
    mean, std = [], []
    if mode == "imagenet":
        if channels != 3:
            raise ValueError("ImageNet normalisation needs 3-channel images: set channels to 3")
        mean, std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    elif mode == "custom":
        mean, std = [float(v) for v in params["mean"]], [float(v) for v in params["std"]]
        if len(mean) != channels or len(std) != channels:
            raise ValueError(f"custom normalisation needs {channels} mean and std values (one per channel), "
                             f"got mean {mean} and std {std}")
        if any(s <= 0 for s in std):
            raise ValueError(f"std values must be positive, got {std}")
    if float(params["rotation"]) < 0 or float(params["color_jitter"]) < 0:
        raise ValueError("rotation and color_jitter must not be negative")
    return Pipeline(size=size, channels=channels, resize=params["resize"], mean=mean, std=std, normalize=mode,
                    hflip=bool(params["hflip"]), rotation=float(params["rotation"]),
                    color_jitter=float(params["color_jitter"]),
                    random_resized_crop=bool(params["random_resized_crop"]))


# -- splits ----------------------------------------------------------------------------------------


def split_indices(labels: torch.Tensor, *, holdout: float, folds: int, fold: int,
                  seed: int) -> tuple[list[int], list[int]]:
    """Stratified, seeded train/valid indices: a holdout fraction, or fold ``fold`` of ``folds``."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, train_test_split

    y = labels.numpy()
    smallest = int(np.bincount(y).min()) if len(y) else 0
    if folds:
        if folds < 2:
            raise ValueError(f"folds must be 0 (a holdout split) or at least 2, got {folds}")
        if not 0 <= fold < folds:
            raise ValueError(f"fold must be between 0 and {folds - 1} for {folds} folds, got {fold}")
        if smallest < folds:
            raise ValueError(f"{folds}-fold cross-validation needs at least {folds} images per class; "
                             f"the smallest class has {smallest}")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        train_idx, valid_idx = list(splitter.split(np.zeros(len(y)), y))[fold]
        return train_idx.tolist(), valid_idx.tolist()
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be a fraction between 0 and 1, got {holdout}")
    if smallest < 2:
        raise ValueError("a class has only one image: a stratified holdout split needs at least 2 per class")
    n_classes = len(set(y.tolist()))
    n_valid = max(n_classes, round(holdout * len(y)))
    if len(y) - n_valid < n_classes:
        raise ValueError(f"holdout {holdout} leaves too few training images for {n_classes} classes")
    train_idx, valid_idx = train_test_split(np.arange(len(y)), test_size=n_valid, stratify=y, random_state=seed)
    return sorted(train_idx.tolist()), sorted(valid_idx.tolist())


def split(train: Images, valid: Images | None, params: Mapping[str, Any],
          seed: int) -> tuple[Images, Images]:
    """Apply the split parameters: k-fold pools everything; holdout splits a source without a valid split."""
    folds = int(params.get("folds", 0))
    if not folds and valid is not None:
        return train, valid
    pool = train if valid is None else train.concat(valid)
    train_idx, valid_idx = split_indices(pool.labels, holdout=float(params.get("holdout", 0.2)), folds=folds,
                                         fold=int(params.get("fold", 0)), seed=seed)
    return pool.subset(train_idx), pool.subset(valid_idx)


def check_classes(classes: Sequence[str], train: Images, valid: Images | None) -> None:
    """Refuse data a classifier cannot learn from, naming the class at fault."""
    if len(classes) < 2:
        found = f" (found only {classes[0]!r})" if classes else ""
        raise ValueError(f"a classifier needs at least two classes{found}")
    for split_name, images in (("training", train), ("validation", valid)):
        if images is None:
            continue
        counts = torch.bincount(images.labels, minlength=len(classes))
        empty = [classes[i] for i in range(len(classes)) if counts[i] == 0]
        if empty:
            raise ValueError(f"class {empty[0]!r} has no {split_name} images"
                             + (f" (nor do {', '.join(map(repr, empty[1:]))})" if len(empty) > 1 else ""))


def sample(images: Images, n: int, seed: int) -> Images:
    """A seeded random subset of at most ``n`` images (all when ``n`` is 0)."""
    if not n or n >= len(images):
        return images
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images.subset(order.sort().values)


def limit(images: Images, n: int, seed: int) -> Images:
    """A seeded subset of at most ``n`` images keeping the classes' proportions (all when ``n`` is 0)."""
    if not n or n >= len(images):
        return images
    from sklearn.model_selection import train_test_split

    try:
        keep, _ = train_test_split(list(range(len(images))), train_size=n, stratify=images.labels.numpy(),
                                   random_state=seed)
    except ValueError:  # classes too small to stratify: a plain random subset
        return sample(images, n, seed)
    return images.subset(sorted(keep))


# -- datasets ----------------------------------------------------------------------------------------


class TransformedImages(Dataset):
    """Images transformed one at a time (random augmentation, or too large to hold as one tensor)."""

    def __init__(self, images: Images, transform: v2.Transform) -> None:
        self.images = images
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.images.image(i)), self.images.labels[i]


def transform_all(images: Images, transform: v2.Transform, chunk: int = 512) -> torch.Tensor:
    """A deterministic transform applied to an in-memory split, a chunk of images at a time."""
    assert images.tensor is not None
    parts = [transform(images.tensor[i : i + chunk]) for i in range(0, len(images), chunk)]
    return torch.cat(parts).contiguous()


def compute_stats(images: Images, pipeline: Pipeline, seed: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of (up to :data:`STATS_SAMPLES`) training images at the model's size."""
    subset = sample(images, STATS_SAMPLES, seed)
    prep = pipeline.unnormalized()
    if subset.tensor is not None:
        x = transform_all(subset, prep)
    else:
        x = torch.stack([prep(subset.image(i)) for i in range(len(subset))])
    x = x.transpose(0, 1).reshape(x.shape[1], -1).double()
    mean = x.mean(1)
    std = x.std(1).clamp_min(1e-3)
    return [round(float(v), 4) for v in mean], [round(float(v), 4) for v in std]


def _fits(images: Images, pipeline: Pipeline) -> bool:
    return images.tensor is not None and len(images) * pipeline.channels * pipeline.size**2 * 4 <= IN_MEMORY_LIMIT


def make_dataset(images: Images, pipeline: Pipeline, train: bool) -> Dataset:
    if (not train or not pipeline.augmenting) and _fits(images, pipeline):
        return TensorDataset(transform_all(images, pipeline.eval_transform()), images.labels.clone())
    return TransformedImages(images, pipeline.train_transform() if train else pipeline.eval_transform())


@dataclass
class Prepared:
    """A source's images after splitting, with the pipeline that turns them into model inputs."""

    train: Images
    valid: Images
    classes: tuple[str, ...]
    pipeline: Pipeline
    messages: list[str] = field(default_factory=list)
    #: Anything a source wants in ``DataInfo.extra`` besides the preprocessing.
    extra: dict[str, Any] = field(default_factory=dict)


def prepare_images(train: Images, valid: Images | None, classes: Sequence[str], params: Mapping[str, Any],
            seed: int, messages: list[str] | None = None) -> Prepared:
    """Split, check the classes, and settle the pipeline (computing normalisation statistics if asked)."""
    classes = tuple(classes)
    check_classes(classes, train, valid)
    train, valid = split(train, valid, params, seed)
    check_classes(classes, train, valid)
    pipeline = make_pipeline(params, train.channels)
    messages = list(messages or [])
    if pipeline.normalize == "computed":
        pipeline.mean, pipeline.std = compute_stats(train, pipeline, seed)
        messages.append(f"normalisation computed from the training set: mean {pipeline.mean}, std {pipeline.std}")
    elif pipeline.mean:
        messages.append(f"normalisation ({pipeline.normalize}): mean {pipeline.mean}, std {pipeline.std}")
    folds = int(params.get("folds", 0))
    if folds:
        messages.append(f"cross-validation: fold {int(params['fold']) + 1} of {folds} held out "
                        f"({len(train)} training, {len(valid)} validation images)")
    return Prepared(train, valid, classes, pipeline, messages)


def build_bundle(prepared: Prepared) -> DataBundle:
    p = prepared.pipeline
    info = DataInfo(input_shape=(p.channels, p.size, p.size), classes=prepared.classes, input_kind="image",
                    extra={**p.describe(), **prepared.extra})
    train = make_dataset(prepared.train, p, train=True)
    valid = make_dataset(prepared.valid, p, train=False)
    return DataBundle(train, valid, info, list(prepared.messages))


def to_display(x: torch.Tensor, extra: Mapping[str, Any]) -> torch.Tensor:
    """A normalised model input ``[C, H, W]`` back to a displayable uint8 ``[H, W, C]`` image."""
    x = x.detach().float().cpu()
    mean, std = extra.get("mean") or [], extra.get("std") or []
    if mean:
        x = x * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous()
