"""Activations: a layer's feature maps for the current input, paged, colour-mapped, with per-map stats."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio_inspector import samples
from dlstudio_inspector.activations import (
    COLORMAPS,
    Grid,
    Histogram,
    as_maps,
    capture,
    colorize,
    dataset_batch,
    grid,
    layer_histogram,
)
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.panels.qtimage import ImageView
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.summary import summarize

STAT_COLUMNS = ("Map", "Min", "Max", "Mean", "Std", "Zeros")


def _layers_in_order(model, x) -> list[tuple[str, str, bool, int]]:
    """(name, type, leaf, calls) of every module the forward pass called, in the order they finished."""
    summary = summarize(model, x, flops=False)
    rows = summary.by_name
    return [(n, rows[n].type, rows[n].leaf, rows[n].calls) for n in summary.execution_order() if n]


def _maps(model, x, layer: str, call: int) -> np.ndarray:
    outputs = capture(model, x, [layer], calls=call + 1)[layer]  # stops the forward pass there
    return as_maps(outputs[min(call, len(outputs) - 1)], batch=x.shape[0])


def _histogram(studio, opened, x: torch.Tensor, layer: str, count: int, relu: bool,
               cached: tuple[str, Any] | None) -> tuple[Histogram, str, tuple[str, Any] | None]:
    """The layer's histogram over ``count`` samples of the model's dataset (loaded once, then cached); without a
    dataset that loads, over the current input, and the text says so."""
    bundle, note = cached, ""
    if bundle is None:
        found = samples.run_dataset(opened)
        for dataset_id in samples.candidate_datasets(studio, opened):
            params = found[1] if found and found[0] == dataset_id else {}
            try:
                bundle = (dataset_id, samples.load_dataset(studio, dataset_id, params))
                break
            except InspectorError as exc:
                note = str(exc)
    if bundle is not None:
        try:
            batch = dataset_batch(bundle[1], count, tuple(opened.data.input_shape) or None)
            source = f"{batch.shape[0]} samples of {bundle[0]}"
            return layer_histogram(opened.model, batch, layer, relu=relu), source, bundle
        except InspectorError as exc:
            note = str(exc)
    source = "the current input only (no dataset fits this model" + (f": {note})" if note else ")")
    return layer_histogram(opened.model, x, layer, relu=relu), source, None


class ActivationsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.maps: np.ndarray | None = None
        self.current: Grid | None = None
        self.layer_combo = QComboBox(minimumContentsLength=28)
        self.leaves_box = QCheckBox("Layers only")
        self.leaves_box.setChecked(True)
        self.leaves_box.setToolTip("Untick to include blocks (a ResNet block's output, a Sequential's...)")
        self.prev_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        self.relu_box = QCheckBox("After ReLU")
        self.relu_box.setToolTip("Show the maps with negative values clipped, as the next ReLU would")
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(COLORMAPS)
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(["each map", "shared"])
        self.scale_combo.setToolTip("Stretch each map to its own range, or use the page's range for all")
        self.page_spin = QSpinBox(minimum=1, maximum=1)
        self.page_spin.setPrefix("page ")
        self.per_page = QComboBox()
        for n in (16, 64, 256):
            self.per_page.addItem(f"{n} per page", n)
        self.per_page.setCurrentIndex(1)
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Layer"), self.layer_combo, self.prev_button, self.next_button, self.leaves_box,
                  self.relu_box, self.cmap_combo, self.scale_combo, self.page_spin, self.per_page):
            bar.addWidget(w)
        self.hist_box = QCheckBox("Histogram over")
        self.hist_box.setToolTip("The distribution of the layer's activations over a batch of dataset samples, "
                                 "with the share of exact zeros (ReLUs switched off)")
        self.count_spin = QSpinBox(minimum=1, maximum=2048, value=64, singleStep=32)
        self.count_spin.setSuffix(" samples")
        # The histogram's controls on a second row: one row of every control would not fit a 1280-px screen.
        hist_bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (self.hist_box, self.count_spin):
            hist_bar.addWidget(w)
        self.info = QLabel()
        self.hist_info = QLabel()
        self.hist_info.setWordWrap(True)
        self.hist_plot = pg.PlotWidget(title="Activation histogram")
        self.hist_plot.setLabel("bottom", "activation")
        self.hist_plot.setLabel("left", "count")
        self.hist_bars = pg.PlotDataItem([], [], stepMode="center", fillLevel=0, brush=(76, 120, 168, 160),
                                         pen=pg.mkPen("#4c78a8"))
        self.hist_plot.addItem(self.hist_bars)
        self.hist_panel = QWidget()
        hist_box = QVBoxLayout(self.hist_panel)
        hist_box.setContentsMargins(0, 0, 0, 0)
        hist_box.addWidget(self.hist_info)
        hist_box.addWidget(self.hist_plot, 1)
        self.hist_panel.setVisible(False)
        self.histogram: Histogram | None = None
        self._bundle: tuple[str, Any] | None = None
        self.image = ImageView()
        self.image.cell_at = self._cell_text
        self.stats = QTableWidget(0, len(STAT_COLUMNS))
        self.stats.setHorizontalHeaderLabels(STAT_COLUMNS)
        self.stats.verticalHeader().setVisible(False)
        self.stats.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.stats.verticalHeader().setDefaultSectionSize(20)
        self.stats.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.stats.setMinimumWidth(200)
        self.stats.setMaximumWidth(420)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.image)
        split.addWidget(self.stats)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([900, 340])
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addLayout(hist_bar)
        box.addWidget(self.info)
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(split)
        vertical.addWidget(self.hist_panel)
        vertical.setSizes([600, 300])
        box.addWidget(vertical, 1)
        self._layers: list[tuple[str, str, bool, int]] = []
        self._stale = True
        self._layers_stale = True
        self._wanted = ""
        self.layer_combo.currentIndexChanged.connect(lambda _i: self.compute())
        self.leaves_box.toggled.connect(lambda _c: self._fill_layers())
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        for signal in (self.relu_box.toggled, self.cmap_combo.currentIndexChanged, self.scale_combo.currentIndexChanged,
                       self.per_page.currentIndexChanged):
            signal.connect(lambda *_: self.render())
        self.page_spin.valueChanged.connect(lambda _v: self.render())
        self.hist_box.toggled.connect(self._histogram_toggled)
        self.count_spin.editingFinished.connect(self.compute_histogram)
        self.relu_box.toggled.connect(lambda _c: self.compute_histogram())
        self.image.clicked.connect(self._clicked)
        session.model_changed.connect(self._model_changed)
        session.input_changed.connect(self.compute)

    # -- layers -----------------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        self._layers_stale = True
        self._wanted = ""
        self.maps = None
        self._bundle = None

    def load_layers(self) -> None:
        self._layers_stale = False
        self._layers = []
        opened = self.session.opened
        if opened is None or opened.is_scripted:
            self._layers = []
            self._fill_layers()
            if opened is not None:
                self.info.setText("Activations need forward hooks, which TorchScript models do not support.")
            return
        self.session.submit("activation-layers", _layers_in_order, opened.model, self.session.x,
                            on_result=self._got_layers, on_error=self.info.setText)

    def _got_layers(self, layers: list[tuple[str, str, bool, int]]) -> None:
        self._layers = layers
        self._fill_layers()

    def _fill_layers(self) -> None:
        current = self.layer_combo.currentData()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for name, kind, leaf, _calls in self._layers:
            if leaf or not self.leaves_box.isChecked():
                self.layer_combo.addItem(f"{name}  ({kind})", name)
        index = self.layer_combo.findData(current)
        self.layer_combo.setCurrentIndex(index if index >= 0 else 0)
        self.layer_combo.blockSignals(False)
        if self._wanted:
            wanted, self._wanted = self._wanted, ""
            self.set_layer(wanted)
        self.compute()

    def step(self, delta: int) -> None:
        count = self.layer_combo.count()
        if count:
            self.layer_combo.setCurrentIndex((self.layer_combo.currentIndex() + delta) % count)

    def set_layer(self, name: str) -> None:
        if self._layers_stale or not self._layers:
            self._wanted = name  # chosen before the layer list is ready: applied when it is
            return
        if name not in {layer[0] for layer in self._layers}:
            return
        index = self.layer_combo.findData(name)
        if index < 0 and self.leaves_box.isChecked():
            self.leaves_box.setChecked(False)
            index = self.layer_combo.findData(name)
        if index >= 0:
            self.layer_combo.setCurrentIndex(index)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.compute()

    # -- computing and drawing --------------------------------------------------------------------------
    def compute(self) -> None:
        self._stale = not self.isVisible()
        if self._stale:
            return
        if self._layers_stale:
            self.load_layers()
            return
        opened, x, layer = self.session.opened, self.session.x, self.layer_combo.currentData()
        if opened is None or x is None or not layer:
            return
        self.info.setText(f"Running the model up to {layer}…")
        self.session.submit("activations", _maps, opened.model, x, layer, 0,
                            on_result=lambda r, _l=layer: self._got_maps(_l, r), on_error=self.info.setText)
        self.compute_histogram()

    def _histogram_toggled(self, on: bool) -> None:
        self.hist_panel.setVisible(on)
        self.compute_histogram()

    def compute_histogram(self) -> None:
        opened, x, layer = self.session.opened, self.session.x, self.layer_combo.currentData()
        if not self.hist_box.isChecked() or opened is None or x is None or not layer or opened.is_scripted:
            return
        self.hist_info.setText(f"Running {self.count_spin.value()} samples up to {layer}…")
        self.session.submit("activation-histogram", _histogram, self.session.studio, opened, x, layer,
                            self.count_spin.value(), self.relu_box.isChecked(), self._bundle,
                            on_result=lambda r, _l=layer: self._got_histogram(_l, *r),
                            on_error=self.hist_info.setText)

    def _got_histogram(self, layer: str, hist: Histogram, source: str, bundle: tuple[str, Any] | None) -> None:
        self.histogram = hist
        if bundle is not None:
            self._bundle = bundle
        self.hist_bars.setData(hist.edges, hist.counts.astype(float))
        after = " after ReLU" if self.relu_box.isChecked() else ""
        self.hist_info.setText(
            f"{layer}{after} over {source}: {hist.values:,} values from {hist.min:.4g} to {hist.max:.4g}, "
            f"mean {hist.mean:.4g}, std {hist.std:.4g}. Exactly zero: {hist.zeros:.1%} of the values; "
            f"{hist.dead} of {hist.channels} channel(s) are zero for every sample (dead on this batch).")

    def _got_maps(self, layer: str, maps: np.ndarray) -> None:
        self.maps = maps
        self._layer = layer
        self._calls = next((c for n, _t, _leaf, c in self._layers if n == layer), 1)
        self.page_spin.setValue(1)
        self.render()

    def render(self) -> None:
        if self.maps is None:
            return
        per_page = self.per_page.currentData()
        pages = max(1, -(-self.maps.shape[0] // per_page))
        self.page_spin.blockSignals(True)
        self.page_spin.setMaximum(pages)
        self.page_spin.setSuffix(f" / {pages}")
        self.page_spin.blockSignals(False)
        scale = "each" if self.scale_combo.currentIndex() == 0 else "shared"
        g = grid(self.maps, self.page_spin.value() - 1, per_page, relu=self.relu_box.isChecked(), scale=scale)
        self.current = g
        self.image.set_image(colorize(g.values, self.cmap_combo.currentText()))
        c, h, w = self.maps.shape
        shown = f"maps {g.cells[0][0]}–{g.cells[-1][0]} of {g.total}" if g.cells else "no maps"
        calls = f"; called {self._calls}× (first call shown)" if self._calls > 1 else ""
        self.info.setText(f"{self._layer}: {c} map(s) of {h}×{w} — {shown}{calls}. "
                          "Hover a map for its stats, click it to select its row.")
        self.stats.setRowCount(len(g.stats))
        for r, s in enumerate(g.stats):
            values = (str(s.index), f"{s.min:.3g}", f"{s.max:.3g}", f"{s.mean:.3g}", f"{s.std:.3g}",
                      f"{s.zeros:.0%}")
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.stats.setItem(r, col, item)
        self.stats.resizeColumnsToContents()

    def _cell(self, x: int, y: int) -> int | None:
        if self.current is None:
            return None
        for k, (_index, cx, cy, w, h) in enumerate(self.current.cells):
            if cx <= x < cx + w and cy <= y < cy + h:
                return k
        return None

    def _cell_text(self, x: int, y: int) -> str:
        k = self._cell(x, y)
        if k is None:
            return ""
        s = self.current.stats[k]
        return (f"map {s.index}\nmin {s.min:.4g}  max {s.max:.4g}\nmean {s.mean:.4g}  std {s.std:.4g}\n"
                f"zeros {s.zeros:.1%}")

    def _clicked(self, x: int, y: int) -> None:
        k = self._cell(x, y)
        if k is not None:
            self.stats.selectRow(k)


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(ActivationsView))
