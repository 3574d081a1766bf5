"""The page a panel is shown on: the panel itself when it scrolls on its own, else the panel in a scroll area.
One scroll level per page, so a page's own buttons (Start training under a scrolling form) stay in view."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QBoxLayout, QFrame, QScrollArea, QSizePolicy, QStackedWidget, QTabWidget, QWidget


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


def size_to_current(stack: QTabWidget | QStackedWidget) -> Callable[[], None]:
    """Only the page shown counts toward the stack's minimum size. Qt counts every page's, so one tall page that
    is not even shown (the inspector's) kept the window from fitting 1024×640 once the run dock opened. A hidden
    page's size policy is Ignored (Qt's own way to leave a widget out of its layout's minimum), and its own policy
    comes back when it is shown. Returns the function that applies it again (call it after adding pages)."""
    def follow(_index: int = -1) -> None:
        current = stack.currentWidget()
        for index in range(stack.count()):
            page = stack.widget(index)
            own = page.property("dlstudio_own_size_policy")
            if own is None:
                own = page.sizePolicy()
                page.setProperty("dlstudio_own_size_policy", own)
            page.setSizePolicy(own if page is current else QSizePolicy(QSizePolicy.Policy.Ignored,
                                                                        QSizePolicy.Policy.Ignored))
        stack.updateGeometry()

    follow()
    stack.currentChanged.connect(follow)
    return follow


class StackWhenNarrow(QObject):
    """Side-by-side columns in a scroll area that go one under the other when the area is narrower than they
    want, so a narrow window scrolls a form down (as people expect) instead of sideways (issue 14: at 1024 px
    the Train page's Training column was cut off)."""

    def __init__(self, area: QScrollArea, columns: QBoxLayout) -> None:
        super().__init__(area)
        self.area, self.columns = area, columns
        area.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit(watched.width())
        return False

    def fit(self, width: int) -> None:
        wanted = sum(self.columns.itemAt(i).sizeHint().width() for i in range(self.columns.count()))
        wanted += self.columns.spacing() * max(self.columns.count() - 1, 0) + 24  # the body's own margins
        direction = (QBoxLayout.Direction.LeftToRight if width >= wanted else QBoxLayout.Direction.TopToBottom)
        if self.columns.direction() != direction:
            self.columns.setDirection(direction)
