"""Building registered models and loading them back from checkpoints (headless).

Internal: plugins use :mod:`dlstudio.runs`, which wraps these. Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlstudio.contract import DataInfo, ModelSpec
from dlstudio.spec import check_params

if TYPE_CHECKING:
    from torch import nn

    from dlstudio.studio import Studio


@dataclass
class LoadedModel:
    """A registered model built, or built and given the weights of a file or a run's checkpoint."""

    model: nn.Module
    #: The registered model (``spec.id`` is its id, ``spec.plugin`` the plugin that registered it).
    spec: ModelSpec
    #: The data it was built for: input shape, classes, preprocessing.
    data: DataInfo
    #: Its parameters, defaults filled in.
    params: dict[str, Any]
    #: The weights file's sidecar (empty for a model built fresh or a bare state dict).
    meta: dict[str, Any] = field(default_factory=dict)
    #: The weights file (None for a model built fresh).
    path: Path | None = None
    #: The epoch the weights are from, when known.
    epoch: int | None = None
    #: The run the weights come from, when known.
    run_id: str | None = None
    #: Which of the run's checkpoints: "best", "last" or "final" (empty unless loaded from a run).
    weights: str = ""


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
    from dlstudio.checkpoints import CheckpointError, apply_weights, load_checkpoint

    state, meta = load_checkpoint(path)
    model_id = architecture or meta.get("architecture")
    if not model_id:
        raise CheckpointError(f"{path} does not say which architecture it holds: choose one")
    if meta.get("input_shape") and data is None:
        data = data_info_from_meta(meta)
    loaded = build_model(studio, model_id, params if params is not None else meta.get("model_params"), data)
    apply_weights(loaded.model, state, source=str(path))
    loaded.meta = meta
    loaded.path = Path(path)
    loaded.epoch = meta.get("epoch")
    loaded.run_id = meta.get("run_id")
    return loaded
