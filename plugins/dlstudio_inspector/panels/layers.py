"""Layer tree: the module hierarchy with type, input and output shape, kernel size, parameters (and their share),
bytes and FLOPs; searchable. The totals below it include torchinfo's memory estimate."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio_inspector.common import human_bytes, human_count, human_flops
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.summary import Summary, search, summarize, totals_lines

COLUMNS = ("Layer", "Type", "Input shape", "Output shape", "Kernel", "Parameters", "Param %", "Trainable", "Frozen",
           "Bytes", "FLOPs", "Mult-Adds")
#: The first column of counts (right-aligned from here on).
FIRST_COUNT = COLUMNS.index("Parameters")


class LayersView(QWidget):
    #: A layer was chosen (its qualified name).
    layer_selected = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.summary: Summary | None = None
        self._items: dict[str, QTreeWidgetItem] = {}
        self._stale = True
        self._pending_select = ""
        self.search_edit = QLineEdit(placeholderText="Search layers by name or type (e.g. conv, layer3, ReLU)")
        self.search_edit.setClearButtonEnabled(True)
        self.expand_button = QPushButton("Expand all")
        self.collapse_button = QPushButton("Collapse all")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.totals = QLabel()
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.expand_button)
        bar.addWidget(self.collapse_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.totals)
        self.search_edit.textChanged.connect(self.apply_search)
        self.expand_button.clicked.connect(self.tree.expandAll)
        self.collapse_button.clicked.connect(self.tree.collapseAll)
        self.tree.currentItemChanged.connect(self._chosen)
        session.input_changed.connect(self.compute)

    def compute(self) -> None:
        """Recompute for the current model and input (later, when shown, if the tab is hidden)."""
        self._stale = not self.isVisible()
        opened, x = self.session.opened, self.session.x
        if self._stale or opened is None or x is None:
            return
        self.totals.setText("Computing the layer table…")
        self.session.submit("layers", summarize, opened.model, x, opened.data, on_result=self.show_summary,
                            on_error=self.totals.setText)

    def show_summary(self, summary: Summary) -> None:
        self.summary = summary
        self.tree.clear()
        self._items.clear()
        bold = QFont()
        bold.setBold(True)
        grey = QBrush(QColor(130, 130, 130))
        for row in summary.rows:
            label = row.name.rpartition(".")[2] if row.name else "(model)"
            item = QTreeWidgetItem([
                label, row.type, row.input_text, row.shape_text, row.kernel_text, f"{row.params:,}",
                row.percent_text, f"{row.trainable:,}",
                f"{row.frozen:,}" if row.frozen else "", human_bytes(row.bytes),
                human_flops(row.flops) if row.flops else "", human_count(row.flops // 2) if row.flops else "",
            ])
            item.setData(0, Qt.ItemDataRole.UserRole, row.name)
            item.setToolTip(0, row.name or "the whole model")
            for col in range(FIRST_COUNT, len(COLUMNS)):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not row.leaf:
                item.setFont(0, bold)
            if row.frozen and not row.trainable:
                for col in range(len(COLUMNS)):
                    item.setForeground(col, grey)
            if row.calls == 0 and row.name:
                item.setToolTip(COLUMNS.index("Output shape"), "not called by the forward pass")
            parent = self._items.get(row.parent) if row.parent is not None else None
            if parent is None:
                self.tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
            self._items[row.name] = item
        self.tree.expandToDepth(1)
        self.totals.setText("\n".join(totals_lines(summary)))
        self.apply_search(self.search_edit.text())
        if self._pending_select:
            self.select(self._pending_select)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.compute()

    def apply_search(self, text: str) -> None:
        if self.summary is None:
            return
        keep = set(search(self.summary, text))
        for name, item in self._items.items():
            item.setHidden(name not in keep and bool(name))
        if text.strip():
            for name in keep:
                if name in self._items:
                    self._items[name].setExpanded(True)

    def select(self, name: str) -> None:
        """Show and select layer ``name`` (the graph's node clicks land here)."""
        item = self._items.get(name)
        if item is None:
            self._pending_select = name  # the table is still being computed
            return
        self._pending_select = ""
        parent = item.parent()
        while parent is not None:
            parent.setExpanded(True)
            parent = parent.parent()
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)

    def _chosen(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.layer_selected.emit(item.data(0, Qt.ItemDataRole.UserRole))


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(LayersView))
