"""The image datasets by id, and their DatasetSpecs: the sources, and the cached features built on them.

Describing them imports no torch (``dlstudio --help`` lists them): what each takes comes from ``params``, and a
source's module is imported when it is first prepared.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dlstudio.contract import DataBundle, DatasetSpec, LoadContext
from dlstudio.params import Param
from dlstudio_images.data import params as p
from dlstudio_images.models.params import ARCHS

if TYPE_CHECKING:
    from dlstudio_images.data.common import Prepared


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    prepare: Callable[[Mapping[str, Any], LoadContext], Prepared]
    defaults: Mapping[str, Any]
    choices: Mapping[str, list]
    description: str

    def load(self, params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
        from dlstudio_images.data.common import build_bundle

        return build_bundle(self.prepare(params, ctx))


def _prepare(module: str, params: Mapping[str, Any], ctx: LoadContext) -> Prepared:
    """``dlstudio_images.data.<module>.prepare``, imported on first use."""
    return importlib.import_module(f"dlstudio_images.data.{module}").prepare(params, ctx)


def _prepare_torchvision(set_id: str, params: Mapping[str, Any], ctx: LoadContext) -> Prepared:
    from dlstudio_images.data import torchvision_sets

    return torchvision_sets.prepare(p.TORCHVISION_SETS[set_id], params, ctx)


def _sources() -> dict[str, Source]:
    items = [
        Source("images.digits", "Digits (scikit-learn, offline)", partial(_prepare, "digits"), p.DIGITS_DEFAULTS,
               p.TRANSFORM_CHOICES, p.DIGITS_DESCRIPTION),
        Source("images.shapes", "Generated shapes (colour, offline)", partial(_prepare, "shapes"),
               p.SHAPES_DEFAULTS, p.SHAPES_CHOICES, p.SHAPES_DESCRIPTION),
        Source("images.folder", "Image folder", partial(_prepare, "folder"), p.FOLDER_DEFAULTS, p.TRANSFORM_CHOICES,
               p.FOLDER_DESCRIPTION),
    ]
    for tv in p.TORCHVISION_SETS.values():
        items.append(Source(f"images.{tv.id}", tv.title, partial(_prepare_torchvision, tv.id),
                            p.torchvision_defaults(tv), p.TRANSFORM_CHOICES, p.torchvision_description(tv)))
    return {s.id: s for s in items}


SOURCES = _sources()


def source(data_id: str) -> Source:
    try:
        return SOURCES[data_id]
    except KeyError:
        raise ValueError(f"{data_id!r} is not an image source; choose one of {', '.join(SOURCES)}") from None


# -- cached backbone features (dlstudio_images.features) --------------------------------------------------------
FEATURES_OWN_DEFAULTS: dict[str, Any] = {
    "source": "images.shapes", "backbones": ["resnet18"], "weights": "random", "weights_file": "",
    "pooling": "avg", "standardize": False, "cache": True, "batch_size": 64}
FEATURES_DESCRIPTION = (
    "Features of frozen backbones, computed once and cached on disk (keyed by backbone, weights, data and "
    "transform); train a head on them. The other parameters are the source dataset's (those it does not take "
    "are ignored). Augmentation is off: a cached feature cannot be augmented.")
#: The backbones features can be computed with: torchvision's classifiers.
BACKBONES = tuple(ARCHS)


def _source_parameters() -> tuple[dict[str, Any], dict[str, list]]:
    """Every source's parameters in one flat table (forms and spec files stay flat); choices merged."""
    defaults: dict[str, Any] = {}
    options: dict[str, list] = {}
    for src in SOURCES.values():
        for key, value in src.defaults.items():
            if isinstance(value, Param) and value.required:  # required by one source only (the folder's root)
                value = dataclasses.replace(value, required=False)
            defaults.setdefault(key, value)
        for key, values in src.choices.items():
            options[key] = sorted(set(options.get(key, [])) | set(values), key=str)
    defaults.update(size=64, channels=0)
    return defaults, options


_SOURCE_DEFAULTS, _SOURCE_CHOICES = _source_parameters()
FEATURES_DEFAULTS: dict[str, Any] = {**FEATURES_OWN_DEFAULTS, **_SOURCE_DEFAULTS}


def features_choices() -> dict[str, list]:
    return {**_SOURCE_CHOICES, "source": list(SOURCES), "weights": ["random", "imagenet", "file"],
            "pooling": ["avg", "flatten", "book"]}


def _load_features(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    from dlstudio_images.features import load_features

    return load_features(params, ctx)


def dataset_specs() -> list[DatasetSpec]:
    specs = [DatasetSpec(id=s.id, title=s.title, load=s.load, family="images", defaults=dict(s.defaults),
                         choices=dict(s.choices), description=s.description) for s in SOURCES.values()]
    specs.append(DatasetSpec(id="images.features", title="Cached backbone features", load=_load_features,
                             family="images", defaults=dict(FEATURES_DEFAULTS), choices=features_choices(),
                             description=FEATURES_DESCRIPTION))
    return specs
