"""The image models' ModelSpecs: the book's networks, torchvision's, and heads on cached features."""

from __future__ import annotations

from functools import partial

from dlstudio.contract import DataInfo, ModelSpec
from dlstudio_images.models import book, heads, torchvision_models

DIGITS = tuple(str(i) for i in range(10))


def model_specs() -> list[ModelSpec]:
    specs = [
        ModelSpec(id="images.mnist_net", title="Book CNN (MNIST Net)", build=partial(book.build, "mnist_net"),
                  family="images", defaults=dict(book.DEFAULTS),
                  description="Chapter 5's Net: two convolutions, two linear layers; 21,840 parameters at 28×28.",
                  default_data=DataInfo((1, 28, 28), DIGITS, "image",
                                        {"size": [28, 28], "channels": 1, "normalize": "custom",
                                         "mean": [0.1307], "std": [0.3081]})),
        ModelSpec(id="images.dogscats_net", title="Book CNN (dogs vs cats)",
                  build=partial(book.build, "dogscats_net"), family="images", defaults=dict(book.DEFAULTS),
                  description="Chapter 5's network from scratch: Net's convolutions, three linear layers (224 px).",
                  default_data=DataInfo((3, 224, 224), ("cat", "dog"), "image",
                                        {"size": [224, 224], "channels": 3, "normalize": "imagenet"})),
    ]
    for arch in torchvision_models.ARCHS.values():
        specs.append(ModelSpec(
            id=f"images.{arch.id}", title=arch.title, build=partial(torchvision_models.build, arch),
            family="images", defaults=torchvision_models.defaults(arch), choices=torchvision_models.choices(arch),
            description=arch.description, default_data=torchvision_models.default_data(arch)))
    specs.extend(heads.head_specs())
    return specs
