"""Building a spec's data and model outside a run (for the LR finder, evaluation and previews), through the
public registry exactly as a run would."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlstudio.contract import DataBundle, LoadContext
from dlstudio.spec import RunSpec, check_params


def load_data(studio: Any, data_id: str, params: Mapping[str, Any], seed: int = 0,
              report: Any = None) -> DataBundle:
    """The bundle a run of ``data_id`` with ``params`` would train on (same cache folder, same split seed)."""
    spec = studio.registry.datasets.get(data_id)
    merged = check_params("data.params", f"dataset {data_id!r}", params, spec.defaults, spec.choices)
    ctx = LoadContext(cache_dir=Path(studio.cache_dir) / data_id, seed=seed, report=report or (lambda _text: None))
    return spec.load(merged, ctx)


def spec_data(studio: Any, spec: RunSpec, report: Any = None) -> DataBundle:
    return load_data(studio, spec.data.id, spec.data.params, spec.run.seed, report)


def spec_model(studio: Any, spec: RunSpec, bundle: DataBundle) -> Any:
    """The spec's model, built for ``bundle``'s data, with the spec's starting weights if it names a file."""
    from dlstudio import runs

    model = runs.build_model(studio, spec.model.id, spec.model.params, bundle.info).model
    if spec.model.weights:
        runs.apply_weights(model, runs.load_weights(spec.model.weights).state, source=spec.model.weights)
    return model


def data_hint(data_id: str, params: Mapping[str, Any]) -> Any:
    """The DataInfo a dataset will produce, guessed from its parameters without loading it (to size a model
    in the form: parameter counts). Cached features run each backbone once on a dummy image."""
    from dlstudio.contract import DataInfo
    from dlstudio_images.data.catalog import FEATURES_DEFAULTS, SOURCES

    if data_id == "images.features":
        import torch

        from dlstudio_images import features
        from dlstudio_images.models.params import ARCHS
        from dlstudio_images.models.torchvision_models import bare

        src, source_params = features.source_params({**FEATURES_DEFAULTS, **params})
        inner = data_hint(src.id, source_params)
        dims = []
        for name in params.get("backbones", []):
            body = features.extractor_from_model(ARCHS[name], bare(ARCHS[name], 10),
                                                 features.pooling_for(name, params.get("pooling", "avg")))
            with torch.no_grad():
                dims.append(int(body(torch.zeros(1, 3, *inner.input_shape[1:])).shape[1]))
        return DataInfo((sum(dims),), inner.classes, "features", {"feature_dims": dims})
    src = SOURCES[data_id]
    p = {**src.defaults, **params}
    native = {"images.digits": 1, "images.mnist": 1, "images.fashion_mnist": 1}.get(data_id, 3)
    channels = int(p.get("channels") or native)
    size = int(p["size"])
    if data_id == "images.shapes":
        from dlstudio_images.data.params import SHAPES

        classes = SHAPES[: int(p["num_classes"])]
    elif data_id == "images.folder":
        classes = _folder_classes(str(p["root"]))
    else:
        classes = tuple(str(i) for i in range(10))
    return DataInfo((channels, size, size), tuple(classes), "image")


def _folder_classes(root: str) -> tuple[str, ...]:
    base = Path(root).expanduser()
    folder = base / "train" if (base / "train").is_dir() else base
    if not folder.is_dir():
        return ("class 0", "class 1")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return tuple(names) if len(names) >= 2 else ("class 0", "class 1")
