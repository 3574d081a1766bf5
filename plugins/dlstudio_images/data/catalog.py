"""The image sources by dataset id, and their DatasetSpecs (the features dataset builds on these too)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from dlstudio.contract import DataBundle, DatasetSpec, LoadContext
from dlstudio_images.data import digits, folder, shapes, torchvision_sets
from dlstudio_images.data.common import Prepared, build_bundle


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    prepare: Callable[[Mapping[str, Any], LoadContext], Prepared]
    defaults: Mapping[str, Any]
    choices: Mapping[str, list]
    description: str

    def load(self, params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
        return build_bundle(self.prepare(params, ctx))


def _sources() -> dict[str, Source]:
    items = [
        Source("images.digits", "Digits (scikit-learn, offline)", digits.prepare, digits.DEFAULTS, digits.CHOICES,
               digits.DESCRIPTION),
        Source("images.shapes", "Generated shapes (colour, offline)", shapes.prepare, shapes.DEFAULTS,
               shapes.CHOICES, shapes.DESCRIPTION),
        Source("images.folder", "Image folder", folder.prepare, folder.DEFAULTS, folder.CHOICES, folder.DESCRIPTION),
    ]
    for src in torchvision_sets.SOURCES.values():
        items.append(Source(f"images.{src.id}", src.title, partial(torchvision_sets.prepare, src),
                            torchvision_sets.defaults(src), torchvision_sets.CHOICES,
                            torchvision_sets.description(src)))
    return {s.id: s for s in items}


SOURCES = _sources()


def source(data_id: str) -> Source:
    try:
        return SOURCES[data_id]
    except KeyError:
        raise ValueError(f"{data_id!r} is not an image source; choose one of {', '.join(SOURCES)}") from None


def dataset_specs() -> list[DatasetSpec]:
    return [DatasetSpec(id=s.id, title=s.title, load=s.load, family="images", defaults=dict(s.defaults),
                        choices=dict(s.choices), description=s.description) for s in SOURCES.values()]
