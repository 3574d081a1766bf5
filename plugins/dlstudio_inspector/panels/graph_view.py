"""Graph: the forward pass drawn in a QGraphicsView with the layered layout of :mod:`dlstudio_inspector.graph`.

Click a node to select its layer in the tree; double-click a block to expand it, or a node inside a
block to collapse that block.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio_inspector.graph import MERGE_OPS, Graph, Node, build_graph, collapse, default_collapsed, layout
from dlstudio_inspector.panels.session import Session

NODE_W, NODE_H, GAP_X, GAP_Y = 150.0, 36.0, 24.0, 30.0
COLOURS = {
    "conv": "#4c78a8", "linear": "#72b7b2", "norm": "#9d9da1", "act": "#54a24b", "pool": "#b279a2",
    "merge": "#f58518", "group": "#2f6f73", "input": "#eeeeee", "output": "#eeeeee", "other": "#bab0ac",
}


def _category(node: Node) -> str:
    op = node.op.lower()
    if node.kind in ("group", "input", "output"):
        return node.kind
    if node.op in MERGE_OPS or op in MERGE_OPS:
        return "merge"
    if op.startswith("conv"):
        return "conv"
    if op in ("linear", "embedding", "lstm", "gru", "rnn"):
        return "linear"
    if "norm" in op:
        return "norm"
    if "pool" in op:
        return "pool"
    if any(a in op for a in ("relu", "sigmoid", "tanh", "gelu", "silu", "elu", "softmax", "dropout")):
        return "act"
    return "other"


class NodeItem(QGraphicsRectItem):
    def __init__(self, node: Node, x: float, y: float) -> None:
        super().__init__(0, 0, NODE_W, NODE_H)
        self.node = node
        self.setPos(x, y)
        colour = QColor(COLOURS[_category(node)])
        self.setBrush(QBrush(colour))
        self.setPen(QPen(colour.darker(150), 1.2))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        light = colour.lightness() > 170
        title = node.label if node.kind != "group" else f"▸ {node.label}"
        sub = node.op if node.kind != "group" else f"{node.op} · {node.members} nodes"
        if node.shape:
            sub = f"{sub}  {node.shape}"
        for i, (text, size) in enumerate(((title, 8.5), (sub, 7.0))):
            font = QFont()
            font.setPointSizeF(size)
            font.setBold(i == 0)
            elided = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideLeft if i == 0
                                                    else Qt.TextElideMode.ElideRight, NODE_W - 10)
            item = QGraphicsSimpleTextItem(elided, self)
            item.setFont(font)
            item.setBrush(QBrush(QColor("#111111" if light else "#ffffff")))
            item.setPos(6, 3 + i * 16)
        tip = f"{node.label}\n{node.op}" + (f"\n{node.shape}" if node.shape else "")
        if node.module:
            tip += f"\nlayer: {node.module}"
        self.setToolTip(tip + ("\n(double-click to expand)" if node.kind == "group" else ""))


class GraphCanvas(QGraphicsView):
    node_clicked = Signal(str)
    node_double_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(QBrush(QColor("#fafafa")))
        self.items_by_id: dict[str, NodeItem] = {}

    def draw(self, graph: Graph) -> None:
        scene = self.scene()
        scene.clear()
        self.items_by_id.clear()
        positions = layout(graph)
        for node in graph.nodes:
            px, py = positions[node.id]
            item = NodeItem(node, px * (NODE_W + GAP_X), py * (NODE_H + GAP_Y))
            scene.addItem(item)
            self.items_by_id[node.id] = item
        rows: dict[float, list[float]] = {}
        for item in self.items_by_id.values():
            rows.setdefault(item.pos().y(), []).append(item.pos().x())
        xs = [item.pos().x() for item in self.items_by_id.values()]
        centre_x = (min(xs) + max(xs)) / 2 if xs else 0.0
        pen = QPen(QColor("#777777"), 1.1)
        merge_pen = QPen(QColor("#f58518"), 1.4)
        for a, b in graph.edges:
            if a not in self.items_by_id or b not in self.items_by_id:
                continue
            src, dst = self.items_by_id[a], self.items_by_id[b]
            levels = round((dst.pos().y() - src.pos().y()) / (NODE_H + GAP_Y))
            if levels > 1 and self._blocked(src, dst, rows):
                # A skip connection over a column of nodes: route it beside them, not through them.
                side = 1.0 if src.pos().x() >= centre_x else -1.0
                edge_x = NODE_W if side > 0 else 0.0
                start = src.pos() + QPointF(edge_x, NODE_H / 2)
                end = dst.pos() + QPointF(edge_x, NODE_H / 2)
                reach = side * (28 + 10 * min(levels, 10))
                path = QPainterPath(start)
                path.cubicTo(start + QPointF(reach, 0), end + QPointF(reach, 0), end)
                tip = QPointF(7 * side, -4), QPointF(7 * side, 4)
                path.addPolygon(QPolygonF([end, end + tip[0], end + tip[1], end]))
            else:
                start = src.pos() + QPointF(NODE_W / 2, NODE_H)
                end = dst.pos() + QPointF(NODE_W / 2, 0)
                path = QPainterPath(start)
                bend = max(GAP_Y, (end.y() - start.y()) / 2)
                path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
                path.addPolygon(QPolygonF([end, end + QPointF(-4, -7), end + QPointF(4, -7), end]))
            edge = QGraphicsPathItem(path)
            edge.setPen(merge_pen if _category(dst.node) == "merge" else pen)
            edge.setZValue(-1)
            scene.addItem(edge)
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-40, -40, 40, 40))

    @staticmethod
    def _blocked(src: NodeItem, dst: NodeItem, rows: dict[float, list[float]]) -> bool:
        """Would a straight edge from ``src`` down to ``dst`` run through a node in between?"""
        lo, hi = sorted((src.pos().x(), dst.pos().x()))
        return any(lo - NODE_W < x < hi + NODE_W
                   for y, xs in rows.items() if src.pos().y() < y < dst.pos().y() for x in xs)

    def export(self, path: str | Path) -> Path:
        """Write the whole drawing to ``path``: SVG (vector, node names as text) for ``.svg``, else PNG."""
        path = Path(path)
        if not self.items_by_id:
            raise ValueError("there is no graph to export yet")
        rect = self.scene().itemsBoundingRect().adjusted(-20, -20, 20, 20)
        if path.suffix.lower() == ".svg":
            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(QSize(int(rect.width()), int(rect.height())))
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle(path.stem)
            painter = QPainter(generator)
        else:
            if path.suffix.lower() != ".png":
                path = path.with_suffix(".png")
            scale = min(2.0, 16000 / max(rect.width(), rect.height()))  # stay under image size limits
            image = QImage(int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32)
            image.fill(QColor("#ffffff"))
            painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.scene().render(painter, QRectF(), rect)
        painter.end()
        if path.suffix.lower() == ".png" and not image.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path

    def fit(self) -> None:
        rect = self.scene().itemsBoundingRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() < 0.5:  # tall graphs: readable text, scroll down
            self.resetTransform()
            self.scale(0.85, 0.85)
            self.centerOn(QPointF(rect.center().x(), rect.top()))

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            factor = 1.2 if event.angleDelta().y() > 0 else 1 / 1.2
            self.scale(factor, factor)
            return
        super().wheelEvent(event)

    def _node_at(self, event) -> NodeItem | None:
        for item in self.items(event.position().toPoint()):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event) -> None:
        item = self._node_at(event)
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            self.scene().clearSelection()
            item.setSelected(True)
            self.node_clicked.emit(item.node.module)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        item = self._node_at(event)
        if item is not None:
            self.node_double_clicked.emit(item.node)
            return
        super().mouseDoubleClickEvent(event)


class GraphView(QWidget):
    #: A node was clicked: the layer to show in the tree.
    layer_clicked = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.graph: Graph | None = None
        self.collapsed: set[str] = set()
        self._stale = True
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.collapse_button = QPushButton("Collapse blocks")
        self.expand_button = QPushButton("Expand all")
        self.fit_button = QPushButton("Fit")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the drawing as PNG or SVG")
        self.canvas = GraphCanvas()
        #: TorchScript models: every operation of the inlined forward graph with the values it reads and writes.
        self.ops = QTableWidget(0, 4)
        self.ops.setHorizontalHeaderLabels(["#", "Operation", "Inputs", "Outputs"])
        self.ops.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ops.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.ops.verticalHeader().setVisible(False)
        self.ops.horizontalHeader().setStretchLastSection(True)
        self.ops.hide()
        bar = QHBoxLayout()
        bar.addWidget(self.message, 1)
        for b in (self.collapse_button, self.expand_button, self.fit_button, self.export_button):
            bar.addWidget(b)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.canvas)
        split.addWidget(self.ops)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(split, 1)
        hint = QLabel("Click a node to find its layer in the Layers tab · double-click a block to expand it, "
                      "a node inside one to collapse it · Ctrl+wheel zooms")
        hint.setStyleSheet("color: #777")
        hint.setWordWrap(True)  # a narrow window wraps it instead of being made wider
        box.addWidget(hint)
        self.collapse_button.clicked.connect(self._collapse_default)
        self.expand_button.clicked.connect(lambda: self._set_collapsed(set()))
        self.fit_button.clicked.connect(self.canvas.fit)
        self.export_button.clicked.connect(self._ask_export)
        self.canvas.node_clicked.connect(lambda m: self.layer_clicked.emit(m))
        self.canvas.node_double_clicked.connect(self._toggle)
        session.input_changed.connect(self.compute)

    def compute(self) -> None:
        self._stale = not self.isVisible()
        opened, x = self.session.opened, self.session.x
        if self._stale or opened is None:
            return
        self.message.setText("Tracing…")
        self.session.submit("graph", build_graph, opened.model, x, on_result=self.show_graph,
                            on_error=self.message.setText)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.compute()

    def show_graph(self, graph: Graph) -> None:
        self.graph = graph
        self.collapsed = default_collapsed(graph)
        self._fill_ops(graph)
        self._redraw()
        self.canvas.fit()

    def _collapse_default(self) -> None:
        if self.graph is not None:
            self._set_collapsed(default_collapsed(self.graph, max_nodes=60) or set(self.graph.groups))

    def _set_collapsed(self, collapsed: set[str]) -> None:
        self.collapsed = set(collapsed)
        self._redraw()

    def _toggle(self, node: Node) -> None:
        if self.graph is None:
            return
        if node.kind == "group" or node.id in self.collapsed:
            self.collapsed.discard(node.module)
            # Keep the block's own sub-blocks folded so expanding shows one level at a time.
            self.collapsed |= {p for p in self.graph.groups if p.startswith(node.module + ".")
                               and p.count(".") == node.module.count(".") + 1}
        elif not self.graph.traced and node.id in self.graph.groups:
            self.collapsed.add(node.id)  # module tree: fold a container's children under it
        elif node.scope:
            self.collapsed.add(node.scope[-1])
        self._redraw()

    def _redraw(self) -> None:
        if self.graph is None:
            return
        shown = collapse(self.graph, self.collapsed)
        self.canvas.draw(shown)
        merges = len(self.graph.merges())
        text = (f"{len(self.graph.nodes)} nodes, {merges} merge points (add / concatenate)" if self.graph.traced
                else self.graph.message)
        if self.graph.traced and self.graph.message:
            text += f" — {self.graph.message}"
        if self.collapsed:
            text += f"; {len(self.collapsed)} blocks collapsed, {len(shown.nodes)} drawn"
        self.message.setText(text)

    def select(self, layer: str) -> None:
        for item in self.canvas.items_by_id.values():
            item.setSelected(item.node.module == layer)
        match = next((i for i in self.canvas.items_by_id.values() if i.node.module == layer), None)
        if match is not None:
            self.canvas.centerOn(match)

    def _fill_ops(self, graph: Graph) -> None:
        self.ops.setRowCount(len(graph.ops))
        for row, op in enumerate(graph.ops):
            cells = (row, op.kind + (f"  ({op.scope})" if op.scope else ""), ", ".join(op.inputs),
                     ", ".join(op.outputs))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                item.setToolTip(str(text))
                self.ops.setItem(row, column, item)
        self.ops.resizeColumnsToContents()
        self.ops.setVisible(bool(graph.ops))

    def export_image(self, path: str | Path) -> Path:
        """Save the drawn graph as SVG or PNG (by the suffix); returns the path written."""
        return self.canvas.export(path)

    def _ask_export(self) -> None:
        if self.graph is None:
            self.message.setText("Nothing to export yet: open a model first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export graph", "graph.svg", "SVG (*.svg);;PNG (*.png)")
        if not path:
            return
        try:
            written = self.export_image(path)
        except (OSError, ValueError) as exc:
            self.message.setText(f"Export failed: {exc}")
            return
        self.session.status.emit(f"graph saved to {written}")

    def scene_rect(self) -> QRectF:
        return self.canvas.scene().itemsBoundingRect()


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(GraphView))
