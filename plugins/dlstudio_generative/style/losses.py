"""Style transfer's losses (Gatys et al., as in the book's chapter 7) and the "keep the content's colours"
transform (Gatys et al., 2016, "Preserving color in neural artistic style transfer": luminance-only transfer).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

#: BT.601 (JPEG) RGB → YCbCr, without the chroma offset (it cancels out: only differences are used).
_RGB_TO_YCBCR = torch.tensor([[0.299, 0.587, 0.114],
                              [-0.168736, -0.331264, 0.5],
                              [0.5, -0.418688, -0.081312]])


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of each image's feature maps: (B, C, H, W) → (B, C, C), the maps reshaped to C×HW and
    multiplied by their transpose, divided by H·W (the book's ``GramMatrix``)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def content_loss(features: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor],
                 weights: Mapping[str, float]) -> torch.Tensor:
    """Σ over the content layers of weight × mean squared difference of the feature maps."""
    return sum(weights[name] * F.mse_loss(features[name], target) for name, target in targets.items())


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
               weights: Mapping[str, float]) -> torch.Tensor:
    """Σ over the style layers of weight × mean squared difference of the Gram matrices."""
    return sum(weights[name] * F.mse_loss(gram(features[name]), target) for name, target in target_grams.items())


def book_style_weights(features: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The book's per-layer style weights for VGG-19: 1e3 / C² for a layer of C channels."""
    return {name: 1e3 / f.shape[1] ** 2 for name, f in features.items()}


def relative_weights(targets: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Weights that make each layer's squared error relative to its target's (1 / mean of the target's squares),
    averaged over the layers: every layer counts the same whatever its scale (the random banks' Gram matrices
    span orders of magnitude from a 3 px bank to a 37 px one)."""
    return {name: 1.0 / (len(targets) * max(float(t.pow(2).mean()), 1e-12)) for name, t in targets.items()}


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels, across and down: penalises speckle."""
    across = image[..., :, 1:] - image[..., :, :-1]
    down = image[..., 1:, :] - image[..., :-1, :]
    return across.pow(2).mean() + down.pow(2).mean()


def keep_content_colors(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """``result``'s luminance with ``content``'s colour (its chroma in YCbCr): the style changes the light and
    texture, the content keeps its hues. Both (…, 3, H, W) in [0, 1] of the same size; the output is clamped."""
    if result.shape[-2:] != content.shape[-2:]:
        raise ValueError(f"the content ({tuple(content.shape[-2:])}) and the result ({tuple(result.shape[-2:])}) "
                         "must be of the same size to keep the content's colours")
    matrix = _RGB_TO_YCBCR.to(result.device, result.dtype)
    ycc_result = torch.einsum("ij,...jhw->...ihw", matrix, result)
    ycc_content = torch.einsum("ij,...jhw->...ihw", matrix, content.to(result.dtype))
    mixed = torch.cat([ycc_result[..., :1, :, :], ycc_content[..., 1:, :, :]], dim=-3)
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(matrix), mixed).clamp(0, 1)
