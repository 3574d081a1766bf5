"""Compare models side by side: parameters, FLOPs, depth, size, and a per-block table."""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio_inspector.common import format_shape, human_bytes, human_count, human_flops
from dlstudio_inspector.graph import build_graph, weighted_depth
from dlstudio_inspector.sources import OpenedModel
from dlstudio_inspector.summary import Summary, summarize
from dlstudio_inspector.summary import weighted_depth as tree_depth


@dataclass
class ModelFigures:
    title: str
    summary: Summary
    #: Conv/Linear layers on the longest path of the traced graph, else counted in the module tree.
    depth: int
    depth_traced: bool


@dataclass
class Comparison:
    models: list[ModelFigures]
    #: (label, [value text per model]).
    rows: list[tuple[str, list[str]]]
    #: (block, [params text per model]), top-level blocks in the order they appear.
    blocks: list[tuple[str, list[str]]]


def figures(opened: OpenedModel) -> ModelFigures:
    x = opened.sample()
    summary = summarize(opened.model, x, opened.data)
    depth = weighted_depth(build_graph(opened.model))
    traced = depth is not None
    return ModelFigures(opened.title, summary, depth if traced else tree_depth(summary), traced)


def compare(models: list[OpenedModel]) -> Comparison:
    figs = [figures(m) for m in models]
    rows = [
        ("Parameters", [f"{f.summary.total_params:,} ({human_count(f.summary.total_params)})" for f in figs]),
        ("Trainable", [f"{f.summary.trainable_params:,}" for f in figs]),
        ("FLOPs", [(human_flops(f.summary.total_flops) if f.summary.total_flops else "-")
                   + (" (recurrent layers estimated)" if any("recurrent" in n for n in f.summary.notes) else "")
                   for f in figs]),
        ("Depth (conv/linear layers)", [f"{f.depth}" + ("" if f.depth_traced else " (module count)") for f in figs]),
        ("Layers (modules)", [f"{sum(1 for r in f.summary.rows if r.leaf)}" for f in figs]),
        ("Weights", [human_bytes(f.summary.param_bytes) for f in figs]),
        ("Input", [format_shape(f.summary.input_shape) for f in figs]),
        ("Output", [format_shape(f.summary.output_shape) for f in figs]),
    ]
    names: list[str] = []
    for f in figs:
        for r in f.summary.rows:
            if r.depth == 1 and r.name not in names:
                names.append(r.name)
    blocks = []
    for name in names:
        cells = []
        for f in figs:
            row = f.summary.by_name.get(name)
            cells.append("" if row is None else f"{row.type}: {human_count(row.params)}"
                         + (f", {human_flops(row.flops)}" if row.flops else ""))
        blocks.append((name, cells))
    return Comparison(figs, rows, blocks)


def format_comparison(comparison: Comparison) -> str:
    titles = [f.title for f in comparison.models]
    table = [("", titles), *comparison.rows, ("", ["" for _ in titles]), *comparison.blocks]
    widths = [max(len(label) for label, _ in table)]
    for i in range(len(titles)):
        widths.append(max(len(cells[i]) for _, cells in table))
    return "\n".join("  ".join([f"{label:<{widths[0]}}", *(f"{c:<{w}}" for c, w in zip(cells, widths[1:]))]).rstrip()
                     for label, cells in table)
