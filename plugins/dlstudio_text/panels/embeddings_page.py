"""The Embeddings page: a run's embedding layer explored — the nearest neighbours of a word (cosine), analogies
(a − b + c, e.g. king − man + woman), and a 2-D map (PCA or t-SNE) of the most frequent words, the words of a
chosen list coloured."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.widgets import RunPicker
from dlstudio_text.explore import analogy, embedding_matrix, load_run, neighbours, projection


@dataclass
class Embeddings:
    """A run's input embedding: its rows, the vocabulary, the training counts (plain values)."""

    run_id: str
    weights: np.ndarray
    itos: list[str]
    counts: dict[str, int]


def read_embeddings(studio: Any, run_id: str) -> Embeddings:
    loaded = load_run(studio, run_id)
    weights = embedding_matrix(loaded.model)
    itos = list(loaded.encoder.itos)
    if weights.shape[0] < len(itos):
        raise ValueError(f"run {run_id}'s embedding has {weights.shape[0]} rows for a vocabulary of {len(itos)}")
    return Embeddings(run_id, weights[: len(itos)], itos, dict(loaded.encoder.counts))


def read_file_embeddings(path: str, limit: int) -> Embeddings:
    """Pretrained vectors on their own (a GloVe / word2vec-text / fastText file): its first ``limit`` words,
    ranked as the file lists them (most frequent first)."""
    from dlstudio_text.embeddings import read_vector_file

    words, weights = read_vector_file(path, limit=limit)
    return Embeddings(f"file {Path(path).name}", weights, words, {w: len(words) - i for i, w in enumerate(words)})


class _AllRuns(RunPicker):
    """Finished runs of both text tasks."""

    def __init__(self, context, parent=None) -> None:
        super().__init__(context, "text-classification", parent)

    def refresh(self) -> None:
        from dlstudio import runs

        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        for info in runs.list_runs(self.context.studio, status=runs.FINISHED_STATUSES):
            if info.epochs_done and info.task in ("text-classification", "language-model"):
                self.addItem(f"{info.name or info.model} — {info.task} ({info.id})", info.id)
        index = self.findData(current) if current else -1
        self.setCurrentIndex(index if index >= 0 else 0 if self.count() else -1)
        self.blockSignals(False)
        if self.currentData() != current:
            self.currentIndexChanged.emit(self.currentIndex())


#: Points of the map that are named (the most frequent words; the coloured ones are named too).
LABELLED = 60


class EmbeddingsPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.embeddings: Embeddings | None = None
        #: Which vectors file the page waits for (its loads are told apart from runs' by their name).
        self._expected = ""
        self.points: tuple[list[str], np.ndarray] | None = None
        self.job: Any = None

        self.runs = _AllRuns(context)
        self.runs.currentIndexChanged.connect(lambda *_: self.load_selected())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.runs.refresh)
        vectors_button = QPushButton("Vectors file…")
        vectors_button.setToolTip("Explore pretrained vectors (GloVe, word2vec text, fastText .vec) on their own: "
                                  "the file's 50,000 most frequent words")
        vectors_button.clicked.connect(self.choose_vectors_file)
        top = QHBoxLayout()
        top.addWidget(QLabel("Run"))
        top.addWidget(self.runs, 1)
        top.addWidget(refresh)
        top.addWidget(vectors_button)
        self.info = QLabel(wordWrap=True)
        self.info.setStyleSheet("color:#555")

        self.word = QLineEdit("good")
        self.word.returnPressed.connect(self.find_neighbours)
        near_button = QPushButton("Nearest words")
        near_button.clicked.connect(self.find_neighbours)
        self.a, self.b, self.c = QLineEdit("good"), QLineEdit("great"), QLineEdit("bad")
        for edit in (self.a, self.b, self.c):
            edit.setMaximumWidth(110)
            edit.returnPressed.connect(self.find_analogy)
        analogy_button = QPushButton("a − b + c")
        analogy_button.clicked.connect(self.find_analogy)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Word", "Cosine similarity"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table_title = QLabel()
        query = QGroupBox("Neighbours and analogies")
        q = QVBoxLayout(query)
        row1 = QHBoxLayout()
        row1.addWidget(self.word, 1)
        row1.addWidget(near_button)
        row2 = QHBoxLayout()
        for widget in (self.a, QLabel("−"), self.b, QLabel("+"), self.c):
            row2.addWidget(widget)
        row2.addWidget(analogy_button)
        q.addWidget(QLabel("A word:"))
        q.addLayout(row1)
        q.addWidget(QLabel("An analogy (a is to b as ? is to c: a − b + c):", wordWrap=True))
        q.addLayout(row2)
        q.addWidget(self.table_title)
        q.addWidget(self.table, 1)
        query.setMaximumWidth(430)

        self.method = QComboBox()
        self.method.addItem("PCA", "pca")
        self.method.addItem("t-SNE", "tsne")
        self.top = QSpinBox(minimum=10, maximum=5000, value=200, singleStep=50, suffix=" words")
        self.highlight = QLineEdit("good, great, excellent, bad, awful, boring")
        self.highlight.setToolTip("Words to colour on the map, separated by commas")
        self.highlight.editingFinished.connect(self._draw)
        self.project_button = QPushButton("Project")
        self.project_button.clicked.connect(self.project)
        controls = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.method)
        row.addWidget(self.top)
        row.addWidget(self.project_button)
        controls.addRow("Map of the most frequent", row)
        controls.addRow("Colour these words", self.highlight)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        map_box = QGroupBox("2-D map of the embedding")
        m = QVBoxLayout(map_box)
        m.addLayout(controls)
        m.addWidget(self.plot, 1)

        body = QHBoxLayout()
        body.addWidget(query)
        body.addWidget(map_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addLayout(body, 1)
        self.load_selected()

    # -- the run --------------------------------------------------------------------------------------
    def load_selected(self) -> None:
        self.embeddings = None
        run_id = self.runs.currentData()
        if not run_id:
            self.info.setText("No finished text run yet: train a classifier or a language model first.")
            return
        self.info.setText(f"Loading run {run_id}…")
        self.job = self.context.run_in_background(read_embeddings, self.context.studio, run_id,
                                                  on_result=self._loaded, on_error=self._failed)

    def choose_vectors_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Pretrained word vectors", "",
                                              "Word vectors (*.txt *.vec *.gz);;All files (*)")
        if path:
            self.load_vectors_file(path)

    def load_vectors_file(self, path: str, limit: int = 50_000) -> None:
        self.embeddings = None
        self._expected = f"file {Path(path).name}"
        self.info.setText(f"Reading {path}…")
        self.job = self.context.run_in_background(read_file_embeddings, path, limit, on_result=self._loaded,
                                                  on_error=self._failed)

    def _loaded(self, emb: Embeddings) -> None:
        expected = self._expected if emb.run_id.startswith("file ") else self.runs.currentData()
        if emb.run_id != expected:
            return
        self.embeddings = emb
        source = emb.run_id.capitalize() if emb.run_id.startswith("file ") else f"Run {emb.run_id}"
        self.info.setText(f"{source}: {emb.weights.shape[0]:,} tokens × {emb.weights.shape[1]} dimensions.")
        words = [w for w, _ in sorted(emb.counts.items(), key=lambda wc: -wc[1]) if w.isalpha() and len(w) > 3]
        edits = (self.word, self.a, self.b, self.c)
        if words and any(e.text().strip().lower() not in emb.itos for e in edits):
            for edit, word in zip(edits, [words[0], *words[:3]], strict=False):
                edit.setText(word)
        self.find_neighbours()
        self.project()

    def _failed(self, exc: BaseException) -> None:
        self.info.setText(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
        self.context.show_error("Embeddings", str(exc))

    # -- queries --------------------------------------------------------------------------------------
    def _show(self, title: str, rows: list[tuple[str, float]]) -> None:
        self.table_title.setText(title)
        self.table.setRowCount(len(rows))
        for r, (word, sim) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(word))
            self.table.setItem(r, 1, QTableWidgetItem(f"{sim:.3f}"))

    def find_neighbours(self) -> None:
        if self.embeddings is None:
            return
        word = self.word.text().strip().lower()
        try:
            rows = neighbours(self.embeddings.weights, self.embeddings.itos, word, k=15)
        except KeyError as exc:
            self.context.show_error("Nearest words", exc.args[0])
            return
        self._show(f"Nearest to <b>{html.escape(word)}</b>:", rows)

    def find_analogy(self) -> None:
        if self.embeddings is None:
            return
        a, b, c = (e.text().strip().lower() for e in (self.a, self.b, self.c))
        try:
            rows = analogy(self.embeddings.weights, self.embeddings.itos, a, b, c, k=10)
        except KeyError as exc:
            self.context.show_error("Analogy", exc.args[0])
            return
        self._show(f"<b>{html.escape(a)}</b> − <b>{html.escape(b)}</b> + <b>{html.escape(c)}</b>:", rows)

    def project(self) -> None:
        emb = self.embeddings
        if emb is None:
            return
        self.project_button.setEnabled(False)
        method, top = self.method.currentData(), self.top.value()
        self.job = self.context.run_in_background(projection, emb.weights, emb.itos, emb.counts, top, method,
                                                  on_result=self._projected, on_error=self._projection_failed)

    def _projection_failed(self, exc: BaseException) -> None:
        self.project_button.setEnabled(True)
        self.context.show_error("Projection", str(exc))

    def _projected(self, result: tuple[list[str], np.ndarray]) -> None:
        self.project_button.setEnabled(True)
        self.points = result
        self._draw()

    def highlighted(self) -> set[str]:
        return {w.strip().lower() for w in self.highlight.text().split(",") if w.strip()}

    def _draw(self) -> None:
        self.plot.clear()
        if self.points is None:
            return
        words, xy = self.points
        marked = self.highlighted()
        colours = [(230, 90, 20) if w in marked else (120, 140, 170) for w in words]
        self.plot.addItem(pg.ScatterPlotItem(xy[:, 0], xy[:, 1], size=[9 if w in marked else 5 for w in words],
                                             brush=[pg.mkBrush(*c) for c in colours], pen=None))
        labelled = set(words[:LABELLED]) | marked
        for w, (x, y), c in zip(words, xy, colours, strict=True):
            if w not in labelled:
                continue
            label = pg.TextItem(w, color=c if w in marked else (90, 100, 120), anchor=(0, 1))
            label.setPos(float(x), float(y))
            if w in marked:
                font = label.textItem.font()
                font.setBold(True)
                label.setFont(font)
            self.plot.addItem(label)
        self.plot.setTitle(f"{self.method.currentText()} of the {len(words)} most frequent words (the first "
                           f"{min(LABELLED, len(words))} and the coloured ones named)", color="#333")


if __name__ == "__main__":
    from dlstudio_text.panels.stub import preview

    raise SystemExit(preview(EmbeddingsPage))
