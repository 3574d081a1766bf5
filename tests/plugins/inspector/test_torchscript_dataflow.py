"""The Graph view's data flow for TorchScript: the operations listed are exactly ``graph.nodes()`` of the file."""

import warnings

import pytest
import torch
from torch import nn

from dlstudio.gui.context import StudioContext
from dlstudio_inspector.graph import build_graph, weighted_depth
from dlstudio_inspector.panels.graph_view import GraphView
from dlstudio_inspector.panels.preview import PreviewHost
from dlstudio_inspector.panels.session import Session


@pytest.fixture(scope="module")
def traced():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(model, torch.randn(1, 1, 6, 6))


def test_ops_match_the_torchscript_graph_nodes(traced):
    graph = build_graph(traced)
    reference = list(traced.inlined_graph.nodes())
    assert graph.traced and "TorchScript data flow" in graph.message
    assert [op.kind for op in graph.ops] == [n.kind() for n in reference]
    assert [op.inputs for op in graph.ops] == [tuple(v.debugName() for v in n.inputs()) for n in reference]
    assert [op.outputs for op in graph.ops] == [tuple(v.debugName() for v in n.outputs()) for n in reference]
    kinds = {op.kind for op in graph.ops}
    assert {"aten::relu", "aten::linear"} <= kinds
    # Drawn: inputs + one node per op + outputs; every edge is a value written by one node and read by another.
    assert len(graph.nodes) == len(reference) + 1 + 1
    linear = next(n for n in graph.nodes if n.op == "aten::linear")
    assert linear.module == "3" and linear.shape == "1×3"
    assert graph.merges() == []  # a plain chain: weights read by linear are not merge points
    assert weighted_depth(graph) == 2  # the convolution and the linear layer on one path


def test_graph_view_lists_the_operations(qtbot, studio, traced):
    view = GraphView(Session(StudioContext(studio, PreviewHost())))
    qtbot.addWidget(view)
    view.show_graph(build_graph(traced))
    reference = list(traced.inlined_graph.nodes())
    assert view.ops.rowCount() == len(reference)
    for row, node in enumerate(reference):
        assert view.ops.item(row, 1).text().startswith(node.kind())
        assert view.ops.item(row, 2).text() == ", ".join(v.debugName() for v in node.inputs())
    assert len(view.canvas.items_by_id) == len(reference) + 2
