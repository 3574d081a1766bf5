"""Reading a user's picture: whatever file is dropped, an 8-bit RGB image with what was done said in notes, or a
refusal that names the file and the reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio_generative.images import IMAGE_SUFFIXES, ImageError, image_to_tensor, load_image, tensor_to_image


def save(tmp_path, image: Image.Image, name: str = "picture.png", **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int32)


# -- refusals --------------------------------------------------------------------------------------------
def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are my notes, not a picture\n")
    with pytest.raises(ImageError, match=r"notes\.png is not an image \(not a format Pillow can read"):
        load_image(path)


def test_an_empty_file_is_not_an_image(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.jpg is not an image \(the file is empty\)"):
        load_image(path)


def test_a_missing_file_and_a_folder_are_refused(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nowhere.png")
    with pytest.raises(ImageError, match="is a folder, not an image"):
        load_image(tmp_path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_file_is_refused(tmp_path, fmt):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = save(tmp_path, Image.fromarray(noise), f"whole.{fmt.lower()}", format=fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ImageError, match=rf"cut\.{fmt.lower()} is truncated or damaged"):
        load_image(cut)


@pytest.mark.parametrize("side", [40, 100], ids=["above-the-limit", "twice-the-limit"])
def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch, side):
    path = save(tmp_path, Image.new("RGB", (side, side)), "bomb.png")
    # PIL warns above its limit and refuses above twice it: both are refused, with the reason.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageError, match=r"bomb\.png is refused: .* decompression bomb"):
        load_image(path)


def test_a_tiny_picture_is_refused_with_its_size(tmp_path):
    path = save(tmp_path, Image.new("RGB", (10, 40)), "tiny.png")
    with pytest.raises(ImageError, match=r"tiny\.png is too small \(10×40 px\).* at least 16 px"):
        load_image(path)
    assert load_image(path, min_side=8).image.size == (10, 40)


# -- conversions -----------------------------------------------------------------------------------------
def test_a_huge_picture_is_downscaled_with_a_note(tmp_path):
    path = save(tmp_path, Image.new("RGB", (300, 200), (10, 200, 30)), "big.png")
    loaded = load_image(path, max_side=100)
    assert loaded.image.size == (100, 67)
    assert loaded.notes == ["big.png downscaled from 300×200 to 100×67"]
    assert np.abs(pixels(loaded.image) - (10, 200, 30)).max() <= 1


def test_an_rgb_picture_comes_back_as_it_is_without_notes(tmp_path):
    colours = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    loaded = load_image(save(tmp_path, Image.fromarray(colours)))
    assert loaded.notes == []
    assert loaded.image.mode == "RGB"
    assert np.array_equal(np.asarray(loaded.image), colours)


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = np.arange(20 * 20, dtype=np.uint8).reshape(20, 20)
    loaded = load_image(save(tmp_path, Image.fromarray(grey, "L")))
    rgb = np.asarray(loaded.image)
    assert all(np.array_equal(rgb[..., channel], grey) for channel in range(3))
    assert "greyscale" in loaded.notes[0]


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[:, :10] = (255, 0, 0, 0)  # invisible red: white
    rgba[:, 10:] = (255, 0, 0, 128)  # half-transparent red over white: pink
    loaded = load_image(save(tmp_path, Image.fromarray(rgba, "RGBA")))
    rgb = pixels(loaded.image)
    assert (rgb[:, :10] == 255).all()
    alpha = 128 / 255
    expected = np.array([255, 255 * (1 - alpha), 255 * (1 - alpha)])
    assert np.abs(rgb[:, 10:] - expected).max() <= 1
    assert loaded.notes == ["picture.png has transparent parts: composited on white"]


def test_an_opaque_alpha_channel_is_dropped_without_a_note(tmp_path):
    rgba = np.full((20, 20, 4), 255, dtype=np.uint8)
    rgba[..., :3] = (1, 2, 3)
    loaded = load_image(save(tmp_path, Image.fromarray(rgba, "RGBA")))
    assert loaded.notes == []
    assert (pixels(loaded.image) == (1, 2, 3)).all()


def test_a_palette_picture_keeps_its_colours(tmp_path):
    colours = np.zeros((20, 20, 3), dtype=np.uint8)
    colours[:10] = (200, 30, 40)
    colours[10:] = (20, 90, 250)
    palette = Image.fromarray(colours).quantize(4)
    loaded = load_image(save(tmp_path, palette))
    assert np.array_equal(np.asarray(loaded.image), colours)
    assert "palette" in loaded.notes[0]


def test_a_palette_picture_with_a_transparent_colour_is_composited_on_white(tmp_path):
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.paste(1, (0, 0, 10, 20))
    path = save(tmp_path, palette, transparency=0)  # index 0 (black) is transparent
    rgb = pixels(load_image(path).image)
    assert (rgb[:, :10] == (255, 0, 0)).all() and (rgb[:, 10:] == 255).all()


def test_a_16_bit_picture_is_scaled_not_clipped(tmp_path):
    levels = np.array([[0, 257 * 64, 32768, 65535]], dtype=np.uint16).repeat(16, 0).repeat(4, 1)
    path = tmp_path / "deep.png"
    Image.fromarray(levels).save(path)  # a 16-bit greyscale PNG
    loaded = load_image(path)
    rgb = pixels(loaded.image)
    assert list(rgb[0, ::4, 0]) == [0, 64, 128, 255]
    assert "16-bit" in loaded.notes[0]


def test_a_cmyk_picture_becomes_rgb(tmp_path):
    path = save(tmp_path, Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "print.jpg", format="JPEG")
    loaded = load_image(path)
    red = pixels(loaded.image).mean(axis=(0, 1))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert "CMYK" in loaded.notes[0]


def test_exif_orientation_turns_a_photo_upright(tmp_path):
    stored = Image.new("RGB", (40, 20), (0, 0, 0))
    stored.paste((255, 0, 0), (0, 0, 5, 5))  # a red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    loaded = load_image(save(tmp_path, stored, "photo.jpg", format="JPEG", exif=exif, quality=95))
    assert loaded.image.size == (20, 40)
    rgb = pixels(loaded.image)
    assert rgb[1, 18, 0] > 200 and rgb[1, 1, 0] < 60  # clockwise: the top-left mark is now top-right
    assert "EXIF orientation" in loaded.notes[0]


def test_an_animation_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    path = tmp_path / "moving.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = load_image(path)
    assert pixels(loaded.image)[0, 0, 0] > 200
    assert "2 frames" in loaded.notes[0]


def test_suffixes_cover_the_formats_pillow_reads_here():
    assert {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"} <= set(IMAGE_SUFFIXES)


# -- tensors -------------------------------------------------------------------------------------------
def test_tensor_round_trip_is_exact_and_clamps():
    colours = np.random.default_rng(2).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    tensor = image_to_tensor(Image.fromarray(colours))
    assert tensor.shape == (3, 7, 9) and tensor.dtype == torch.float32
    assert float(tensor[0, 0, 0]) == pytest.approx(colours[0, 0, 0] / 255)
    assert np.array_equal(np.asarray(tensor_to_image(tensor[None])), colours)
    out = np.asarray(tensor_to_image(torch.tensor([-1.0, 0.5, 2.0]).view(3, 1, 1).expand(3, 2, 2)))
    assert list(out[0, 0]) == [0, 128, 255]
    with pytest.raises(ValueError, match=r"shape \(3, H, W\)"):
        tensor_to_image(torch.zeros(4, 5, 5))
