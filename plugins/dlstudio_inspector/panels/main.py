"""The inspector panel: the model/input bar above one tab per view, all sharing one :class:`Session`.

Other plugins open a checkpoint here with ``context.post("model.open", {"path": ...})`` (or ``{"run_id": ...}``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QLabel, QTabWidget, QVBoxLayout, QWidget

from dlstudio_inspector.inputs import IMAGE_SUFFIXES
from dlstudio_inspector.panels.actfuncs_view import ActivationFunctionsView
from dlstudio_inspector.panels.activations_view import ActivationsView
from dlstudio_inspector.panels.attribution_view import AttributionView
from dlstudio_inspector.panels.compare_export import CompareView, ExportView
from dlstudio_inspector.panels.featvis_view import FeatVisView
from dlstudio_inspector.panels.graph_view import GraphView
from dlstudio_inspector.panels.histograms_view import HistogramsView
from dlstudio_inspector.panels.layers import LayersView
from dlstudio_inspector.panels.onnx_view import OnnxView
from dlstudio_inspector.panels.projector_view import ProjectorView
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.panels.source_bar import SourceBar
from dlstudio_inspector.panels.weights_view import WeightsView

OPEN_TOPIC = "model.open"
INPUT_SUFFIXES = (*IMAGE_SUFFIXES, ".npy", ".txt")


class InspectorPanel(QWidget):
    def __init__(self, context: Any, panel_id: str = "inspector.main", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.panel_id = panel_id
        self.session = Session(context, self)
        self.source = SourceBar(self.session)
        self.layers = LayersView(self.session)
        self.graph = GraphView(self.session)
        self.activations = ActivationsView(self.session)
        self.weights = WeightsView(self.session)
        self.attribution = AttributionView(self.session)
        self.featvis = FeatVisView(self.session)
        self.actfuncs = ActivationFunctionsView()
        self.compare = CompareView(self.session)
        self.export = ExportView(self.session)
        self.histograms = HistogramsView(self.session)
        self.projector = ProjectorView(self.session)
        self.onnx = OnnxView(self.session)
        # An .onnx file is a graph, not a PyTorch model: the source bar hands it to the ONNX view.
        self.source.onnx_opener = self.open_onnx
        self.tabs = QTabWidget()
        for widget, title in ((self.layers, "Layers"), (self.graph, "Graph"), (self.activations, "Activations"),
                              (self.weights, "Weights"), (self.histograms, "Distributions"),
                              (self.attribution, "Attribution"), (self.projector, "Projector"),
                              (self.featvis, "Feature visualisation"), (self.actfuncs, "Activation functions"),
                              (self.compare, "Compare"), (self.export, "Export"), (self.onnx, "ONNX")):
            self.tabs.addTab(widget, title)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555")
        line = QFrame(frameShape=QFrame.Shape.HLine)
        box = QVBoxLayout(self)
        box.addWidget(self.source)
        box.addWidget(line)
        box.addWidget(self.tabs, 1)
        box.addWidget(self.status)
        self.setAcceptDrops(True)
        self.session.status.connect(self.status.setText)
        self.session.busy_changed.connect(lambda busy: self.setCursor(
            Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor))
        self.graph.layer_clicked.connect(self.show_layer)
        self.layers.layer_selected.connect(self._layer_selected)
        context.message_posted.connect(self.on_message)

    # -- navigation between views ----------------------------------------------------------------------
    def show_layer(self, name: str) -> None:
        """A graph node was clicked: its layer in the tree."""
        if not name:
            return
        self.tabs.setCurrentWidget(self.layers)
        self.layers.select(name)

    def _layer_selected(self, name: str) -> None:
        if name:
            self.activations.set_layer(name)
            self.weights.set_layer(name)
            self.projector.set_layer(name)
            self.graph.select(name)

    def open_onnx(self, path: str | Path) -> None:
        """An ONNX file: its graph, nodes and weights in the ONNX view, checked in ONNX Runtime."""
        self.onnx.open_path(path)
        self.tabs.setCurrentWidget(self.onnx)

    # -- opening from elsewhere ------------------------------------------------------------------------
    def on_message(self, topic: str, payload: dict) -> None:
        """``model.open``: open ``payload["path"]`` (a checkpoint) or ``payload["run_id"]`` and come forward."""
        if topic != OPEN_TOPIC:
            return
        if payload.get("run_id"):
            from dlstudio_inspector import sources

            self.session.submit("open", sources.open_run, self.session.studio, payload["run_id"],
                                payload.get("which"), on_result=self.session.set_model)
        elif payload.get("path"):
            self.source.open_path(payload["path"], payload.get("architecture"))
        else:
            return
        self.context.show_panel(self.panel_id)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            self.open_dropped(url.toLocalFile())
            break

    def open_dropped(self, path: str) -> None:
        """An input (image, .npy, .txt) becomes the current input; anything else is opened as a model."""
        if Path(path).suffix.lower() in INPUT_SUFFIXES and self.session.opened is not None:
            self.source.load_input_file(path)
        else:
            self.source.open_path(path)


if __name__ == "__main__":  # preview: python -m dlstudio_inspector.panels.main
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(InspectorPanel))
