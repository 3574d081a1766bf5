"""NumPy images → QImage, and a zoomable image view that reports which grid cell is under the mouse."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPixmap, QWheelEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton, QToolTip, QWidget


def to_qimage(array: np.ndarray) -> QImage:
    """(H, W) uint8 grey or (H, W, 3) uint8 RGB → a QImage that owns its pixels."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got {array.dtype}")
    h, w = array.shape[:2]
    if array.ndim == 2:
        return QImage(array.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(array.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageView(QScrollArea):
    """Shows an image scaled by an integer-ish zoom (nearest neighbour: pixels stay crisp).

    It fits the view (never cropped) until zoomed: the wheel zooms while the picture fits (Ctrl+wheel always), the
    corner's buttons zoom out and in, show it at 100 % or fit it again, as does a double-click. ``cell_at`` (set by
    the owner) maps an image pixel to a tooltip text, e.g. the stats of the feature map under the mouse.
    """

    clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        # Fitting to the view: the label must not ask for its pixmap's size, or the view could never shrink.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.label.setMouseTracking(True)
        self.label.mouseMoveEvent = self._hover  # type: ignore[method-assign]
        self.label.mousePressEvent = self._press  # type: ignore[method-assign]
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self._image: QImage | None = None
        self.zoom: float | None = None  # None: fit to the view
        self.cell_at: Callable[[int, int], str] | None = None
        # The zoom controls float over the top right corner (children of the view, not of what scrolls).
        self.controls = QWidget(self)
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(2, 2, 2, 2)
        row.setSpacing(1)
        self.zoom_label = QLabel()
        self.zoom_label.setStyleSheet("color: #555; background: rgba(255, 255, 255, 190); padding: 0 3px")
        row.addWidget(self.zoom_label)
        self.buttons: dict[str, QToolButton] = {}
        for key, text, tip, slot in (("out", "−", "Zoom out", self.zoom_out), ("in", "+", "Zoom in", self.zoom_in),
                                     ("actual", "100 %", "One screen pixel per picture pixel", self.actual_size),
                                     ("fit", "Fit", "The whole picture in the view (or double-click)", self.fit)):
            button = QToolButton(text=text, toolTip=tip, autoRaise=False)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[key] = button
        self.controls.hide()

    # -- zoom -----------------------------------------------------------------------------------------
    def scale(self) -> float:
        """Screen pixels per picture pixel now."""
        return self._scale()

    def fit(self) -> None:
        self.zoom = None
        self._redraw()

    def actual_size(self) -> None:
        self.zoom = 1.0
        self._redraw()

    def zoom_in(self) -> None:
        self._zoom_by(1.25)

    def zoom_out(self) -> None:
        self._zoom_by(0.8)

    def _zoom_by(self, factor: float) -> None:
        if self._image is not None:
            self.zoom = max(0.05, min(64.0, self._scale() * factor))
            self._redraw()

    def set_image(self, image: QImage | np.ndarray | None) -> None:
        if isinstance(image, np.ndarray):
            image = to_qimage(image)
        self._image = image
        self._redraw()

    def image(self) -> QImage | None:
        return self._image

    def _scale(self) -> float:
        if self._image is None or self._image.isNull():
            return 1.0
        if self.zoom is not None:
            return self.zoom
        view = self.viewport().size()
        return max(0.05, min(view.width() / self._image.width(), view.height() / self._image.height()))

    def _redraw(self) -> None:
        if self._image is None or self._image.isNull():
            self.label.clear()
            self.controls.hide()
            return
        s = self._scale()
        self.zoom_label.setText("fit" if self.zoom is None else f"{s:.0%}")
        self.controls.show()
        self.controls.adjustSize()
        self._place_controls()
        size = self._image.size() * s
        # Enlarging: nearest neighbour keeps pixels crisp. Shrinking: smooth, or thin grid lines vanish.
        mode = Qt.TransformationMode.FastTransformation if s >= 1 else Qt.TransformationMode.SmoothTransformation
        pixmap = QPixmap.fromImage(self._image).scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode)
        self.label.setPixmap(pixmap)
        fit = self.zoom is None
        self.setWidgetResizable(fit)
        if not fit:
            self.label.resize(pixmap.size().expandedTo(self.viewport().size()))

    def _place_controls(self) -> None:
        self.controls.move(max(0, self.viewport().width() - self.controls.width() - 2), 2)
        self.controls.raise_()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_controls()
        if self.zoom is None:
            self._redraw()

    def wheelEvent(self, event: QWheelEvent) -> None:
        # The wheel zooms a fitted picture (nothing to scroll); once zoomed in it scrolls, and Ctrl+wheel zooms.
        if self._image is not None and (self.zoom is None
                                        or event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self._zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)
            event.accept()
            return
        super().wheelEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()

    def _image_pos(self, pos: QPoint) -> tuple[int, int] | None:
        pixmap = self.label.pixmap()
        if self._image is None or pixmap is None or pixmap.isNull():
            return None
        ox = (self.label.width() - pixmap.width()) / 2
        oy = (self.label.height() - pixmap.height()) / 2
        s = pixmap.width() / self._image.width()
        x, y = int((pos.x() - ox) / s), int((pos.y() - oy) / s)
        if 0 <= x < self._image.width() and 0 <= y < self._image.height():
            return x, y
        return None

    def _hover(self, event: QMouseEvent) -> None:
        where = self._image_pos(event.position().toPoint())
        if where is not None and self.cell_at is not None:
            text = self.cell_at(*where)
            if text:
                QToolTip.showText(event.globalPosition().toPoint(), text, self.label)
                return
        QToolTip.hideText()

    def _press(self, event: QMouseEvent) -> None:
        where = self._image_pos(event.position().toPoint())
        if where is not None:
            self.clicked.emit(*where)
