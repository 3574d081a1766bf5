"""The book's DCGAN, sized by the picture: layer shapes at 32 and 64 px, output ranges, N(0, 0.02) init, the
parameter counts shown to the user (against PyTorch's DCGAN tutorial, the book's network), the digits scorer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio_generative.gan.catalog import dcgan_parameter_counts, model_specs
from dlstudio_generative.gan.models import DCGAN, DigitsScorer, build_dcgan


def shapes_through(stack: nn.Sequential, x: torch.Tensor, kind: type) -> list[tuple[int, ...]]:
    """The output shape of each layer of ``kind`` in ``stack``."""
    out = []
    for layer in stack:
        x = layer(x)
        if isinstance(layer, kind):
            out.append(tuple(x.shape[1:]))
    return out


@pytest.mark.parametrize(("size", "channels", "generator", "discriminator"), [
    (64, 3, [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)],
     [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (1, 1, 1)]),
    (32, 1, [(256, 4, 4), (128, 8, 8), (64, 16, 16), (1, 32, 32)],
     [(64, 16, 16), (128, 8, 8), (256, 4, 4), (1, 1, 1)]),
])
def test_the_stacks_double_and_halve_the_side_with_the_book_widths(size, channels, generator, discriminator):
    gan = DCGAN(latent=100, width=64, channels=channels, image_size=size).eval()
    z = torch.randn(2, 100, 1, 1)
    assert shapes_through(gan.generator, z, nn.ConvTranspose2d) == generator
    assert shapes_through(gan.discriminator, torch.zeros(2, channels, size, size), nn.Conv2d) == discriminator
    kernels = {(m.kernel_size, m.stride) for m in gan.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)}
    assert kernels == {((4, 4), (1, 1)), ((4, 4), (2, 2))}
    slopes = {m.negative_slope for m in gan.discriminator if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}


def test_samples_lie_in_tanh_range_and_d_says_a_probability():
    gan = DCGAN(latent=16, width=8, channels=1, image_size=32)
    with torch.no_grad():
        gan.generator[-2].weight.mul_(1000)  # the last layer's outputs huge: Tanh saturates, never exceeds
    images = gan(torch.randn(32, 16))
    assert images.shape == (32, 1, 32, 32)
    assert images.min() >= -1 and images.max() <= 1 and images.abs().max() > 0.99
    x = torch.randn(32, 1, 32, 32) * 100
    p = gan.d_probability(x)
    assert p.shape == (32,) and (p >= 0).all() and (p <= 1).all()
    assert torch.allclose(p, 1 / (1 + torch.exp(-gan.discriminator(x).flatten())))  # the book's Sigmoid


def test_weights_start_as_normal_0_002_and_batchnorm_as_normal_1_002():
    torch.manual_seed(0)
    gan = DCGAN(latent=100, width=64, channels=3, image_size=64)
    convs = torch.cat([m.weight.flatten() for m in gan.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)])
    norms = [m for m in gan.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight.flatten() for m in norms])
    assert convs.numel() > 6_000_000
    assert abs(convs.mean().item()) < 1e-4 and convs.std().item() == pytest.approx(0.02, rel=0.01)
    assert scales.mean().item() == pytest.approx(1.0, abs=0.003) and scales.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.count_nonzero(m.bias) == 0 for m in norms)
    assert all(m.bias is None for m in gan.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d))


def test_parameter_counts_match_pytorch_dcgan_tutorial_and_the_description():
    # PyTorch's DCGAN tutorial (nz 100, ngf = ndf = 64, 3 channels, 64 px: the book's network) prints
    # 3,576,704 parameters for the generator and 2,765,568 for the discriminator.
    book = DCGAN(100, 64, 3, 64).parameter_counts()
    assert book == {"generator": 3_576_704, "discriminator": 2_765_568}
    for latent, width, channels, size in [(100, 32, 1, 32), (20, 8, 3, 64), (7, 5, 1, 32)]:
        assert DCGAN(latent, width, channels, size).parameter_counts() == dcgan_parameter_counts(
            latent, width, channels, size)
    spec = next(s for s in model_specs() if s.id == "generative.dcgan")
    ours = DCGAN(100, 32, 1, 32).parameter_counts()
    assert f"{ours['generator']:,}" in spec.description and "3,576,704" in spec.description


def test_the_model_is_sized_by_the_data_and_refuses_other_sizes():
    gan = build_dcgan({"latent": 10, "width": 8}, DataInfo((3, 64, 64)))
    assert gan(torch.randn(1, 10)).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="32 or 64 px"):
        build_dcgan({"latent": 10, "width": 8}, DataInfo((1, 48, 48)))
    with pytest.raises(ValueError, match="square greyscale or RGB"):
        build_dcgan({"latent": 10, "width": 8}, DataInfo((4, 32, 32)))


def test_the_digits_scorer_classifies_32_pixel_digits():
    scorer = DigitsScorer(1, 32, 10, 8)
    assert scorer(torch.zeros(5, 1, 32, 32)).shape == (5, 10)
