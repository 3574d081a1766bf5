"""The ensemble comparison (chapter 8): each backbone's cached features with a linear head alone, then all of
them through the book's EnsembleModel — the same data, cached once per backbone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlstudio.spec import RunSpec
from dlstudio_images.runs import RunResult, run_result

if TYPE_CHECKING:
    from dlstudio.studio import Studio


def comparison_specs(spec: RunSpec) -> list[tuple[str, RunSpec]]:
    """(label, spec) for each backbone alone and for the ensemble, from a cached-features spec."""
    if spec.data.id != "images.features":
        raise ValueError("an ensemble comparison needs the 'Cached backbone features' dataset")
    backbones = list(spec.data.params.get("backbones", []))
    if len(backbones) < 2:
        raise ValueError("an ensemble needs at least two backbones")
    out = []
    for name in backbones:
        raw = spec.to_dict()
        raw["data"]["params"]["backbones"] = [name]
        raw["model"] = {"id": "images.feature_head", "weights": "", "params": {"head": "linear"}}
        raw["run"]["name"] = f"{name} alone"
        out.append((name, RunSpec.from_dict(raw, source=f"{name} alone")))
    raw = spec.to_dict()
    if raw["model"]["id"] != "images.ensemble_head":
        raw["model"] = {"id": "images.ensemble_head", "weights": "", "params": {}}
    raw["run"]["name"] = f"ensemble of {', '.join(backbones)}"
    out.append(("ensemble", RunSpec.from_dict(raw, source="ensemble")))
    return out


def comparison(studio: Studio, labelled: list[tuple[str, str]]) -> list[RunResult]:
    """Results of ``(label, run_id)`` pairs, in order."""
    return [run_result(studio, run_id, label) for label, run_id in labelled]
