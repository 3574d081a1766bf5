"""Small Qt widgets the image pages share: labelled image grids, a gallery, bar charts, a stub context."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QSizePolicy, QWidget

from dlstudio.gui.widgets import EmptyNote


def to_pixmap(image: np.ndarray, size: int | None = None) -> QPixmap:
    """A uint8 ``[H, W]`` or ``[H, W, C]`` array as a pixmap, scaled (nearest) so its longer side is ``size``."""
    arr = np.ascontiguousarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.ascontiguousarray(arr[:, :, 0])
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        qimg = QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        qimg = QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    pixmap = QPixmap.fromImage(qimg.copy())
    if size:
        modes = Qt.TransformationMode
        mode = modes.FastTransformation if max(h, w) < size else modes.SmoothTransformation
        pixmap = pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return pixmap


class ImageGrid(QWidget):
    """Rows of thumbnails, one row per label (e.g. a class), the label written at the left."""

    def __init__(self, thumb: int = 56, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb = thumb
        self.rows: list[tuple[str, list[QPixmap]]] = []
        self.label_width = 90
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    def set_rows(self, rows: dict[str, Sequence[np.ndarray]]) -> None:
        self.rows = [(name, [to_pixmap(img, self.thumb) for img in imgs]) for name, imgs in rows.items()]
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(name) for name in rows), default=0)
        self.label_width = min(140, widest + 16)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        cols = max((len(p) for _, p in self.rows), default=0)
        return QSize(self.label_width + cols * (self.thumb + 4), len(self.rows) * (self.thumb + 4) + 4)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        y = 2
        for name, pixmaps in self.rows:
            painter.drawText(4, y, self.label_width - 8, self.thumb, Qt.AlignmentFlag.AlignVCenter, name)
            x = self.label_width
            for pm in pixmaps:
                painter.drawPixmap(x + (self.thumb - pm.width()) // 2, y + (self.thumb - pm.height()) // 2, pm)
                x += self.thumb + 4
            y += self.thumb + 4
        painter.end()


class Gallery(QListWidget):
    """Thumbnails with captions in a wrapping grid (mistakes, a confusion-matrix cell's images)."""

    def __init__(self, thumb: int = 72, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb = thumb
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(QSize(thumb + 48, thumb + 44))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.setUniformItemSizes(True)

    def set_items(self, items: Sequence[tuple[np.ndarray | None, str]]) -> None:
        self.clear()
        for image, caption in items:
            item = QListWidgetItem(caption)
            if image is not None:
                item.setIcon(QIcon(to_pixmap(image, self.thumb)))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)


class BarChart(pg.PlotWidget):
    """Vertical bars with category labels (class counts), or horizontal ones (top-k probabilities)."""

    def __init__(self, title: str = "", horizontal: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.horizontal = horizontal
        self.setTitle(title, color="#333")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.showGrid(x=horizontal, y=not horizontal, alpha=0.2)
        self.setMinimumHeight(160)
        self.empty_note = EmptyNote(self.getPlotItem())  # no made-up 0–1 axes before there are bars

    def set_bars(self, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], tuple]]) -> None:
        """``series``: (name, values, rgb) drawn side by side per label."""
        self.clear()
        self.empty_note.set_empty(not labels or not series)
        if self.plotItem.legend is None and len(series) > 1:
            self.addLegend(offset=(-10, 10))
        n = max(1, len(series))
        width = 0.8 / n
        for i, (name, values, colour) in enumerate(series):
            pos = np.arange(len(labels)) - 0.4 + width * (i + 0.5)
            brush = pg.mkBrush(*colour)
            if self.horizontal:
                bars = pg.BarGraphItem(x0=0, y=pos, height=width, width=list(values), brush=brush, name=name)
            else:
                bars = pg.BarGraphItem(x=pos, height=list(values), width=width, brush=brush, name=name)
            self.addItem(bars)
        ticks = [list(enumerate(labels))]
        axis = self.getAxis("left" if self.horizontal else "bottom")
        axis.setTicks(ticks)
        if self.horizontal:
            self.getViewBox().invertY(True)
            self.setXRange(0, 1, padding=0.02)


class Colour:
    TRAIN = (52, 120, 200)
    VALID = (220, 110, 30)


def heat(value: float) -> QColor:
    """White → blue for 0 → 1."""
    v = float(np.clip(value, 0, 1))
    return QColor(int(255 - 200 * v), int(255 - 160 * v), 255 - int(60 * v))


class ImageDrop(QWidget):
    """Accepts image files dropped on it: emits the path."""

    dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.dropped.emit(urls[0].toLocalFile())
