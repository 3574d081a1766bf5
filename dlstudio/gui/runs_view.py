"""The Runs view: every run in the store — sort, filter, overlay curves, delete, clone, resume, export, open in
the inspector; from buttons, a right-click menu, or the Delete key."""

from __future__ import annotations

import time
import tomllib
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QMetaMethod, QPoint, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.chart_parts import EmptyNote, legend_to_emptiest_corner
from dlstudio.gui.run_dock import format_seconds

if TYPE_CHECKING:
    from dlstudio.gui.context import StudioContext
    from dlstudio.store import RunRow
    from dlstudio.studio import Studio

COLUMNS = ("Run", "Name", "Plugin", "Model", "Dataset", "Hyperparameters", "Device", "Status", "Best",
           "Epochs", "Duration", "Started")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
_PALETTE = [(52, 120, 200), (220, 110, 30), (60, 160, 80), (200, 60, 60), (140, 90, 190), (120, 120, 120)]


def _item(text: str, sort_value: object = None) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(sort_value if sort_value is not None else text, SORT_ROLE)
    return item


def clone_problem(studio: Studio, spec_text: str) -> str:
    """Why a run's stored spec cannot be cloned, in the words ``dlstudio train`` would use ("" when it can):
    a panel shows a spec exactly or not at all."""
    from dlstudio.runner import resolve_parts
    from dlstudio.spec import RunSpec, SpecError

    try:
        resolve_parts(studio, RunSpec.from_dict(tomllib.loads(spec_text), source="its spec"))
    except tomllib.TOMLDecodeError as exc:
        return f"its stored spec is not valid TOML: {exc}"
    except SpecError as exc:
        return str(exc)
    return ""


#: The cross-plugin message that opens a model (a run's checkpoint or a file) in the panels that show models.
MODEL_OPEN_TOPIC = "model.open"


def model_opener_listening(context: StudioContext) -> bool:
    """Whether a loaded panel listens on the cross-plugin bus (the inspector does, for ``model.open``)."""
    return context.isSignalConnected(QMetaMethod.fromSignal(context.message_posted))


NO_SELECTION = "select runs to compare their curves"


