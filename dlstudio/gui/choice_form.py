"""A combo of registered items (models, datasets or tasks) with the parameter form of the chosen one: the
boxes of the Train panel."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from dlstudio.gui.forms import NoWheelComboBox, ParamForm
from dlstudio.params import param_defaults


class ChoiceWithForm(QGroupBox):
    """A combo of registered items (models, datasets or tasks) and the parameter form of the chosen one."""

    changed = Signal()

    def __init__(self, title: str, items: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.section = title
        self.items: dict[str, Any] = {}
        self.combo = NoWheelComboBox()
        self.description = QLabel(wordWrap=True)
        self.description.setStyleSheet("color: palette(mid);")
        self.forms: dict[str, ParamForm] = {}
        self._form_holder = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.combo)
        layout.addWidget(self.description)
        layout.addLayout(self._form_holder)
        self.combo.currentIndexChanged.connect(self._show_current)
        self.set_items(items)

    def set_items(self, items: list[Any]) -> None:
        """Offer ``items``, keeping the chosen one when it is still among them."""
        if [item.id for item in items] == list(self.items) and self.combo.count() == len(items):
            return
        current = self.current_id()
        self.items = {item.id: item for item in items}
        self.combo.blockSignals(True)
        self.combo.clear()
        for item in items:
            self.combo.addItem(item.title, item.id)
        self.combo.setCurrentIndex(max(self.combo.findData(current), 0) if items else -1)
        self.combo.blockSignals(False)
        self._show_current()

    def current_id(self) -> str:
        return self.combo.currentData() or ""

    def form(self) -> ParamForm | None:
        return self.forms.get(self.current_id())

    def _show_current(self) -> None:
        for form in self.forms.values():
            form.hide()
        ident = self.current_id()
        item = self.items.get(ident)
        self.description.setText(item.description if item else "")
        self.description.setVisible(bool(item and item.description))
        if item is not None:
            if ident not in self.forms:
                form = ParamForm(item.defaults, item.choices)
                form.changed.connect(self.changed)
                self.forms[ident] = form
                self._form_holder.addWidget(form)
            self.forms[ident].show()
        self.changed.emit()

    def select(self, ident: str, params: dict[str, Any]) -> bool:
        index = self.combo.findData(ident)
        if index < 0:
            return False
        self.combo.setCurrentIndex(index)
        form = self.form()
        if form is not None:
            form.set_values({**param_defaults(self.items[ident].defaults), **params})
        return True

    def problems(self, mark: bool) -> list[str]:
        """The problems of the chosen item's form, each prefixed with this box's section ("Model › ...")."""
        form = self.form()
        if form is None:
            return []
        return [f"{self.section} › {problem}" for problem in (form.validate() if mark else form.problems())]
