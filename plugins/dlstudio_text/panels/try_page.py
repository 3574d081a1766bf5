"""The Try-it page: type a sentence and watch a trained text classifier read it — the class probabilities
update as you type, and each word is shaded by its contribution (occlusion: how much the predicted class's
probability drops when the word is replaced by <unk>; green spoke for it, red against it)."""

from __future__ import annotations

import html
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.widgets import RunPicker
from dlstudio_text.explore import Explained, RunModel, explain, load_run
from dlstudio_text.panels.widgets import TRAIN, BarChart, contribution_colour, shaded_html

TASK = "text-classification"
EXAMPLE = "the acting was not bad , but the plot was painfully boring"


class TryPage(QWidget):
    #: Milliseconds of typing pause before the sentence is read again.
    DEBOUNCE_MS = 250

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.loaded: RunModel | None = None
        self.result: Explained | None = None
        self.job: Any = None
        self._busy = False
        self._pending = False

        self.runs = RunPicker(context, TASK)
        self.runs.currentIndexChanged.connect(lambda *_: self.load_selected())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.runs.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel("Classifier run"))
        top.addWidget(self.runs, 1)
        top.addWidget(refresh)
        self.run_info = QLabel(wordWrap=True)
        self.run_info.setStyleSheet("color:#555")

        self.editor = QPlainTextEdit(EXAMPLE)
        self.editor.setPlaceholderText("Type a sentence: the probabilities follow as you type.")
        self.editor.setMaximumHeight(64)
        self.timer = QTimer(self, singleShot=True, interval=self.DEBOUNCE_MS)
        self.timer.timeout.connect(self.classify)
        self.editor.textChanged.connect(self.timer.start)

        self.shaded = QTextBrowser()
        self.shaded.setMinimumHeight(90)
        self.shaded.setMaximumHeight(150)
        self.words_chart = pg.PlotWidget(background="w")
        self.words_chart.setTitle("Contribution of each word (drop in the predicted class's probability "
                                  "without it)", color="#333")
        self.words_chart.setMenuEnabled(False)
        self.words_chart.setMouseEnabled(False, False)
        self.words_chart.hideButtons()
        self.words_chart.showGrid(y=True, alpha=0.2)
        self.words_chart.setMinimumHeight(200)
        self.note = QLabel(wordWrap=True)
        self.verdict = QLabel("Choose a finished text-classification run.", wordWrap=True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        legend = QLabel("Each word's background: <span style='background:#69d769'>&nbsp;spoke for the predicted "
                        "class&nbsp;</span> &nbsp; <span style='background:#ff6969'>&nbsp;spoke against it"
                        "&nbsp;</span> &nbsp; (the drop in its probability when the word is replaced by "
                        "&lt;unk&gt;; hover a word for the number). <u style='color:#8a0000'>Underlined</u>: "
                        "a word the model never saw.", wordWrap=True)
        words_box = QGroupBox("How the model read it")
        words_layout = QVBoxLayout(words_box)
        words_layout.addWidget(self.verdict)
        words_layout.addWidget(self.shaded)
        words_layout.addWidget(legend)
        words_layout.addWidget(self.words_chart, 1)
        words_layout.addWidget(self.note)
        self.chart = BarChart("Class probabilities", horizontal=True)
        self.chart.setMinimumWidth(300)

        body = QSplitter()
        body.addWidget(words_box)
        body.addWidget(self.chart)
        body.setSizes([800, 440])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.run_info)
        layout.addWidget(QLabel("Your sentence"))
        layout.addWidget(self.editor)
        layout.addWidget(body, 1)
        self.load_selected()

    # -- the run --------------------------------------------------------------------------------------
    def load_selected(self) -> None:
        run_id = self.runs.currentData()
        self.loaded = None
        if not run_id:
            self.run_info.setText("No finished text-classification run yet: train one on the Train page "
                                  "(e.g. a recipe on the generated sentiment set).")
            return
        self.run_info.setText(f"Loading run {run_id}…")
        studio = self.context.studio
        self.job = self.context.run_in_background(load_run, studio, run_id, on_result=self._run_loaded,
                                                  on_error=self._load_failed)

    def _run_loaded(self, loaded: RunModel) -> None:
        if loaded.run_id != self.runs.currentData():
            return  # another run was chosen meanwhile
        self.loaded = loaded
        enc = loaded.encoder
        length = f"fixed length {loaded.fix_length}" if loaded.fix_length else "any length"
        self.run_info.setText(f"Run {loaded.run_id}: its {loaded.weights} weights (epoch {loaded.epoch}); "
                              f"{enc.tokenizer} tokeniser, {enc.vocab_size:,} tokens, {length}; classes "
                              f"{', '.join(loaded.classes)}.")
        self.classify()

    def _load_failed(self, exc: BaseException) -> None:
        self.run_info.setText(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
        self.context.show_error("Cannot load the run", str(exc))

    # -- reading the sentence -------------------------------------------------------------------------
    def classify(self) -> None:
        """Read the sentence in the background; while a reading runs, the newest text waits its turn."""
        if self.loaded is None:
            return
        if self._busy:
            self._pending = True
            return
        self._busy = True
        self._pending = False
        loaded, text = self.loaded, self.editor.toPlainText()
        self.job = self.context.run_in_background(_explain, loaded, text, on_result=self._show,
                                                  on_error=self._failed)

    def _done(self) -> None:
        self._busy = False
        if self._pending:
            self.classify()

    def _failed(self, exc: BaseException) -> None:
        self.verdict.setText(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
        self._done()

    def _show(self, result: Explained) -> None:
        self.result = result
        if result.predicted < 0:
            self.verdict.setText("Type a few words.")
            self.shaded.setHtml("")
            self.chart.clear()
            self.words_chart.clear()
        else:
            name = result.classes[result.predicted]
            self.verdict.setText(f"Predicted <b>{html.escape(name)}</b> with probability "
                                 f"<b>{result.probabilities[result.predicted]:.1%}</b>.")
            self.shaded.setHtml(f"<p style='font-size:15pt; line-height:160%'>"
                                f"{shaded_html(result.pieces, result.contributions, result.known)}</p>")
            order = sorted(range(len(result.classes)), key=lambda k: -result.probabilities[k])[:10]
            self.chart.set_bars([result.classes[k] for k in order],
                                [("probability", [result.probabilities[k] for k in order], TRAIN)])
            for row, k in enumerate(order):
                label = pg.TextItem(f"{result.probabilities[k]:.1%}", color="#222", anchor=(0, 0.5))
                label.setPos(min(result.probabilities[k], 0.85) + 0.01, row)
                self.chart.addItem(label)
            self._show_words(result)
        self.note.setText(html.escape(result.note))
        self._done()


    def _show_words(self, result: Explained) -> None:
        """Bars in reading order, green for and red against the predicted class."""
        self.words_chart.clear()
        names = [piece for piece, index in result.pieces if index >= 0]
        values = result.contributions
        if len(names) != len(values):
            names = [str(i + 1) for i in range(len(values))]
        scale = max((abs(v) for v in values), default=0.0)
        brushes = [pg.mkBrush(contribution_colour(v, scale).darker(115)) for v in values]
        self.words_chart.addItem(pg.BarGraphItem(x=list(range(len(values))), height=values, width=0.7,
                                                 brushes=brushes, pen=pg.mkPen("#888")))
        axis = self.words_chart.getAxis("bottom")
        axis.setTicks([list(enumerate(names))])
        self.words_chart.setXRange(-0.6, max(0, len(values) - 0.4), padding=0)


def _explain(loaded: RunModel, text: str) -> Explained:
    """Worker-thread side: plain values in and out."""
    return explain(loaded.model, loaded.encoder, loaded.classes, text, fix_length=loaded.fix_length)


if __name__ == "__main__":
    from dlstudio_text.panels.stub import preview

    raise SystemExit(preview(TryPage))