class RunsView(QWidget):
    #: The user asked to re-open a run's settings: (plugin, spec dict).
    clone_requested = Signal(str, dict)
    #: Runs deleted from the store: their ids.
    deleted = Signal(list)
    #: "Evaluate": the run's id (the window shows its family's Evaluate page with it chosen).
    evaluate_requested = Signal(str)

    def __init__(self, context: StudioContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.store = context.studio.store
        #: Whether a run can be evaluated (the window knows which pages evaluate).
        self.can_evaluate = lambda run_id: False
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.filter_edit = QLineEdit(placeholderText="Filter runs (any column)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.clone_selected())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.delete_action = QAction("Delete…", self.table, triggered=lambda: self.delete_selected())
        self.delete_action.setShortcuts([QKeySequence.StandardKey.Delete, QKeySequence(Qt.Key.Key_Backspace)])
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(self.delete_action)

        self.buttons: dict[str, QPushButton] = {}
        button_row = QHBoxLayout()
        button_row.addWidget(self.filter_edit, 1)
        for key, label, slot in (
            ("refresh", "Refresh", self.refresh),
            ("clone", "Clone settings", self.clone_selected),
            ("resume", "Resume", self.resume_selected),
            ("evaluate", "Evaluate", self.evaluate_selected),
            ("export", "Export run spec…", self.export_selected),
            ("delete", "Delete…", self.delete_selected),
        ):
            button = QPushButton(label)
            button.setObjectName(f"runs_{key}")
            button.clicked.connect(slot)
            self.buttons[key] = button
            button_row.addWidget(button)

        self.metric_combo = QComboBox()
        self.metric_combo.currentIndexChanged.connect(self._plot_selected)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "epoch")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(-10, 10))  # moved to the emptiest corner when curves are drawn
        self.plot_note = EmptyNote(self.plot.getPlotItem(), NO_SELECTION)
        plot_box = QWidget()
        plot_layout = QVBoxLayout(plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        metric_row = QHBoxLayout()
        metric_row.addWidget(QLabel("Overlay of the selected runs:"))
        metric_row.addWidget(self.metric_combo, 1)
        plot_layout.addLayout(metric_row)
        plot_layout.addWidget(self.plot)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(plot_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.splitter = splitter  # its sizes are remembered by the window
        layout = QVBoxLayout(self)
        layout.addLayout(button_row)
        layout.addWidget(splitter, 1)
        self._stale = False
        context.run_finished.connect(lambda *_: self._runs_changed())
        context.run_started.connect(lambda *_: self._runs_changed())
        self.refresh()
        self.table.sortByColumn(COLUMNS.index("Started"), Qt.SortOrder.DescendingOrder)

    # -- data --------------------------------------------------------------------------------------
    def _runs_changed(self) -> None:
        # Rebuilding the table measures every cell; while hidden it waits to be shown (a run's start
        # would otherwise pay for it on the GUI thread, beside the training thread).
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        selected = set(self.selected_ids())
        rows = self.store.list_runs()
        self._rows = {r.id: r for r in rows}
        selection = self.table.selectionModel()
        # Rebuilt with selection signals off, then one update: emptying the table would otherwise
        # forget the chosen metric, and re-selecting N rows would read the store N times.
        selection.blockSignals(True)
        try:
            self.model.setRowCount(0)
            for r in rows:
                self.model.appendRow(self._row_items(r))
            self._select(selected)
        finally:
            selection.blockSignals(False)
        self.table.resizeColumnsToContents()
        for col in (COLUMNS.index("Name"), COLUMNS.index("Hyperparameters")):
            self.table.setColumnWidth(col, min(self.table.columnWidth(col), 260))
        self.table.viewport().update()
        self._selection_changed()

    def _row_items(self, r: RunRow) -> list[QStandardItem]:
        params = ", ".join(f"{k}={v}" for k, v in r.params.items())
        best = f"{r.monitor} {r.best_value:.4f}" if r.best_value is not None else "–"
        items = [
            _item(r.id), _item(r.name), _item(r.plugin), _item(r.model), _item(r.dataset), _item(params),
            _item(r.device), _item(r.status), _item(best, r.best_value if r.best_value is not None else -1e30),
            _item(f"{r.epochs_done}/{r.epochs}", r.epochs_done), _item(format_seconds(r.duration), r.duration),
            _item(time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)), r.created),
        ]
        items[0].setData(r.id, ID_ROLE)
        if r.message:
            items[COLUMNS.index("Status")].setToolTip(r.message)
        return items

    def selected_ids(self) -> list[str]:
        if not hasattr(self, "_rows"):
            return []
        rows = self.table.selectionModel().selectedRows()
        return [self.proxy.index(i.row(), 0).data(ID_ROLE) for i in rows]

    def select_ids(self, ids: list[str]) -> None:
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        try:
            selection.clearSelection()
            self._select(set(ids))
        finally:
            selection.blockSignals(False)
        self.table.viewport().update()
        self._selection_changed()

    def _select(self, ids: set[str]) -> None:
        selection = self.table.selectionModel()
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ID_ROLE) in ids:
                selection.select(self.proxy.index(row, 0),
                                 selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    # -- selection ---------------------------------------------------------------------------------
    def _selection_changed(self, *_: object) -> None:
        ids = self.selected_ids()
        one = len(ids) == 1
        rows = [self._rows[i] for i in ids if i in self._rows]
        self.buttons["clone"].setEnabled(one)
        self.buttons["export"].setEnabled(one)
        self.buttons["resume"].setEnabled(one and rows[0].resumable)
        self.buttons["delete"].setEnabled(bool(ids))
        self.buttons["evaluate"].setEnabled(one and self._evaluable(ids[0]))
        names: set[str] = set()
        self._metrics = {i: self.store.metrics(i) for i in ids}
        for metrics in self._metrics.values():
            names.update(metrics)
        current = self.metric_combo.currentText()
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        ordered = sorted(names, key=lambda n: (not n.startswith("valid"), n))
        self.metric_combo.addItems(ordered)
        if current in names:
            self.metric_combo.setCurrentText(current)
        self.metric_combo.blockSignals(False)
        self._plot_selected()

    # -- context menu ------------------------------------------------------------------------------
    def context_menu(self) -> QMenu:
        """The right-click menu for the selected runs; each action enabled only when it applies."""
        ids = self.selected_ids()
        one = len(ids) == 1
        row = self._rows.get(ids[0]) if one else None
        menu = QMenu(self)
        entries = (
            ("Clone settings", self.clone_selected, one),
            ("Resume", self.resume_selected, one and row is not None and row.resumable),
            ("Evaluate this run", self.evaluate_selected, one and self._evaluable(ids[0])),
            ("Export run spec…", self.export_selected, one),
            ("Open in the inspector", self.open_selected_in_inspector,
             one and self._has_checkpoint(ids[0]) and model_opener_listening(self.context)),
            ("Open in TensorBoard", self.open_selected_in_tensorboard, one),  # dlstudio.gui.tensorboard_action
            (None, None, False),
            ("Delete…", self.delete_selected, bool(ids)),
        )
        for label, slot, enabled in entries:
            if label is None:
                menu.addSeparator()
                continue
            action = menu.addAction(label)
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            action.setEnabled(enabled)
        return menu

    def _show_context_menu(self, point: QPoint) -> None:
        if not self.selected_ids():
            return
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(point))

    def _has_checkpoint(self, run_id: str) -> bool:
        saved = self.store.artifacts(run_id)
        return any(kind in saved and saved[kind][0].is_file() for kind in ("best", "final", "last"))

    def open_selected_in_inspector(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.context.post(MODEL_OPEN_TOPIC, {"run_id": ids[0]})

    def open_selected_in_tensorboard(self) -> None:
        from dlstudio.gui.tensorboard_action import open_run_in_tensorboard

        if len(ids := self.selected_ids()) == 1:
            open_run_in_tensorboard(self.context, ids[0])

    def _plot_selected(self) -> None:
        self.plot.clear()
        if self.plot.plotItem.legend is not None:
            self.plot.plotItem.legend.clear()
        metric = self.metric_combo.currentText()
        self.plot.getAxis("left").setLabel(metric)
        drawn = []
        for n, (run_id, metrics) in enumerate(getattr(self, "_metrics", {}).items()):
            points = metrics.get(metric, [])
            if not points:
                continue
            drawn.append((np.array([p[0] for p in points], float), np.array([p[1] for p in points], float)))
            colour = _PALETTE[n % len(_PALETTE)]
            row = self._rows.get(run_id)
            label = f"{run_id} {row.name}" if row else run_id
            self.plot.plot([p[0] for p in points], [p[1] for p in points], name=label,
                           pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, symbolBrush=colour)
        self.plot_note.set_empty(not drawn, None if drawn else
                                 NO_SELECTION if not self.selected_ids() else "no points of this metric yet")
        legend_to_emptiest_corner(self.plot.getPlotItem())

    # -- actions -----------------------------------------------------------------------------------
    def clone_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        row = self._rows[ids[0]]
        problem = clone_problem(self.context.studio, row.spec)
        if problem:
            self.context.show_error("Cannot clone this run", f"run {row.id} (plugin {row.plugin!r}): {problem}")
            return
        self.clone_requested.emit(row.plugin, tomllib.loads(row.spec))

    def resume_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.buttons["resume"].setEnabled(False)  # a second click would queue a second resume
            self.context.start_run(None, resume_id=ids[0])

    def _evaluable(self, run_id: str) -> bool:
        row = self._rows.get(run_id)
        return row is not None and row.status in ("completed", "stopped") and self.can_evaluate(run_id)

    def evaluate_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1 and self._evaluable(ids[0]):
            self.evaluate_requested.emit(ids[0])

    def export_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run spec", f"{ids[0]}.toml", "Run spec (*.toml)")
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(self._rows[ids[0]].spec)
            self.context.notify(f"wrote {path}; replay it with: dlstudio train {path}")

    def delete_selected(self, *, confirm: bool = True) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        if confirm:
            answer = QMessageBox.question(
                self, "Delete runs",
                f"Delete {len(ids)} run(s) and all their files (checkpoints, outputs)? This cannot be undone.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        errors, gone = [], []
        for run_id in ids:
            try:
                self.store.delete(run_id)
                gone.append(run_id)
            except (RuntimeError, KeyError) as exc:
                errors.append(str(exc))
        if errors:
            self.context.show_error("Some runs were not deleted", "\n".join(errors))
        self.refresh()
        if gone:
            self.deleted.emit(gone)
