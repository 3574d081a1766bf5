"""Histograms: one parameter's values (or gradients) over a run's epochs, as TensorBoard shows them.

Above, the histograms as a heat map (epoch across, value up, colour the share of values in a bin); below,
the distribution bands (the percentiles at 0, ±1.5, ±1 and ±0.5 standard deviations of a normal, and the
median). It reads the run the inspector has open, and again at each epoch's end while that run trains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSplitter, QVBoxLayout, QWidget
from superqt import QFlowLayout

from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.histograms import PERCENTILES, LayerSeries, layer_series, run_histograms
from dlstudio_inspector.panels.session import Session

BAND_COLOURS = ((255, 140, 60, 50), (255, 140, 60, 90), (255, 140, 60, 130), (255, 140, 60, 180))


class HistogramsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.series: LayerSeries | None = None
        self.run_id: str | None = None
        self.layer_combo = QComboBox(minimumContentsLength=28)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("weights", "weight")
        self.kind_combo.addItem("gradients (last batch of each epoch)", "grad")
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Tensor"), self.layer_combo, self.kind_combo):
            bar.addWidget(w)
        self.info = QLabel("Open a model from a run to see its weight histograms across epochs.")
        self.info.setWordWrap(True)
        self.heat = pg.PlotWidget(title="Histograms over epochs")
        self.heat.setLabel("bottom", "epoch")
        self.heat.setLabel("left", "value")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.heat.addItem(self.image)
        self.bands = pg.PlotWidget(title="Distribution over epochs (percentile bands)")
        self.bands.setLabel("bottom", "epoch")
        self.bands.setLabel("left", "value")
        self.bands.setXLink(self.heat)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.heat)
        split.addWidget(self.bands)
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.info)
        box.addWidget(split, 1)
        #: The median curve and the band fills last drawn (tests and screenshots read them).
        self.median: pg.PlotDataItem | None = None
        self.layer_combo.currentIndexChanged.connect(lambda _i: self.render())
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.render())
        session.model_changed.connect(self.load)
        run_epoch = getattr(session.context, "run_epoch", None)
        if run_epoch is not None:
            run_epoch.connect(self._epoch_ended)

    # -- reading the run --------------------------------------------------------------------------
    def load(self) -> None:
        opened = self.session.opened
        self.run_id = opened.run_id if opened is not None else None
        if not self.run_id:
            self._clear("Open a model from a run to see its weight histograms across epochs.")
            return
        self.session.submit("histograms", run_histograms, self.session.studio, self.run_id,
                            on_result=self.show_records, on_error=self._clear)

    def _epoch_ended(self, run_id: str, _info: dict) -> None:
        if run_id and run_id == self.run_id:
            self.session.submit("histograms", run_histograms, self.session.studio, run_id,
                                on_result=self.show_records, on_error=self._clear)

    def show_records(self, records: dict[str, list[dict[str, Any]]]) -> None:
        self.records = records
        current = self.layer_combo.currentData()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for name, rs in records.items():
            self.layer_combo.addItem(f"{name}  {tuple(rs[-1]['shape'])}", name)
        index = self.layer_combo.findData(current)
        self.layer_combo.setCurrentIndex(max(index, 0))
        self.layer_combo.blockSignals(False)
        self.render()

    def set_layer(self, name: str, kind: str = "weight") -> None:
        """Show tensor ``name`` (e.g. ``"fc1.weight"``), its values or (``kind="grad"``) its gradients."""
        index = self.layer_combo.findData(name)
        if index < 0:
            raise InspectorError(f"no histograms of {name!r}; the run has: {', '.join(self.records)}")
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        self.layer_combo.setCurrentIndex(index)
        self.render()

    # -- drawing ----------------------------------------------------------------------------------
    def render(self) -> None:
        name, kind = self.layer_combo.currentData(), self.kind_combo.currentData()
        if not name or name not in self.records:
            return
        try:
            series = layer_series(self.records[name], kind)
        except InspectorError as exc:
            self._clear(str(exc), keep_lists=True)
            return
        self.series = series
        self._draw_heat(series)
        self._draw_bands(series)
        what = "gradient" if kind == "grad" else "values"
        last = len(series.epochs) - 1
        self.info.setText(
            f"{name} {what}: epochs {series.epochs[0]}–{series.epochs[-1]} ({len(series.epochs)} recorded), "
            f"{series.counts.shape[1]} bins of width {series.edges[1] - series.edges[0]:.3g}; last epoch mean "
            f"{series.means[last]:.3g}, std {series.stds[last]:.3g}, range [{series.mins[last]:.3g}, "
            f"{series.maxs[last]:.3g}]")

    def _draw_heat(self, s: LayerSeries) -> None:
        totals = s.counts.sum(axis=1, keepdims=True).clip(min=1)
        share = s.counts / totals  # each epoch's column sums to 1, so epochs compare
        self.image.setImage(np.sqrt(share), autoLevels=True)  # sqrt: thin tails stay visible
        epochs = np.asarray(s.epochs, dtype=float)
        x0 = epochs[0] - 0.5
        x1 = epochs[-1] + 0.5
        self.image.setRect(QRectF(x0, float(s.edges[0]), x1 - x0, float(s.edges[-1] - s.edges[0])))
        if len(epochs) > 1 and not np.all(np.diff(epochs) == 1):
            self.info.setToolTip("epochs are not consecutive: the heat map spreads them evenly")

    def _draw_bands(self, s: LayerSeries) -> None:
        self.bands.clear()
        x = np.asarray(s.epochs, dtype=float)
        p = s.percentiles(PERCENTILES)
        n = len(PERCENTILES)
        for i in range(n // 2):
            lower = pg.PlotDataItem(x, p[i], pen=pg.mkPen(None))
            upper = pg.PlotDataItem(x, p[n - 1 - i], pen=pg.mkPen(None))
            self.bands.addItem(pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(*BAND_COLOURS[i])))
        self.median = self.bands.plot(x, p[n // 2], pen=pg.mkPen("#ffd8b0", width=2), symbol="o", symbolSize=5)

    def _clear(self, message: str, keep_lists: bool = False) -> None:
        if not keep_lists:
            self.records = {}
            self.layer_combo.clear()
        self.series = None
        self.median = None
        self.image.clear()
        self.bands.clear()
        self.info.setText(message)


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(HistogramsView, model=None))
