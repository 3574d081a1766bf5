"""Style transfer's losses against hand computations, and "keep the content's colours" against PIL's YCbCr."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio_generative.images import image_to_tensor
from dlstudio_generative.style.losses import (
    book_style_weights,
    content_loss,
    gram,
    keep_content_colors,
    relative_weights,
    style_loss,
    total_variation,
)


def test_gram_matrix_is_features_times_their_transpose_over_hw():
    # Two channels over a 2×2 map: rows (1, 2, 3, 4) and (0, 1, 0, -1).
    features = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, -1.0]]]])
    # By hand: 1+4+9+16 = 30, 0+2+0-4 = -2, 0+1+0+1 = 2; divided by H·W = 4.
    assert torch.equal(gram(features), torch.tensor([[[7.5, -0.5], [-0.5, 0.5]]]))


def test_gram_matrix_is_per_image_in_a_batch():
    one = torch.randn(1, 3, 4, 5)
    two = torch.randn(1, 3, 4, 5)
    both = gram(torch.cat([one, two]))
    assert both.shape == (2, 3, 3)
    assert torch.allclose(both[1], gram(two)[0])


def test_style_and_content_losses_weigh_each_layer():
    a, b = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    # gram(a) = [[4/4]] = 1, gram(b) = 0: squared difference 1 per layer.
    loss = style_loss({"x": a, "y": 2 * a}, {"x": gram(b), "y": gram(b)}, {"x": 0.5, "y": 0.25})
    assert float(loss) == pytest.approx(0.5 * 1 + 0.25 * 16)  # gram(2a) = 4, squared 16
    assert float(content_loss({"x": a}, {"x": b}, {"x": 3.0})) == pytest.approx(3.0)


def test_the_books_per_layer_style_weights_are_1e3_over_channels_squared():
    assert book_style_weights({"conv1_1": torch.zeros(1, 64, 2, 2), "conv5_1": torch.zeros(1, 512, 1, 1)}) == {
        "conv1_1": pytest.approx(1e3 / 4096), "conv5_1": pytest.approx(1e3 / 262144)}


def test_relative_weights_make_each_layers_error_relative_to_its_target():
    targets = {"small": torch.full((1, 2, 2), 0.1), "large": torch.full((1, 2, 2), 100.0)}
    weights = relative_weights(targets)
    # A result off by 10 % of its target costs the same on either layer: 0.01 / 2 layers.
    for name, target in targets.items():
        assert weights[name] * float(((1.1 * target - target) ** 2).mean()) == pytest.approx(0.005)


def test_total_variation_by_hand():
    image = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    # Across: 1 and 1 (mean of squares 1); down: 2 and 2 (mean of squares 4).
    assert float(total_variation(image)) == pytest.approx(5.0)
    assert float(total_variation(torch.full((1, 3, 5, 5), 0.7))) == 0.0


def test_keeping_the_content_colours_is_the_results_luminance_with_the_contents_chroma():
    rng = np.random.default_rng(0)
    result = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    content = Image.fromarray(rng.integers(60, 200, (16, 16, 3), dtype=np.uint8))
    ours = keep_content_colors(image_to_tensor(result)[None], image_to_tensor(content)[None])[0]
    # PIL's own (JPEG, BT.601) YCbCr, independently: Y from the result, Cb and Cr from the content.
    y = result.convert("YCbCr").getchannel(0)
    _, cb, cr = content.convert("YCbCr").split()
    reference = np.asarray(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"), dtype=np.float32) / 255
    assert np.abs(ours.permute(1, 2, 0).numpy() - reference).max() < 4 / 255


def test_keeping_the_colours_of_the_content_itself_changes_nothing_and_sizes_must_match():
    content = torch.rand(1, 3, 8, 8)
    assert torch.allclose(keep_content_colors(content, content), content, atol=1e-5)
    with pytest.raises(ValueError, match="same size"):
        keep_content_colors(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
