"""Inspector pictures fit their view by default (never cropped), and zoom: the corner's buttons, 100 %, the wheel,
Fit."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from dlstudio_inspector.panels.qtimage import ImageView


@pytest.fixture
def view(qtbot):
    widget = ImageView()
    qtbot.addWidget(widget)
    widget.resize(300, 240)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_image(np.zeros((500, 1000, 3), np.uint8))  # wider than tall, larger than the view
    return widget


def _shown(view):
    return view.label.pixmap().size()


def test_a_picture_fits_its_view_whole(view):
    shown, room = _shown(view), view.viewport().size()
    assert shown.width() <= room.width() and shown.height() <= room.height()  # not cropped
    assert shown.width() >= room.width() - 1  # and as large as the view lets it be (the width binds here)
    assert shown.width() / shown.height() == pytest.approx(2.0, rel=0.02)
    assert view.buttons["fit"].isVisible() and view.zoom_label.text() == "fit"


def test_100_percent_then_fit(view, qtbot):
    qtbot.mouseClick(view.buttons["actual"], Qt.MouseButton.LeftButton)
    assert (_shown(view).width(), _shown(view).height()) == (1000, 500)
    assert view.horizontalScrollBar().maximum() > 0  # larger than the view: it scrolls
    assert view.zoom_label.text() == "100%"
    qtbot.mouseClick(view.buttons["fit"], Qt.MouseButton.LeftButton)
    assert _shown(view).width() <= view.viewport().width()


def test_zoom_buttons_and_the_wheel(view, qtbot):
    fitted = view.scale()
    qtbot.mouseClick(view.buttons["in"], Qt.MouseButton.LeftButton)
    assert view.scale() == pytest.approx(fitted * 1.25)
    qtbot.mouseClick(view.buttons["out"], Qt.MouseButton.LeftButton)
    assert view.scale() == pytest.approx(fitted)
    view.fit()
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(centre, view.mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(wheel)
    assert view.scale() == pytest.approx(fitted * 1.25)
