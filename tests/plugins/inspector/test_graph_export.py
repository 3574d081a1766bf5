"""Exporting the Graph view as PNG and SVG: the files are real images and the SVG names every node."""

import pytest
import torch
from PySide6.QtGui import QImage
from torch import nn

from dlstudio.gui.context import StudioContext
from dlstudio_inspector.graph import build_graph
from dlstudio_inspector.panels.graph_view import GraphView
from dlstudio_inspector.panels.preview import PreviewHost
from dlstudio_inspector.panels.session import Session


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        y = self.act(self.conv(x)) + x
        return self.head(y.flatten(1))


@pytest.fixture
def view(qtbot, studio):
    widget = GraphView(Session(StudioContext(studio, PreviewHost())))
    qtbot.addWidget(widget)
    return widget


def test_png_and_svg_are_written_and_the_svg_names_every_node(view, tmp_path):
    graph = build_graph(Residual().eval(), torch.randn(1, 1, 4, 4))
    view.show_graph(graph)
    png = view.export_image(tmp_path / "graph.png")
    svg = view.export_image(tmp_path / "graph.svg")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 100 and image.height() > 100
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    # Every node's label is drawn as text (the labels are short enough not to be elided).
    for node in graph.nodes:
        assert f">{node.label}<" in text, node.label
    assert len(graph.nodes) >= 6


def test_export_before_a_graph_is_drawn_says_so(view, tmp_path):
    with pytest.raises(ValueError, match="no graph"):
        view.export_image(tmp_path / "x.svg")
