"""The Evaluate page: a finished classifier's confusion matrix, per-class metrics and most confident mistakes on
its validation split; a finished language model's perplexity on a text you give it, each token shaded by how
surprised the model was. The numbers come from :mod:`dlstudio_text.evaluate`, computed in the background."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.widgets import RunPicker
from dlstudio_text.evaluate import ClassifierEvaluation, Surprise, evaluate_classifier, per_token_table, surprise

SAMPLE = "the model reads this sentence one word at a time .\nit is most surprised by the words it did not expect ."


def _item(value: Any, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(value if isinstance(value, str) else f"{value:.3f}" if isinstance(value, float)
                            else str(value))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class EvaluatePage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.job: Any = None
        self.evaluation: ClassifierEvaluation | None = None
        self.reading: Surprise | None = None

        self.kind = QComboBox()
        self.kind.addItem("Classifier", "text-classification")
        self.kind.addItem("Language model", "language-model")
        self.classifier_runs = RunPicker(context, "text-classification")
        self.lm_runs = RunPicker(context, "language-model")
        self.kind.currentIndexChanged.connect(lambda *_: self._kind_changed())
        top = QHBoxLayout()
        top.addWidget(QLabel("Evaluate a"))
        top.addWidget(self.kind)
        top.addWidget(QLabel("run"))
        top.addWidget(self.classifier_runs, 1)
        top.addWidget(self.lm_runs, 1)
        self.go = QPushButton("Evaluate")
        self.go.setObjectName("evaluate")
        self.go.clicked.connect(self.evaluate)
        top.addWidget(self.go)
        self.status = QLabel(wordWrap=True)

        # Classifier: confusion matrix and per-class metrics beside each other, mistakes under them.
        self.confusion = QTableWidget()
        self.per_class = QTableWidget()
        self.mistakes = QTableWidget()
        matrix_box = QGroupBox("Confusion matrix (rows: true class, columns: predicted)")
        QVBoxLayout(matrix_box).addWidget(self.confusion)
        metrics_box = QGroupBox("Per class")
        QVBoxLayout(metrics_box).addWidget(self.per_class)
        row = QSplitter(Qt.Orientation.Horizontal)
        row.addWidget(matrix_box)
        row.addWidget(metrics_box)
        mistakes_box = QGroupBox("Most confident mistakes")
        QVBoxLayout(mistakes_box).addWidget(self.mistakes)
        self.classifier_view = QSplitter(Qt.Orientation.Vertical)
        self.classifier_view.addWidget(row)
        self.classifier_view.addWidget(mistakes_box)
        self.classifier_view.setSizes([200, 500])  # the tables are small; the mistakes are what one reads
        self.per_class.verticalHeader().setVisible(False)

        # Language model: a text to read, then its tokens shaded by surprise.
        self.text = QPlainTextEdit(SAMPLE)
        self.text.setPlaceholderText("A text for the model to read: its perplexity, and where it was surprised")
        self.shaded = QTextBrowser()
        self.lm_view = QSplitter(Qt.Orientation.Vertical)
        text_box = QGroupBox("Text")
        QVBoxLayout(text_box).addWidget(self.text)
        read_box = QGroupBox("How surprised the model was by each token (darker: more)")
        QVBoxLayout(read_box).addWidget(self.shaded)
        self.lm_view.addWidget(text_box)
        self.lm_view.addWidget(read_box)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.classifier_view, 1)
        layout.addWidget(self.lm_view, 1)
        self._kind_changed()

    def _kind_changed(self) -> None:
        classifier = self.kind.currentData() == "text-classification"
        self.classifier_runs.setVisible(classifier)
        self.lm_runs.setVisible(not classifier)
        self.classifier_view.setVisible(classifier)
        self.lm_view.setVisible(not classifier)
        self.go.setText("Evaluate" if classifier else "Read the text")
        self.status.setText("")

    def evaluate(self) -> None:
        classifier = self.kind.currentData() == "text-classification"
        run_id = (self.classifier_runs if classifier else self.lm_runs).currentData()
        if not run_id:
            kind = "text-classification" if classifier else "language-model"
            self.context.show_error("Nothing to evaluate", f"no finished {kind} run yet: train one on the Train page")
            return
        studio, text = self.context.studio, self.text.toPlainText()
        self.go.setEnabled(False)
        self.status.setText("Evaluating on the validation split…" if classifier else "Reading…")
        if classifier:
            self.job = self.context.run_in_background(evaluate_classifier, studio, run_id,
                                                      on_result=self._show_evaluation, on_error=self._failed)
        else:
            self.job = self.context.run_in_background(surprise, studio, run_id, text,
                                                      on_result=self._show_reading, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.go.setEnabled(True)
        self.status.setText(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
        self.context.show_error("Cannot evaluate", str(exc))

    def _show_evaluation(self, result: ClassifierEvaluation) -> None:
        self.go.setEnabled(True)
        self.evaluation = result
        total = int(result.confusion.sum())
        self.status.setText(f"Run {result.run_id} ({result.weights} weights): <b>{result.accuracy:.1%}</b> of "
                            f"{total:,} validation texts right; {len(result.mistakes)} mistakes listed.")
        classes = result.classes
        self.confusion.setRowCount(len(classes))
        self.confusion.setColumnCount(len(classes))
        self.confusion.setHorizontalHeaderLabels(classes)
        self.confusion.setVerticalHeaderLabels(classes)
        for i in range(len(classes)):
            for j in range(len(classes)):
                item = _item(int(result.confusion[i, j]), align_right=True)
                if i == j:  # the right answers, in bold
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.confusion.setItem(i, j, item)
        self.confusion.resizeColumnsToContents()
        rows = per_token_table(result)
        self.per_class.setColumnCount(5)
        self.per_class.setRowCount(len(rows))
        self.per_class.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Texts"])
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.per_class.setItem(r, c, _item(value, align_right=c > 0))
        self.per_class.resizeColumnsToContents()
        self.mistakes.setColumnCount(4)
        self.mistakes.setRowCount(len(result.mistakes))
        self.mistakes.setHorizontalHeaderLabels(["Text", "True", "Predicted", "Sure"])
        for r, mistake in enumerate(result.mistakes):
            text_item = _item(mistake.text)
            text_item.setToolTip(mistake.text)
            self.mistakes.setItem(r, 0, text_item)
            self.mistakes.setItem(r, 1, _item(mistake.true))
            self.mistakes.setItem(r, 2, _item(mistake.predicted))
            self.mistakes.setItem(r, 3, _item(f"{mistake.confidence:.0%}", align_right=True))
        self.mistakes.horizontalHeader().setStretchLastSection(False)
        self.mistakes.setColumnWidth(0, 700)

    def _show_reading(self, result: Surprise) -> None:
        self.go.setEnabled(True)
        self.reading = result
        top = ", ".join(f"“{html.escape(t)}” ({v:.1f})" for t, v in result.most_surprising(5))
        self.status.setText(f"Perplexity <b>{result.perplexity:.1f}</b> ({result.loss:.2f} nats a token over "
                            f"{len(result.tokens)} tokens). Most surprising: {top}.")
        self.shaded.setHtml(surprise_html(result))


def surprise_html(result: Surprise) -> str:
    """Each token on a background as dark as its surprise (relative to the text's most surprising one);
    end-of-line tokens as line breaks."""
    peak = max((v for _, v in result.tokens), default=1.0) or 1.0
    parts = []
    for token, value in result.tokens:
        if token == "<eos>":
            parts.append("<br>")
            continue
        alpha = min(1.0, value / peak)
        parts.append(f"<span title='{value:.2f} nats' style='background-color: rgba(230, 120, 30, {alpha:.2f});"
                     f" padding: 1px'>{html.escape(token)}</span>")
    return f"<p style='font-size:13pt; line-height:160%'>{' '.join(parts)}</p>"


if __name__ == "__main__":
    from dlstudio_text.panels.stub import preview

    raise SystemExit(preview(EvaluatePage))
