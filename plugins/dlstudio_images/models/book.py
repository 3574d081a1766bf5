"""The book's own networks: the MNIST ``Net`` (chapter 5) and its dogs-vs-cats variant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.contract import DataInfo


def _conv_output(size: int) -> int:
    """Side of the feature map after conv k5 → pool 2 → conv k5 → pool 2."""
    return ((size - 4) // 2 - 4) // 2


class Net(nn.Module):
    """Chapter 5's MNIST CNN: 21,840 parameters at 1×28×28 with 10 classes."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, size: int = 28, dropout: float = 0.5) -> None:
        super().__init__()
        side = _conv_output(size)
        if side < 1:
            raise ValueError(f"the book's Net needs images of at least 16×16 pixels, got {size}×{size}")
        self.conv1 = nn.Conv2d(in_channels, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(dropout)
        self.flat = 20 * side * side
        self.fc1 = nn.Linear(self.flat, 50)
        self.fc2 = nn.Linear(50, num_classes)
        self.dropout = dropout

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        return x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(self.features(x)))
        x = F.dropout(x, self.dropout, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


class DogsCatsNet(Net):
    """Chapter 5's dogs-vs-cats network from scratch: the same convolutions, three linear layers (224 px)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 2, size: int = 224, dropout: float = 0.5) -> None:
        super().__init__(in_channels, num_classes, size, dropout)
        self.fc1 = nn.Linear(self.flat, 500)
        self.fc2 = nn.Linear(500, 50)
        self.fc3 = nn.Linear(50, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.dropout(F.relu(self.fc1(self.features(x))), self.dropout, training=self.training)
        x = F.dropout(F.relu(self.fc2(x)), self.dropout, training=self.training)
        return F.log_softmax(self.fc3(x), dim=1)


#: Where each network's final layer lives (replaced when transferring to other classes).
HEADS = {"mnist_net": "fc2", "dogscats_net": "fc3"}


def _shape(info: DataInfo) -> tuple[int, int]:
    if len(info.input_shape) != 3 or info.input_shape[1] != info.input_shape[2]:
        raise ValueError(f"the book's networks take square images [C, H, W], got input shape {info.input_shape}")
    return info.input_shape[0], info.input_shape[1]


def build(kind: str, params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    channels, size = _shape(info)
    cls = Net if kind == "mnist_net" else DogsCatsNet
    dropout = float(params["dropout"])
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if not params["weights_file"]:
        return cls(channels, info.num_classes, size, dropout)
    from dlstudio_images.models.transfer import load_transfer_state, replace_linear

    weights = load_transfer_state(params["weights_file"], f"images.{kind}")
    head = HEADS[kind]
    model = cls(channels, weights.size(f"{head}.weight", 0, info.num_classes), size, dropout)
    weights.load_into(model)
    replace_linear(model, head, info.num_classes)
    return model
