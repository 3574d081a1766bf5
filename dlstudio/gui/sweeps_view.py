"""The Sweeps view: choose a sweep (``dlstudio sweep``), see its trials, the best one, the metric against each
parameter and parallel coordinates, and clone the best trial's settings into its panel."""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.sweep_plots import ParallelCoordinates, ParameterScatter
from dlstudio.sweep_store import SweepTable, SweepTrial, best_trial

if TYPE_CHECKING:
    from dlstudio.gui.context import StudioContext

FIXED_COLUMNS = ("#", "State", "Value", "Run")
_BEST_BACKGROUND = QColor(255, 226, 180)


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class SweepsView(QWidget):
    #: Re-open the best trial's settings: (plugin, spec dict), as the Runs view's clone.
    clone_requested = Signal(str, dict)

    def __init__(self, context: StudioContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.table_store = SweepTable(context.studio.store)
        self.trials: list[SweepTrial] = []
        self.best: SweepTrial | None = None

        self.sweep_combo = QComboBox()
        self.sweep_combo.currentIndexChanged.connect(self.show_sweep)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.clone_button = QPushButton("Clone the best into its panel")
        self.clone_button.setObjectName("sweeps_clone_best")
        self.clone_button.clicked.connect(self.clone_best)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Sweep:"))
        top.addWidget(self.sweep_combo, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.clone_button)

        self.table = QTableWidget(0, len(FIXED_COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.scatter = ParameterScatter()
        self.parallel = ParallelCoordinates()
        self.plots = QTabWidget()
        self.plots.setDocumentMode(True)
        self.plots.addTab(self.scatter, "Metric against each parameter")
        self.plots.addTab(self.parallel, "Parallel coordinates")
        for widget in (self.table, self.scatter, self.parallel):  # the window's minimum is every page's
            widget.setMinimumSize(120, 60)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.plots)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the sweeps from the store, keeping the chosen one."""
        chosen = self.sweep_combo.currentText()
        names = self.table_store.sweeps()
        self.sweep_combo.blockSignals(True)
        self.sweep_combo.clear()
        self.sweep_combo.addItems(names)
        if chosen in names:
            self.sweep_combo.setCurrentText(chosen)
        self.sweep_combo.blockSignals(False)
        self.show_sweep()

    def choose(self, sweep: str) -> None:
        self.sweep_combo.setCurrentText(sweep)

    def show_sweep(self) -> None:
        name = self.sweep_combo.currentText()
        self.trials = self.table_store.trials(name) if name else []
        self.best = best_trial(self.trials)
        self._fill_table()
        self.scatter.show_trials(self.trials, self.best)
        self.parallel.show_trials(self.trials, self.best)
        self.clone_button.setEnabled(self.best is not None)
        if not name:
            self.summary.setText("No sweeps yet. Start one with: dlstudio sweep SPEC --param train.lr=loguniform:"
                                 "1e-4:1e-1 --trials 20")
        elif self.best is None:
            self.summary.setText(f"{len(self.trials)} trials, none completed yet")
        else:
            states = [t.state for t in self.trials]
            counts = ", ".join(f"{states.count(s)} {s}" for s in ("complete", "pruned", "fail", "running")
                               if states.count(s))
            self.summary.setText(f"{len(self.trials)} trials ({counts}); best: trial {self.best.number}, "
                                 f"{self.best.metric} {self.best.value:.4g} ({self.best.direction} is better)")

    def _fill_table(self) -> None:
        params = sorted({k for t in self.trials for k in t.params})
        metric = self.trials[0].metric if self.trials else "Value"
        headers = ["#", "State", metric, *params, "Run"]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(self.trials))
        bold = QFont()
        bold.setBold(True)
        for row, trial in enumerate(self.trials):
            value = "" if trial.value is None else format_value(trial.value)
            cells = [str(trial.number), trial.state, value,
                     *(format_value(trial.params[p]) if p in trial.params else "" for p in params), trial.run_id]
            is_best = self.best is not None and trial.run_id == self.best.run_id
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if is_best:
                    item.setBackground(QBrush(_BEST_BACKGROUND))
                    item.setFont(bold)
                    item.setToolTip("the best trial")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()

    def best_row(self) -> int:
        """The table row of the best trial (-1: none)."""
        return next((row for row, t in enumerate(self.trials) if self.best and t.run_id == self.best.run_id), -1)

    def clone_best(self) -> None:
        if self.best is None:
            return
        from dlstudio.gui.runs_view import clone_problem

        row = self.context.studio.store.get(self.best.run_id)
        problem = clone_problem(self.context.studio, row.spec)
        if problem:
            self.context.show_error("Cannot clone this trial", f"run {row.id} (plugin {row.plugin!r}): {problem}")
            return
        self.clone_requested.emit(row.plugin, tomllib.loads(row.spec))


if __name__ == "__main__":  # a preview on the data folder's sweeps: python -m dlstudio.gui.sweeps_view
    import sys

    from PySide6.QtWidgets import QApplication

    from dlstudio.studio import Studio

    app = QApplication(sys.argv)
    context = type("PreviewContext", (), {"studio": Studio.open(), "show_error": lambda *a: print(*a)})()
    view = SweepsView(context)
    view.resize(1100, 750)
    view.show()
    app.exec()
