"""The page a panel is shown on: the panel itself when it scrolls on its own, else the panel in a scroll area.
One scroll level per page, so a page's own buttons (Start training under a scrolling form) stay in view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


def page_for(panel: QWidget) -> QWidget:
    """The widget to put in the family's tabs for ``panel``."""
    return panel if scrolls_itself(panel) else scrollable(panel)


def scrolls_itself(panel: QWidget) -> bool:
    """A panel holding scroll areas of its own (a form that scrolls under fixed buttons, a zoomable picture) is
    not put in another: one scroll level per page, and its own buttons stay in view."""
    return isinstance(panel, QScrollArea) or panel.findChild(QScrollArea) is not None


def scrollable(panel: QWidget) -> QScrollArea:
    """A panel in a frameless, vertically scrolling area: one taller than the screen scrolls instead of
    making the window taller than the screen. Sideways it keeps its full width (forms scrolled
    sideways are hard to use), as it did before."""
    area = QScrollArea()
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(panel)
    area.setMinimumWidth(panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area
