"""Weights: conv filters as image grids, a histogram per layer, and weight norms across a run's epochs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio import runs
from dlstudio_inspector.activations import COLORMAPS, colorize
from dlstudio_inspector.common import InspectorError, module_named
from dlstudio_inspector.panels.qtimage import ImageView
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.weights import (
    NormHistory,
    filter_grid,
    histogram,
    rgb_to_uint8,
    weight_layers,
    weight_norm_history,
)

MAX_NORM_CURVES = 12


class WeightsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.layer_combo = QComboBox(minimumContentsLength=28)
        self.channel_combo = QComboBox()
        self.channel_spin = QSpinBox(minimum=0, maximum=0)
        self.channel_spin.setPrefix("channel ")
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(["coolwarm", *[c for c in COLORMAPS if c != "coolwarm"]])
        self.page_spin = QSpinBox(minimum=1, maximum=1)
        self.page_spin.setPrefix("page ")
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Layer"), self.layer_combo, self.channel_combo, self.channel_spin, self.cmap_combo,
                  self.page_spin):
            bar.addWidget(w)
        self.info = QLabel()
        self.filters = ImageView()
        self.hist = pg.PlotWidget(title="Weight histogram")
        self.hist.setLabel("bottom", "weight value")
        self.hist.setLabel("left", "count")
        self.norms = pg.PlotWidget(title="Weight norm per layer across the run's epochs")
        self.norms.setLabel("bottom", "epoch")
        self.norms.setLabel("left", "‖W‖₂")
        self.norms.addLegend(offset=(5, 5), labelTextSize="7pt")
        self.norms_info = QLabel()
        self.norms_info.setWordWrap(True)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.hist)
        norms_box = QWidget()
        nb = QVBoxLayout(norms_box)
        nb.setContentsMargins(0, 0, 0, 0)
        nb.addWidget(self.norms, 1)
        nb.addWidget(self.norms_info)
        right.addWidget(norms_box)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.filters)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 500])
        self.norms_box = norms_box
        self.right = right
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.info)
        box.addWidget(split, 1)
        self.channel_combo.addItems(["colour / mean", "one input channel"])
        self.layer_combo.currentIndexChanged.connect(lambda _i: self.render())
        self.channel_combo.currentIndexChanged.connect(lambda _i: self.render())
        self.channel_spin.valueChanged.connect(lambda _v: self.render())
        self.cmap_combo.currentIndexChanged.connect(lambda _i: self.render())
        self.page_spin.valueChanged.connect(lambda _v: self.render())
        session.model_changed.connect(self.load)

    def load(self) -> None:
        opened = self.session.opened
        if opened is None:
            return
        current = self.layer_combo.currentData()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for name in weight_layers(opened.model):
            module = module_named(opened.model, name)
            kind = getattr(module, "original_name", None) or type(module).__name__
            self.layer_combo.addItem(f"{name}  ({kind})", name)
        index = self.layer_combo.findData(current)
        self.layer_combo.setCurrentIndex(max(index, 0))
        self.layer_combo.blockSignals(False)
        self.render()
        self.load_norms()

    def set_layer(self, name: str) -> None:
        index = self.layer_combo.findData(name)
        if index >= 0:
            self.layer_combo.setCurrentIndex(index)

    def render(self) -> None:
        opened, layer = self.session.opened, self.layer_combo.currentData()
        if opened is None or not layer:
            return
        model = opened.model
        weight = getattr(module_named(model, layer), "weight", None)
        in_channels = int(weight.shape[1]) if weight is not None and weight.dim() >= 3 else 0
        one = self.channel_combo.currentIndex() == 1
        self.channel_spin.setVisible(one)
        self.channel_spin.setMaximum(max(0, in_channels - 1))
        try:
            fg = filter_grid(model, layer, in_channel=self.channel_spin.value() if one else None,
                             page=self.page_spin.value() - 1)
        except InspectorError as exc:
            self.filters.set_image(None)
            self.info.setText(str(exc))
        else:
            self.page_spin.blockSignals(True)
            self.page_spin.setMaximum(fg.grid.pages)
            self.page_spin.setSuffix(f" / {fg.grid.pages}")
            self.page_spin.blockSignals(False)
            pixels = rgb_to_uint8(fg.values) if fg.rgb else colorize(fg.values, self.cmap_combo.currentText())
            self.filters.set_image(pixels)
            self.info.setText(f"{layer}: weight {tuple(fg.shape)} — {fg.grid.total} filters, {fg.note}")
        self._histogram(model, layer)

    def _histogram(self, model, layer: str) -> None:
        self.hist.clear()
        try:
            h = histogram(model, layer)
        except InspectorError:
            return
        self.hist.plot(h.edges, h.counts, stepMode="center", fillLevel=0, brush=(76, 120, 168, 150),
                       pen=pg.mkPen("#4c78a8"))
        self.hist.setTitle(f"{layer}: mean {h.mean:.3g}, std {h.std:.3g}, ‖W‖ {h.norm:.3g}, {h.numel:,} values")

    def load_norms(self) -> None:
        opened = self.session.opened
        self.norms.clear()
        if opened is None or not opened.run_id or not _known_run(self.session.studio, opened.run_id):
            self.norms_info.setText("Open a model from a run to follow its weight norms across epochs.")
            self.norms.hide()
            return
        self.norms.show()
        self.right.setSizes([1, 1])
        self.session.submit("norms", weight_norm_history, self.session.studio, opened.run_id,
                            on_result=self.show_norms, on_error=self.norms_info.setText)

    def show_norms(self, history: NormHistory) -> None:
        self.norms.clear()
        epochs = np.asarray(history.epochs, dtype=float)
        ranked = sorted(history.norms.items(), key=lambda kv: -np.nanmax(kv[1]) if kv[1] else 0)
        for i, (layer, values) in enumerate(ranked[:MAX_NORM_CURVES]):
            self.norms.plot(epochs, np.asarray(values, dtype=float), name=layer, symbol="o", symbolSize=5,
                            pen=pg.mkPen(pg.intColor(i, MAX_NORM_CURVES), width=1.5))
        more = f" (the {MAX_NORM_CURVES} largest of {len(ranked)} layers)" if len(ranked) > MAX_NORM_CURVES else ""
        self.norms_info.setText(f"epochs {', '.join(map(str, history.epochs))}{more}. " + " ".join(history.notes))


def _known_run(studio: Any, run_id: str) -> bool:
    """Whether the run store holds ``run_id`` (a checkpoint file may name a run deleted since)."""
    try:
        runs.get_run(studio, run_id)
    except KeyError:
        return False
    return True


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(WeightsView))
