"""The run dock's height: a one-line strip while idle, the user's height (remembered) while a run shows.

``QMainWindow.resizeDocks`` raises TypeError in this PySide, so a dock is sized the way Qt's own layout allows:
its maximum height holds the strip, and a growing dock gets the wanted height as a minimum for one turn of the
event loop (the layout then keeps it), after which the person may drag it again.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

#: Qt's QWIDGETSIZE_MAX: no maximum.
NO_MAXIMUM = 16_777_215
#: Height (px) of an expanded dock before the person chose one.
DEFAULT_HEIGHT = 300
#: The expanded dock's share of the window at most, so the page keeps room for its own buttons.
MAX_SHARE = 0.5
SETTINGS_KEY = "window/dock_height"


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
        dock.installEventFilter(self)
        content.expanded_changed.connect(self.apply)
        self.apply(content.expanded)

    def apply(self, expanded: bool) -> None:
        dock = self.dock
        if not expanded:
            self._settling = True
            self.content.layout().activate()
            dock.setMinimumHeight(0)
            dock.setMaximumHeight(dock.minimumSizeHint().height())
            QTimer.singleShot(0, self._settled)
            return
        window = dock.parentWidget()
        limit = int(window.height() * MAX_SHARE) if window is not None else self.height
        wanted = max(dock.minimumSizeHint().height(), min(self.height, limit))
        self._settling = True
        dock.setMaximumHeight(NO_MAXIMUM)
        dock.setMinimumHeight(wanted)
        QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        self.dock.setMinimumHeight(0)
        self._settled()

    def _settled(self) -> None:
        self._settling = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A height the person gave the expanded dock (not one this class set) is the one to come back to.
        if (event.type() == QEvent.Type.Resize and not self._settling and self.content.expanded
                and not self.dock.isFloating() and self.dock.isVisible()):
            self.height = self.dock.height()
        return False

    def remember(self) -> None:
        self.settings.setValue(SETTINGS_KEY, self.height)
