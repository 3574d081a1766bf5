"""Live training curves with pyqtgraph, redrawn on a timer so plotting never slows training.

Points are appended to Python lists as signals arrive (cheap); a QTimer pushes them to the plot items
a few times a second, only when something changed.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

#: Redraws per second at most.
REDRAW_HZ = 4

_COLOURS = {
    "train": (52, 120, 200),
    "valid": (220, 110, 30),
    "batch": (150, 170, 200),
}


def _pen(name: str, width: float = 2.0, style=None):
    phase = "valid" if name.startswith("valid") else ("batch" if name == "batch_loss" else "train")
    kwargs = {"color": _COLOURS[phase], "width": width}
    if style is not None:
        kwargs["style"] = style
    return pg.mkPen(**kwargs)


class CurvesWidget(pg.GraphicsLayoutWidget):
    """Loss (running batch loss + per-epoch train/valid) and the other metrics per epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.loss_plot = self.addPlot(title="Loss")
        self.metric_plot = self.addPlot(title="Metrics")
        for plot in (self.loss_plot, self.metric_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setLabel("bottom", "epoch")
            plot.addLegend(offset=(-10, 10))
            plot.setClipToView(True)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setDownsampling(mode="peak")
        self._series: dict[str, tuple[list[float], list[float]]] = {}
        self._items: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def clear_curves(self) -> None:
        for plot in (self.loss_plot, self.metric_plot):
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        self._series.clear()
        self._items.clear()

    def add_batch_loss(self, x: float, loss: float) -> None:
        self._append("batch_loss", x, loss)

    def add_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            if name == "lr":
                continue
            self._append(name, float(epoch), value)

    def _append(self, name: str, x: float, y: float) -> None:
        xs, ys = self._series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        self._dirty = True

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for name, (xs, ys) in self._series.items():
            item = self._items.get(name)
            if item is None:
                item = self._make_item(name)
            item.setData(xs, ys)

    def _make_item(self, name: str) -> pg.PlotDataItem:
        is_loss = name.endswith("loss")
        plot = self.loss_plot if is_loss else self.metric_plot
        if name == "batch_loss":
            item = plot.plot(name="train (running)", pen=_pen(name, 1.0))
        else:
            symbol = "o" if not name.startswith("valid") else "s"
            label = name.replace("_", " ")
            item = plot.plot(name=label, pen=_pen(name), symbol=symbol, symbolSize=6,
                             symbolBrush=_pen(name).color())
        self._items[name] = item
        return item

    def flush(self) -> None:
        """Draw pending points now (tests, screenshots)."""
        self._dirty = True
        self._redraw()
