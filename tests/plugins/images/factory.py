"""Helpers that write test data in real formats and run specs through the real runner."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dlstudio.runner import Run, run_to_end
from dlstudio.spec import RunSpec

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220), "yellow": (230, 220, 30)}


def write_image(path: Path, colour: tuple[int, int, int], size: int = 12, seed: int = 0, fmt: str = "PNG") -> Path:
    """A small noisy image of one dominant colour."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.integers(-25, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, fmt)
    return path


def make_folder(root: Path, layout: dict[str, dict[str, int]], size: int = 12) -> Path:
    """``layout``: split ("" for root/<class>) → class → number of images."""
    for split, classes in layout.items():
        for i, (cls, n) in enumerate(classes.items()):
            colour = list(COLOURS.values())[i % len(COLOURS)]
            for j in range(n):
                fmt = "JPEG" if j % 2 else "PNG"
                write_image(root / split / cls / f"{cls}{j}.{fmt.lower()}", colour, size, seed=j, fmt=fmt)
    return root


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = False) -> None:
    """MNIST's idx format: big-endian magic, counts, then the bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    blobs = {
        f"{prefix}-images-idx3-ubyte": struct.pack(">iiii", 2051, n, rows, cols) + images.astype(np.uint8).tobytes(),
        f"{prefix}-labels-idx1-ubyte": struct.pack(">ii", 2049, n) + labels.astype(np.uint8).tobytes(),
    }
    for name, blob in blobs.items():
        if gz:
            with gzip.open(folder / f"{name}.gz", "wb") as fh:
                fh.write(blob)
        else:
            (folder / name).write_bytes(blob)


def write_mnist(root: Path, folder: str = "MNIST/raw", n_train: int = 40, n_test: int = 20, gz: bool = False) -> None:
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28))
        for i, label in enumerate(labels):  # a bright bar whose position encodes the label
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 250
        write_idx(root / folder, prefix, images, labels, gz)


def write_cifar(root: Path, per_batch: int = 10) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = [int(v) for v in np.arange(per_batch) % 10]
        data = rng.integers(0, 256, (per_batch, 3 * 32 * 32)).astype(np.uint8)
        (folder / name).write_bytes(pickle.dumps({"batch_label": name, "labels": labels, "data": data}, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names, "num_vis": 3072}, protocol=2))
    return folder


def train(studio: Any, raw: dict[str, Any]) -> tuple[str, Any]:
    """Run a raw spec dict through the runner; returns (run id, final record)."""
    run = Run(studio, RunSpec.from_dict(raw))
    ended = run_to_end(run)
    return run.run_id, ended


def best_checkpoint(studio: Any, run_id: str) -> Path:
    return studio.store.artifacts(run_id)["best"][0]
