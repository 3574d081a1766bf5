"""The field widgets of parameter forms: spin boxes and combos that leave the mouse wheel to the page,
choices that can be refreshed, a path field with Browse and drag-and-drop, lists as comma lists, and
tooltips from a Param."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QToolButton,
    QWidget,
)

from dlstudio.params import Param
from dlstudio.spec import toml_literal

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
    """A spin box the mouse wheel changes only once it has focus.

    :meth:`set_step_bounds` keeps the arrows inside a declared range while typing stays free, so that a
    value out of range (-3 epochs) is shown and marked by the form instead of being refused keystroke by
    keystroke without a word."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel alone never gives it focus
        self._step_bounds = (INT_RANGE[0], INT_RANGE[1])

    def set_step_bounds(self, low: int, high: int) -> None:
        self._step_bounds = (low, high)

    def stepBy(self, steps: int) -> None:
        low, high = self._step_bounds
        self.setValue(min(high, max(low, self.value() + steps * self.singleStep())))

    def stepEnabled(self) -> Any:
        low, high = self._step_bounds
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.value() > low:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self.value() < high:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags


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

    def set_options(self, options: list, value: Any, labels: Mapping[Any, str] | None = None) -> None:
        self.blockSignals(True)
        self.clear()
        for option in options:
            self.addItem(_label(labels, option), option)
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


def _label(labels: Mapping[Any, str] | None, option: Any) -> str:
    try:
        return (labels or {}).get(option) or str(option)
    except TypeError:  # an unhashable option (a list) has no label
        return str(option)


class PathEdit(QLineEdit):
    """A text field where dropping a local file or folder inserts its path, not its file:// URL: kind
    "folder" takes folders only, "file" files only, "" either (text fields that hold a path undeclared)."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setAcceptDrops(True)

    def dropped_path(self, mime: Any) -> str:
        """The local path a drop of ``mime`` would insert, or "" when it holds none that fits the kind."""
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if not self.kind or path.is_dir() == (self.kind == "folder"):
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


# -- lists as people type them -------------------------------------------------------------------------


def list_text(value: list) -> str:
    """A list as the comma list a person edits ("30, 60", "cat, dog"; "" when empty), or as TOML where a
    comma list could not say it (nested lists and tables, text with commas or quotes, text like a number)."""
    if all(_plain_item(item) for item in value):
        return ", ".join(item if isinstance(item, str) else toml_literal(item) for item in value)
    return toml_literal(value)


def _plain_item(item: Any) -> bool:
    if isinstance(item, (bool, int, float)):
        return True
    if not isinstance(item, str) or not item or item != item.strip() or any(c in item for c in ",\"'[]{}#="):
        return False
    return isinstance(_literal(item), str)  # "30" or "true" as text would read back as a number or a bool


def _literal(text: str) -> Any:
    """A TOML literal's value, or ``text`` itself when it is none (a bare word)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


_ITEM_KIND = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def parse_list(text: str, default: list) -> tuple[list | None, str]:
    """The list typed in a field, as a comma list ("30, 60") or as TOML ("[30, 60]"), and "" or why it is
    not one. Items take the type of the default's items (a whole number in a list of floats is that float)."""
    text = text.strip()
    if text.startswith("["):
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return None, f"{text!r} is not a list like {toml_literal(default or [1, 2])}"
        return value, ""
    words = [word.strip() for word in text.split(",")] if text else []
    if words and not words[-1]:
        words.pop()  # a trailing comma
    if any(not word for word in words):
        return None, f"{text!r} has an empty item between two commas"
    kinds = {type(item) for item in default}
    kind = kinds.pop() if len(kinds) == 1 else None
    out = []
    for word in words:
        item = word if kind is str else _literal(word)
        if kind is float and isinstance(item, int) and not isinstance(item, bool):
            item = float(item)
        if kind in _ITEM_KIND and type(item) is not kind:
            return None, f"{word!r} is not {_ITEM_KIND[kind]} (a comma list like {list_text(default)})"
        out.append(item)
    return out, ""


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


class ConceptButton(QToolButton):
    """A small "?" that explains the idea behind a setting (:mod:`dlstudio.gui.concepts`) in a window that
    does not block the form."""

    def __init__(self, concept: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.concept = concept
        self.box: QMessageBox | None = None
        self.setText("?")
        self.setObjectName("concept")
        if concept is not None:
            self.setToolTip(f"What is {concept.title.lower()}?")
        self.setAutoRaise(True)
        self.clicked.connect(self.explain)

    def explain(self) -> None:
        if self.box is None:
            self.box = QMessageBox(QMessageBox.Icon.Information, self.concept.title, self.concept.text,
                                   QMessageBox.StandardButton.Close, self.window())
            self.box.setModal(False)
        self.box.show()
        self.box.raise_()
