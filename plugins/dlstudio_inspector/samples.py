"""Real inputs from a registered dataset: the run's own data, or a dataset of the model's family."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from dlstudio.contract import DataBundle, LoadContext
from dlstudio.params import param_defaults
from dlstudio_inspector.common import InspectorError, format_shape

if TYPE_CHECKING:
    from dlstudio.studio import Studio
    from dlstudio_inspector.sources import OpenedModel


@dataclass
class Sample:
    x: torch.Tensor
    label: int | None
    label_name: str
    index: int
    split: str


def run_dataset(opened: OpenedModel) -> tuple[str, dict[str, Any]] | None:
    """The dataset (id, params) a run's checkpoint was trained on, from its sidecar."""
    data = (opened.meta.get("spec") or {}).get("data") or {}
    if data.get("id"):
        return data["id"], dict(data.get("params") or {})
    if opened.meta.get("dataset"):
        return opened.meta["dataset"], {}
    return None


def candidate_datasets(studio: Studio, opened: OpenedModel) -> list[str]:
    """The run's dataset first, then datasets of the model's family."""
    out = []
    found = run_dataset(opened)
    if found and found[0] in studio.registry.datasets:
        out.append(found[0])
    family = studio.registry.models.get(opened.model_id).family if opened.model_id in studio.registry.models else ""
    for spec in studio.registry.datasets:
        if spec.id not in out and (not family or spec.family == family):
            out.append(spec.id)
    return out


def load_dataset(studio: Studio, dataset_id: str, params: Mapping[str, Any] | None = None,
                 seed: int = 0) -> DataBundle:
    """Load a registered dataset (its loader may take a while: run it in the background)."""
    spec = studio.registry.datasets.get(dataset_id)
    merged = {**param_defaults(spec.defaults), **(params or {})}
    messages: list[str] = []
    try:
        bundle = spec.load(merged, LoadContext(cache_dir=studio.cache_dir / dataset_id, seed=seed,
                                               report=messages.append))
    except (OSError, ValueError, RuntimeError) as exc:
        raise InspectorError(f"dataset {dataset_id!r} could not be loaded: {exc}") from None
    if not isinstance(bundle, DataBundle):
        raise InspectorError(f"dataset {dataset_id!r} returned {type(bundle).__name__}, not a DataBundle")
    return bundle


def sample_at(bundle: DataBundle, index: int, split: str = "valid",
              expected: tuple[int, ...] | None = None) -> Sample:
    """Item ``index`` of a split as a batch of one; checks its shape against the model's input."""
    dataset = bundle.valid if split == "valid" and bundle.valid is not None and len(bundle.valid) else bundle.train
    split = "valid" if dataset is bundle.valid else "train"
    if len(dataset) == 0:
        raise InspectorError("the dataset is empty")
    index = index % len(dataset)
    item = dataset[index]
    x, label = (item[0], item[1]) if isinstance(item, (tuple, list)) and len(item) >= 2 else (item, None)
    x = torch.as_tensor(x)
    if expected and tuple(x.shape) != tuple(expected):
        raise InspectorError(f"the dataset's samples are {format_shape(tuple(x.shape))}, the model expects "
                             f"{format_shape(tuple(expected))}")
    label_int = int(label) if label is not None and torch.as_tensor(label).numel() == 1 else None
    classes = bundle.info.classes
    name = classes[label_int] if label_int is not None and 0 <= label_int < len(classes) else str(label or "")
    return Sample(x[None], label_int, name, index, split)
