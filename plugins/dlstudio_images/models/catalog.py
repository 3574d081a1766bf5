"""The image models' ModelSpecs: the book's networks, torchvision's, and heads on cached features.

Describing them imports no torch (``dlstudio --help`` lists them): what each takes comes from ``params``, and
its module is imported when it is first built.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from dlstudio.contract import DataInfo, ModelSpec
from dlstudio_images.models.params import ARCHS, BOOK_DEFAULTS, choices, default_data, defaults

if TYPE_CHECKING:
    from torch import nn

DIGITS = tuple(str(i) for i in range(10))


def _build_book(kind: str, params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    from dlstudio_images.models import book

    return book.build(kind, params, info)


def _build_torchvision(arch_id: str, params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    from dlstudio_images.models import torchvision_models

    return torchvision_models.build(ARCHS[arch_id], params, info)


def _build_head(params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    from dlstudio_images.models import heads

    return heads.build_head(params, info)


def _build_ensemble(params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    from dlstudio_images.models import heads

    return heads.build_ensemble(params, info)


def head_specs() -> list[ModelSpec]:
    two = ("cat", "dog")
    return [
        ModelSpec(id="images.feature_head", title="Head on cached features", build=_build_head, family="images",
                  defaults={"head": "linear", "hidden": 256, "dropout": 0.0, "weights": "random"},
                  choices={"head": ["linear", "mlp", "vgg16_classifier"], "weights": ["random", "imagenet"]},
                  description="A linear layer (the book's FullyConnectedModel), an MLP, or VGG-16's classifier "
                              "(ImageNet weights optional), trained on a backbone's cached features.",
                  default_data=DataInfo((512,), two, "features", {"feature_dims": [512]})),
        ModelSpec(id="images.ensemble_head", title="Ensemble of backbones (book)", build=_build_ensemble,
                  family="images", defaults={"hidden": 512, "dropout": 0.5},
                  description="The book's EnsembleModel: one linear layer per backbone's features, summed, "
                              "then a classifier. Use with several backbones' cached features.",
                  default_data=DataInfo((512 + 2048 + 1024,), two, "features", {"feature_dims": [512, 2048, 1024]})),
    ]


def model_specs() -> list[ModelSpec]:
    specs = [
        ModelSpec(id="images.mnist_net", title="Book CNN (MNIST Net)", build=partial(_build_book, "mnist_net"),
                  family="images", defaults=dict(BOOK_DEFAULTS),
                  description="Chapter 5's Net: two convolutions, two linear layers; 21,840 parameters at 28×28.",
                  default_data=DataInfo((1, 28, 28), DIGITS, "image",
                                        {"size": [28, 28], "channels": 1, "normalize": "custom",
                                         "mean": [0.1307], "std": [0.3081]})),
        ModelSpec(id="images.dogscats_net", title="Book CNN (dogs vs cats)",
                  build=partial(_build_book, "dogscats_net"), family="images", defaults=dict(BOOK_DEFAULTS),
                  description="Chapter 5's network from scratch: Net's convolutions, three linear layers (224 px).",
                  default_data=DataInfo((3, 224, 224), ("cat", "dog"), "image",
                                        {"size": [224, 224], "channels": 3, "normalize": "imagenet"})),
    ]
    for arch in ARCHS.values():
        specs.append(ModelSpec(
            id=f"images.{arch.id}", title=arch.title, build=partial(_build_torchvision, arch.id),
            family="images", defaults=defaults(arch), choices=choices(arch), description=arch.description,
            default_data=default_data(arch)))
    specs.extend(head_specs())
    return specs
