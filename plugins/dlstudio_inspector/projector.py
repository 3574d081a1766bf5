"""An embedding projector (TensorBoard's): a layer's features for N dataset samples, projected to 2-D.

:func:`collect` runs samples through the model with a forward hook on one layer (or takes the raw input),
flattens each sample's output and keeps its dataset index, true class and predicted class;
:func:`project` maps the features to 2-D with PCA or t-SNE (scikit-learn). Both are plain functions: the
view runs them in the background; :func:`compute` is a generator that reports progress and can be stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio_inspector.common import InspectorError, first_tensor, forward_hooks, module_named
from dlstudio_inspector.inputs import run_forward

#: The pseudo-layer that stands for the model's input itself (the raw pixels).
INPUT = ""
METHODS = ("pca", "tsne")
#: More points than this make t-SNE take minutes (it is quadratic in memory and roughly N log N in time).
TSNE_MAX = 3000
PCA_MAX = 20000
#: Features are reduced to this many dimensions with PCA before t-SNE (the usual practice; it is much faster).
TSNE_PCA_DIMS = 50


@dataclass
class Features:
    """One row per sample: the flattened layer output, where the sample came from and what it is."""

    values: np.ndarray  # (N, D) float32
    #: The sample's index in its split of the dataset.
    indices: np.ndarray  # (N,) int
    #: True class (-1 where the dataset gives none).
    labels: np.ndarray  # (N,) int
    #: The model's predicted class (-1 where the output is not one score per class).
    predicted: np.ndarray  # (N,) int
    layer: str
    split: str
    #: The layer's output shape for one sample, before flattening.
    shape: tuple[int, ...]


@dataclass
class Projection:
    points: np.ndarray  # (N, 2) float32, row i is features.indices[i]
    method: str
    features: Features
    seconds: float
    #: PCA only: the share of the variance each of the two axes explains.
    explained: tuple[float, float] | None = None

    def nearest(self, x: float, y: float) -> int:
        """The row of the point closest to (x, y)."""
        return int(np.argmin(((self.points - np.array([x, y], dtype=np.float32)) ** 2).sum(1)))


def choose_indices(total: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct indices out of ``total``, drawn at random (reproducibly), in increasing order."""
    if total <= 0:
        raise InspectorError("the dataset is empty")
    if n < 2:
        raise InspectorError(f"a projection needs at least 2 samples, got {n}")
    if n >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))


def estimate_seconds(method: str, n: int) -> float:
    """A rough duration on one CPU core, to tell the user before starting (t-SNE: ~1 s per 150 points)."""
    return n / 150 if method == "tsne" else n / 20000


def _item(dataset: Any, index: int) -> tuple[torch.Tensor, int]:
    item = dataset[int(index)]
    x, label = (item[0], item[1]) if isinstance(item, (tuple, list)) and len(item) >= 2 else (item, None)
    label_int = int(label) if label is not None and torch.as_tensor(label).numel() == 1 else -1
    return torch.as_tensor(x), label_int


def _predicted(output: Any, rows: int, num_classes: int) -> np.ndarray:
    t = first_tensor(output)
    if t is None or t.dim() != 2 or t.shape[0] != rows or (num_classes and t.shape[1] != num_classes):
        return np.full(rows, -1, dtype=np.int64)
    return t.argmax(1).cpu().numpy().astype(np.int64)


