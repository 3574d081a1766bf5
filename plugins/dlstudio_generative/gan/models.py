"""The book's DCGAN (generator and discriminator in one module, checkpointed together) and a small digits
classifier that scores a digits GAN's samples.

Sized by the image (32 or 64 px, 1 or 3 channels, from the data) and a width ``w`` (the book: 64):

- generator: latent → ConvTranspose2d(k4, s1) to 4×4, then ConvTranspose2d(k4, s2, p1) doubling the side,
  BatchNorm + ReLU after each but the last, Tanh out; channels 8w → 4w → 2w → w → C at 64 px (the book), and
  4w → 2w → w → C at 32 px (one doubling fewer: the widest layer is the one dropped);
- discriminator: the mirror, Conv2d(k4, s2, p1) halving the side, LeakyReLU 0.2 (BatchNorm on all but the
  first, as in the DCGAN paper and the book's code), then Conv2d(k4, s1) from 4×4 to one number.

The discriminator returns **logits**; :meth:`DCGAN.d_probability` is the book's Sigmoid output. The book's
``Sigmoid`` + ``BCELoss`` is computed as ``binary_cross_entropy_with_logits``, which is the same function but
stays accurate for confident outputs and is safe under float16 autocast (``BCELoss`` refuses autocast: a
sigmoid in half precision saturates to exactly 0 or 1 and the log blows up).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

#: Image sides the stacks are built for.
IMAGE_SIZES = (32, 64)


def _doublings(image_size: int) -> int:
    """ConvTranspose2d layers with stride 2 after the first 4×4 one: 3 for 32 px, 4 for 64 px."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"the DCGAN is built for {' or '.join(map(str, IMAGE_SIZES))} px images, got "
                         f"{image_size} px: set the dataset's size to one of them")
    return {32: 3, 64: 4}[image_size]


def generator_widths(width: int, image_size: int) -> list[int]:
    """Channels after each generator layer but the last (widest first): [8w, 4w, 2w, w] at 64 px."""
    return [width * 2 ** i for i in reversed(range(_doublings(image_size)))]


def build_generator(latent: int, width: int, channels: int, image_size: int) -> nn.Sequential:
    widths = generator_widths(width, image_size)
    layers: list[nn.Module] = [nn.ConvTranspose2d(latent, widths[0], 4, 1, 0, bias=False),
                               nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
    for wide, narrow in itertools.pairwise(widths):
        layers += [nn.ConvTranspose2d(wide, narrow, 4, 2, 1, bias=False), nn.BatchNorm2d(narrow), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def build_discriminator(width: int, channels: int, image_size: int) -> nn.Sequential:
    widths = list(reversed(generator_widths(width, image_size)))  # [w, 2w, 4w, (8w)]
    layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for narrow, wide in itertools.pairwise(widths):
        layers += [nn.Conv2d(narrow, wide, 4, 2, 1, bias=False), nn.BatchNorm2d(wide), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]  # logits: see the module's docstring
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    """The book's (and DCGAN paper's) initialisation: convolutions N(0, 0.02), BatchNorm N(1, 0.02) and 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGAN(nn.Module):
    """Both networks of a DCGAN. ``forward(z)`` generates images from latent vectors ``(N, latent)``."""

    def __init__(self, latent: int = 100, width: int = 64, channels: int = 3, image_size: int = 64) -> None:
        super().__init__()
        self.latent, self.width, self.channels, self.image_size = latent, width, channels, image_size
        self.generator = build_generator(latent, width, channels, image_size)
        self.discriminator = build_discriminator(width, channels, image_size)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(as_latent_map(z))

    def d_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The discriminator's logit per image, shape (N,)."""
        return self.discriminator(images).flatten()

    def d_probability(self, images: torch.Tensor) -> torch.Tensor:
        """D(x): the probability the discriminator gives each image of being real (the book's Sigmoid)."""
        return torch.sigmoid(self.d_logits(images))

    def parameter_counts(self) -> dict[str, int]:
        return {"generator": _count(self.generator), "discriminator": _count(self.discriminator)}


def as_latent_map(z: torch.Tensor) -> torch.Tensor:
    """Latent vectors ``(N, latent)`` as the 1×1 maps the first transposed convolution reads."""
    return z.reshape(z.shape[0], -1, 1, 1)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_dcgan(params: Mapping[str, Any], info: Any) -> DCGAN:
    shape = tuple(info.input_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[0] not in (1, 3):
        raise ValueError(f"the DCGAN needs square greyscale or RGB images (1 or 3, S, S), and the data gives "
                         f"{shape}")
    return DCGAN(int(params["latent"]), int(params["width"]), shape[0], shape[1])


# -- the digits scorer ------------------------------------------------------------------------------------
class DigitsScorer(nn.Module):
    """A small CNN classifier: three conv-BN-ReLU-pool blocks and a linear layer. Trained on
    ``generative.digits`` it tells which digit a generated sample looks like (:mod:`.quality`)."""

    def __init__(self, channels: int = 1, image_size: int = 32, classes: int = 10, width: int = 16) -> None:
        super().__init__()
        if image_size % 8:
            raise ValueError(f"the digits scorer needs an image side divisible by 8, got {image_size}")
        blocks: list[nn.Module] = []
        inputs = channels
        for out in (width, 2 * width, 4 * width):
            blocks += [nn.Conv2d(inputs, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True),
                       nn.MaxPool2d(2)]
            inputs = out
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                                        nn.Linear(4 * width * (image_size // 8) ** 2, classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


def build_digits_scorer(params: Mapping[str, Any], info: Any) -> DigitsScorer:
    shape = tuple(info.input_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"the digits scorer needs square images (C, S, S), and the data gives {shape}")
    if not info.classes:
        raise ValueError("the digits scorer is a classifier: the data must have classes (use generative.digits)")
    return DigitsScorer(shape[0], shape[1], len(info.classes), int(params["width"]))
