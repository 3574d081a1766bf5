"""What the image models are and take — torchvision's architectures, each model's parameters and choices,
the classes a torchvision classifier is built for — without torch: registering the models (``dlstudio
--help``) reads these, and only building one imports torch."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from dlstudio.contract import DataInfo
from dlstudio_images.data.params import IMAGENET_MEAN, IMAGENET_STD

#: The book's own networks' parameters (dlstudio_images.models.book).
BOOK_DEFAULTS: dict[str, Any] = {"dropout": 0.5, "weights_file": ""}


@dataclass(frozen=True)
class Arch:
    id: str
    title: str
    weights_enum: str
    #: The final Linear layer, replaced for the data's classes.
    head: str
    #: Submodules left trainable when the backbone is frozen ("the classifier").
    classifier: tuple[str, ...]
    #: Blocks in input order, for "freeze up to": (name, submodules).
    stages: tuple[tuple[str, tuple[str, ...]], ...]
    #: Dropout modules of the classifier, whose p the ``dropout`` parameter sets.
    dropouts: tuple[str, ...] = ()
    dropout: float = 0.0
    input_size: int = 224
    min_size: int = 32
    description: str = ""


def _seq(prefix: str, groups: list[tuple[str, range]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(f"{prefix}.{i}" for i in idx)) for name, idx in groups)


_RESNET_STAGES = (("stem", ("conv1", "bn1")), ("layer1", ("layer1",)), ("layer2", ("layer2",)),
                  ("layer3", ("layer3",)), ("layer4", ("layer4",)))
_VGG = _seq("features", [("block1", range(0, 5)), ("block2", range(5, 10)), ("block3", range(10, 17)),
                         ("block4", range(17, 24)), ("block5", range(24, 31))])
_VGG_BN = _seq("features", [("block1", range(0, 7)), ("block2", range(7, 14)), ("block3", range(14, 24)),
                            ("block4", range(24, 34)), ("block5", range(34, 44))])
_DENSE = tuple((f"block{i}", (f"features.denseblock{i}", f"features.transition{i}")) for i in range(1, 4))
_INCEPTION = (
    ("stem", ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3")),
    ("mixed5", ("Mixed_5b", "Mixed_5c", "Mixed_5d")),
    ("mixed6", ("Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e")),
    ("mixed7", ("Mixed_7a", "Mixed_7b", "Mixed_7c")),
)

ARCHS: dict[str, Arch] = {a.id: a for a in (
    Arch("resnet18", "ResNet-18", "ResNet18_Weights", "fc", ("fc",), _RESNET_STAGES,
         description="Residual network, 11.7 M parameters; the book's chapter 3 transfer model."),
    Arch("resnet34", "ResNet-34", "ResNet34_Weights", "fc", ("fc",), _RESNET_STAGES,
         description="Residual network, 21.8 M parameters (chapter 8 features)."),
    Arch("resnet50", "ResNet-50", "ResNet50_Weights", "fc", ("fc",), _RESNET_STAGES,
         description="Bottleneck residual network, 25.6 M parameters."),
    Arch("vgg16", "VGG-16", "VGG16_Weights", "classifier.6", ("classifier",), _VGG,
         ("classifier.2", "classifier.5"), 0.5, description="VGG-16, 138 M parameters (chapter 5 transfer)."),
    Arch("vgg16_bn", "VGG-16 (batch norm)", "VGG16_BN_Weights", "classifier.6", ("classifier",), _VGG_BN,
         ("classifier.2", "classifier.5"), 0.5, description="VGG-16 with batch normalisation."),
    Arch("densenet121", "DenseNet-121", "DenseNet121_Weights", "classifier", ("classifier",),
         (("stem", ("features.conv0", "features.norm0")), *_DENSE,
          ("block4", ("features.denseblock4", "features.norm5"))),
         description="Densely connected network, 8 M parameters (chapter 8)."),
    Arch("inception_v3", "Inception-v3", "Inception_V3_Weights", "fc", ("fc", "AuxLogits"), _INCEPTION,
         ("dropout",), 0.5, input_size=299, min_size=75,
         description="Inception-v3 at 299×299 with auxiliary logits (chapter 8)."),
    Arch("mobilenet_v3_small", "MobileNet-V3 small", "MobileNet_V3_Small_Weights", "classifier.3",
         ("classifier",), _seq("features", [(f"block{i}", range(i, i + 1)) for i in range(13)]),
         ("classifier.2",), 0.2, description="A small, fast network (2.5 M parameters): good on a CPU."),
    Arch("efficientnet_b0", "EfficientNet-B0", "EfficientNet_B0_Weights", "classifier.1", ("classifier",),
         _seq("features", [(f"block{i}", range(i, i + 1)) for i in range(9)]), ("classifier.0",), 0.2,
         description="EfficientNet-B0, 5.3 M parameters."),
)}

FREEZE_FIXED = ("none", "backbone", "head_only")


#: Inception-v3's auxiliary classifier pools a 17×17 map: it needs 299-pixel inputs.
AUX_MIN_SIZE = 299


def defaults(arch: Arch) -> dict[str, Any]:
    out = {"weights": "random", "weights_file": "", "freeze": "none", "dropout": arch.dropout}
    if arch.id == "inception_v3":
        out["aux_logits"] = True
    return out


def choices(arch: Arch) -> dict[str, list]:
    return {"weights": ["random", "imagenet", "file"],
            "freeze": [*FREEZE_FIXED, *(s for s, _ in arch.stages)]}


@cache
def imagenet_classes() -> tuple[str, ...]:
    """ImageNet's 1,000 class names in torchvision's order (``<Weights>.IMAGENET1K_V1.meta["categories"]``),
    shipped as a text file so that describing a model needs no torchvision."""
    text = files("dlstudio_images.models").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(text.splitlines())


def default_data(arch: Arch) -> DataInfo:
    """The data a torchvision classifier is built for on its own: ImageNet's classes at its input size."""
    s = arch.input_size
    extra = {"size": [s, s], "channels": 3, "resize": "resize_crop", "normalize": "imagenet",
             "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    return DataInfo((3, s, s), imagenet_classes(), "image", extra)
