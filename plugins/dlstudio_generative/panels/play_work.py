"""The Play page's work, off the GUI thread and without Qt: draw a grid of samples from a seed, walk between two
latent points, and find which picture of a grid was clicked. Plain values in and out (PIL pictures, numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

#: Space between the pictures of a grid (pixels), as the sampling module draws them.
PADDING = 2


@dataclass
class Drawn:
    """Pictures drawn by a generator (plain values, made in a worker thread): the grid, each picture, and the
    latent vector of each."""

    grid: Image.Image
    pictures: list[Image.Image]
    vectors: np.ndarray
    columns: int
    side: int


def _draw(gen: Any, vectors: Any, columns: int) -> Drawn:
    from dlstudio_generative.gan.sampling import generate, grid_image

    images = generate(gen, vectors)
    pictures = [grid_image(images[i:i + 1], 1, padding=0) for i in range(len(images))]
    return Drawn(grid_image(images, columns, padding=PADDING), pictures, vectors.numpy().copy(), columns,
                 int(images.shape[-1]))


def resample(studio: Any, run_id: str, loaded: Any, n: int, seed: int) -> tuple[Any, Drawn]:
    """Worker thread: the run's generator (loaded once) and ``n`` samples of ``seed`` as a near-square grid."""
    from dlstudio_generative.gan.sampling import latent_vectors, load_generator

    gen = loaded if loaded is not None and loaded.run_id == run_id else load_generator(studio, run_id, "last")
    columns = max(1, round(n ** 0.5))
    return gen, _draw(gen, latent_vectors(gen.latent, n, seed), columns)


def walk(gen: Any, start: np.ndarray, end: np.ndarray, steps: int) -> Drawn:
    """Worker thread: the pictures along the spherical path from ``start`` to ``end``, as one strip."""
    import torch

    from dlstudio_generative.gan.sampling import interpolation_path

    path = interpolation_path(torch.as_tensor(start, dtype=torch.float32),
                              torch.as_tensor(end, dtype=torch.float32), steps)
    return _draw(gen, path, steps)


def seed_vector(gen: Any, seed: int) -> np.ndarray:
    """The latent vector a seed stands for (the first of ``latent_vectors(latent, n, seed)``)."""
    from dlstudio_generative.gan.sampling import latent_vectors

    return latent_vectors(gen.latent, 1, seed)[0].numpy().copy()


def cell_at(x: float, y: float, columns: int, side: int, count: int, padding: int = PADDING) -> int:
    """The index of the picture at pixel (x, y) of a grid, -1 on the padding between pictures or outside."""
    step = side + padding
    col, row = int((x - padding) // step), int((y - padding) // step)
    inside = 0 <= (x - padding) - col * step < side and 0 <= (y - padding) - row * step < side
    index = row * columns + col
    return index if inside and 0 <= col < columns and row >= 0 and index < count else -1
