"""Any image folder: the book's ``root/train/<class>`` + ``root/valid/<class>``, or ``root/<class>`` split
automatically. Every file is decoded once up front; unreadable ones are skipped and reported, never a crash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dlstudio.contract import DataBundle, LoadContext
from dlstudio_images.data.common import (
    Images,
    Pipeline,
    Prepared,
    build_bundle,
    make_pipeline,
    prepare_images,
)

TRAIN_NAMES, VALID_NAMES = ("train",), ("valid", "val", "validation")
#: Skipped files listed in the run log; the full list goes to a file beside the cache.
LISTED = 20


@dataclass
class Scan:
    """Readable files per class of one split, and the files skipped with the reason."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    folder: dict[str, Path] = field(default_factory=dict)
    #: Hidden files (``.DS_Store``, anything under a hidden folder): never read, but said.
    hidden: list[Path] = field(default_factory=list)
    #: Images in folders nested inside a class folder: they count for that class, and are said.
    nested: list[Path] = field(default_factory=list)
    #: Decoded images at the model's size, when the folder is small enough to hold them.
    tensors: dict[Path, torch.Tensor] = field(default_factory=dict)


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _decode(path: Path, mode: str, size: int) -> Any:
    """The image at ``path`` decoded (JPEGs at a reduced scale), or the reason it cannot be."""
    from PIL import Image

    if path.stat().st_size == 0:
        return "empty file"
    try:
        with Image.open(path) as img:
            img.draft(mode, (size, size))
            return img.convert(mode)
    except Exception as exc:  # a decoder may raise anything on a corrupt file; skipping it is the point
        reason = "not an image" if type(exc).__name__ == "UnidentifiedImageError" else f"unreadable ({exc})"
        return reason


def _is_hidden(path: Path, class_dir: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(class_dir).parts)


def _class_files(class_dir: Path) -> list[Path]:
    return sorted(p for p in class_dir.rglob("*") if p.is_file())


def scan_split(folder: Path, mode: str, size: int, keep: Callable[[Any], torch.Tensor] | None) -> Scan:
    """Decode every file under ``folder/<class>/``, nested folders included (as torchvision's ImageFolder);
    hidden files are skipped. With ``keep``, hold each image as ``keep(image)``."""
    scan = Scan()
    for class_dir in _class_dirs(folder):
        scan.folder[class_dir.name] = class_dir
        good = scan.files.setdefault(class_dir.name, [])
        for path in _class_files(class_dir):
            if _is_hidden(path, class_dir):
                scan.hidden.append(path)
                continue
            result = _decode(path, mode, size)
            if isinstance(result, str):
                scan.skipped.append((path, result))
                continue
            good.append(path)
            if path.parent != class_dir:
                scan.nested.append(path)
            if keep is not None:
                scan.tensors[path] = keep(result)
            result.close()
    return scan


def find_layout(root: Path) -> tuple[Path, Path | None]:
    """(train folder, valid folder or None) of ``root``, or a ValueError saying what is expected."""
    if not str(root).strip() or str(root) == ".":
        raise ValueError("choose the image folder (data.params.root): root/<class>/... or "
                         "root/train/<class>/... with root/valid/<class>/...")
    if not root.is_dir():
        raise ValueError(f"the image folder {root} does not exist")
    train = next((root / n for n in TRAIN_NAMES if (root / n).is_dir()), None)
    valid = next((root / n for n in VALID_NAMES if (root / n).is_dir()), None)
    if train is None:
        if valid is not None:
            raise ValueError(f"{root} has {valid.name}/ but no train/ folder")
        train = root
    if not _class_dirs(train):
        raise ValueError(f"found no class folders in {train}: put each class's images in {train}/<class>/")
    return train, valid


def _check_names(train: Scan, valid: Scan | None, train_dir: Path, valid_dir: Path | None) -> None:
    for name, scan in (("training", train), ("validation", valid)):
        if scan is None:
            continue
        for cls, files in scan.files.items():
            if not files:
                bad = sum(1 for p, _ in scan.skipped if p.is_relative_to(scan.folder[cls]))
                detail = f" ({bad} unreadable files skipped)" if bad else ""
                raise ValueError(f"class {cls!r} has no readable {name} images in {scan.folder[cls]}{detail}")
    if valid is not None:
        only_train = sorted(set(train.files) - set(valid.files))
        only_valid = sorted(set(valid.files) - set(train.files))
        if only_train:
            raise ValueError(f"class {only_train[0]!r} is in {train_dir} but not in {valid_dir}: "
                             "every class needs validation images too")
        if only_valid:
            raise ValueError(f"class {only_valid[0]!r} is in {valid_dir} but not in {train_dir}")