def collect_steps(model: nn.Module, dataset: Any, layer: str, indices: np.ndarray, *, split: str = "valid",
                  num_classes: int = 0, batch_size: int = 128) -> Iterator[tuple[int, int] | Features]:
    """Like :func:`collect`, yielding (done, total) after each batch and the :class:`Features` last."""
    if isinstance(model, torch.jit.ScriptModule) and layer != INPUT:
        raise InspectorError("a layer's features need forward hooks, which TorchScript models do not support; "
                             "open the model from its checkpoint, or project the raw input")
    module = module_named(model, layer) if layer != INPUT else None
    rows: list[np.ndarray] = []
    labels: list[int] = []
    predicted: list[np.ndarray] = []
    shape: tuple[int, ...] = ()
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(indices), batch_size):
            chosen = indices[start: start + batch_size]
            items = [_item(dataset, i) for i in chosen]
            x = torch.stack([it[0] for it in items])
            labels.extend(it[1] for it in items)
            caught: list[torch.Tensor] = []

            def keep(_name: str, _mod: nn.Module, _inputs: Any, output: Any, _caught: list = caught) -> None:
                if not _caught:  # a module called twice: its first call
                    t = first_tensor(output)
                    if t is not None:
                        _caught.append(t.detach().float().cpu().clone())

            with forward_hooks([(layer, module)] if module is not None else [], keep):
                output = run_forward(model, x)
            if module is None:
                caught.append(x.detach().float().cpu())
            if not caught:
                raise InspectorError(f"layer {layer!r} was not called by the forward pass, or output no tensor")
            out = caught[0]
            if out.dim() == 0 or out.shape[0] != len(chosen):
                raise InspectorError(f"layer {layer!r} outputs shape {tuple(out.shape)}, not one row per sample "
                                     f"(batch of {len(chosen)}); choose another layer")
            shape = tuple(out.shape[1:])
            rows.append(out.reshape(len(chosen), -1).numpy())
            predicted.append(_predicted(output, len(chosen), num_classes))
            yield min(start + batch_size, len(indices)), len(indices)
    finally:
        model.train(was_training)
    values = np.concatenate(rows).astype(np.float32)
    if not np.isfinite(values).all():
        raise InspectorError(f"layer {layer or 'input'!r} output NaN or infinite values; nothing to project")
    yield Features(values, np.asarray(indices, dtype=np.int64), np.asarray(labels, dtype=np.int64),
                   np.concatenate(predicted), layer, split, shape)


def collect(model: nn.Module, dataset: Any, layer: str, indices: np.ndarray, **kwargs: Any) -> Features:
    """The flattened output of ``layer`` (:data:`INPUT` for the raw input) for ``dataset[i]``, i in ``indices``."""
    steps = list(collect_steps(model, dataset, layer, indices, **kwargs))
    return steps[-1]


def project(features: Features, method: str = "pca", seed: int = 0) -> Projection:
    """The features in 2-D: PCA (linear, fast, axes keep their meaning) or t-SNE (keeps neighbours, slow)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    values = features.values
    n = len(values)
    if method not in METHODS:
        raise InspectorError(f"no projection {method!r}; choose one of {', '.join(METHODS)}")
    cap = TSNE_MAX if method == "tsne" else PCA_MAX
    if n > cap:
        raise InspectorError(f"{method.upper() if method == 'pca' else 't-SNE'} is limited to {cap} points here; "
                             f"got {n}: take fewer samples")
    if n < 3:
        raise InspectorError(f"a projection needs at least 3 samples, got {n}")
    started = time.perf_counter()
    explained = None
    if values.shape[1] == 1:
        points = np.concatenate([values, np.zeros_like(values)], axis=1)
    elif method == "pca":
        pca = PCA(n_components=2, random_state=seed)
        points = pca.fit_transform(values)
        explained = (float(pca.explained_variance_ratio_[0]), float(pca.explained_variance_ratio_[1]))
    else:
        reduced = values
        if values.shape[1] > TSNE_PCA_DIMS and n > TSNE_PCA_DIMS:
            reduced = PCA(n_components=TSNE_PCA_DIMS, random_state=seed).fit_transform(values)
        perplexity = float(min(30.0, (n - 1) / 3))
        points = TSNE(n_components=2, init="pca", learning_rate="auto", perplexity=perplexity,
                      random_state=seed).fit_transform(reduced)
    return Projection(np.asarray(points, dtype=np.float32), method, features, time.perf_counter() - started,
                      explained)


def compute(model: nn.Module, dataset: Any, layer: str, indices: np.ndarray, method: str, *, split: str = "valid",
            num_classes: int = 0, seed: int = 0) -> Iterator[str | Projection]:
    """Collect and project, yielding progress text; returns the :class:`Projection` (a generator for the view)."""
    features = None
    for step in collect_steps(model, dataset, layer, indices, split=split, num_classes=num_classes):
        if isinstance(step, Features):
            features = step
        else:
            yield f"running samples through the model: {step[0]}/{step[1]}"
    assert features is not None
    yield (f"projecting {len(features.values)} points of {features.values.shape[1]} dimensions with "
           f"{'PCA' if method == 'pca' else 't-SNE'} (about {estimate_seconds(method, len(indices)):.0f} s)…")
    return project(features, method, seed)
