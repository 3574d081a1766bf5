"""What a person does with a trained generator: draw samples, walk between two latent points, save a grid.

A latent point is what a user keeps as a favourite: a seed (``latent_vectors(latent, 1, seed)``) or the vector
itself. Images are tensors in [-1, 1] (Tanh's range), shaped (N, C, S, S); grids are PIL pictures.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dlstudio import runs

if TYPE_CHECKING:
    from PIL import Image
    from torch import nn

#: Below this angle (radians) two latent vectors are taken as parallel and interpolated linearly: the
#: spherical formula divides by sin(angle).
PARALLEL_ANGLE = 1e-4


@dataclass
class LoadedGenerator:
    """A run's generator in eval mode (on the CPU unless moved) and what describes its samples."""

    generator: nn.Module
    latent: int
    channels: int
    image_size: int
    run_id: str = ""
    #: The epoch whose weights these are, and which checkpoint ("best", "last", "final").
    epoch: int | None = None
    weights: str = ""

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device


def load_generator(studio: Any, run_id: str, weights: str = "last") -> LoadedGenerator:
    """The generator of GAN run ``run_id`` with its ``weights``; ValueError for a run that is not a GAN's.

    ``"last"`` is the newest epoch's (a run in progress has it after its first epoch).
    """
    info = runs.get_run(studio, run_id)
    if info.task != "gan":
        raise ValueError(f"run {run_id} trained a {info.task!r} task, not a GAN: choose a run of the gan task")
    loaded = runs.load_model(studio, run_id, weights)
    model = loaded.model
    if not hasattr(model, "generator"):
        raise ValueError(f"run {run_id}'s model ({type(model).__name__}) has no generator")
    model.eval()
    return LoadedGenerator(model.generator, int(model.latent), int(model.channels), int(model.image_size),
                           run_id, loaded.epoch, weights)


def latent_vectors(latent: int, n: int, seed: int) -> torch.Tensor:
    """``n`` standard-normal latent vectors (n, latent), the same for the same seed on every machine.

    They come from a generator of their own, so drawing them never moves the run's random numbers.
    """
    if n < 1:
        raise ValueError(f"the number of samples must be at least 1, got {n}")
    return torch.randn(n, latent, generator=torch.Generator().manual_seed(int(seed)))


@torch.no_grad()
def generate(gen: LoadedGenerator, z: torch.Tensor) -> torch.Tensor:
    """Images of the latent vectors ``z`` (N, latent), on the CPU, in [-1, 1]."""
    if z.dim() == 1:
        z = z[None]
    if z.shape[-1] != gen.latent:
        raise ValueError(f"this generator takes latent vectors of {gen.latent} numbers, not {z.shape[-1]}")
    return run_eval(gen.generator, z).cpu()


def run_eval(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """``generator(z)`` in eval mode (BatchNorm uses its running statistics and does not update them), the
    module's mode given back afterwards: a grid drawn mid-training must not change what training does."""
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            device = next(generator.parameters()).device
            return generator(z.to(device).reshape(z.shape[0], -1, 1, 1))
    finally:
        generator.train(was_training)


def sample(gen: LoadedGenerator, n: int, seed: int) -> torch.Tensor:
    """``n`` samples (n, C, S, S) of the latent vectors of ``seed``."""
    return generate(gen, latent_vectors(gen.latent, n, seed))


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent vectors (along the last dimension) at ``t`` in [0, 1].

    Gaussian latent vectors lie near a sphere; the straight line between two of them passes closer to the
    centre, where the generator saw few points (faded, blurry midpoints). The arc keeps to the sphere. For
    (nearly) parallel vectors the arc is a line: linear interpolation is used.
    """
    t = torch.as_tensor(t, dtype=z0.dtype)
    if t.dim() > 0:
        t = t.reshape(*t.shape, *([1] * z0.dim()))
    dot = (z0 / z0.norm(dim=-1, keepdim=True) * (z1 / z1.norm(dim=-1, keepdim=True))).sum(-1, keepdim=True)
    omega = torch.arccos(dot.clamp(-1.0, 1.0))
    sin = torch.sin(omega)
    parallel = omega.abs() < PARALLEL_ANGLE
    safe = torch.where(parallel, torch.ones_like(sin), sin)
    spherical = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / safe
    linear = (1 - t) * z0 + t * z1
    return torch.where(parallel, linear, spherical)


def interpolation_path(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` latent vectors (steps, latent) from ``z0`` to ``z1`` along the arc, both ends included."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (its two ends), got {steps}")
    return slerp(z0.reshape(-1), z1.reshape(-1), torch.linspace(0.0, 1.0, steps))


def interpolate(gen: LoadedGenerator, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """The images (steps, C, S, S) along the spherical path from ``z0`` to ``z1``."""
    return generate(gen, interpolation_path(z0, z1, steps))


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Images in [-1, 1] (N, C, S, S) as one picture, ``nrow`` to a row (by default a near-square grid)."""
    from PIL import Image
    from torchvision.utils import make_grid

    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"a grid needs images shaped (N, 1 or 3, H, W), got {tuple(images.shape)}")
    nrow = nrow or max(1, math.ceil(images.shape[0] ** 0.5))  # rows no longer than wide
    pixels = ((images.detach().float().cpu() + 1.0) * 127.5).round_().clamp_(0, 255)
    grid = make_grid(pixels, nrow=nrow, padding=padding, pad_value=0.0)  # greyscale becomes 3 equal channels
    return Image.fromarray(grid.to(torch.uint8).permute(1, 2, 0).numpy(), "RGB")


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Write the grid of ``images`` as a PNG at ``path``; written aside and renamed into place, so a viewer
    reading the run's folder while it trains never finds half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    grid_image(images, nrow).save(partial, format="PNG")
    os.replace(partial, path)
    return path


def sample_to_file(studio: Any, run_id: str, n: int, out: str | Path, *, seed: int = 0,
                   weights: str = "last") -> Path:
    """``dlstudio generative sample RUN_ID -n 64 -o grid.png``: ``n`` samples of the run's generator as a grid."""
    gen = load_generator(studio, run_id, weights)
    return save_grid(sample(gen, n, seed), out)
