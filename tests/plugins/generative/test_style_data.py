"""The picture pair a style-transfer run paints from: sized, converted, and every change said."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio.contract import LoadContext
from dlstudio_generative.style.data import load_style_pair


def load(tmp_path, **params):
    defaults = {"content": "sample:landscape", "style": "sample:night-swirls", "size": 64}
    return load_style_pair({**defaults, **params}, LoadContext(cache_dir=tmp_path))


def test_the_content_sets_the_canvas_and_the_style_comes_at_the_same_scale(tmp_path):
    bundle = load(tmp_path, size=64)
    (content, style), = [tuple(bundle.train[0])]
    assert content.shape == (3, 48, 64)  # the 256×192 landscape, longest side 64
    assert style.shape == (3, 64, 64)  # the 224×224 style at the same longest side
    assert bundle.info.input_shape == (3, 48, 64)
    assert len(bundle.train) == 1 and bundle.valid is None
    assert float(content.min()) >= 0 and float(content.max()) <= 1
    assert bundle.messages == ["content downscaled from 256×192 to 64×48 (size = 64 px)"]


def test_a_style_much_smaller_than_the_content_is_upscaled_with_a_note(tmp_path):
    small = tmp_path / "small-style.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(small)
    bundle = load(tmp_path, style=str(small), size=96)
    style = bundle.train[0][1]
    assert style.shape == (3, 64, 96)
    assert any("style picture (30×20) is much smaller than the content at 96 px: upscaled 3.2×" in m
               for m in bundle.messages)


def test_a_users_picture_is_converted_and_the_change_said(tmp_path):
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent: white
    path = tmp_path / "cut-out.png"
    Image.fromarray(rgba, "RGBA").save(path)
    bundle = load(tmp_path, content=str(path), size=40)
    assert torch.equal(bundle.train[0][0], torch.ones(3, 40, 40))
    assert "content: cut-out.png has transparent parts: composited on white" in bundle.messages


def test_bad_pictures_are_refused_saying_which_one(tmp_path):
    text = tmp_path / "style.jpg"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match=r"the style picture: style\.jpg is not an image"):
        load(tmp_path, style=str(text))
    with pytest.raises(ValueError, match=r"the content picture: .*missing\.png does not exist"):
        load(tmp_path, content=str(tmp_path / "missing.png"))
    with pytest.raises(ValueError, match="size 8 px is outside 32–2048 px"):
        load(tmp_path, size=8)
