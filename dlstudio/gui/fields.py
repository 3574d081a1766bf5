"""The field widgets of parameter forms: spin boxes and combos that leave the mouse wheel to the page,
choices that can be refreshed, a path field with Browse and drag-and-drop, and tooltips from a Param."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from dlstudio.params import Param

INT_RANGE = (-(2**31) + 1, 2**31 - 1)
ERROR_STYLE = "color: #c62828;"
INVALID_STYLE = "border: 1px solid #c62828; border-radius: 2px;"


class _WheelWhenFocused:
    """The mouse wheel changes the field only once it has focus; otherwise the wheel scrolls the page (the
    ignored event goes on to the scroll area holding the form)."""

    def wheelEvent(self, event: Any) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class NoWheelSpinBox(_WheelWhenFocused, QSpinBox):
    """A spin box the mouse wheel changes only once it has focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel alone never gives it focus


class NoWheelComboBox(_WheelWhenFocused, QComboBox):
    """A combo box the mouse wheel changes only once it has focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


class ChoiceBox(NoWheelComboBox):
    """The choices of a parameter; a value that is not among them is kept, as an item marked so, until
    another is chosen (a cloned run's value is shown as it was, and validation names it)."""

    _STRAY = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentIndexChanged.connect(self._drop_stray)

    def set_options(self, options: list, value: Any) -> None:
        self.blockSignals(True)
        self.clear()
        for option in options:
            self.addItem(str(option), option)
        self.blockSignals(False)
        self.choose(value)

    def choose(self, value: Any) -> None:
        self.blockSignals(True)
        self._drop_stray(keep=-1)
        index = self.findData(value) if value is not None else -1
        if index < 0 and value not in (None, ""):  # "" is a placeholder default, not a value to keep
            self.addItem(f"{value} (not available)", value)
            self.setItemData(self.count() - 1, True, self._STRAY)
            index = self.count() - 1
        self.setCurrentIndex(index)
        self.blockSignals(False)

    def _drop_stray(self, keep: int | None = None) -> None:
        keep = self.currentIndex() if keep is None else keep
        for i in reversed(range(self.count())):
            if self.itemData(i, self._STRAY) and i != keep:
                self.removeItem(i)

    def current_value(self) -> Any:
        return self.currentData() if self.currentIndex() >= 0 else None


class PathEdit(QLineEdit):
    """A path field: dropping a local file (or folder, for kind "folder") inserts its path, not a URL."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setAcceptDrops(True)

    def dropped_path(self, mime: Any) -> str:
        """The local path a drop of ``mime`` would insert, or "" when it holds none that fits the kind."""
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir() if self.kind == "folder" else not path.is_dir():
                    return str(path)
        return ""

    def _judge(self, event: Any) -> bool:
        """Accept or refuse a drag of URLs; False for other drags (text: QLineEdit's own handling)."""
        if not event.mimeData().hasUrls():
            return False
        if self.dropped_path(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()
        return True

    def dragEnterEvent(self, event: Any) -> None:
        if not self._judge(event):
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if not self._judge(event):
            super().dragMoveEvent(event)

    def dropEvent(self, event: Any) -> None:
        if not event.mimeData().hasUrls():
            super().dropEvent(event)
            return
        path = self.dropped_path(event.mimeData())
        if path:
            self.setText(path)
            event.acceptProposedAction()
        else:
            event.ignore()


def tooltip(key: str, param: Param, extra: str = "") -> str:
    """A field's tooltip: the help text, then unit, range and the key a spec file uses."""
    lines = [text for text in (param.help, extra) if text]
    if param.unit:
        lines.append(f"Unit: {param.unit}")
    if param.minimum is not None and param.maximum is not None:
        lines.append(f"From {param.minimum!r} to {param.maximum!r}")
    elif param.minimum is not None:
        lines.append(f"At least {param.minimum!r}")
    elif param.maximum is not None:
        lines.append(f"At most {param.maximum!r}")
    lines.append(f"Key: {key}")
    return "\n".join(lines)
