"""The bundled sample pictures: small PNGs the code draws (the files in resources/ are what it draws), named in
specs as ``sample:<name>``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlstudio_generative.images import load_image
from dlstudio_generative.style.samples import SAMPLES, image_source, sample_path, write_samples


def test_there_are_contents_and_styles_small_enough_to_ship():
    roles = [sample.role for sample in SAMPLES.values()]
    assert roles.count("content") >= 2 and roles.count("style") >= 3
    for name, sample in SAMPLES.items():
        assert sample.path.is_file(), f"{name}: run python -m dlstudio_generative.style.samples"
        assert sample.path.stat().st_size < 64 * 1024, name
        loaded = load_image(sample.path)
        assert max(loaded.image.size) <= 256 and min(loaded.image.size) >= 128, name
        assert sample.title


def test_the_shipped_files_are_what_the_code_draws(tmp_path):
    for path in write_samples(tmp_path):
        with Image.open(path) as fresh, Image.open(SAMPLES[_name(path)].path) as shipped:
            assert np.array_equal(np.asarray(fresh.convert("RGB")), np.asarray(shipped.convert("RGB"))), path.name


def _name(path) -> str:
    return next(name for name, sample in SAMPLES.items() if sample.path.name == path.name)


def test_a_style_sample_is_a_texture_not_a_flat_colour():
    for sample in SAMPLES.values():
        rgb = np.asarray(load_image(sample.path).image, dtype=float)
        assert rgb.std(axis=(0, 1)).mean() > 20, sample.path.name  # something to paint with or to repaint


def test_samples_are_named_in_specs_with_a_prefix(tmp_path):
    assert image_source("sample:mosaic") == sample_path("mosaic") == SAMPLES["mosaic"].path
    assert image_source(str(tmp_path / "mine.png")) == tmp_path / "mine.png"
    with pytest.raises(ValueError, match="no sample picture 'starry'; the samples are landscape, still-life"):
        image_source("sample:starry")
    with pytest.raises(ValueError, match="no picture given"):
        image_source("  ")
