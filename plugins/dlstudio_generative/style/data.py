"""The style-transfer "dataset": one (content, style) pair of pictures, sized for painting.

The content is scaled so that its longest side is ``size`` px (the canvas is exactly its size); the style is
scaled to the same longest side, so that its strokes and blobs come out at the scale they have beside the
content. Everything done to either picture is said in the bundle's messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PIL import Image

from dlstudio.contract import DataBundle, DataInfo, LoadContext
from dlstudio_generative.images import image_to_tensor, load_image
from dlstudio_generative.style.samples import SAMPLE_PREFIX, image_source

#: A style picture enlarged more than this is blurred enough to say so.
UPSCALE_WARNING = 1.5
MIN_SIZE = 32
MAX_SIZE = 2048


def _read(ref: str, what: str, messages: list[str]) -> Image.Image:
    try:
        loaded = load_image(image_source(ref), min_side=16)
    except ValueError as exc:
        raise ValueError(f"the {what} picture: {exc}") from None
    if not ref.startswith(SAMPLE_PREFIX):  # the samples are ours: what was done to them is no news
        messages.extend(f"{what}: {note}" for note in loaded.notes)
    return loaded.image


def _scaled(image: Image.Image, longest: int) -> Image.Image:
    scale = longest / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def load_style_pair(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    """A one-sample dataset of ((1, 3, H, W) content, (1, 3, h, w) style) tensors in [0, 1]."""
    from torch.utils.data import TensorDataset

    size = int(params["size"])
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size {size} px is outside {MIN_SIZE}–{MAX_SIZE} px")
    messages: list[str] = []
    content = _read(params["content"], "content", messages)
    style = _read(params["style"], "style", messages)

    painted = _scaled(content, size)
    if painted.size != content.size:
        verb = "downscaled" if max(painted.size) < max(content.size) else "upscaled (it will look soft)"
        messages.append(f"content {verb} from {content.width}×{content.height} to "
                        f"{painted.width}×{painted.height} (size = {size} px)")
    styled = _scaled(style, size)
    factor = max(styled.size) / max(style.size)
    if factor > UPSCALE_WARNING:
        messages.append(f"the style picture ({style.width}×{style.height}) is much smaller than the content at "
                        f"{size} px: upscaled {factor:.1f}× to {styled.width}×{styled.height}, so its texture "
                        f"will come out blurred; a style picture of at least {size} px across works better")
    content_tensor = image_to_tensor(painted)[None]
    style_tensor = image_to_tensor(styled)[None]
    info = DataInfo(input_shape=tuple(content_tensor.shape[1:]), input_kind="image",
                    extra={"content": str(params["content"]), "style": str(params["style"])})
    dataset = TensorDataset(content_tensor, style_tensor)
    return DataBundle(dataset, None, info, messages=messages, shuffle=False)
