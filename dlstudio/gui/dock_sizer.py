"""The run dock's height: a one-line strip while idle, the user's height (remembered) while a run shows.

The strip is the dock's maximum height. A growing dock gets its height from ``QMainWindow.resizeDocks``; where
that raises TypeError (reported for some PySide builds) the dock is held at the wanted height until the window's
layout has placed it, then let go so the person may drag it again.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

#: Qt's QWIDGETSIZE_MAX: no maximum.
NO_MAXIMUM = 16_777_215
#: Height (px) of an expanded dock before the person chose one.
DEFAULT_HEIGHT = 300
#: The expanded dock's share of the window at most, so the page keeps room for its own buttons (at 640 px: 256).
MAX_SHARE = 0.4
SETTINGS_KEY = "window/dock_height"
#: How long (ms) a height set here is held before the person may drag it.
RELEASE_MS = 100


class DockSizer(QObject):
    """Follows the dock's ``expanded_changed`` and remembers the height the person drags it to."""

    def __init__(self, dock: QDockWidget, content: QWidget, settings: QSettings) -> None:
        super().__init__(dock)
        self.dock = dock
        self.content = content
        self.settings = settings
        try:
            self.height = int(settings.value(SETTINGS_KEY, DEFAULT_HEIGHT))
        except (TypeError, ValueError):
            self.height = DEFAULT_HEIGHT
        self._settling = False
        #: Lets go of the held height once the layout has placed the dock (a few event-loop turns).
        self._release = QTimer(self, singleShot=True, interval=RELEASE_MS)
        self._release.timeout.connect(self._let_go)
        dock.installEventFilter(self)
        self.window = dock.parentWidget()
        self._window_height = self.window.height() if self.window is not None else 0
        if self.window is not None:
            self.window.installEventFilter(self)
        content.expanded_changed.connect(self.apply)
        self.apply(content.expanded)

    def apply(self, expanded: bool) -> None:
        dock = self.dock
        self._settling = True
        self.content.layout().activate()
        if not expanded:
            dock.setMinimumHeight(0)
            dock.setMaximumHeight(dock.minimumSizeHint().height())
        else:
            wanted = self._wanted()
            dock.setMaximumHeight(NO_MAXIMUM)
            try:
                self.window.resizeDocks([dock], [wanted], Qt.Orientation.Vertical)
            except (TypeError, AttributeError):  # some PySide builds refuse it: hold the height instead
                dock.setFixedHeight(wanted)  # until the window's layout has placed it, then let go
        self._release.start()

    def _let_go(self) -> None:
        if self.content.expanded:
            self.dock.setMinimumHeight(0)
            self.dock.setMaximumHeight(NO_MAXIMUM)
        self._settling = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Resize:
            return False
        active = self.content.expanded and not self._settling
        if watched is self.window:
            # A window made taller gives a dock squeezed earlier its height back.
            if active and self.window.height() > self._window_height and self.dock.height() < self._wanted() - 4:
                self.apply(True)
            self._window_height = self.window.height()
        elif (active and watched is self.dock and not self.dock.isFloating() and self.dock.isVisible()
              and self.window is not None and self.window.height() == self._window_height):
            self.height = self.dock.height()  # the person dragged it (the window kept its size)
        return False

    def _wanted(self) -> int:
        limit = int(self.window.height() * MAX_SHARE) if self.window is not None else self.height
        return max(self.dock.minimumSizeHint().height(), min(self.height, limit))

    def remember(self) -> None:
        self.settings.setValue(SETTINGS_KEY, self.height)
