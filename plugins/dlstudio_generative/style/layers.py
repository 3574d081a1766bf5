"""The layers a style-transfer run can take its content and style from, by name, for either feature network.

Pure Python (no torch): the panel lists these names and a spec is checked against them before anything heavy
is imported.

- ``vgg19``: VGG-19's ``features``, its modules named as the book (and Gatys et al.) name them: ``conv1_1``,
  ``relu1_1``, ``conv1_2``, ``relu1_2``, ``pool1``, ``conv2_1`` … ``relu5_4``, ``pool5``.
- ``random-banks``: one convolution of banks of random filters, a bank per kernel size, named ``bank3`` …
  ``bank37`` (the kernel's side in pixels).
"""

from __future__ import annotations

FEATURES = ("random-banks", "vgg19")

#: torchvision's VGG-19 configuration "E": output channels of each 3×3 convolution, "M" for a max-pool.
VGG19_CONFIG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                                       512, 512, 512, 512, "M", 512, 512, 512, 512, "M")

#: Kernel sides of the random filter banks, from a pixel's neighbourhood to a third of a 128 px picture.
BANK_KERNELS = (3, 5, 9, 15, 21, 29, 37)
#: Random filters in each bank.
BANK_FILTERS = 64

LIMITATION = ("The random filter banks (the offline default) carry over a style's colours and its blob-like "
              "texture, not its brush strokes or shapes: for those, use VGG-19 with its pretrained weights.")

_DEFAULTS = {
    "vgg19": (("conv4_2",), ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")),
    # The smallest bank keeps the content's edges; every bank's Gram matrix makes the texture, at its scale.
    "random-banks": (("bank3",), tuple(f"bank{k}" for k in BANK_KERNELS)),
}


def vgg19_layer_names() -> tuple[str, ...]:
    """The name of each module of torchvision's ``vgg19().features``, by index (``[0] == "conv1_1"``)."""
    names: list[str] = []
    block, conv = 1, 0
    for item in VGG19_CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            conv += 1
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
    return tuple(names)


def vgg19_conv_shapes() -> dict[str, tuple[int, ...]]:
    """Every weight and bias in a VGG-19 ``features`` state dict (keys as torchvision writes them), by shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    channels, index = 3, 0
    for item in VGG19_CONFIG:
        if item == "M":
            index += 1
            continue
        shapes[f"{index}.weight"] = (int(item), channels, 3, 3)
        shapes[f"{index}.bias"] = (int(item),)
        channels, index = int(item), index + 2
    return shapes


def bank_layer_names() -> tuple[str, ...]:
    return tuple(f"bank{k}" for k in BANK_KERNELS)


def layer_names(features: str) -> tuple[str, ...]:
    """The layers of ``features`` ("vgg19" or "random-banks") in the order the network computes them."""
    if features == "vgg19":
        return vgg19_layer_names()
    if features == "random-banks":
        return bank_layer_names()
    raise ValueError(f"unknown feature network {features!r}; choose one of {', '.join(FEATURES)}")


def default_layers(features: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(content layers, style layers) used when a spec leaves them empty."""
    layer_names(features)  # an unknown network is refused with its message
    return _DEFAULTS[features]


def parse_layers(features: str, content_layer: str, style_layers: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The content and style layers a spec names (comma-separated; empty: the network's defaults), checked.

    ValueError names the unknown layer and the layers there are.
    """
    known = layer_names(features)
    default_content, default_style = default_layers(features)
    chosen = []
    for what, text, default in (("content_layer", content_layer, default_content),
                                ("style_layers", style_layers, default_style)):
        names = tuple(name.strip() for name in str(text).split(",") if name.strip()) or default
        for name in names:
            if name not in known:
                hint = (" (VGG-19's layers are named conv1_1 … relu5_4; the random banks' bank3 … bank37)"
                        if (features == "random-banks" and name.startswith(("conv", "relu", "pool")))
                        or (features == "vgg19" and name.startswith("bank")) else "")
                raise ValueError(f"{what}: {features} has no layer {name!r}{hint}; its layers are "
                                 f"{', '.join(known)}")
        if len(set(names)) != len(names):
            raise ValueError(f"{what}: a layer is named twice in {text!r}")
        chosen.append(names)
    return chosen[0], chosen[1]
