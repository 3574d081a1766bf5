"""Qt pieces the generative pages share: a picture that scales smoothly with its frame, a timeline of saved
pictures to scrub through, loss curves that grow as a run reports, and saving what is shown as a PNG."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.widgets import EmptyNote, legend_to_emptiest_corner, log_plot_item

#: Curve colours, in the order series are added.
COLOURS = ((52, 120, 200), (220, 110, 30), (60, 160, 80), (170, 60, 160), (120, 120, 120))
HINT_STYLE = "color:#555"
WARNING_STYLE = "color:#b26a00; font-weight:bold"
ERROR_STYLE = "color:#c62828"


def metric(metrics: dict[str, Any], name: str) -> float | None:
    """The value of ``name`` in an epoch's metrics: as the task or a callback named it, or with the engine's
    ``train_`` prefix; None when absent or not a number."""
    for key in (name, f"train_{name}"):
        if key in metrics:
            try:
                return float(metrics[key])
            except (TypeError, ValueError):
                return None
    return None


def pil_to_qimage(image: Image.Image) -> QImage:
    """An RGB copy of ``image`` as a QImage that owns its pixels (the PIL buffer may go away)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """The pixels of ``image`` as an (H, W, 3) uint8 array (for tests and comparisons)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return buffer[:, : width * 3].reshape(height, width, 3).copy()


class ImageView(QLabel):
    """A picture shown as large as its frame allows, aspect kept, scaled smoothly; the original is kept for
    saving. Scaling happens when the picture or the frame changes, never on every paint."""

    def __init__(self, placeholder: str = "", minimum: int = 120, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.placeholder = placeholder
        self._image = QImage()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(minimum, minimum)
        self.setStyleSheet("QLabel { background:#f4f4f4; border:1px solid #ddd; color:#777 }")
        self.setWordWrap(True)  # the placeholder's words
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setText(placeholder)

    def image(self) -> QImage:
        """The picture shown, at its own size (null when none)."""
        return self._image

    def has_image(self) -> bool:
        return not self._image.isNull()

    def set_image(self, image: QImage | Image.Image | None) -> None:
        if isinstance(image, Image.Image):
            image = pil_to_qimage(image)
        self._image = image if image is not None else QImage()
        self._rescale()

    def load(self, path: str | Path) -> bool:
        """Show the PNG at ``path``; False (the shown picture kept) when it cannot be read, e.g. half written."""
        image = QImage(str(path))
        if image.isNull():
            return False
        self.set_image(image)
        return True

    def clear_image(self) -> None:
        self.set_image(None)

    def sizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), self.minimumHeight())

    def hasHeightForWidth(self) -> bool:
        return False  # see LineLabel: the picture takes the room it is given

    def minimumSizeHint(self) -> QSize:
        # A QLabel's own hint is its pixmap's size: the picture, scaled to the frame, would hold the frame open
        # and the page could never shrink again.
        return QSize(self.minimumWidth(), self.minimumHeight())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._image.isNull():
            self.setPixmap(QPixmap())
            self.setText(self.placeholder)
            return
        room = self.contentsRect().size()
        pixmap = QPixmap.fromImage(self._image)
        if room.width() > 2 and room.height() > 2:
            pixmap = pixmap.scaled(room, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pixmap)


class Timeline(QWidget):
    """A slider over a list of saved pictures (snapshots, sample grids), its position in words, and the
    picture shown in a view. ``follow`` keeps it on the newest picture as new ones arrive, until the user
    moves the slider back."""

    moved = Signal(int)

    def __init__(self, view: ImageView, describe: Callable[[int, Any], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.describe = describe
        #: (key, path) of each picture, in order.
        self.items: list[tuple[Any, Path]] = []
        self.follow = True
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeline")
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._moved)
        self.label = QLabel("")
        self.label.setStyleSheet(HINT_STYLE)
        self.label.setMinimumWidth(150)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Timeline"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)

    def set_items(self, items: Sequence[tuple[Any, Path]]) -> None:
        """Show ``items`` (oldest first); on the newest one when following, else where the user left it."""
        old = self.slider.value()
        self.items = list(items)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.items) - 1))
        self.slider.setEnabled(len(self.items) > 1)
        index = len(self.items) - 1 if self.follow else min(old, len(self.items) - 1)
        self.slider.setValue(max(0, index))
        self.slider.blockSignals(False)
        self._show(self.slider.value())

    def current(self) -> tuple[Any, Path] | None:
        return self.items[self.slider.value()] if self.items else None

    def select(self, index: int) -> None:
        """Show the picture at ``index`` as if the user moved the slider there."""
        self.slider.setValue(index)

    def _moved(self, index: int) -> None:
        self.follow = index >= len(self.items) - 1
        self._show(index)
        self.moved.emit(index)

    def _show(self, index: int) -> None:
        if not self.items:
            self.label.setText("nothing saved yet")
            return
        key, path = self.items[index]
        self.view.load(path)
        self.label.setText(f"{self.describe(index, key)} ({index + 1} of {len(self.items)})")


class Curves(pg.PlotWidget):
    """Named series that grow point by point (a run's metrics per period), optionally on a log scale.

    Points are kept in Python lists and drawn with one ``setData`` per series; the view clips to what is
    visible and downsamples, so thousands of points stay cheap."""

    def __init__(self, title: str, x_label: str, log_y: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w", plotItem=log_plot_item() if log_y else None)  # decades labelled
        self.setTitle(title, color="#333", size="10pt")
        self.setLabel("bottom", x_label)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLogMode(y=log_y)
        self.setClipToView(True)
        self.setDownsampling(mode="peak")
        self.addLegend(offset=(-10, 10))
        self.setMinimumHeight(140)
        self.log_y = log_y
        self.note = EmptyNote(self.getPlotItem())  # "no data yet" rather than a made-up 0–1 grid
        self.points: dict[str, tuple[list[float], list[float]]] = {}
        self._curves: dict[str, Any] = {}

    def sizeHint(self) -> QSize:
        # pyqtgraph asks for a large plot; asking little lets the page fit the window, and the layout gives
        # the curves whatever room is left.
        return QSize(280, self.minimumHeight())

    def add_series(self, name: str) -> None:
        if name in self._curves:
            return
        colour = COLOURS[len(self._curves) % len(COLOURS)]
        # A symbol on each point: a run's first period is one point, which a line alone would not show.
        self._curves[name] = self.plot([], [], pen=pg.mkPen(colour, width=2), name=name, symbol="o",
                                       symbolSize=5, symbolBrush=pg.mkBrush(colour), symbolPen=None)
        self.points[name] = ([], [])

    def append(self, x: float, values: dict[str, float]) -> None:
        """Add one point to each named series (a value that cannot be drawn, NaN or ≤ 0 on a log scale, is
        skipped: it would break the whole curve)."""
        for name, value in values.items():
            if value is None or not math.isfinite(value) or (self.log_y and value <= 0):
                continue
            self.add_series(name)
            xs, ys = self.points[name]
            xs.append(float(x))
            ys.append(float(value))
            self._curves[name].setData(xs, ys)
            self.note.set_empty(False)
        legend_to_emptiest_corner(self.getPlotItem())

    def reset(self) -> None:
        for name, curve in self._curves.items():
            self.points[name] = ([], [])
            curve.setData([], [])
        self.note.set_empty(True)


def save_png_dialog(parent: QWidget, image: QImage | Image.Image | None, title: str, suggested: str) -> str:
    """Ask where to save ``image`` as a PNG and save it; the path written, "" when cancelled or nothing shown."""
    if image is None or (isinstance(image, QImage) and image.isNull()):
        return ""
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, "PNG images (*.png)")
    if not path:
        return ""
    if not path.lower().endswith(".png"):
        path += ".png"
    save_png(image, path)
    return path


def save_png(image: QImage | Image.Image, path: str | Path) -> None:
    """Write ``image`` to ``path`` as PNG; OSError with the reason when the file cannot be written."""
    if isinstance(image, Image.Image):
        image.save(path, format="PNG")
        return
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path} (is the folder writable?)")


class LineLabel(QLabel):
    """A word-wrapped line of words above a page's pictures.

    A wrapped QLabel tells its layout that its height depends on its width, and a page whose layout says so is
    made as tall as all its parts would like inside the window's scroll area (so it scrolls at 1280×800). This
    one does not: it is as tall as its text needs at its size hint, and the pictures get the rest.
    """

    def hasHeightForWidth(self) -> bool:
        return False

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.width() > 50:  # laid out: as many lines as the text takes at this width
            return QSize(hint.width(), super().heightForWidth(self.width()))
        return hint

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # the lines it takes may have changed


def line_label(style: str = HINT_STYLE) -> QLabel:
    label = LineLabel(wordWrap=True)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)  # room goes to the pictures
    label.setStyleSheet(style)
    return label


def titled(title: str, widget: QWidget, hint: str = "") -> QWidget:
    """``widget`` under a small bold title (and a grey hint line under it)."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    head = QLabel(f"<b>{title}</b>")
    column.addWidget(head)
    column.addWidget(widget, 1)
    if hint:
        line = QLabel(hint, wordWrap=True)
        line.setStyleSheet(HINT_STYLE)
        column.addWidget(line)
    return box
