"""torchvision's classifiers with the book's transfer-learning options.

Weights: random, ImageNet (torchvision's file from the torch hub cache, downloaded when online), or a file
(a dlstudio checkpoint or a state dict, loaded without unpickling). The head is replaced for the data's
classes, the input adapted to its channels, and the network frozen up to a chosen block.
"""

from __future__ import annotations

import os
import re
import urllib.error
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio.runs import CheckpointError, apply_weights, load_weights
from dlstudio_images.models.params import AUX_MIN_SIZE, FREEZE_FIXED, Arch
from dlstudio_images.models.transfer import (
    adapt_input_channels,
    add_input_dropout,
    first_conv,
    freeze,
    freeze_all_but,
    load_transfer_state,
    replace_linear,
    with_bn_counters,
)

# -- weights -----------------------------------------------------------------------------------------


def _weights(arch: Arch) -> Any:
    import torchvision.models as tvm

    return getattr(tvm, arch.weights_enum).IMAGENET1K_V1


def imagenet_file(arch: Arch) -> tuple[str, Path]:
    """URL of the ImageNet weights and where torch's hub cache keeps them."""
    url = _weights(arch).url
    return url, Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def imagenet_state(arch: Arch) -> dict[str, torch.Tensor]:
    """The ImageNet weights: from the hub cache, else downloaded; offline, a message says where to put them."""
    url, path = imagenet_file(arch)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        match = torch.hub.HASH_REGEX.search(path.name)
        try:
            torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None, progress=False)
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            raise ValueError(
                f"the ImageNet weights of {arch.title} are not on this machine and could not be downloaded "
                f"({exc}). Download {url} and put it in {path.parent} as {path.name} (the torch hub cache; "
                f"set TORCH_HOME to move it), or choose weights 'random' or 'file'."
            ) from None
    try:
        state = load_weights(path).state
    except CheckpointError as exc:
        raise ValueError(f"{path} cannot be used as {arch.title}'s ImageNet weights: {exc}") from None
    if arch.id == "densenet121":
        state = _densenet_keys(state)
    return state


_OLD_DENSE = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def _densenet_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's DenseNet files use old key names ('norm.1'); rename them as torchvision does."""
    out = {}
    for key, value in state.items():
        m = _OLD_DENSE.match(key)
        out[m.group(1) + m.group(2) if m else key] = value
    return out


# -- building ------------------------------------------------------------------------------------------


def constructor(arch: Arch) -> Callable[..., nn.Module]:
    import torchvision.models as tvm

    return getattr(tvm, arch.id)


def bare(arch: Arch, num_classes: int, pretrained: bool = False) -> nn.Module:
    """The torchvision network with ``num_classes`` outputs, randomly initialised."""
    kwargs: dict[str, Any] = {"weights": None, "num_classes": num_classes}
    if arch.id == "inception_v3":
        kwargs.update(aux_logits=True, init_weights=not pretrained, transform_input=pretrained)
    return constructor(arch)(**kwargs)


def _check_input(arch: Arch, info: DataInfo) -> int:
    if len(info.input_shape) != 3:
        raise ValueError(f"{arch.title} takes images [C, H, W], got input shape {info.input_shape}")
    channels, height, width = info.input_shape
    if min(height, width) < arch.min_size:
        raise ValueError(f"{arch.title} needs images of at least {arch.min_size}×{arch.min_size} pixels, "
                         f"got {height}×{width}: raise the dataset's size")
    return channels


def _drop_aux(model: nn.Module) -> None:
    model.AuxLogits = None
    model.aux_logits = False


def build(arch: Arch, params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    channels = _check_input(arch, info)
    aux = bool(params.get("aux_logits", False))
    if aux and min(info.input_shape[1:]) < AUX_MIN_SIZE:
        raise ValueError(f"Inception-v3's auxiliary logits need images of at least {AUX_MIN_SIZE} pixels; the data "
                         f"gives {info.input_shape[1]}: raise the size to {AUX_MIN_SIZE} or turn aux_logits off")
    weights = params["weights"]
    if weights == "imagenet":
        model = bare(arch, 1000, pretrained=True)
        apply_weights(model, with_bn_counters(model, imagenet_state(arch)), source=f"{arch.title} ImageNet weights")
    elif weights == "file":
        if not params["weights_file"]:
            raise ValueError("weights 'file' needs a weights_file (a dlstudio checkpoint or a .pt/.pth state dict)")
        weights = load_transfer_state(params["weights_file"], f"images.{arch.id}")
        model = bare(arch, weights.size(f"{arch.head}.weight", 0, info.num_classes), pretrained=True)
        if arch.id == "inception_v3" and "AuxLogits.fc.weight" not in weights.state:
            _drop_aux(model)
        conv_name, conv = first_conv(model)
        adapt_input_channels(model, weights.size(f"{conv_name}.weight", 1, conv.in_channels))
        weights.load_into(model)
    else:
        model = bare(arch, info.num_classes)
    adapt_input_channels(model, channels)
    replace_linear(model, arch.head, info.num_classes)
    if arch.id == "inception_v3":
        if aux and model.AuxLogits is not None:
            replace_linear(model, "AuxLogits.fc", info.num_classes)
        elif aux:
            raise ValueError(f"{params['weights_file']} has no auxiliary classifier: turn aux_logits off")
        else:
            _drop_aux(model)
    set_dropout(model, arch, float(params["dropout"]))
    apply_freeze(model, arch, params["freeze"])
    return model


def set_dropout(model: nn.Module, arch: Arch, p: float) -> None:
    if not 0 <= p < 1:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    if arch.dropouts:
        for path in arch.dropouts:
            model.get_submodule(path).p = p
    else:
        add_input_dropout(model.get_submodule(arch.head), p)


def apply_freeze(model: nn.Module, arch: Arch, choice: str) -> list[str]:
    if choice == "none":
        return []
    if choice == "backbone":
        return freeze_all_but(model, arch.classifier)
    if choice == "head_only":
        heads = [arch.head] + (["AuxLogits.fc"] if getattr(model, "AuxLogits", None) is not None else [])
        return freeze_all_but(model, heads)
    names = [s for s, _ in arch.stages]
    if choice not in names:
        raise ValueError(f"freeze {choice!r} is not one of {', '.join((*FREEZE_FIXED, *names))}")
    modules = [m for _, group in arch.stages[: names.index(choice) + 1] for m in group]
    return freeze(model, modules)
