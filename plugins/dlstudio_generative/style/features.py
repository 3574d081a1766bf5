"""The frozen networks style transfer looks through: VGG-19's ``features`` (the book's) or random filter banks
(the offline default). Both map an image to named feature maps; nothing in them is ever trained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio_generative.style.layers import BANK_FILTERS, BANK_KERNELS, FEATURES, vgg19_layer_names

#: ImageNet's channel means and deviations, which VGG-19's weights were trained on.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureNet(nn.Module):
    """A frozen network that returns the feature maps of the layers asked for, by name."""

    #: "vgg19" or "random-banks".
    kind = ""
    #: The layers it can return, in the order it computes them.
    layer_names: tuple[str, ...] = ()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def freeze(self) -> FeatureNet:
        self.eval()
        self.requires_grad_(False)
        return self


class VGG19Features(FeatureNet):
    """torchvision's VGG-19 ``features`` with ImageNet normalisation inside; its modules named as in the book.

    The image goes only as deep as the deepest layer asked for (conv5_1 needs 29 of the 37 modules). The ReLUs
    are not in-place, so a ``convX_Y`` output is the convolution's, not overwritten by the ReLU after it.
    """

    kind = "vgg19"
    layer_names = vgg19_layer_names()

    def __init__(self, state: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        self.features = make_layers(cfgs["E"])
        for module in self.features:
            if isinstance(module, nn.ReLU):
                module.inplace = False
        if state is not None:
            self.features.load_state_dict(state)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._index = {name: i for i, name in enumerate(self.layer_names)}
        self.freeze()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        deepest = max(self._index[name] for name in wanted)
        x = (image - self.mean) / self.std
        out = {}
        for index in range(deepest + 1):
            x = self.features[index](x)
            if self.layer_names[index] in wanted:
                out[self.layer_names[index]] = x
        return out


class RandomBanks(FeatureNet):
    """One convolution of banks of random filters, a bank per kernel size (3 to 37 px), each followed by a ReLU.

    Gram matrices of random filters' responses describe a texture well enough to carry colours and blobs over
    (Ustyuzhaninov et al., 2016, "Texture synthesis using shallow convolutional networks with random filters").
    A bank of large kernels is computed with a stride of an eighth of the kernel's side: its responses change
    slowly from pixel to pixel, and the stride cuts its cost, the bulk of the whole, by up to 16× (half the
    time of a 128 px run, the same picture).
    """

    kind = "random-banks"
    layer_names = tuple(f"bank{k}" for k in BANK_KERNELS)

    def __init__(self, seed: int = 0, kernels: tuple[int, ...] = BANK_KERNELS, filters: int = BANK_FILTERS) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.kernels = tuple(kernels)
        self.strides = tuple(max(1, k // 8) for k in self.kernels)
        self.layer_names = tuple(f"bank{k}" for k in self.kernels)
        for k in self.kernels:  # He-like scaling: every bank's responses are of the same magnitude
            weight = torch.randn(filters, 3, k, k, generator=generator) / (3 * k * k) ** 0.5
            self.register_buffer(f"weight{k}", weight, persistent=False)
        self.freeze()

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        x = image * 2 - 1  # centred on mid-grey, so that a filter sees dark and light alike
        out = {}
        for k, stride, name in zip(self.kernels, self.strides, self.layer_names, strict=True):
            if name in wanted:
                out[name] = F.relu(F.conv2d(x, getattr(self, f"weight{k}"), stride=stride, padding=k // 2))
        return out


def build_features(kind: str, *, vgg_weights: str = "", seed: int = 0,
                   report: Callable[[str], None] = print) -> FeatureNet:
    """The feature network a run asks for: ``"random-banks"`` (seeded) or ``"vgg19"`` with pretrained weights
    (from ``vgg_weights``, torch hub's cache or the download; see :mod:`.vgg_weights`)."""
    if kind == "random-banks":
        return RandomBanks(seed)
    if kind == "vgg19":
        from dlstudio_generative.style.vgg_weights import vgg19_features_state

        return VGG19Features(vgg19_features_state(vgg_weights, report=report))
    raise ValueError(f"unknown feature network {kind!r}; choose one of {', '.join(FEATURES)}")
