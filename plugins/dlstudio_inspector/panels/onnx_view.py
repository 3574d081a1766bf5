"""ONNX: an ``.onnx`` file's node table with search, its totals, and a node panel (attributes, weights' statistics).

It works on a file, not on the session's PyTorch model: :meth:`OnnxView.open_path` reads the graph and runs it in
ONNX Runtime in the background (through the session's job queue) and shows both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio_inspector.graph import from_onnx
from dlstudio_inspector.onnx_model import OnnxGraph, OnnxNode, RunCheck, format_attributes, load_onnx, run_check, totals
from dlstudio_inspector.panels.graph_view import GraphCanvas
from dlstudio_inspector.panels.session import Session

NODE_COLUMNS = ("#", "Op", "Name", "Inputs", "Outputs", "Attributes")
WEIGHT_COLUMNS = ("Tensor", "Shape", "dtype", "Min", "Max", "Mean", "Std")
MAX_COLUMN_WIDTH = 320


def read_and_run(path: str) -> tuple[OnnxGraph, RunCheck]:
    """The background job: read the graph, then run it once in ONNX Runtime."""
    graph = load_onnx(path)
    return graph, run_check(graph)


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _item(text: Any, data: Any = None) -> QTableWidgetItem:
    item = QTableWidgetItem(str(text))
    item.setToolTip(str(text))
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    return item


class OnnxView(QWidget):
    #: The label of the node shown in the node panel ("" when none).
    node_selected = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.graph: OnnxGraph | None = None
        self.check: RunCheck | None = None
        self.title = QLabel("Open an .onnx file to see its graph (Open file…, or drop it here).")
        self.title.setStyleSheet("font-weight: bold")
        self.title.setWordWrap(True)
        self.search = QLineEdit(placeholderText="Search nodes: name, op type or tensor name", clearButtonEnabled=True)
        self.matches = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.matches)
        self.totals = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.runtime = QLabel(wordWrap=True)
        self.nodes = _table(NODE_COLUMNS)
        self.nodes.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.node_title = QLabel(wordWrap=True)
        self.node_title.setStyleSheet("font-weight: bold")
        self.tensors = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.attributes = _table(("Attribute", "Value"))
        self.weights = _table(WEIGHT_COLUMNS)
        side = QWidget()
        panel = QVBoxLayout(side)
        panel.setContentsMargins(0, 0, 0, 0)
        for widget, stretch in ((self.node_title, 0), (self.tensors, 0), (QLabel("Attributes"), 0),
                                (self.attributes, 1), (QLabel("Weights (initializers it reads)"), 0),
                                (self.weights, 1)):
            panel.addWidget(widget, stretch)
        #: The graph drawn top to bottom (boxes per node, edges by tensor); a click selects the node's row.
        self.canvas = GraphCanvas()
        self.views = QTabWidget()
        self.views.addTab(self.nodes, "Table")
        self.views.addTab(self.canvas, "Graph")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.views)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.totals)
        box.addWidget(self.runtime)
        box.addWidget(split, 1)
        self.search.textChanged.connect(self.apply_search)
        self.nodes.itemSelectionChanged.connect(self._selection_changed)
        self.canvas.node_clicked.connect(self._canvas_clicked)

    # -- opening ---------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Read ``path`` and run it in ONNX Runtime in the background; errors go to the title and the status."""
        self.title.setText(f"Reading {Path(path).name}…")
        self.session.submit("onnx", read_and_run, str(path), on_result=self._loaded, on_error=self._failed)

    def _loaded(self, result: tuple[OnnxGraph, RunCheck]) -> None:
        self.set_graph(*result)
        self.session.status.emit(f"opened ONNX graph {self.graph.path.name}: {self.check.message}")

    def _failed(self, message: str) -> None:
        self.title.setText(message)

    def set_graph(self, graph: OnnxGraph, check: RunCheck | None = None) -> None:
        self.graph, self.check = graph, check
        self.title.setText(f"ONNX — {graph.path.name}")
        self.totals.setText("\n".join([*totals(graph), *(f"Note: {n}" for n in graph.notes)]))
        if check is None:
            self.runtime.setText("")
        else:
            colour = "#2a7a2a" if check.passed else "#b00020"
            self.runtime.setText(f"ONNX Runtime check: {check.message}")
            self.runtime.setStyleSheet(f"color: {colour}")
        self.nodes.setRowCount(0)
        self.nodes.setRowCount(len(graph.nodes))
        for row, node in enumerate(graph.nodes):
            ins = ", ".join(f"{t} [{graph.shape_of(t)}]" for t in node.inputs)
            outs = ", ".join(f"{t} [{graph.shape_of(t)}]" for t in node.outputs)
            cells = (node.index, node.op_type, node.label, ins, outs, format_attributes(node.attributes))
            for column, text in enumerate(cells):
                self.nodes.setItem(row, column, _item(text, node.label if column == 0 else None))
        self.nodes.resizeColumnsToContents()
        for column in range(self.nodes.columnCount() - 1):  # long tensor lists must not push Outputs off screen
            self.nodes.setColumnWidth(column, min(self.nodes.columnWidth(column), MAX_COLUMN_WIDTH))
        self.canvas.draw(from_onnx(graph))
        self.canvas.fit()
        self.apply_search(self.search.text())
        self.show_node(None)

    # -- search and the node panel ---------------------------------------------------------------------
    def apply_search(self, text: str) -> None:
        """Hide the rows that do not match; select the first match so its panel shows."""
        if self.graph is None:
            return
        found = {n.index for n in self.graph.search(text)}
        for row in range(self.nodes.rowCount()):
            self.nodes.setRowHidden(row, row not in found)
        self.matches.setText(f"{len(found)} of {len(self.graph.nodes)} nodes" if text.strip() else "")
        if text.strip() and found:
            self.nodes.selectRow(min(found))

    def visible_nodes(self) -> list[str]:
        return [self.nodes.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.nodes.rowCount())
                if not self.nodes.isRowHidden(r)]

    def select_node(self, label: str) -> None:
        assert self.graph is not None
        self.nodes.selectRow(self.graph.node(label).index)

    def _canvas_clicked(self, label: str) -> None:
        if self.graph is not None and label:
            self.select_node(label)

    def _selection_changed(self) -> None:
        rows = self.nodes.selectionModel().selectedRows()
        if self.graph is None or not rows:
            self.show_node(None)
            return
        node = self.graph.nodes[rows[0].row()]
        for item in self.canvas.items_by_id.values():  # the drawing follows the table
            item.setSelected(item.node.id == f"n{node.index}")
        self.show_node(node)

    def show_node(self, node: OnnxNode | None) -> None:
        self.attributes.setRowCount(0)
        self.weights.setRowCount(0)
        if node is None or self.graph is None:
            self.node_title.setText("Select a node to see its attributes and weights.")
            self.tensors.setText("")
            self.node_selected.emit("")
            return
        graph = self.graph
        domain = f" ({node.domain})" if node.domain else ""
        self.node_title.setText(f"{node.op_type}{domain} — {node.label}")
        self.tensors.setText("Inputs: " + (", ".join(f"{t} [{graph.shape_of(t)}]" for t in node.inputs) or "none")
                             + "\nOutputs: " + ", ".join(f"{t} [{graph.shape_of(t)}]" for t in node.outputs))
        self.attributes.setRowCount(len(node.attributes))
        for row, (name, value) in enumerate(node.attributes.items()):
            self.attributes.setItem(row, 0, _item(name))
            self.attributes.setItem(row, 1, _item(value))
        stats = graph.weights_of(node)
        self.weights.setRowCount(len(stats))
        for row, s in enumerate(stats):
            shape = "×".join(map(str, s.shape)) or "scalar"
            for column, text in enumerate((s.name, shape, s.dtype, f"{s.min:.4g}", f"{s.max:.4g}",
                                           f"{s.mean:.4g}", f"{s.std:.4g}")):
                self.weights.setItem(row, column, _item(text))
        self.node_selected.emit(node.label)


if __name__ == "__main__":  # preview: python -m dlstudio_inspector.panels.onnx_view FILE.onnx
    import sys

    from dlstudio_inspector.panels.preview import preview

    def _make(session: Session) -> OnnxView:
        view = OnnxView(session)
        if len(sys.argv) > 1:
            view.open_path(sys.argv[1])
        return view

    raise SystemExit(preview(_make, model=None))
