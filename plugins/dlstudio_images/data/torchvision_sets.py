"""torchvision's MNIST, Fashion-MNIST and CIFAR-10, held in memory as uint8 tensors.

With ``download`` off (the default) nothing touches the network; a missing dataset raises a message that
says which files to put where. CIFAR-10's batches are Python pickles: they are read with an unpickler that
only accepts the arrays, lists and dicts the format holds, so a planted file cannot run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.contract import DataBundle, LoadContext
from dlstudio_images.data.common import Images, Prepared, build_bundle, limit, prepare_images
from dlstudio_images.data.params import TorchvisionSet


def _root(params: Mapping[str, Any], ctx: LoadContext) -> Path:
    return Path(str(params["root"])).expanduser() if params["root"] else Path(ctx.cache_dir)


def _missing_message(source: TorchvisionSet, root: Path, downloading: bool = False) -> str:
    where = root / source.folder
    names = ", ".join(source.files)
    url = source.url if source.id == "cifar10" else f"{source.url} ({', '.join(f + '.gz' for f in source.files)})"
    switch = "" if downloading else "Switch 'download' on (needs internet), or "
    return (f"{source.title} is not in {where}. {switch}download {url} "
            f"yourself and put {names} in {where}"
            + (" (extract the archive there)" if source.id == "cifar10" else " (.gz files are fine too)")
            + " — or set 'root' to the folder that holds it.")


def _gunzip(folder: Path, names: tuple[str, ...]) -> None:
    for name in names:
        packed = folder / f"{name}.gz"
        if not (folder / name).exists() and packed.exists():
            with gzip.open(packed, "rb") as src, open(folder / name, "wb") as dst:
                shutil.copyfileobj(src, dst)


def _download(source: TorchvisionSet, root: Path) -> None:
    import torchvision.datasets as tvd

    cls = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[source.id]
    try:
        cls(str(root), train=True, download=True)
    except (OSError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())
        raise ValueError(f"could not download {source.title} ({reason}). "
                         + _missing_message(source, root, downloading=True)) from None


def _read_mnist(source: TorchvisionSet, root: Path) -> tuple[Images, Images, tuple[str, ...]]:
    import torchvision.datasets as tvd

    cls = tvd.MNIST if source.id == "mnist" else tvd.FashionMNIST
    splits = []
    for train in (True, False):
        try:
            ds = cls(str(root), train=train, download=False)
        except RuntimeError:
            raise ValueError(_missing_message(source, root)) from None
        splits.append(Images(ds.targets.long(), tensor=ds.data.unsqueeze(1).contiguous(), mode="L"))
    return splits[0], splits[1], tuple(cls.classes)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays, lists, dicts, bytes and numbers; refuses every other global."""

    ALLOWED = frozenset({("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                         ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")})

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("_codecs", "encode"):  # how protocol-2 pickles spell bytes
            import codecs

            return codecs.encode
        if (module, name) in self.ALLOWED:
            return _reconstruct() if name == "_reconstruct" else getattr(np, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}: a CIFAR batch holds only arrays and lists")


def _reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def read_cifar_batch(path: Path) -> dict[str, Any]:
    try:
        data = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not a CIFAR-10 batch ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch (it holds a {type(data).__name__})")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _read_cifar(source: TorchvisionSet, root: Path) -> tuple[Images, Images, tuple[str, ...]]:
    folder = root / source.folder
    if not all((folder / f).exists() for f in source.files):
        raise ValueError(_missing_message(source, root))
    meta = read_cifar_batch(folder / "batches.meta")
    classes = tuple(str(c) for c in meta["label_names"])
    splits = []
    for names in (source.files[:5], source.files[5:6]):
        batches = [read_cifar_batch(folder / n) for n in names]
        try:
            pixels = np.concatenate([np.asarray(b["data"], dtype=np.uint8).reshape(-1, 3, 32, 32) for b in batches])
            labels = np.concatenate([np.asarray(b["labels"], dtype=np.int64) for b in batches])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{folder} holds malformed CIFAR-10 batches ({exc})") from None
        splits.append(Images(torch.from_numpy(labels), tensor=torch.from_numpy(pixels.copy())))
    return splits[0], splits[1], classes


def read(source: TorchvisionSet, params: Mapping[str, Any],
         ctx: LoadContext) -> tuple[Images, Images, tuple[str, ...]]:
    root = _root(params, ctx)
    folder = root / source.folder
    if folder.is_dir():
        _gunzip(folder, source.files)
    complete = all((folder / f).exists() for f in source.files)
    if not complete and params["download"]:
        ctx.report(f"downloading {source.title} into {root}")
        _download(source, root)
    reader = _read_cifar if source.id == "cifar10" else _read_mnist
    return reader(source, root)


def prepare(source: TorchvisionSet, params: Mapping[str, Any], ctx: LoadContext) -> Prepared:
    train, valid, classes = read(source, params, ctx)
    train = limit(train, int(params["limit_train"]), ctx.seed)
    valid = limit(valid, int(params["limit_valid"]), ctx.seed)
    return prepare_images(train, valid, classes, params, ctx.seed)


def load(source: TorchvisionSet, params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    return build_bundle(prepare(source, params, ctx))
