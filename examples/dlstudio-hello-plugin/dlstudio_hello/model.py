"""The model: a small multi-layer perceptron from 2-D points to class logits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlstudio.contract import DataInfo
from torch import nn

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}


def build_mlp(params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    """``ModelSpec.build``: ``layers`` hidden layers of ``hidden`` units, one logit per class."""
    width = info.input_shape[0]
    layers: list[nn.Module] = []
    for _ in range(params["layers"]):
        layers += [nn.Linear(width, params["hidden"]), _ACTIVATIONS[params["activation"]]()]
        width = params["hidden"]
    layers.append(nn.Linear(width, info.num_classes))
    return nn.Sequential(*layers)
