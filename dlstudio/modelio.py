"""Building registered models and loading them back from checkpoints (headless)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlstudio.checkpoints import CheckpointError, apply_weights, load_checkpoint
from dlstudio.contract import DataInfo, ModelSpec
from dlstudio.spec import check_params

if TYPE_CHECKING:
    from torch import nn

    from dlstudio.studio import Studio


@dataclass
class LoadedModel:
    model: nn.Module
    spec: ModelSpec
    data: DataInfo
    params: dict[str, Any]
    #: The checkpoint's sidecar (empty for a model built fresh).
    meta: dict[str, Any] = field(default_factory=dict)


def build_model(studio: Studio, model_id: str, params: Mapping[str, Any] | None = None,
                data: DataInfo | None = None) -> LoadedModel:
    """Build a registered model; ``data`` defaults to the model's own ``default_data``."""
    spec = studio.registry.models.get(model_id)
    merged = check_params("model.params", f"model {model_id!r}", params or {}, spec.defaults, spec.choices)
    data = data or spec.default_data
    if data is None:
        raise ValueError(f"model {model_id!r} needs to know its data (input shape, classes) to be built")
    return LoadedModel(spec.build(merged, data), spec, data, merged)


def data_info_from_meta(meta: Mapping[str, Any]) -> DataInfo:
    return DataInfo(
        input_shape=tuple(meta.get("input_shape", ())),
        classes=tuple(meta.get("classes", ())),
        input_kind=meta.get("input_kind", "image"),
        extra=dict(meta.get("preprocessing", {})),
    )


def load_model(studio: Studio, path: str | Path, architecture: str | None = None,
               params: Mapping[str, Any] | None = None, data: DataInfo | None = None) -> LoadedModel:
    """A model with the weights of ``path`` (a dlstudio checkpoint, or a .pt/.pth state dict).

    A dlstudio checkpoint names its architecture in its sidecar; a bare state dict needs
    ``architecture`` (and, if not the model's default, ``data``).
    """
    state, meta = load_checkpoint(path)
    model_id = architecture or meta.get("architecture")
    if not model_id:
        raise CheckpointError(f"{path} does not say which architecture it holds: choose one")
    if meta.get("input_shape") and data is None:
        data = data_info_from_meta(meta)
    loaded = build_model(studio, model_id, params if params is not None else meta.get("model_params"), data)
    apply_weights(loaded.model, state, source=str(path))
    loaded.meta = meta
    return loaded
