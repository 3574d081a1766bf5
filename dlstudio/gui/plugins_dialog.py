"""Plugins dialog: every plugin with version, source and status; enable/disable; a failed one's error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.plugins import DISABLED, FAILED

if TYPE_CHECKING:
    from dlstudio.home import Settings
    from dlstudio.plugins import PluginRecord

COLUMNS = ("Enabled", "Plugin", "Version", "Status", "Source")
_STATUS_COLOURS = {FAILED: QColor(200, 40, 40), DISABLED: QColor(130, 130, 130)}


class PluginsDialog(QDialog):
    def __init__(self, records: list[PluginRecord], settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.resize(820, 520)
        self.records = records
        self.settings = settings
        self.table = QTableWidget(len(records), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        disabled = settings.disabled_plugins()
        builtin = {r.name for r in records if r.builtin}
        for row, record in enumerate(records):
            enabled = QTableWidgetItem()
            if record.name == "core" and record.builtin:
                enabled.setFlags(Qt.ItemFlag.NoItemFlags)
                enabled.setToolTip("the core cannot be disabled")
            elif record.name_taken:  # plugins are disabled by name: this box would switch off the other one
                enabled.setFlags(Qt.ItemFlag.NoItemFlags)
                owner = "a built-in plugin" if record.name in builtin else "another plugin"
                enabled.setToolTip(f"{record.name!r} is the name of {owner}, which this box would disable; "
                                   "uninstall this plugin instead")
            else:
                enabled.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            off = record.name in disabled or record.name_taken
            enabled.setCheckState(Qt.CheckState.Unchecked if off else Qt.CheckState.Checked)
            status = record.status + (f" ({len(record.warnings)} warnings)" if record.warnings else "")
            cells = [enabled, QTableWidgetItem(record.name), QTableWidgetItem(record.version or "–"),
                     QTableWidgetItem(status), QTableWidgetItem(record.source)]
            if record.status in _STATUS_COLOURS:
                cells[3].setForeground(_STATUS_COLOURS[record.status])
            if record.error:
                cells[3].setToolTip(record.error)
            elif record.warnings:
                cells[3].setToolTip("\n".join(record.warnings))
            for col, cell in enumerate(cells):
                self.table.setItem(row, col, cell)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(self._toggled)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_details(row))

        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("Select a plugin to see its errors and warnings.")
        note = QLabel("Enabling or disabling a plugin takes effect the next time dlstudio starts. "
                      "DLSTUDIO_DISABLED_PLUGINS=name,… disables plugins for one session.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        failed = next((i for i, r in enumerate(records) if r.status == FAILED), 0)
        if records:
            self.table.selectRow(failed)
            self._show_details(failed)

    def _toggled(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        record = self.records[item.row()]
        self.settings.set_plugin_enabled(record.name, item.checkState() == Qt.CheckState.Checked)

    def _show_details(self, row: int) -> None:
        if not 0 <= row < len(self.records):
            return
        r = self.records[row]
        name = f"{r.name} {r.version}" if r.version else r.name
        lines = [f"{name} — {r.status}", f"source: {r.source}"]
        if r.error:
            lines += ["", f"error: {r.error}"]
        if r.warnings:
            lines += ["", "warnings:"] + [f"  • {w}" for w in r.warnings]
        if r.traceback:
            lines += ["", r.traceback]
        self.details.setPlainText("\n".join(lines))
