"""The ONNX view's drawn graph: one box per ONNX node, an edge per tensor link, clicks select the table row."""

import warnings

import onnx
import pytest
import torch
from PySide6.QtCore import Qt
from torch import nn

from dlstudio.gui.context import StudioContext
from dlstudio_inspector.graph import from_onnx, layout
from dlstudio_inspector.onnx_model import load_onnx
from dlstudio_inspector.panels.onnx_view import OnnxView
from dlstudio_inspector.panels.preview import PreviewHost
from dlstudio_inspector.panels.session import Session


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3, padding=1)
        self.b = nn.Conv2d(1, 2, 1)
        self.head = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        return self.head((torch.relu(self.a(x)) + self.b(x)).flatten(1))


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "branchy.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Branchy().eval(), (torch.randn(1, 1, 6, 6),), str(out), dynamo=False,
                          input_names=["input"], output_names=["logits"])
    return out


def onnx_links(path) -> set[tuple[int, int]]:
    """(producer, consumer) node indices joined by a tensor, straight from onnx's protobuf."""
    nodes = list(onnx.load(str(path)).graph.node)
    made = {t: i for i, n in enumerate(nodes) for t in n.output}
    return {(made[t], j) for j, n in enumerate(nodes) for t in n.input if t in made}


def test_nodes_and_edges_equal_onnx_graph(path):
    proto = onnx.load(str(path)).graph
    graph = from_onnx(load_onnx(path))
    assert len(graph.nodes) == len(proto.node)
    assert [n.op for n in graph.nodes] == [n.op_type for n in proto.node]
    links = onnx_links(path)
    assert len(graph.edges) == len(links)
    assert {(int(a[1:]), int(b[1:])) for a, b in graph.edges} == links
    assert len(graph.merges()) >= 1  # the residual Add joins two branches
    pos = layout(graph)
    assert all(pos[a][1] < pos[b][1] for a, b in graph.edges)  # top to bottom


def test_clicking_a_drawn_node_selects_it_in_the_table(qtbot, studio, path):
    view = OnnxView(Session(StudioContext(studio, PreviewHost())))
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.set_graph(load_onnx(path))
    view.views.setCurrentWidget(view.canvas)
    assert len(view.canvas.items_by_id) == len(view.graph.nodes)
    target = next(n for n in view.graph.nodes if n.op_type == "Add")
    item = view.canvas.items_by_id[f"n{target.index}"]
    view.canvas.centerOn(item)
    centre = view.canvas.mapFromScene(item.sceneBoundingRect().center())
    with qtbot.waitSignal(view.node_selected, timeout=2000) as signal:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert signal.args == [target.label]
    assert view.nodes.selectionModel().selectedRows()[0].row() == target.index
