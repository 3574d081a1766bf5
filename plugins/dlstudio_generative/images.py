"""Reading a user's picture for the generative plugin: any file a person may drop on a panel, made into a plain
8-bit RGB image, or refused with a sentence that says why.

Handled: files that are not pictures, truncated files, decompression bombs, greyscale, transparent (composited
on white), palette, 16-bit and float images, CMYK, EXIF orientation, animations (first frame), pictures too small
to use and pictures too big to paint quickly (downscaled). Every change made on the way is said in ``notes``.

Imports no torch at module level: the tensor helpers import it when called.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    import torch

#: File name endings offered in file dialogs and accepted when a folder is scanned.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: The file dialog's filter for the suffixes above.
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
_EXIF_ORIENTATION = 0x0112


class ImageError(ValueError):
    """A file that cannot be used as a picture; the message says which file and why."""


class LoadedImage(NamedTuple):
    """A picture ready to use (8-bit RGB) and what was done to it on the way, in words."""

    image: Image.Image
    notes: list[str]


def load_image(path: str | Path, *, max_side: int | None = None, min_side: int = 16) -> LoadedImage:
    """Read ``path`` as an RGB picture; downscale it so that its longest side is at most ``max_side``.

    Raises :class:`ImageError` (a ``ValueError``) for a missing file, a file that is not a picture, a damaged
    one, one so large it could be a decompression bomb, or one smaller than ``min_side`` on a side.
    """
    path = Path(path)
    name = path.name or str(path)
    if not path.exists():
        raise ImageError(f"{path} does not exist")
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image")
    notes: list[str] = []
    image, frames = _open(path, name)
    if frames > 1:
        notes.append(f"{name} has {frames} frames: the first one is used")
    image = _oriented(image, name, notes)
    image = _to_rgb(image, name, notes)
    width, height = image.size
    if min(width, height) < min_side:
        raise ImageError(f"{name} is too small ({width}×{height} px): a picture needs at least {min_side} px "
                         "on each side")
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        notes.append(f"{name} downscaled from {width}×{height} to {size[0]}×{size[1]}")
    return LoadedImage(image, notes)


def _open(path: Path, name: str) -> tuple[Image.Image, int]:
    """The fully decoded picture (decoding now is what finds a truncated file; an animation's first frame) and
    how many frames the file has. The file is closed."""
    if path.stat().st_size == 0:
        raise ImageError(f"{name} is not an image (the file is empty)")
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # PIL only warns up to twice its limit; a picture that large is refused all the same.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.load()
                frames = getattr(opened, "n_frames", 1)
                image = opened.copy()  # detached from the file, which an animation would keep open
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is refused: it declares more than {limit / 1e6:.0f} million pixels, which "
                         "could be a decompression bomb (a small file that fills the memory when decoded). "
                         "Scale it down in an image editor first.") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image (not a format Pillow can read; use PNG, JPEG, BMP, GIF, "
                         "TIFF or WebP)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name} is truncated or damaged and cannot be decoded ({exc})") from None
    return image, frames


def _oriented(image: Image.Image, name: str, notes: list[str]) -> Image.Image:
    """Turned upright as the camera's EXIF orientation tag says (a phone photo is often stored sideways)."""
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError):  # a broken EXIF block: the pixels are still fine
        return image
    if orientation in (None, 1):
        return image
    upright = ImageOps.exif_transpose(image)
    notes.append(f"{name} turned upright as its EXIF orientation tag ({orientation}) says")
    return upright


def _to_rgb(image: Image.Image, name: str, notes: list[str]) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_to_rgb(image, name, notes)
    if (mode == "P" and "transparency" in image.info) or mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if alpha.min() < 255:
            notes.append(f"{name} has transparent parts: composited on white")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in ("L", "1"):
        notes.append(f"{name} is greyscale: its grey copied into the red, green and blue channels")
    elif mode == "P":
        notes.append(f"{name} is a palette image: converted to RGB")
    elif mode == "CMYK":
        notes.append(f"{name} is CMYK (a print format): converted to RGB, colours may differ slightly")
    return image.convert("RGB")


def _high_depth_to_rgb(image: Image.Image, name: str, notes: list[str]) -> Image.Image:
    """16-bit, 32-bit integer or float greyscale to 8 bits, scaled rather than clipped (PIL's own
    ``convert`` clips a 16-bit picture to its darkest 256 levels: nearly all white)."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        top = 1.0 if values.size and np.nanmax(values) <= 1.0 else 255.0
        bits = "floating-point"
    else:
        top = 65535.0 if not values.size or values.max() <= 65535 else float(values.max())
        bits = "16-bit" if top == 65535.0 else "32-bit"
    grey = np.clip(np.nan_to_num(values) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    notes.append(f"{name} is a {bits} greyscale image: scaled to 8 bits and copied into the colour channels")
    return Image.fromarray(grey, "L").convert("RGB")


# -- tensors ------------------------------------------------------------------------------------------
def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB picture as a float tensor (3, H, W) in [0, 1]."""
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """A (3, H, W) or (1, 3, H, W) tensor with values in [0, 1] as an RGB picture (values outside clamped)."""
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {tensor.shape[0]}")
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] != 3:
        raise ValueError(f"expected an image tensor of shape (3, H, W), got {tuple(tensor.shape)}")
    array = tensor.detach().float().clamp(0, 1).mul(255).add(0.5).to("cpu").numpy().astype(np.uint8)
    return Image.fromarray(array.transpose(1, 2, 0), "RGB")
