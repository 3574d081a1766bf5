"""Playing with a generator: spherical interpolation against a hand computation, seeded samples, grids, and a
trained run's generator loaded back and sampled to a file."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

import dlstudio_generative.plugin as generative_plugin
from dlstudio.runner import Run
from dlstudio_generative.gan.models import DCGAN
from dlstudio_generative.gan.sampling import (
    LoadedGenerator,
    grid_image,
    interpolate,
    interpolation_path,
    latent_vectors,
    load_generator,
    sample,
    sample_to_file,
    save_grid,
    slerp,
)
from tests.plugins.generative.test_gan_training import gan_spec
from tests.runs import drive

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/helpers.py


def angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return math.acos(float((a @ b) / (a.norm() * b.norm())))


def test_slerp_follows_the_arc_between_two_unit_vectors():
    z0, z1 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    assert torch.equal(slerp(z0, z1, 0.0), z0) and torch.allclose(slerp(z0, z1, 1.0), z1, atol=1e-7)
    # by hand: halfway along a quarter circle is (cos 45°, sin 45°, 0)
    assert torch.allclose(slerp(z0, z1, 0.5), torch.tensor([math.sqrt(0.5), math.sqrt(0.5), 0.0]))
    for t in (0.1, 0.3, 0.77):
        point = slerp(z0, z1, t)
        assert float(point.norm()) == pytest.approx(1.0)  # stays on the sphere (a line would not: 0.707 mid-way)
        assert angle(z0, point) == pytest.approx(t * math.pi / 2)


def test_slerp_of_random_latents_halves_the_angle_and_keeps_the_ends():
    z0, z1 = latent_vectors(100, 2, seed=1)
    z0, z1 = z0 / z0.norm(), z1 / z1.norm()
    mid = slerp(z0, z1, 0.5)
    assert angle(z0, mid) == pytest.approx(angle(z0, z1) / 2, rel=1e-4)
    assert angle(mid, z1) == pytest.approx(angle(z0, z1) / 2, rel=1e-4)
    path = interpolation_path(z0, z1, 7)
    assert path.shape == (7, 100) and torch.allclose(path[0], z0) and torch.allclose(path[-1], z1, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(7), atol=1e-5)


def test_slerp_of_parallel_vectors_falls_back_to_a_straight_line():
    z0 = torch.tensor([1.0, 2.0, 2.0])
    for z1 in (z0.clone(), 3 * z0):
        point = slerp(z0, z1, 0.25)
        assert torch.isfinite(point).all() and torch.allclose(point, 0.75 * z0 + 0.25 * z1)
    with pytest.raises(ValueError, match="at least 2 steps"):
        interpolation_path(z0, z0, 1)


def small_generator(seed=0) -> LoadedGenerator:
    torch.manual_seed(seed)
    gan = DCGAN(latent=16, width=8, channels=1, image_size=32).eval()
    return LoadedGenerator(gan.generator, 16, 1, 32)


def test_samples_of_a_seed_are_the_same_and_leave_the_global_random_numbers_alone():
    gen = small_generator()
    before = torch.get_rng_state()
    a, b = sample(gen, 5, seed=7), sample(gen, 5, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    assert a.shape == (5, 1, 32, 32) and torch.equal(a, b) and not torch.equal(a, sample(gen, 5, seed=8))
    strip = interpolate(gen, *latent_vectors(16, 2, seed=7), steps=4)
    assert torch.allclose(strip[0], a[0], atol=1e-6)  # the strip starts at the seed's first sample
    assert torch.allclose(strip[-1], a[1], atol=1e-5)


def test_a_grid_puts_each_image_in_its_place_from_minus_one_to_one():
    images = torch.full((6, 1, 4, 4), -1.0)
    images[1] = 1.0  # the second picture white
    images[5, :, 0, 0] = 0.0  # one mid-grey pixel in the last
    picture = np.asarray(grid_image(images, nrow=3, padding=2))
    assert picture.shape == (2 * 6 + 2, 3 * 6 + 2, 3)
    assert (picture[2:6, 2:6] == 0).all()  # first: black
    assert (picture[2:6, 8:12] == 255).all()  # second: white
    assert (picture[8, 14] == 128).all()  # last picture's first pixel: 0 → 127.5, rounded
    colour = np.asarray(grid_image(torch.ones(2, 3, 4, 4) * torch.tensor([1.0, -1.0, -1.0])[:, None, None]))
    assert tuple(colour[2, 2]) == (255, 0, 0)


def test_a_trained_runs_generator_is_loaded_sampled_and_saved(make_studio, tmp_path):
    studio = make_studio(("generative", generative_plugin))
    run = Run(studio, gan_spec(epochs=1))
    drive(run)
    gen = load_generator(studio, run.run_id)
    assert (gen.latent, gen.channels, gen.image_size, gen.epoch) == (16, 1, 32, 1)
    assert not gen.generator.training
    path = sample_to_file(studio, run.run_id, 10, tmp_path / "out" / "grid.png", seed=3)
    saved = np.asarray(Image.open(path))
    assert saved.shape == (3 * 34 + 2, 4 * 34 + 2, 3)  # 10 samples: 3 rows of 4 (near-square)
    assert np.array_equal(saved, np.asarray(grid_image(sample(gen, 10, 3))))
    assert not list((tmp_path / "out").glob("*.part"))
    with pytest.raises(ValueError, match="a grid needs images"):
        save_grid(torch.zeros(3, 2, 4, 4), tmp_path / "bad.png")
