"""Heads trained on cached features: the book's ``FullyConnectedModel`` (a linear layer), a small MLP,
VGG-16's own classifier (chapter 5), and the book's ``EnsembleModel`` over several backbones (chapter 8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.contract import DataInfo

VGG_FEATURES = 512 * 7 * 7


class FeatureHead(nn.Module):
    """Dropout then a linear layer (``FullyConnectedModel``), or an MLP with one hidden layer."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = dropout
        self.hidden = nn.Linear(in_features, hidden) if hidden else None
        self.fc = nn.Linear(hidden or in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        if self.hidden is not None:
            x = F.dropout(F.relu(self.hidden(x)), self.dropout, self.training)
        return self.fc(x)


class VGGClassifier(nn.Module):
    """VGG-16's classifier alone, on flattened 512×7×7 features (the book's pre-convoluted recipe)."""

    def __init__(self, num_classes: int, dropout: float = 0.5, imagenet: bool = False) -> None:
        super().__init__()
        self.classifier = nn.Sequential(
            nn.Linear(VGG_FEATURES, 4096), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(dropout), nn.Linear(4096, 1000),
        )
        if imagenet:
            from dlstudio_images.models.params import ARCHS
            from dlstudio_images.models.torchvision_models import imagenet_state

            state = imagenet_state(ARCHS["vgg16"])
            self.load_state_dict({k: v for k, v in state.items() if k.startswith("classifier.")})
        self.classifier[6] = nn.Linear(4096, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)


class EnsembleHead(nn.Module):
    """The book's ``EnsembleModel``: a linear layer per backbone on its dropped-out features, summed,
    dropout, and a final linear layer."""

    def __init__(self, dims: Sequence[int], num_classes: int, hidden: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        self.dims = [int(d) for d in dims]
        self.dropout = dropout
        self.branches = nn.ModuleList(nn.Linear(d, hidden) for d in self.dims)
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.dims, dim=1)
        summed = sum(fc(F.dropout(p, self.dropout, self.training)) for fc, p in zip(self.branches, parts))
        return self.out(F.dropout(summed, self.dropout, self.training))


def _in_features(info: DataInfo) -> int:
    if len(info.input_shape) != 1:
        raise ValueError(f"a head takes feature vectors; the data gives {info.input_shape}: use the "
                         "'Cached backbone features' dataset")
    return int(info.input_shape[0])


def _dropout(params: Mapping[str, Any]) -> float:
    p = float(params["dropout"])
    if not 0 <= p < 1:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    return p


def build_head(params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    n = _in_features(info)
    if params["head"] == "vgg16_classifier":
        if n != VGG_FEATURES:
            raise ValueError(f"VGG-16's classifier takes VGG-16 features flattened at 224 px ({VGG_FEATURES} "
                             f"values); these have {n}: use backbone vgg16, pooling 'flatten', size 224")
        return VGGClassifier(info.num_classes, _dropout(params), params["weights"] == "imagenet")
    hidden = int(params["hidden"]) if params["head"] == "mlp" else 0
    return FeatureHead(n, info.num_classes, hidden, _dropout(params))


def build_ensemble(params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    n = _in_features(info)
    dims = list(info.extra.get("feature_dims") or [n])
    if sum(dims) != n:
        raise ValueError(f"feature_dims {dims} do not add up to the {n} features")
    return EnsembleHead(dims, info.num_classes, int(params["hidden"]), _dropout(params))
