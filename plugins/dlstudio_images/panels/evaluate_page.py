"""The Evaluate page: a trained model on its validation images — confusion matrix (click a cell to see its
images), per-class precision / recall / F1, the worst mistakes, and "try it" on an image of your own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio import runs
from dlstudio_images.data.common import to_display
from dlstudio_images.evaluate import CheckpointEvaluation, evaluate_checkpoint, preprocess, top_k
from dlstudio_images.panels.widgets import BarChart, Colour, Gallery, ImageDrop, heat, to_pixmap

#: The bus topic asking this page to evaluate a run: ``{"run_id": ...}`` (the Train page's "Evaluate this run").
EVALUATE_TOPIC = "images.evaluate_run"
#: The window's "Evaluate this run" (the run dock, the Runs view): it shows this page, then posts this.
WINDOW_EVALUATE_TOPIC = "run.evaluate"
#: Images shown for one confusion-matrix cell at most.
CELL_LIMIT = 60


class EvaluatePage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.result: CheckpointEvaluation | None = None
        self.ranked: list[tuple[str, float]] = []
        self.path = ""
        self.job: Any = None
        self.runs = QComboBox()
        self.runs.setMinimumWidth(320)
        self.kind = QComboBox()
        self.kind.addItems(["best", "final", "last"])
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_runs)
        open_file = QPushButton("Open checkpoint…")
        open_file.clicked.connect(self.open_file)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setObjectName("evaluate")
        self.evaluate_button.clicked.connect(self.evaluate_selected)
        self.inspect_button = QPushButton("Open in inspector")
        self.inspect_button.setEnabled(False)
        self.inspect_button.clicked.connect(self.open_in_inspector)
        top = QHBoxLayout()
        for widget in (QLabel("Run"), self.runs, self.kind, refresh, open_file, self.evaluate_button):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.inspect_button)
        self.summary = QLabel("Choose a finished run and evaluate its checkpoint on the validation images.",
                              wordWrap=True)

        self.matrix = QTableWidget()
        self.matrix.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.matrix.cellClicked.connect(self.show_cell)
        self.cell_label = QLabel("Click a cell to see its images.")
        self.cell_gallery = Gallery(thumb=64)
        matrix_page = QSplitter(Qt.Orientation.Vertical)
        matrix_page.addWidget(self.matrix)
        cell = QWidget()
        cell_layout = QVBoxLayout(cell)
        cell_layout.addWidget(self.cell_label)
        cell_layout.addWidget(self.cell_gallery)
        matrix_page.addWidget(cell)

        self.report = QTableWidget(0, 5)
        self.report.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Support"])
        self.report.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.report.verticalHeader().hide()
        self.report.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.mistakes = Gallery(thumb=80)

        try_page = ImageDrop()
        try_page.dropped.connect(self.try_image)
        self.try_button = QPushButton("Choose an image…")
        self.try_button.clicked.connect(self.choose_image)
        self.try_image_label = QLabel("…or drop an image file here.")
        self.try_image_label.setMinimumSize(180, 180)
        self.try_image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.topk = BarChart("Top-5 probabilities", horizontal=True)
        left = QVBoxLayout()
        left.addWidget(self.try_button)
        left.addWidget(self.try_image_label)
        left.addStretch(1)
        try_layout = QHBoxLayout(try_page)
        try_layout.addLayout(left)
        try_layout.addWidget(self.topk, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(matrix_page, "Confusion matrix")
        self.tabs.addTab(self.report, "Per class")
        self.tabs.addTab(self.mistakes, "Worst mistakes")
        self.tabs.addTab(try_page, "Try it")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        context.run_finished.connect(lambda *_: self.refresh_runs())
        context.message_posted.connect(self._message)
        self.refresh_runs()

    # -- choosing ------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """List the finished runs, newest first, keeping the choice; with none yet, choose the newest
        completed run (not a newer cancelled one)."""
        current = self.runs.currentData()
        self.runs.clear()
        newest_completed = None
        for info in runs.list_runs(self.context.studio, plugin="images",
                                   status=("completed", "stopped", "cancelled")):
            if info.epochs_done:
                best = f" — {info.best_value:.2%}" if info.best_value is not None else ""
                status = "" if info.status == "completed" else f" [{info.status}]"
                self.runs.addItem(f"{info.name or info.model}{best}{status} ({info.id})", info.id)
                if newest_completed is None and info.status == "completed":
                    newest_completed = info.id
        chosen = current if current and self.runs.findData(current) >= 0 else newest_completed
        if chosen:
            self.runs.setCurrentIndex(self.runs.findData(chosen))

    def choose_run(self, run_id: str, evaluate: bool = True) -> bool:
        """Choose ``run_id`` (a run just finished: "Evaluate this run") and evaluate it; False if it is not
        listed (no weights saved)."""
        self.refresh_runs()
        index = self.runs.findData(run_id)
        if index < 0:
            return False
        self.runs.setCurrentIndex(index)
        if evaluate:
            self.evaluate_selected()
        return True

    def _message(self, topic: str, payload: dict) -> None:
        if topic == EVALUATE_TOPIC and self.choose_run(str(payload.get("run_id", ""))):
            self.context.show_panel("images.evaluate")
        elif topic == WINDOW_EVALUATE_TOPIC and payload.get("panel") == "images.evaluate":
            self.choose_run(str(payload.get("run_id", "")))

    def checkpoint_of_selected(self) -> Path | None:
        run_id = self.runs.currentData()
        if not run_id:
            return None
        saved = runs.artifacts(self.context.studio, run_id)
        for kind in (self.kind.currentText(), "final", "best", "last"):
            if kind in saved:
                return saved[kind].path
        return None

    def evaluate_selected(self) -> None:
        path = self.checkpoint_of_selected()
        if path is None:
            self.context.show_error("Nothing to evaluate", "choose a finished run with a checkpoint")
            return
        self.evaluate(str(path))

    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", "", "Checkpoints (*.safetensors *.pt *.pth)")
        if path:
            self.evaluate(path)

    def evaluate(self, path: str) -> None:
        self.path = path
        self.evaluate_button.setEnabled(False)
        self.summary.setText(f"Evaluating {path}…")
        self.job = self.context.run_in_background(evaluate_checkpoint, self.context.studio, path,
                                                  on_result=self.show_result, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.evaluate_button.setEnabled(True)
        self.summary.setText(f"<span style='color:#b00'>Could not evaluate: {exc}</span>")

    # -- showing -------------------------------------------------------------------------------------
    def show_result(self, result: CheckpointEvaluation) -> None:
        self.result = result
        self.evaluate_button.setEnabled(True)
        self.inspect_button.setEnabled(True)
        ev = result.evaluation
        self.summary.setText(f"<b>{ev.accuracy:.2%}</b> of {len(ev.labels)} validation images right "
                             f"({Path(result.path).name})")
        self._fill_matrix()
        self._fill_report()
        self.mistakes.set_items([(self.image(m["index"]), f"{m['true']} → {m['pred']}\n{m['confidence']:.0%}")
                                 for m in ev.worst(32)])
        self.cell_gallery.clear()
        self.cell_label.setText("Click a cell to see its images.")

    def image(self, index: int) -> Any:
        if self.result is None or self.result.input_kind != "image":
            return None
        return to_display(self.result.valid[index][0], self.result.extra).numpy()

    def _fill_matrix(self) -> None:
        ev = self.result.evaluation
        cm = ev.confusion()
        n = len(ev.classes)
        self.matrix.setRowCount(n)
        self.matrix.setColumnCount(n)
        self.matrix.setHorizontalHeaderLabels([f"→ {c}" for c in ev.classes])
        self.matrix.setVerticalHeaderLabels(list(ev.classes))
        totals = cm.sum(1, keepdims=True).clip(min=1)
        for i in range(n):
            for j in range(n):
                item = QTableWidgetItem(str(int(cm[i, j])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(heat(cm[i, j] / totals[i, 0]))
                item.setToolTip(f"true {ev.classes[i]}, predicted {ev.classes[j]}: {int(cm[i, j])}")
                self.matrix.setItem(i, j, item)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def _fill_report(self) -> None:
        rows = self.result.evaluation.report()
        self.report.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = [row["class"], f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                      str(row["support"])]
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.report.setItem(r, c, item)

    def show_cell(self, row: int, column: int) -> None:
        if self.result is None:
            return
        ev = self.result.evaluation
        indices = ev.cell(row, column)
        self.cell_label.setText(f"True {ev.classes[row]}, predicted {ev.classes[column]}: {len(indices)} images"
                                + (f" (first {CELL_LIMIT})" if len(indices) > CELL_LIMIT else ""))
        conf = ev.confidence
        self.cell_gallery.set_items([(self.image(i), f"{float(conf[i]):.0%}") for i in indices[:CELL_LIMIT]])

    # -- try it ----------------------------------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
        if path:
            self.try_image(path)

    def try_image(self, path: str) -> None:
        if self.result is None or self.result.model is None:
            self.context.show_error("Try it", "evaluate a model first")
            return
        if self.result.input_kind != "image":
            self.context.show_error("Try it", "this model takes cached features, not images")
            return
        try:
            x = preprocess(path, self.result.extra)
        except Exception as exc:  # PIL's errors for an unreadable file vary
            self.context.show_error("Try it", f"{path} cannot be read as an image: {exc}")
            return
        ranked = top_k(self.result.model, x, self.result.evaluation.classes, k=5)
        self.ranked = ranked
        self.try_image_label.setPixmap(to_pixmap(to_display(x[0], self.result.extra).numpy(), 180))
        self.topk.set_bars([name for name, _ in ranked], [("probability", [p for _, p in ranked], Colour.TRAIN)])
        self.topk.setTitle(f"Top-{len(ranked)}: {ranked[0][0]} ({ranked[0][1]:.0%})", color="#333")

    def open_in_inspector(self) -> None:
        if self.path:
            self.context.post("model.open", {"path": self.path})
            self.context.notify(f"opened {Path(self.path).name} in the inspector")


if __name__ == "__main__":
    from dlstudio_images.panels.stub import preview

    raise SystemExit(preview(EvaluatePage))
