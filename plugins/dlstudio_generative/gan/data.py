"""The GAN's images: scikit-learn's digits, generated shapes, a folder of pictures and CIFAR-10.

Every loader returns images in [-1, 1] (the generator's Tanh range), shaped (C, S, S), in a
:class:`~dlstudio.contract.DataBundle` whose batches are ``(images, labels)`` (labels -1 where there are none).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from dlstudio.contract import DataBundle, DataInfo, LoadContext

DIGIT_CLASSES = tuple(str(d) for d in range(10))
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
SHAPES = ("circle", "square", "triangle")


def to_unit_range(pixels: torch.Tensor) -> torch.Tensor:
    """8-bit pixels (0..255) as floats in [-1, 1]."""
    return pixels.float().div_(127.5).sub_(1.0)


def _info(channels: int, size: int, classes: tuple[str, ...] = (), **extra: Any) -> DataInfo:
    return DataInfo(input_shape=(channels, size, size), classes=classes, input_kind="image",
                    extra={"value_range": [-1.0, 1.0], **extra})


# -- digits ---------------------------------------------------------------------------------------------
def load_digits(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    """scikit-learn's 1,797 8×8 digits (shipped with it: no download), up-scaled bilinearly to ``size``."""
    from sklearn.datasets import load_digits as sklearn_digits

    size = int(params["size"])
    digits = sklearn_digits()
    small = torch.from_numpy(digits.images).float().div_(16.0)[:, None]  # 0..16 → 0..1
    images = F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False).clamp_(0, 1)
    images = images.mul_(2.0).sub_(1.0)
    labels = torch.from_numpy(digits.target).long()
    info = _info(1, size, DIGIT_CLASSES)
    note = f"scikit-learn digits: {len(images)} images of 8×8 up-scaled to {size}×{size}"
    if ctx.task != "classification":
        return DataBundle(TensorDataset(images, labels), None, info, [note])
    # A classifier (the GAN's scorer) is judged on digits it has not seen.
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(int(params["split_seed"])))
    cut = len(images) - round(len(images) * float(params["valid_fraction"]))
    train, valid = order[:cut], order[cut:]
    return DataBundle(TensorDataset(images[train], labels[train]), TensorDataset(images[valid], labels[valid]),
                      info, [f"{note}; {len(train)} for training, {len(valid)} for validation"])


# -- shapes ---------------------------------------------------------------------------------------------
def parse_colour(text: str) -> tuple[int, int, int]:
    """``"#1e1e1e"``, ``"1e1e1e"`` or a colour name PIL knows ("black", "navy") as 8-bit RGB."""
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(str(text).strip())
    except ValueError:
        raise ValueError(f"background {text!r} is not a colour: write it as #rrggbb (e.g. #202020) or a name "
                         "such as black") from None
    return tuple(rgb[:3])  # type: ignore[return-value]


def draw_shapes(count: int, size: int, background: tuple[int, int, int], seed: int,
                per_image: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``count`` RGB pictures (uint8, N×S×S×3) of circles, squares and triangles in bright random colours, at
    random places and sizes, on one ``background``; and the kind of the first shape in each (0, 1, 2).

    Drawn at 4× and reduced, so the edges are smooth as in photographs, not stair-stepped.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    big = size * 4
    pictures = np.empty((count, size, size, 3), np.uint8)
    kinds = np.empty(count, np.int64)
    for i in range(count):
        image = Image.new("RGB", (big, big), background)
        pen = ImageDraw.Draw(image)
        for j in range(per_image):
            kind = int(rng.integers(len(SHAPES)))
            if j == 0:
                kinds[i] = kind
            radius = rng.uniform(0.18, 0.38) * big
            cx, cy = rng.uniform(radius, big - radius, size=2)
            hue, value = rng.uniform(), rng.uniform(0.75, 1.0)
            colour = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), value))
            if kind == 0:
                pen.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            elif kind == 1:
                side = radius / math.sqrt(2) * 1.2
                pen.rectangle([cx - side, cy - side, cx + side, cy + side], fill=colour)
            else:
                turn = rng.uniform(0, 2 * math.pi)
                corners = [(cx + radius * math.cos(turn + k * 2 * math.pi / 3),
                            cy + radius * math.sin(turn + k * 2 * math.pi / 3)) for k in range(3)]
                pen.polygon(corners, fill=colour)
        pictures[i] = np.asarray(image.resize((size, size), Image.Resampling.LANCZOS))
    return pictures, kinds


