"""The Data page: a text dataset as the model will get it — sample texts per class with their tokens coloured
(unknown ones marked), the label balance, a histogram of the texts' lengths, and the vocabulary view
(tokens by frequency, coverage, out-of-vocabulary rate, what min_freq and max_vocab would do)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.forms import ParamForm
from dlstudio.gui.widgets import log_plot_item
from dlstudio.spec import SpecError
from dlstudio_text.explore import histogram
from dlstudio_text.panels.widgets import (
    TRAIN,
    VALID,
    BarChart,
    Histogram,
    TokenTable,
    legend_html,
    token_html,
)
from dlstudio_text.preview import DataPreview, make_preview

FAMILY = "text"


class DataPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.preview: DataPreview | None = None
        self.job: Any = None
        self.datasets = {d.id: d for d in context.studio.registry.datasets if d.family == FAMILY}
        self.combo = QComboBox()
        for spec in self.datasets.values():
            self.combo.addItem(spec.title, spec.id)
        self.description = QLabel(wordWrap=True)
        self.description.setStyleSheet("color:#555")
        self.forms: dict[str, ParamForm] = {}
        self.form_holder = QVBoxLayout()
        self.load_button = QPushButton("Load preview")
        self.load_button.setObjectName("load_preview")
        self.load_button.clicked.connect(self.load)
        self.status = QLabel("Choose a dataset and load its preview.", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        left = QVBoxLayout()
        left.addWidget(self.combo)
        left.addWidget(self.description)
        left.addLayout(self.form_holder)
        left.addWidget(self.load_button)
        left.addWidget(self.status)
        left.addStretch(1)
        settings = QWidget()
        settings.setLayout(left)
        settings_scroll = QScrollArea(widgetResizable=True)
        settings_scroll.setWidget(settings)
        settings_scroll.setMinimumWidth(360)
        settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._samples_tab(), "Samples")
        self.tabs.addTab(self._vocabulary_tab(), "Vocabulary")
        body = QSplitter()
        body.addWidget(settings_scroll)
        body.addWidget(self.tabs)
        body.setStretchFactor(1, 1)
        body.setSizes([390, 890])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(body)
        self.combo.currentIndexChanged.connect(self._show_form)
        if self.datasets:
            self._show_form()
        else:
            self.load_button.setEnabled(False)
            self.status.setText("No text dataset is registered.")

    # -- layout ---------------------------------------------------------------------------------------
    def _samples_tab(self) -> QWidget:
        self.samples = QTextBrowser()
        self.samples.setOpenLinks(False)
        self.legend = QLabel(legend_html())
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.balance = BarChart("Texts per class")
        self.lengths = Histogram("Length of the texts", "tokens per text")
        charts = QSplitter()
        charts.addWidget(self.balance)
        charts.addWidget(self.lengths)
        charts.setSizes([360, 560])
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.legend)
        top_layout.addWidget(self.samples, 1)
        top_layout.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(charts)
        split.setSizes([470, 260])
        return split

    def _vocabulary_tab(self) -> QWidget:
        self.token_model = TokenTable(self)
        self.token_view = QTableView()
        self.token_view.setModel(self.token_model)
        self.token_view.verticalHeader().hide()
        self.token_view.setAlternatingRowColors(True)
        self.token_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.token_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.token_view.setMinimumWidth(330)  # room for the tokens themselves ("seemed", "although" were cut)
        tokens_box = QGroupBox("Tokens by frequency (training texts)")
        QVBoxLayout(tokens_box).addWidget(self.token_view)

        self.vocab_summary = QLabel("Load a preview to see the vocabulary.", wordWrap=True)
        self.vocab_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.top_n = QSpinBox(minimum=1, maximum=10_000_000, value=1000, singleStep=100)
        self.top_n.setGroupSeparatorShown(True)
        self.top_n.valueChanged.connect(self._show_top_n)
        self.top_n_label = QLabel()
        top_row = QHBoxLayout()
        top_row.addWidget(QLabel("The"))
        top_row.addWidget(self.top_n)
        top_row.addWidget(self.top_n_label, 1)
        self.coverage_plot = pg.PlotWidget(background="w", plotItem=log_plot_item())  # decades labelled
        self.coverage_plot.setTitle("Coverage of the training tokens by the n most frequent", color="#333")
        self.coverage_plot.setLabel("bottom", "vocabulary size n (log scale)")
        self.coverage_plot.setLabel("left", "coverage")
        self.coverage_plot.setLogMode(x=True, y=False)
        self.coverage_plot.showGrid(x=True, y=True, alpha=0.2)
        self.coverage_plot.setMenuEnabled(False)
        self.coverage_plot.hideButtons()
        self.coverage_plot.setMinimumHeight(170)
        self.sizes = QTableWidget()
        self.sizes.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.sizes.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.sizes_note = QLabel(wordWrap=True)
        # A short title (the note says what rows and columns are): a group box is at least as wide as its title,
        # and the page must fit a 1280-px screen beside the family list.
        sizes_box = QGroupBox("Vocabulary sizes")
        sizes_layout = QVBoxLayout(sizes_box)
        sizes_layout.addWidget(self.sizes_note)
        sizes_layout.addWidget(self.sizes, 1)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.vocab_summary)
        right_layout.addLayout(top_row)
        right_layout.addWidget(self.coverage_plot, 1)
        right_layout.addWidget(sizes_box, 1)
        split = QSplitter()
        split.addWidget(tokens_box)
        split.addWidget(right)
        split.setSizes([400, 540])
        return split

    # -- form -----------------------------------------------------------------------------------------
    def data_id(self) -> str:
        return self.combo.currentData()

    def form(self) -> ParamForm:
        return self.forms[self.data_id()]

    def _show_form(self) -> None:
        for form in self.forms.values():
            form.hide()
        spec = self.datasets[self.data_id()]
        if spec.id not in self.forms:
            self.forms[spec.id] = ParamForm(spec.defaults, spec.choices)
            self.form_holder.addWidget(self.forms[spec.id])
        self.forms[spec.id].show()
        self.description.setText(spec.description)

    def select(self, data_id: str, params: dict | None = None) -> None:
        self.combo.setCurrentIndex(self.combo.findData(data_id))
        if params:
            self.form().set_values(params)

    def load_spec(self, spec: dict) -> bool:
        """Show a run's data (used when a run is cloned into this family)."""
        data = spec.get("data", {})
        if data.get("id") not in self.datasets:
            return False
        self.select(data["id"], data.get("params", {}))
        return True

    # -- loading --------------------------------------------------------------------------------------
    def load(self) -> None:
        try:
            params = self.form().values()
        except SpecError as exc:
            self.context.show_error("Cannot load the preview", str(exc))
            return
        self.load_button.setEnabled(False)
        self.status.setText("Loading and tokenising…")
        studio, data_id = self.context.studio, self.data_id()

        def work() -> DataPreview:  # a worker thread: plain values in and out
            return make_preview(studio, data_id, params, report=lambda _msg: None)

        self.job = self.context.run_in_background(work, on_result=self._loaded, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.load_button.setEnabled(True)
        self.status.setText(f"<span style='color:#b00'>Could not load: {html.escape(str(exc))}</span>")
        self.context.show_error("Cannot load the preview", str(exc))

    def _loaded(self, preview: DataPreview) -> None:
        self.preview = preview
        self.load_button.setEnabled(True)
        self.status.setText(f"Loaded {html.escape(self.combo.currentText())}.")
        self._show_samples(preview)
        self._show_charts(preview)
        self._show_vocabulary(preview)

    # -- showing --------------------------------------------------------------------------------------
    def _show_samples(self, p: DataPreview) -> None:
        self.legend.setText(legend_html(p.fix_length))
        parts = []
        for name, texts in p.samples.items():
            parts.append(f"<h3 style='margin-bottom:2px'>{html.escape(name)}</h3>")
            parts.extend(f"<p style='margin:4px 0 8px 0; line-height:140%'>{token_html(t)}</p>" for t in texts)
        self.samples.setHtml("".join(parts))
        n_train, n_valid = sum(p.train_counts), sum(p.valid_counts)
        unit = "lines" if p.task == "language-model" else "texts"
        length = np.asarray(p.train_lengths or [0])
        notes = "".join(f"<br>• {html.escape(m)}" for m in p.messages)
        self.summary.setText(
            f"<b>{n_train:,}</b> training and <b>{n_valid:,}</b> validation {unit}; tokeniser <b>{p.tokenizer}</b>; "
            f"{length.mean():.0f} tokens per {unit[:-1]} on average (median {np.median(length):.0f}, longest "
            f"{length.max():,}){' before the fix_length cut' if p.fix_length else ''}.{notes}")

    def _show_charts(self, p: DataPreview) -> None:
        if p.task == "language-model":
            self.balance.setTitle("Lines per split", color="#333")
            self.balance.set_bars(["training", "validation"],
                                  [("lines", [p.train_counts[0], p.valid_counts[0]], TRAIN)])
        else:
            self.balance.setTitle("Texts per class (label balance)", color="#333")
            self.balance.set_bars(p.classes, [("training", p.train_counts, TRAIN),
                                              ("validation", p.valid_counts, VALID)])
        lengths = [v for v in p.train_lengths if v] if p.task == "language-model" else p.train_lengths
        counts, edges = histogram(lengths, bins=40)
        series = [("training", counts, edges, TRAIN)]
        if p.valid_lengths:
            valid = [v for v in p.valid_lengths if v] if p.task == "language-model" else p.valid_lengths
            v_counts, _ = np.histogram(valid, bins=edges)
            series.append(("validation", v_counts, edges, VALID))
        self.lengths.setLabel("left", "lines" if p.task == "language-model" else "texts")
        self.lengths.setLabel("bottom", "tokens per line" if p.task == "language-model" else "tokens per text")
        self.lengths.setTitle("Length of the lines" if p.task == "language-model" else "Length of the texts",
                              color="#333")
        self.lengths.set_histogram(series, marker=p.fix_length,
                                   marker_label=f"fix_length {p.fix_length}" if p.fix_length else "")

    def _show_vocabulary(self, p: DataPreview) -> None:
        v = p.vocabulary
        self.token_model.set_tokens(v.ranked, v.total, set(v.known))
        oov = f"{v.valid_oov:.2%}" if v.valid_oov is not None else "— (no validation split)"
        self.vocab_summary.setText(
            f"<b>{v.size:,}</b> tokens in the vocabulary (with &lt;pad&gt;, &lt;unk&gt;, &lt;eos&gt;), chosen from "
            f"<b>{len(v.ranked):,}</b> distinct ones in <b>{v.total:,}</b> training tokens.<br>"
            f"It covers <b>{v.coverage:.2%}</b> of the training tokens; out of vocabulary on the validation "
            f"split: <b>{oov}</b>.")
        self.top_n.setMaximum(max(1, len(v.ranked)))
        self.top_n.setValue(min(self.top_n.value(), max(1, len(v.ranked))))
        self._show_top_n()
        self.coverage_plot.clear()
        if v.ranked:
            cumulative = np.cumsum([c for _, c in v.ranked]) / max(1, v.total)
            x = np.arange(1, len(cumulative) + 1)
            self.coverage_plot.plot(x, cumulative, pen=pg.mkPen(TRAIN, width=2))
            size = v.size - 3
            self.coverage_plot.addItem(pg.InfiniteLine(
                np.log10(max(1, size)), angle=90, pen=pg.mkPen("#b00", style=Qt.PenStyle.DashLine),
                label=f"vocabulary {v.size:,}", labelOpts={"position": 0.15, "color": "#b00"}))
            self.coverage_plot.setYRange(0, 1.02, padding=0)
            decades = range(0, int(np.log10(len(cumulative))) + 2)
            self.coverage_plot.getAxis("bottom").setTicks(
                [[(d, f"{10 ** d:,}") for d in decades], [(np.log10(k * 10 ** d), "") for d in decades
                                                         for k in range(2, 10)]])
        self._show_sizes(p)

    def _show_top_n(self) -> None:
        if self.preview is None:
            return
        v = self.preview.vocabulary
        n = self.top_n.value()
        self.top_n_label.setText(f"most frequent tokens cover <b>{v.coverage_of_top(n):.2%}</b> of the training "
                                 "tokens.")

    def _show_sizes(self, p: DataPreview) -> None:
        v = p.vocabulary
        if not v.sizes:
            self.sizes.setRowCount(0)
            self.sizes.setColumnCount(0)
            self.sizes_note.setText(f"The {p.tokenizer} tokeniser learns a vocabulary of max_vocab sub-words; "
                                    "min_freq is the fewest occurrences of a pair it merges.")
            return
        cur_m, cur_v = v.min_freq, v.max_vocab
        self.sizes_note.setText("Computed from the training counts before anything is trained: the tokens kept "
                                "(with the 3 special ones) and the share of the training tokens they cover. Rows: "
                                "min_freq; columns: max_vocab. The current setting is highlighted.")
        self.sizes.setRowCount(len(v.min_freqs))
        self.sizes.setColumnCount(len(v.max_vocabs))
        self.sizes.setHorizontalHeaderLabels([f"{m:,}" for m in v.max_vocabs])
        self.sizes.setVerticalHeaderLabels([f"{m}" for m in v.min_freqs])
        for i, m in enumerate(v.min_freqs):
            for j, mv in enumerate(v.max_vocabs):
                size = v.sizes[i][j]
                text = f"{size:,}\n{v.coverages[i][j]:.1%}" if size else "empty"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setToolTip(f"min_freq {m}, max_vocab {mv:,}: {size:,} tokens covering "
                                f"{v.coverages[i][j]:.2%} of the training tokens")
                if m == cur_m and mv == cur_v:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(Qt.GlobalColor.yellow)
                self.sizes.setItem(i, j, item)
        self.sizes.resizeRowsToContents()


if __name__ == "__main__":
    from dlstudio_text.panels.stub import preview

    raise SystemExit(preview(DataPage))
