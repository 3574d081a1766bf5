"""Forms built from parameter defaults: the widget follows the default's type (and its choices)."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from dlstudio.spec import SpecError, toml_literal

_INT_RANGE = (-(2**31) + 1, 2**31 - 1)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


class ParamForm(QWidget):
    """One row per parameter. ``values()`` returns typed values or raises SpecError naming the key."""

    changed = Signal()

    def __init__(self, defaults: Mapping[str, Any], choices: Mapping[str, list] | None = None,
                 help_texts: Mapping[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.defaults = dict(defaults)
        self.choices = dict(choices or {})
        self._widgets: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for key, default in self.defaults.items():
            widget = self._make(key, default)
            widget.setObjectName(f"param_{key}")
            if help_texts and key in help_texts:
                widget.setToolTip(help_texts[key])
            self._widgets[key] = widget
            layout.addRow(_label(key), widget)
        self.set_values(self.defaults)

    def _make(self, key: str, default: Any) -> QWidget:
        if key in self.choices:
            box = QComboBox()
            for option in self.choices[key]:
                box.addItem(str(option), option)
            box.currentIndexChanged.connect(self.changed)
            return box
        if isinstance(default, bool):
            check = QCheckBox()
            check.toggled.connect(self.changed)
            return check
        if isinstance(default, int):
            spin = QSpinBox()
            spin.setRange(*_INT_RANGE)
            spin.valueChanged.connect(self.changed)
            return spin
        edit = QLineEdit()
        if isinstance(default, float):
            edit.setValidator(QDoubleValidator())
        edit.textChanged.connect(self.changed)
        return edit

    def widget(self, key: str) -> QWidget:
        return self._widgets[key]

    def values(self) -> dict[str, Any]:
        return {key: self._read(key, widget) for key, widget in self._widgets.items()}

    def _read(self, key: str, widget: QWidget) -> Any:
        default = self.defaults[key]
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QSpinBox):
            return widget.value()
        text = widget.text().strip()
        if isinstance(default, str):
            return text
        try:
            if isinstance(default, float):
                return float(text)
            value = tomllib.loads(f"v = {text or toml_literal(default)}")["v"]
        except (ValueError, tomllib.TOMLDecodeError):
            example = toml_literal(default)
            kind = "a number" if isinstance(default, float) else f"a {type(default).__name__} like {example}"
            raise SpecError(f"{_label(key)}: {text!r} is not {kind}") from None
        if not isinstance(value, type(default)):
            raise SpecError(f"{_label(key)}: expected a {type(default).__name__}, got {text!r}")
        return value

    def set_values(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            widget = self._widgets.get(key)
            if widget is None:
                continue
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                index = widget.findData(value)
                widget.setCurrentIndex(max(index, 0))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QSpinBox):
                widget.setValue(int(value))
            elif isinstance(value, str):
                widget.setText(value)
            elif isinstance(value, float):
                widget.setText(repr(value))
            else:
                widget.setText(toml_literal(value))
            widget.blockSignals(False)
        self.changed.emit()


#: The [train] keys shown up front; the rest go under "Advanced".
BASIC_TRAIN_KEYS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "scheduler")


def train_form_parts() -> tuple[dict[str, Any], dict[str, Any], dict[str, list]]:
    """Defaults of [train] split into basic and advanced, and the choices of its enumerated keys."""
    from dlstudio.engine.optim import OPTIMIZERS, SCHEDULERS
    from dlstudio.spec import TrainSection

    defaults = dataclasses.asdict(TrainSection())
    basic = {k: defaults[k] for k in BASIC_TRAIN_KEYS}
    advanced = {k: v for k, v in defaults.items() if k not in basic}
    return basic, advanced, {"optimizer": list(OPTIMIZERS), "scheduler": list(SCHEDULERS)}