def load_shapes(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    size, count = int(params["size"]), int(params["count"])
    background = parse_colour(params["background"])
    pictures, kinds = draw_shapes(count, size, background, int(params["generator_seed"]),
                                  int(params["shapes_per_image"]))
    images = to_unit_range(torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous())
    info = _info(3, size, background=list(background))
    return DataBundle(TensorDataset(images, torch.from_numpy(kinds)), None, info,
                      [f"generated {count} pictures of shapes, {size}×{size}, on background {params['background']}"])


# -- a folder of pictures ----------------------------------------------------------------------------------
class Uint8Images(Dataset):
    """Pictures kept as 8-bit (a quarter of the memory of floats), turned into [-1, 1] floats one at a time
    and, when ``size`` differs from theirs, resized bilinearly (CIFAR-10's 32 px at 64 px)."""

    def __init__(self, pixels: torch.Tensor, labels: torch.Tensor, size: int) -> None:
        self.pixels, self.labels, self.size = pixels, labels, size

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = to_unit_range(self.pixels[index])
        if image.shape[-1] != self.size:
            image = F.interpolate(image[None], size=(self.size, self.size), mode="bilinear",
                                  align_corners=False)[0].clamp_(-1.0, 1.0)
        return image, self.labels[index]


def fit_square(image: Any, size: int) -> Any:
    """A PIL picture scaled so that its shorter side is ``size``, then cropped to the centre square."""
    from PIL import Image

    width, height = image.size
    scale = size / min(width, height)
    resized = image.resize((max(size, round(width * scale)), max(size, round(height * scale))),
                           Image.Resampling.LANCZOS)
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    return resized.crop((left, top, left + size, top + size))


def read_folder(root: Path, size: int, greyscale: bool, limit: int = 0) -> tuple[np.ndarray, list[str], int]:
    """Every picture under ``root`` (sub-folders too; class folders are ignored) as uint8 N×S×S×C, sorted by
    path; the files skipped, each with why; and how many were found."""
    from dlstudio_generative.images import IMAGE_SUFFIXES, load_image

    if not root.is_dir():
        raise ValueError(f"{root} is not a folder: choose the folder that holds your pictures in 'root'")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    pictures, skipped = [], []
    for path in files:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(f"{path.relative_to(root)} (not a picture file)")
            continue
        try:  # read at most 4× the size: a photograph's 12 megapixels would only be thrown away
            loaded = load_image(path, max_side=max(4 * size, 256), min_side=8)
        except ValueError as exc:
            skipped.append(f"{path.relative_to(root)} ({exc})")
            continue
        picture = fit_square(loaded.image, size)
        pictures.append(np.asarray(picture.convert("L"))[..., None] if greyscale else np.asarray(picture))
        if limit and len(pictures) >= limit:
            break
    channels = 1 if greyscale else 3
    array = np.stack(pictures) if pictures else np.empty((0, size, size, channels), np.uint8)
    return array, skipped, len(files)


def load_folder(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    root = str(params["root"]).strip()
    if not root:
        raise ValueError("choose the folder that holds your pictures in 'root'")
    size, greyscale = int(params["size"]), params["colour"] == "greyscale"
    pictures, skipped, found = read_folder(Path(root).expanduser(), size, greyscale, int(params["limit"]))
    messages = [f"{len(pictures)} pictures from {root} ({found} files), {size}×{size}, "
                f"{'greyscale' if greyscale else 'RGB'}"]
    if skipped:
        shown = "; ".join(skipped[:20]) + (f"; and {len(skipped) - 20} more" if len(skipped) > 20 else "")
        messages.append(f"skipped {len(skipped)} file(s) that could not be used: {shown}")
    if len(pictures) < ctx.batch_size:
        # A GAN's batch statistics (BatchNorm) and the discriminator both need a full batch to learn from;
        # a smaller data set than one batch would train on the same few pictures as one ragged batch.
        raise ValueError(f"{root} holds {len(pictures)} usable picture(s), fewer than one batch of "
                         f"{ctx.batch_size}: add pictures, or lower [train] batch_size to {max(len(pictures), 1)} "
                         "or less" + (f" ({len(skipped)} file(s) skipped: {skipped[0]}...)" if skipped else ""))
    pixels = torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous()
    labels = torch.full((len(pixels),), -1, dtype=torch.long)
    return DataBundle(Uint8Images(pixels, labels, size), None, _info(pixels.shape[1], size), messages)


# -- CIFAR-10 (the book) -----------------------------------------------------------------------------------
def cifar_offline_message(folder: Path, reason: str = "") -> str:
    """What to do without CIFAR-10: which file, from where, into which folder (``reason``: the network's error)."""
    if reason:
        return (f"could not download {CIFAR_ARCHIVE} ({reason}). Without internet, download {CIFAR_URL} "
                f"(163 MB) on another machine and put {CIFAR_ARCHIVE} in {folder}.")
    return (f"CIFAR-10 is not on this machine: download {CIFAR_URL} (163 MB) and put {CIFAR_ARCHIVE} in {folder}, "
            "or turn 'download' on to fetch it.")


def open_cifar(folder: Path, download: bool, report: Any = print) -> Any:
    """torchvision's CIFAR10 training split in ``folder``: extracted from an archive put there by hand, or
    downloaded when asked; otherwise a ValueError that says which file to put where."""
    import urllib.error

    from torchvision.datasets import CIFAR10

    folder.mkdir(parents=True, exist_ok=True)
    extracted = (folder / "cifar-10-batches-py").is_dir()
    archive = (folder / CIFAR_ARCHIVE).is_file()
    if not (extracted or archive or download):
        raise ValueError(cifar_offline_message(folder))
    if not extracted:
        report(f"{'extracting' if archive else 'downloading'} {CIFAR_ARCHIVE} in {folder}")
    try:  # with the archive present torchvision checks its MD5 and extracts it: no network
        return CIFAR10(str(folder), train=True, download=not extracted)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise ValueError(cifar_offline_message(folder, str(getattr(exc, "reason", None) or exc))) from None
    except RuntimeError as exc:  # "Dataset not found or corrupted" / a damaged archive
        raise ValueError(f"CIFAR-10 in {folder} cannot be read ({exc}): if {CIFAR_ARCHIVE} is there it is damaged; "
                         f"delete it and put a fresh copy of {CIFAR_URL} there.") from None


def load_cifar10(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    dataset = open_cifar(Path(ctx.cache_dir), bool(params["download"]), ctx.report)
    pixels = torch.from_numpy(np.asarray(dataset.data)).permute(0, 3, 1, 2).contiguous()  # N×3×32×32 uint8
    labels = torch.as_tensor(dataset.targets, dtype=torch.long)
    only = params["only_class"]
    if only != "all":
        keep = labels == CIFAR_CLASSES.index(only)
        pixels, labels = pixels[keep], labels[keep]
    if int(params["limit"]):
        pixels, labels = pixels[: int(params["limit"])], labels[: int(params["limit"])]
    size = int(params["size"])
    what = "all classes" if only == "all" else f"class {only}"
    return DataBundle(Uint8Images(pixels, labels, size), None, _info(3, size, CIFAR_CLASSES),
                      [f"CIFAR-10 training images ({what}): {len(pixels)}, at {size}×{size}"])