def _images(scan: Scan, classes: list[str], mode: str) -> Images:
    paths = [p for c in classes for p in scan.files[c]]
    labels = torch.tensor([i for i, c in enumerate(classes) for _ in scan.files[c]], dtype=torch.long)
    if not scan.tensors:
        return Images(labels, paths=[str(p) for p in paths], mode=mode)
    return Images(labels, tensor=torch.stack([scan.tensors[p] for p in paths]), mode=mode)


def _report_skipped(skipped: list[tuple[Path, str]], root: Path, ctx: LoadContext) -> list[str]:
    if not skipped:
        return []
    lines = [f"{p.relative_to(root) if p.is_relative_to(root) else p}: {why}" for p, why in skipped]
    text = f"skipped {len(skipped)} unreadable file{'s' if len(skipped) > 1 else ''}: " + "; ".join(lines[:LISTED])
    if len(lines) > LISTED:
        digest = hashlib.sha1(str(root).encode()).hexdigest()[:10]
        listing = Path(ctx.cache_dir) / f"skipped-{digest}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        text += f"; … and {len(lines) - LISTED} more, all listed in {listing}"
    return [text]


def _report_layout_extras(scans: list[Scan], root: Path) -> list[str]:
    """Say what a class folder held besides its images: nested folders (counted) and hidden files (skipped)."""
    def listed(paths: list[Path]) -> str:
        names = [str(p.relative_to(root) if p.is_relative_to(root) else p) for p in paths]
        return ", ".join(names[:LISTED]) + (f", … and {len(names) - LISTED} more" if len(names) > LISTED else "")

    nested = [p for scan in scans for p in scan.nested]
    hidden = [p for scan in scans for p in scan.hidden]
    lines = []
    if nested:
        lines.append(f"{len(nested)} in nested folders, counted with the class folder they are in: {listed(nested)}")
    if hidden:
        lines.append(f"skipped {len(hidden)} hidden file{'s' if len(hidden) > 1 else ''} (names or folders "
                     f"starting with '.'): {listed(hidden)}")
    return lines


def _keeper(pipeline: Pipeline) -> Callable[[Any], torch.Tensor]:
    from torchvision.transforms import v2

    geometry = v2.Compose(pipeline.geometry())
    return lambda img: geometry(v2.functional.pil_to_tensor(img))


def prepare(params: Mapping[str, Any], ctx: LoadContext) -> Prepared:
    root = Path(str(params["root"])).expanduser()
    train_dir, valid_dir = find_layout(root)
    pipeline = make_pipeline({**params, "normalize": "none"}, native_channels=3)  # files decode as RGB
    mode = "L" if pipeline.channels == 1 else "RGB"
    size = pipeline.size
    ctx.report(f"reading the images in {root}")
    # Files are decoded anyway to find the unreadable ones; small folders keep them (at the model's size).
    n_files = sum(1 for d in (train_dir, valid_dir) if d for c in _class_dirs(d) for p in _class_files(c)
                  if not _is_hidden(p, c))
    small = n_files * pipeline.channels * size * size <= int(params["in_memory_mb"]) * 2**20
    keep = _keeper(pipeline) if small else None
    train = scan_split(train_dir, mode, size, keep)
    valid = scan_split(valid_dir, mode, size, keep) if valid_dir else None
    _check_names(train, valid, train_dir, valid_dir)
    classes = sorted(train.files)
    train_images = _images(train, classes, mode)
    valid_images = _images(valid, classes, mode) if valid else None
    scans = [train] + ([valid] if valid else [])
    messages = _report_layout_extras(scans, root) + _report_skipped(
        train.skipped + (valid.skipped if valid else []), root, ctx)
    layout = f"{train_dir.name}/ and {valid_dir.name}/" if valid_dir else "class folders, split automatically"
    messages.insert(0, f"{root}: {len(classes)} classes ({layout}), "
                       f"{len(train_images) + (len(valid_images) if valid_images else 0)} images")
    prepared = prepare_images(train_images, valid_images, classes, params, ctx.seed, messages)
    prepared.extra["root"] = str(root)
    return prepared


def load(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    return build_bundle(prepare(params, ctx))
