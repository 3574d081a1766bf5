"""Plugins dialog, grown into a manager: every plugin with its state; install, update, uninstall; safe mode.

pip runs in a QProcess (:mod:`dlstudio.gui.plugin_manager_process`) with the command and the constraints
file the CLI uses (:mod:`dlstudio.plugin_install`): the window stays live, pip's log streams into the dialog
and Cancel stops it. A plugin that installs cleanly joins the running studio (its families appear in the
window); what cannot change under a running app (an update, an uninstall) asks for a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.plugin_manager_details import describe, installed_by
from dlstudio.gui.plugin_manager_process import PipProcess
from dlstudio.gui.plugin_manager_recovery import restart_app
from dlstudio.plugin_install import (
    INSTALL,
    UNINSTALL,
    UPDATE,
    Outcome,
    PipOptions,
    PluginInstallError,
    core_pins,
    load_into,
    new_plugins_need_restart,
    parse_target,
    pip_command,
    plugin_distribution,
    removal_summary,
    write_constraints,
)
from dlstudio.plugins import DISABLED, FAILED

if TYPE_CHECKING:
    from dlstudio.home import Settings
    from dlstudio.plugins import PluginRecord

COLUMNS = ("Enabled", "Plugin", "Version", "Status", "Load time", "Installed by", "Source")
_STATUS_COLOURS = {FAILED: QColor(200, 40, 40), DISABLED: QColor(130, 130, 130)}
_SLOW = QColor(190, 110, 0)
_DOING = {INSTALL: "Installing", UPDATE: "Updating", UNINSTALL: "Uninstalling"}
TARGET_HINT = "a package (name or name==1.2), a .whl or .tar.gz file, a project folder, or a git+https://… URL"


class PluginsDialog(QDialog):
    def __init__(self, records: list[PluginRecord], settings: Settings, parent: QWidget | None = None, *,
                 studio: Any = None, python: str | None = None, env: dict[str, str] | None = None,
                 pip_options: PipOptions | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.resize(980, 700)
        self.records = records
        self.settings = settings
        #: The running studio new plugins join (the window's), or None: then installing asks for a restart.
        self.studio = studio if studio is not None else getattr(parent, "studio", None)
        self.python = python
        self.pip_options = pip_options
        self.pip = PipProcess(self, env)
        self.pip.line.connect(self._log_line)
        self.pip.done.connect(self._pip_done)
        #: The last pip run's outcome, and what the dialog concluded (shown under the log).
        self.outcome: Outcome | None = None
        self.restart_needed: list[str] = []

        layout = QVBoxLayout(self)
        layout.addLayout(self._install_row())
        self.table = self._make_table()
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("Select a plugin to see what it registered, its errors and warnings.")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setObjectName("pip_log")
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("pip's output appears here while it installs, updates or uninstalls.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.addWidget(self.log)
        splitter.setSizes([240, 260, 160])
        layout.addWidget(splitter, 1)
        layout.addLayout(self._progress_row())
        layout.addLayout(self._plugin_buttons())
        note = QLabel("Enabling or disabling a plugin takes effect the next time dlstudio starts. "
                      "DLSTUDIO_DISABLED_PLUGINS=name,… disables plugins for one session. Installs keep dlstudio, "
                      "PyTorch and Qt at their installed versions.")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._fill_table()
        failed = next((i for i, r in enumerate(records) if r.status == FAILED), 0)
        if records:
            self.table.selectRow(failed)
            self._show_details(failed)

    # -- building ----------------------------------------------------------------------------------

    def _install_row(self) -> QHBoxLayout:
        self.target = QLineEdit()
        self.target.setPlaceholderText(TARGET_HINT)
        self.target.setToolTip(f"What to install: {TARGET_HINT}")
        self.target.returnPressed.connect(self.install)
        self.offline = QCheckBox("Offline")
        self.offline.setToolTip("Use no package index: install from a file or a folder with what is installed")
        file_button = QPushButton("File…", clicked=self._choose_file)
        folder_button = QPushButton("Folder…", clicked=self._choose_folder)
        self.install_button = QPushButton("Install", clicked=self.install)
        row = QHBoxLayout()
        row.addWidget(QLabel("Install:"))
        row.addWidget(self.target, 1)
        for widget in (file_button, folder_button, self.offline, self.install_button):
            row.addWidget(widget)
        return row

    def _progress_row(self) -> QHBoxLayout:
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # pip says nothing measurable: busy, not a percentage
        self.progress.setVisible(False)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton("Cancel", clicked=self.pip.cancel)
        self.cancel_button.setVisible(False)
        self.restart_button = QPushButton("Restart now", clicked=lambda: self._restart(safe_mode=False))
        self.restart_button.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.result_label, 2)
        row.addWidget(self.restart_button)
        row.addWidget(self.cancel_button)
        return row

    def _plugin_buttons(self) -> QHBoxLayout:
        self.update_button = QPushButton("Update", clicked=self.update_selected)
        self.uninstall_button = QPushButton("Uninstall…", clicked=self.uninstall_selected)
        self.safe_mode_button = QPushButton("Restart in safe mode", clicked=lambda: self._restart(safe_mode=True))
        self.safe_mode_button.setToolTip("Start again with the built-in plugins only")
        row = QHBoxLayout()
        row.addWidget(self.update_button)
        row.addWidget(self.uninstall_button)
        row.addStretch(1)
        row.addWidget(self.safe_mode_button)
        return row

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(list(COLUMNS))
        table.verticalHeader().hide()
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.itemChanged.connect(self._toggled)
        table.currentCellChanged.connect(lambda row, *_: self._show_details(row))
        return table

    def _fill_table(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.records))
        disabled = self.settings.disabled_plugins()
        builtin = {r.name for r in self.records if r.builtin}
        for row, record in enumerate(self.records):
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
            load = _seconds(record.load_seconds) if record.load_seconds else "–"
            cells = [enabled, QTableWidgetItem(record.name), QTableWidgetItem(record.version or "–"),
                     QTableWidgetItem(status), QTableWidgetItem(load), QTableWidgetItem(installed_by(record)),
                     QTableWidgetItem(record.source)]
            if record.status in _STATUS_COLOURS:
                cells[3].setForeground(_STATUS_COLOURS[record.status])
            if record.slow:
                cells[4].setForeground(_SLOW)
                cells[4].setToolTip("slow: this plugin delays every start of dlstudio")
            if record.error or record.note:
                cells[3].setToolTip(record.error or record.note)
            elif record.warnings:
                cells[3].setToolTip("\n".join(record.warnings))
            for col, cell in enumerate(cells):
                self.table.setItem(row, col, cell)
        self.table.blockSignals(False)

    # -- plugins -----------------------------------------------------------------------------------

    def selected(self) -> PluginRecord | None:
        row = self.table.currentRow()
        return self.records[row] if 0 <= row < len(self.records) else None

    def _toggled(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        record = self.records[item.row()]
        self.settings.set_plugin_enabled(record.name, item.checkState() == Qt.CheckState.Checked)

    def _show_details(self, row: int) -> None:
        if not 0 <= row < len(self.records):
            return
        record = self.records[row]
        registry = self.studio.registry if self.studio is not None else None
        self.details.setPlainText(describe(record, registry))
        removable = bool(record.distribution) and not record.builtin and not self.pip.is_running()
        self.update_button.setEnabled(removable)
        self.uninstall_button.setEnabled(removable)
        tip = "" if removable else ("built-in plugins can be disabled, not removed" if record.builtin
                                    else "only plugins installed as a distribution")
        self.uninstall_button.setToolTip(tip)

    # -- pip ---------------------------------------------------------------------------------------

    def _options(self) -> PipOptions:
        if self.pip_options is not None:
            return self.pip_options
        return PipOptions(no_index=True, no_build_isolation=True) if self.offline.isChecked() else PipOptions()

    def _python(self) -> str:
        import sys

        return self.python or sys.executable

    def install(self) -> bool:
        """Install what the target field names; False (with the reason shown) when it is refused before pip."""
        try:
            pins = core_pins()
            target = parse_target(self.target.text(), pins)
        except PluginInstallError as exc:
            self._refused(str(exc))
            return False
        constraints = write_constraints(pins)
        command = pip_command(INSTALL, [target.value], constraints, self._options(), self._python())
        self._start(INSTALL, [target.value], command, [constraints])
        return True

    def update_selected(self) -> bool:
        return self._change_selected(UPDATE)

    def uninstall_selected(self) -> bool:
        return self._change_selected(UNINSTALL)

    def _change_selected(self, action: str) -> bool:
        record = self.selected()
        try:
            if record is None:
                raise PluginInstallError("select a plugin first")
            dist = plugin_distribution(record.distribution or record.name)
        except PluginInstallError as exc:
            self._refused(str(exc))
            return False
        name, version = dist.metadata["Name"], dist.version
        if action == UNINSTALL:
            files = removal_summary(dist)
            question = (f"Uninstall {name} {version}? It provides the plugin “{record.name}”; these are removed:",
                        "\n".join(files))
        else:
            question = (f"Update {name} {version} to the newest version that fits this dlstudio, PyTorch and Qt?",
                        "Its own requirements may be updated too; what dlstudio runs on stays as it is.")
        if not self.confirm(f"{action.title()} {name}", *question):
            return False
        constraints = [write_constraints()] if action == UPDATE else []
        command = pip_command(action, [name], constraints[0] if constraints else None, self._options(),
                              self._python())
        self._start(action, [name], command, constraints)
        return True

    def confirm(self, title: str, text: str, details: str) -> bool:
        """Ask before changing what is installed (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        box.setInformativeText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Ok).setText(title.split()[0])
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Ok

    def _refused(self, message: str) -> None:
        self.result_label.setText(message)
        self.result_label.setStyleSheet("color: rgb(200, 40, 40);")

    def _start(self, action: str, targets: list[str], command: list[str], remove_after: list[Path]) -> None:
        self.log.clear()
        self.outcome, self.restart_needed = None, []
        self.result_label.setStyleSheet("")
        self.result_label.setText(f"{_DOING[action]} {', '.join(targets)}…")
        self._busy(True)
        self.pip.start(action, targets, command, remove_after)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        for widget in (self.install_button, self.update_button, self.uninstall_button, self.target,
                       self.safe_mode_button):  # a restart would kill pip halfway
            widget.setEnabled(not busy)
        if not busy:
            self._show_details(self.table.currentRow())

    def _log_line(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _pip_done(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._busy(False)
        text, error = outcome.summary(), False
        if outcome.ok and outcome.action == INSTALL:
            self.target.clear()  # done: the field is ready for the next one
        if outcome.ok and outcome.new_plugins:
            text += self._load_new(outcome.new_plugins)
        elif not outcome.ok:
            error = True
            reason = next((line for line in outcome.error.splitlines() if line.startswith("ERROR:")), "")
            text += f". {reason.removeprefix('ERROR: ')}" if reason else ""
            text += " (pip's whole reason is in the log above)" if outcome.error else ""
            text += f". {outcome.hint}." if outcome.hint else ""
        if outcome.ok and (outcome.removed or outcome.changed or outcome.gone_plugins):
            self.restart_needed = sorted({*outcome.removed, *outcome.changed})
        if self.restart_needed:
            text += f". Restart dlstudio for the change to {', '.join(self.restart_needed)} to take effect."
        self.restart_button.setVisible(bool(self.restart_needed))
        self.result_label.setStyleSheet("color: rgb(200, 40, 40);" if error else "")
        self.result_label.setText(text)

    def _load_new(self, names: list[str]) -> str:
        """Load the new plugins into the running studio and window where this process can import them."""
        later = new_plugins_need_restart(names) if self.studio is not None else list(names)
        self.restart_needed += later
        now = [n for n in names if n not in later]
        if not now:
            return ""
        records = load_into(self.studio, now)
        self._fill_table()
        families = [f for r in records for f in self.studio.registry.families if f.plugin == r.name]
        window = self.parent()
        if families and hasattr(window, "add_families"):
            window.add_families([f.id for f in families])
        said = [f"{r.name} {r.status}" + (f" ({r.error})" if r.error else "") for r in records]
        where = f": {', '.join(f.title for f in families)} is in the window" if families else ""
        return ". Plugin " + "; ".join(said) + where

    def _restart(self, safe_mode: bool) -> None:
        window = self.parent() if isinstance(self.parent(), QWidget) else None
        if window is None:
            self._refused("restart dlstudio yourself: this dialog has no window to restart")
            return
        restart_app(window, safe_mode)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Install a plugin from a file", "",
                                              "Python packages (*.whl *.tar.gz *.zip);;All files (*)")
        if path:
            self.target.setText(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Install a plugin from its project folder")
        if path:
            self.target.setText(path)

    def reject(self) -> None:
        if self.pip.is_running():
            self._refused("pip is still running: Cancel it first, or wait for it to finish")
            return
        super().reject()


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.005 else "< 0.01 s"
