"""Compare (models side by side) and Export (ONNX, TorchScript, safetensors, verified) views."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio_inspector.compare import Comparison, compare
from dlstudio_inspector.export import FORMATS, SUFFIXES, ExportResult, export, untrained_reason
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.sources import OpenedModel, open_registered


def _compare(studio, entries: list[OpenedModel | str]) -> Comparison:
    models = [e if isinstance(e, OpenedModel) else open_registered(studio, e) for e in entries]
    return compare(models)


class CompareView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.entries: list[OpenedModel | str] = []
        self.add_current = QPushButton("Add the current model")
        self.model_combo = QComboBox(minimumContentsLength=18)
        self.add_registered = QPushButton("Add")
        self.clear_button = QPushButton("Clear")
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (self.add_current, QLabel("  or a registered model"), self.model_combo, self.add_registered,
                  self.clear_button):
            bar.addWidget(w)
        self.info = QLabel("Add two or more models: parameters, FLOPs (for each model's own input size), depth "
                           "and a per-block table side by side.")
        self.info.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(22)
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.info)
        box.addWidget(self.table, 1)
        for spec in sorted(session.studio.registry.models, key=lambda s: s.title.lower()):
            self.model_combo.addItem(spec.title, spec.id)
        self.add_current.clicked.connect(lambda: self.add(self.session.opened))
        self.add_registered.clicked.connect(lambda: self.add(self.model_combo.currentData()))
        self.clear_button.clicked.connect(self.clear)

    def add(self, entry: OpenedModel | str | None) -> None:
        if entry is None:
            return
        self.entries.append(entry)
        self.info.setText("Comparing…")
        self.session.submit("compare", _compare, self.session.studio, list(self.entries),
                            on_result=self.show_comparison, on_error=self.info.setText)

    def clear(self) -> None:
        self.entries.clear()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def show_comparison(self, comparison: Comparison) -> None:
        rows = [*comparison.rows, ("— blocks —", [""] * len(comparison.models)), *comparison.blocks]
        self.table.setColumnCount(len(comparison.models))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([f.title for f in comparison.models])
        self.table.setVerticalHeaderLabels([label for label, _ in rows])
        for r, (_label, cells) in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.info.setText(f"{len(comparison.models)} model(s). Depth counts conv/linear layers on the longest "
                          "path of the traced graph (ResNet-18 → 18).")


class ExportView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.format_combo = QComboBox()
        self.format_combo.addItems(FORMATS)
        self.path_edit = QLineEdit(placeholderText="file to write")
        self.browse_button = QPushButton("Browse…")
        self.verify_box = QCheckBox("Verify")
        self.verify_box.setToolTip("Run the written file on the current input and on a batch of another size, "
                                   "and compare it with the model")
        self.verify_box.setChecked(True)
        self.export_button = QPushButton("Export")
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Format"), self.format_combo, self.path_edit, self.browse_button, self.verify_box,
                  self.export_button):
            bar.addWidget(w)
        self.path_edit.setMinimumWidth(280)
        # Exporting a bare registered model writes random weights: say so before the user clicks, not after.
        self.untrained_label = QLabel(wordWrap=True)
        self.untrained_label.setStyleSheet("color: #b35c00; font-weight: bold")
        self.untrained_label.hide()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setPlaceholderText(
            "ONNX: one self-contained file (dynamo exporter) with a dynamic batch axis, checked with onnx.checker.\n"
            "TorchScript: torch.jit.trace.\nsafetensors: the weights plus a JSON sidecar, so dlstudio can rebuild "
            "the model.\nVerify loads the written file back and runs it (onnxruntime, torch.jit.load, the reloaded "
            "weights) on the current input and on a batch of another size, against the model.")
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.untrained_label)
        box.addWidget(self.log, 1)
        self.format_combo.currentIndexChanged.connect(lambda _i: self._suggest())
        self.browse_button.clicked.connect(self.browse)
        self.export_button.clicked.connect(self.export)
        session.model_changed.connect(self._suggest)
        session.model_changed.connect(self._show_untrained)

    def _show_untrained(self) -> None:
        opened = self.session.opened
        reason = untrained_reason(opened) if opened is not None else ""
        self.untrained_label.setText(f"Not trained: {reason}. Open a run or a weights file to export trained "
                                     "weights." if reason else "")
        self.untrained_label.setVisible(bool(reason))

    def _suggest(self) -> None:
        opened = self.session.opened
        fmt = self.format_combo.currentText()
        current = self.path_edit.text().strip()
        stem = Path(current).with_suffix("") if current else Path.home() / (
            (opened.model_id or "model").replace(".", "_") if opened else "model")
        self.path_edit.setText(str(stem.with_suffix(SUFFIXES[fmt])))

    def browse(self) -> None:
        fmt = self.format_combo.currentText()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), f"*{SUFFIXES[fmt]}")
        if path:
            self.path_edit.setText(path)

    def export(self) -> None:
        opened, x = self.session.opened, self.session.x
        path = self.path_edit.text().strip()
        if opened is None or not path:
            return
        fmt = self.format_combo.currentText()
        self.log.appendPlainText(f"Exporting {opened.title} to {fmt}…")
        self.export_button.setEnabled(False)
        verify, studio = self.verify_box.isChecked(), self.session.studio
        self.session.submit("export", lambda: export(opened, fmt, path, x=x, studio=studio, verify=verify),
                            on_result=self._done, on_error=self._failed)

    def _done(self, result: ExportResult) -> None:
        self.export_button.setEnabled(True)
        self.log.appendPlainText(result.describe() + "\n")

    def _failed(self, message: str) -> None:
        self.export_button.setEnabled(True)
        self.log.appendPlainText(f"Export failed: {message}\n")


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(CompareView))
