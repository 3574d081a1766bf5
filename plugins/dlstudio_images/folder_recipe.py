"""A new image classifier from a folder (Teachable Machine's zero-setting start): look at a folder of class
folders — classes, counts, image sizes, channels — and choose a run for it, each choice with its reason in
one line. No Qt, and no torch for the look (image headers only; the run's loader decodes every file and
reports the unreadable ones)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: File names the survey looks at (Pillow opens more; these are what people put in class folders).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
#: Headers read per class to learn sizes and colours (a large folder is surveyed in a second).
SAMPLED = 200
#: Fewer images per class than this: learn from a pretrained network if its weights are here.
FEW_PER_CLASS = 500
#: The pretrained network offered for few images: small and quick on a CPU.
PRETRAINED = "mobilenet_v3_small"
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


@dataclass
class FolderSurvey:
    root: Path
    #: The folder holding the class folders for training, and the validation one when the folder has it.
    train_dir: Path
    valid_dir: Path | None
    counts: dict[str, int]
    #: (width, height) of the sampled images that could be read, and how many could not.
    sizes: list[tuple[int, int]] = field(default_factory=list)
    grey: bool = False
    unreadable: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def median_side(self) -> int:
        return int(statistics.median(min(w, h) for w, h in self.sizes)) if self.sizes else 0


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def survey(root: str | Path) -> FolderSurvey:
    """What is in ``root``; a ValueError saying what is wrong with a folder a classifier cannot learn from."""
    from PIL import Image

    root = Path(str(root)).expanduser()
    if not str(root).strip() or not root.is_dir():
        raise ValueError(f"{root} is not a folder: drop (or Browse… to) a folder holding one folder per class")
    train_dir = next((root / n for n in ("train",) if (root / n).is_dir()), root)
    valid_dir = next((root / n for n in ("valid", "val", "validation") if (root / n).is_dir()), None)
    classes = _class_dirs(train_dir)
    if not classes:
        raise ValueError(f"{root} has no class folders: put each class's images in a folder of its own, "
                         f"{root}/<class name>/…")
    if len(classes) < 2:
        raise ValueError(f"{root} has only one class folder ({classes[0].name}): a classifier needs at least two")
    out = FolderSurvey(root, train_dir, valid_dir, {})
    modes: set[str] = set()
    for folder in classes:
        files = _images(folder)
        readable = 0
        for path in files[:SAMPLED]:
            try:
                with Image.open(path) as img:
                    out.sizes.append(img.size)
                    modes.add(img.mode)
                    readable += 1
            except Exception:  # Pillow raises many kinds on a broken file: the point is to count it
                out.unreadable += 1
        if not files or (readable == 0 and len(files) <= SAMPLED):
            why = "no image files" if not files else f"{len(files)} files, none readable as an image"
            raise ValueError(f"class folder {folder.name!r} has {why}: every class needs images "
                             f"({', '.join(sorted(IMAGE_SUFFIXES))})")
        out.counts[folder.name] = len(files)
    out.grey = bool(modes) and modes <= GREY_MODES
    return out


@dataclass
class FolderRecipe:
    """The run chosen for a folder (a spec dict) and why, one line per choice."""

    spec: dict[str, Any]
    reasons: list[str]


def _pretrained_weights_here() -> tuple[bool, str]:
    """Whether the pretrained network's ImageNet weights are on this machine, and where they would go."""
    from dlstudio_images.models.params import ARCHS
    from dlstudio_images.models.torchvision_models import imagenet_file

    _, path = imagenet_file(ARCHS[PRETRAINED])
    return path.exists(), str(path)


def choose_recipe(found: FolderSurvey,
                  weights_here: Callable[[], tuple[bool, str]] = _pretrained_weights_here) -> FolderRecipe:
    """A sensible first run for ``found``: transfer learning for few images when the weights are here (they
    cannot be downloaded offline, and the reason says so), else a small CNN from scratch."""
    per_class = min(found.counts.values())
    side = found.median_side()
    reasons = [f"Data: {len(found.counts)} classes ({', '.join(f'{k} {v}' for k, v in found.counts.items())}), "
               f"images about {side} px on their shorter side" + (", greyscale" if found.grey else ", colour")
               + (f"; {found.unreadable} unreadable files will be skipped" if found.unreadable else "")]
    data: dict[str, Any] = {"root": str(found.root), "hflip": True}
    few = per_class < FEW_PER_CLASS
    available, where = weights_here() if few else (False, "")
    if few and available:
        size = max(64, min(224, side // 32 * 32))
        model = {"id": f"images.{PRETRAINED}", "params": {"weights": "imagenet", "freeze": "backbone"}}
        data.update(size=size, channels=3, normalize="imagenet")
        train = {"epochs": 8, "optimizer": "adam", "lr": 0.001}
        reasons.append(f"Model: MobileNet-V3 small pretrained on ImageNet, its backbone frozen — {per_class} images "
                       "in the smallest class are few, and a pretrained network learns from few")
    else:
        size = 32 if side <= 48 else 64
        model = {"id": "images.mnist_net", "params": {"dropout": 0.25}}
        data.update(size=size, channels=1 if found.grey else 3, normalize="computed")
        train = {"epochs": 15, "optimizer": "adam", "lr": 0.001}
        if few:
            reasons.append(f"Model: the book's small CNN from scratch — pretrained weights would suit {per_class} "
                           f"images per class, but they are not on this machine and cannot be downloaded offline "
                           f"(put torchvision's file at {where} to use them)")
        else:
            reasons.append(f"Model: the book's small CNN from scratch — {per_class}+ images per class are enough "
                           "to learn from, and it trains quickly on a CPU")
    reasons.append(f"Input: {size}×{size} px, {'greyscale' if data['channels'] == 1 else 'colour'}"
                   + (", ImageNet's normalisation (as the network was trained)" if data["normalize"] == "imagenet"
                      else ", normalised by the training images' mean and spread"))
    if found.valid_dir is not None:
        reasons.append(f"Validation: the folder's own {found.valid_dir.name}/ images")
    else:
        data["holdout"] = 0.2
        noisy = " (few images: its accuracy will be noisy)" if per_class < 25 else ""
        reasons.append(f"Validation: 20 % of each class held out, stratified and seeded{noisy}")
    reasons.append("Augmentation: random horizontal flips — switch them off on the Data page if left and right "
                   "matter (text, arrows)")
    batch = 32 if found.total >= 160 else 16
    train.update(batch_size=batch)
    reasons.append(f"Training: {train['epochs']} epochs of Adam (learning rate 0.001), batches of {batch}; "
                   "the best validation epoch's weights are kept")
    spec = {"run": {"name": f"{found.root.name} classifier"}, "model": model,
            "data": {"id": "images.folder", "params": data}, "train": train}
    return FolderRecipe(spec, reasons)


def recipe_for_folder(root: str | Path) -> FolderRecipe:
    """Survey ``root`` and choose its run (raises ValueError for a folder a classifier cannot learn from)."""
    return choose_recipe(survey(root))
