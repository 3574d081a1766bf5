"""Studies: groups of runs queued together — k-fold cross-validation and the ensemble comparison — and the
page that tables their results (per run, mean ± std) with each run's validation curve.

Runs are recognised by name: each run of a study is queued with a name ending in the study's tag, so the
page can follow them through the queue (``run_started`` carries no queue ticket).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio import runs
from dlstudio_images.kfold import held_out_accuracy, last_epoch
from dlstudio_images.runs import mean_std, run_result

PALETTE = [(52, 120, 200), (220, 110, 30), (60, 160, 80), (190, 60, 60), (130, 90, 180), (120, 120, 120),
           (200, 170, 40), (40, 170, 170)]


@dataclass
class Study:
    id: str
    kind: str  # "kfold" or "ensemble"
    title: str
    #: Row label → the run name it was queued with.
    names: dict[str, str]
    run_ids: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


class StudyBook(QObject):
    """The studies of one window; follows their runs through the context's signals."""

    changed = Signal(str)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.context = context
        self.studies: list[Study] = []
        context.run_started.connect(self._started)
        context.run_epoch.connect(self._epoch)
        context.run_finished.connect(self._finished)
        context.run_refused.connect(self._refused)

    def start(self, kind: str, title: str, labelled_specs: list[tuple[str, Any]]) -> Study | None:
        """Queue each (label, spec) and follow them as one study."""
        study = Study(f"{kind}-{secrets.token_hex(2)}", kind, title, {})
        queued = 0
        for label, spec in labelled_specs:
            spec.run.name = f"{spec.run.name or label} [{study.id}]"
            study.names[label] = spec.run.name
            study.status[label] = "queued"
            ticket = self.context.start_run(spec)
            if ticket is not None:
                study.tickets[label] = ticket
                queued += 1
            else:
                study.status[label] = "refused"
        if not queued:
            return None
        self.studies.append(study)
        self.changed.emit(study.id)
        return study

    def _find(self, run_id: str) -> tuple[Study, str] | None:
        for study in self.studies:
            for label, rid in study.run_ids.items():
                if rid == run_id:
                    return study, label
        return None

    def _started(self, run_id: str, _plugin: str) -> None:
        try:
            name = runs.get_run(self.context.studio, run_id).name
        except KeyError:
            return
        for study in self.studies:
            for label, expected in study.names.items():
                if expected == name and label not in study.run_ids:
                    study.run_ids[label] = run_id
                    study.status[label] = "running"
                    self.changed.emit(study.id)
                    return

    def _epoch(self, run_id: str, metrics: dict) -> None:
        found = self._find(run_id)
        if found and "valid_accuracy" in metrics:
            study, label = found
            study.curves.setdefault(label, []).append((int(metrics["epoch"]), float(metrics["valid_accuracy"])))
            self.changed.emit(study.id)

    def _refused(self, ticket: str, _message: str) -> None:
        for study in self.studies:
            for label, queued in study.tickets.items():
                if queued == ticket:
                    study.status[label] = "refused"
                    self.changed.emit(study.id)
                    return

    def _finished(self, run_id: str, status: str, _message: str) -> None:
        found = self._find(run_id)
        if found:
            study, label = found
            study.status[label] = status
            self.changed.emit(study.id)


def study_book(context: Any) -> StudyBook:
    """The one StudyBook of a window (created on first use, kept in the plugin's state on the context)."""
    state = context.plugin_state("images")
    if "studies" not in state:
        state["studies"] = StudyBook(context)
    return state["studies"]


COLUMNS = ("Run", "Status", "Best valid accuracy", "Best epoch", "Epochs", "s / epoch", "Run id")
#: A fold's figure is its last epoch's: the best epoch on the held-out fold would select on the test data.
KFOLD_COLUMNS = ("Fold", "Status", "Held-out accuracy (last epoch)", "Epoch", "Epochs", "s / epoch", "Run id")


class StudiesPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.book = study_book(context)
        self.list = QListWidget()
        self.list.setMaximumWidth(280)
        self.empty = QLabel("No studies yet. Start k-fold cross-validation or an ensemble comparison from the "
                            "Train page; their runs are tabled here as they finish.", wordWrap=True)
        self.summary = QLabel(wordWrap=True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.plot = pg.PlotWidget(background="w", title="Validation accuracy per run")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "epoch")
        self.plot.addLegend(offset=(-10, -10))
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.addWidget(self.empty)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.plot, 1)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(right)
        split.setSizes([240, 960])
        QVBoxLayout(self).addWidget(split)
        self.list.currentRowChanged.connect(lambda _row: self.refresh())
        self.book.changed.connect(self._changed)
        self._changed("")

    def current(self) -> Study | None:
        row = self.list.currentRow()
        return self.book.studies[row] if 0 <= row < len(self.book.studies) else None

    def _changed(self, study_id: str) -> None:
        if self.list.count() != len(self.book.studies):
            self.list.blockSignals(True)
            self.list.clear()
            for study in self.book.studies:
                self.list.addItem(QListWidgetItem(study.title))
            self.list.blockSignals(False)
            self.list.setCurrentRow(len(self.book.studies) - 1)
        self.empty.setVisible(not self.book.studies)
        current = self.current()
        if current is not None and (not study_id or study_id == current.id):
            self.refresh()

    def refresh(self) -> None:
        study = self.current()
        self.table.setRowCount(0)
        self.plot.clear()
        if study is None:
            self.summary.clear()
            return
        kfold = study.kind == "kfold"
        self.table.setHorizontalHeaderLabels(KFOLD_COLUMNS if kfold else COLUMNS)
        accuracies = []
        self.table.setRowCount(len(study.names))
        for row, label in enumerate(study.names):
            run_id = study.run_ids.get(label, "")
            status = study.status.get(label, "queued")
            cells = [label, status, "", "", "", "", run_id]
            curve = study.curves.get(label, [])
            if run_id and status not in ("queued", "running"):
                result = run_result(self.context.studio, run_id, label)
                curve = result.curves.get("valid_accuracy", curve)
                figure, epoch = ((held_out_accuracy(result), last_epoch(result)) if kfold
                                 else (result.best_accuracy, result.best_epoch))
                if figure is not None:
                    accuracies.append(figure)
                    cells[2:6] = [f"{figure:.2%}", str(epoch), str(result.epochs), f"{result.epoch_seconds:.2f}"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (2, 3, 4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
            if curve:
                xs, ys = zip(*curve)
                pen = pg.mkPen(color=PALETTE[row % len(PALETTE)], width=2)
                self.plot.plot(list(xs), list(ys), pen=pen, symbol="o", symbolSize=5,
                               symbolBrush=PALETTE[row % len(PALETTE)], name=label)
        done = len(accuracies)
        if kfold and done:
            mean, std = mean_std(accuracies)
            text = (f"<b>{study.title}</b>: held-out accuracy at the last epoch {mean:.2%} ± {std:.2%} "
                    f"over {done} folds")
        elif study.kind == "ensemble" and done:
            text = f"<b>{study.title}</b>: each backbone's features alone, then the ensemble of all of them"
        else:
            text = f"<b>{study.title}</b>: waiting for its runs"
        if done < len(study.names):
            what = "folds completed" if kfold else "runs finished"
            text += f" ({done} of {len(study.names)} {what})"
        self.summary.setText(text)


if __name__ == "__main__":
    from dlstudio_images.panels.stub import preview

    raise SystemExit(preview(StudiesPage))
