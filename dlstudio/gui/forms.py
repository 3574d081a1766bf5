"""Forms built from parameter declarations (:mod:`dlstudio.params`): the widget follows the default's type,
its choices, range and kind; a field shows its problem as soon as it is typed, the whole form is validated at
once (each problem naming its field), and fields that do not apply are hidden."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.concepts import concept_for
from dlstudio.gui.fields import (  # noqa: F401 - re-exported: plugins' panels import them from here
    ERROR_STYLE,
    INT_RANGE,
    INVALID_STYLE,
    ChoiceBox,
    ConceptButton,
    NoWheelComboBox,
    NoWheelSpinBox,
    PathEdit,
    list_text,
    parse_list,
    tooltip,
)
from dlstudio.gui.form_specs import (  # noqa: F401 - re-exported: the Train panel and tests import them from here
    completed_spec,
    spec_differences,
    unshowable,
    unshowable_in_forms,
)
from dlstudio.gui.train_fields import BASIC_TRAIN_KEYS, TRAIN_HELP, train_form_parts  # noqa: F401 - re-exported
from dlstudio.params import (
    Param,
    choice_problem,
    describe,
    empty_problem,
    param_defaults,
    param_title,
    range_problem,
    resolve_choices,
)
from dlstudio.spec import SpecError, toml_literal


class ParamForm(QWidget):
    """One row per parameter. ``values()`` returns typed values or raises SpecError naming the fields;
    ``validate()`` lists every problem at once and marks the fields at fault."""

    changed = Signal()

    def __init__(self, defaults: Mapping[str, Any], choices: Mapping[str, Any] | None = None,
                 help_texts: Mapping[str, str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.params = describe(defaults, choices)
        #: The plain default of each parameter.
        self.defaults = param_defaults(defaults)
        self.choices = dict(choices or {})
        self._widgets: dict[str, QWidget] = {}
        self._errors: dict[str, QLabel] = {}
        self._buttons: dict[str, QPushButton] = {}
        #: The "?" of each field whose idea :mod:`dlstudio.gui.concepts` explains.
        self._concepts: dict[str, ConceptButton] = {}
        self._options: dict[str, list] = {}
        self._choice_errors: dict[str, str] = {}
        self._marked: dict[str, str] = {}
        self._rows: dict[str, QWidget] = {}
        #: Forms whose values the ``applies`` of this form's parameters also read (see :func:`link_forms`).
        self._linked: list[ParamForm] = []
        self._refreshing = False
        self._has_concepts = any(concept_for(key) for key in self.params)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for key, param in self.params.items():
            concept = concept_for(key)
            extra = (help_texts or {}).get(key, "") or ("" if param.help or concept is None else concept.summary)
            tip = tooltip(key, param, extra)
            label = QLabel(param_title(key, param))
            label.setToolTip(tip)
            self._rows[key] = self._row(key, param, tip)
            layout.addRow(label, self._rows[key])
        for key, param in self.params.items():
            if not callable(param.choices):
                self._set(key, param.default)
        self._refresh_choices()
        self.show_applicable()

    # -- building ----------------------------------------------------------------------------------
    def _row(self, key: str, param: Param, tip: str) -> QWidget:
        widget = self._make(key, param)
        widget.setObjectName(f"param_{key}")
        widget.setToolTip(tip)
        self._widgets[key] = widget
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(widget, 1)
        if param.unit:
            line.addWidget(QLabel(param.unit))
        concept = concept_for(key)
        if concept is not None:
            self._concepts[key] = ConceptButton(concept)
            line.addWidget(self._concepts[key])
        elif self._has_concepts:  # the same room as a "?", so that the fields of the form line up
            room = ConceptButton(None)
            room.setEnabled(False)
            size_policy = room.sizePolicy()
            size_policy.setRetainSizeWhenHidden(True)
            room.setSizePolicy(size_policy)
            room.hide()
            line.addWidget(room)
        if param.kind:
            button = QPushButton("Browse…")
            button.setToolTip(f"Choose the {param.kind}")
            button.clicked.connect(lambda _=False, k=key: self.browse(k))
            self._buttons[key] = button
            line.addWidget(button)
        error = QLabel(wordWrap=True)
        error.setStyleSheet(ERROR_STYLE)
        error.hide()
        self._errors[key] = error
        row = QWidget()
        column = QVBoxLayout(row)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(line)
        column.addWidget(error)
        return row

    def _make(self, key: str, param: Param) -> QWidget:
        default = param.default

        def on_change(*_: Any) -> None:
            self._field_changed(key)

        if param.choices is not None:
            box = ChoiceBox()
            if not callable(param.choices):
                box.set_options(list(param.choices), default, param.choice_labels)
            box.currentIndexChanged.connect(on_change)
            return box
        if isinstance(default, bool):
            check = QCheckBox()
            check.toggled.connect(on_change)
            return check
        if isinstance(default, int):
            spin = NoWheelSpinBox()
            low = INT_RANGE[0] if param.minimum is None else max(INT_RANGE[0], math.ceil(param.minimum))
            high = INT_RANGE[1] if param.maximum is None else min(INT_RANGE[1], math.floor(param.maximum))
            # Typing is free (a value out of range is marked, with why); the arrows stay within the range.
            spin.setRange(*INT_RANGE)
            spin.set_step_bounds(low, high)
            spin.valueChanged.connect(on_change)
            return spin
        # Any text field takes a dropped file or folder as its path (a path parameter not declared as one).
        edit = PathEdit(param.kind) if isinstance(default, str) else QLineEdit()
        if isinstance(default, float):
            edit.setValidator(QDoubleValidator())
        edit.textChanged.connect(on_change)
        return edit

    # -- public ------------------------------------------------------------------------------------
    def widget(self, key: str) -> QWidget:
        """The field of ``key`` (a QLineEdit for a path; its Browse button is :meth:`browse_button`)."""
        return self._widgets[key]

    def browse_button(self, key: str) -> QPushButton:
        return self._buttons[key]

    def concept_button(self, key: str) -> ConceptButton | None:
        """The "?" beside the field of ``key`` (None when no explanation is written for it)."""
        return self._concepts.get(key)

    def error_text(self, key: str) -> str:
        """What is shown under the field of ``key`` (a problem, or why its choices could not be listed)."""
        label = self._errors[key]
        return label.text() if not label.isHidden() else ""

    def is_shown(self, key: str) -> bool:
        """Whether the field of ``key`` is shown: it applies to the other values (or it holds a problem)."""
        return not self._rows[key].isHidden()

    def current_values(self) -> dict[str, Any]:
        """Every parameter's value as far as it can be read: a field that cannot be read counts as its default."""
        out = {}
        for key, param in self.params.items():
            value, problem = self._read(key)
            out[key] = param.default if problem or value is None else value
        return out

    def show_applicable(self) -> None:
        """Show the fields that apply to the values of this form and of its linked forms; hide the others,
        except one holding a problem (it stays in sight until it is put right)."""
        values = {}
        for form in self._linked:
            values.update(form.current_values())
        values.update(self.current_values())
        layout = self.layout()
        for key, param in self.params.items():
            applies = param.applies is None or key in self._marked or bool(param.applies(values))
            if self._rows[key].isHidden() == applies:
                layout.setRowVisible(self._rows[key], applies)

    def is_marked(self, key: str) -> bool:
        """Whether the last :meth:`validate` marked the field of ``key`` as invalid."""
        return key in self._marked

    def values(self) -> dict[str, Any]:
        """Every parameter's value, typed; raises SpecError listing every problem, one line each."""
        values, problems = self._check()
        if problems:
            raise SpecError("\n".join(self._line(key, text) for key, text in problems.items()))
        return values

    def problems(self) -> list[str]:
        """Every problem of the form, one per field at fault, each naming it ("Dropout: 1.5 is above ...")."""
        return [self._line(key, text) for key, text in self._check()[1].items()]

    def validate(self) -> list[str]:
        """:meth:`problems`, with the fields at fault marked and their problem shown under them."""
        self._refresh_choices()
        problems = self._check()[1]
        for key in list(self._marked):
            if key not in problems:
                self._unmark(key)
        for key, text in problems.items():
            self._mark(key, text)
        self.show_applicable()
        return [self._line(key, text) for key, text in problems.items()]

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (unknown keys are ignored); callable choices are listed again afterwards."""
        for key, value in values.items():
            if key in self._widgets:
                self._set(key, value)
                self._unmark(key)
        self._refresh_choices()
        self.show_applicable()
        self.changed.emit()

    def browse(self, key: str) -> None:
        """Choose the file or folder of ``key`` with a dialog."""
        param, edit = self.params[key], self._widgets[key]
        title = param_title(key, param)
        if param.kind == "folder":
            path = QFileDialog.getExistingDirectory(self, title, edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, edit.text(), param.file_filter)
        if path:
            edit.setText(path)

    # -- reading and writing -----------------------------------------------------------------------
    def _line(self, key: str, text: str) -> str:
        return f"{param_title(key, self.params[key])}: {text}"

    def _check(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for key in self.params:
            values[key], problem = self._checked(key)
            if problem:
                problems[key] = problem
        return values, problems

    def _checked(self, key: str) -> tuple[Any, str]:
        """The value of ``key`` and what is wrong with it ("" when nothing)."""
        param = self.params[key]
        value, problem = self._read(key)
        if not problem:
            problem = range_problem(param, value) or empty_problem(param, param_title(key, param), value)
        if not problem and callable(param.choices) and self._choice_errors.get(key):
            problem = f"the choices could not be listed: {self._choice_errors[key]}"
        elif not problem and param.choices is not None:
            options = self._options.get(key, []) if callable(param.choices) else list(param.choices)
            problem = "nothing to choose from" if value is None else choice_problem(value, options)
        return value, problem

    def _read(self, key: str) -> tuple[Any, str]:
        widget, default = self._widgets[key], self.params[key].default
        if isinstance(widget, ChoiceBox):
            return widget.current_value(), ""
        if isinstance(widget, QCheckBox):
            return widget.isChecked(), ""
        if isinstance(widget, QSpinBox):
            return widget.value(), ""
        text = widget.text().strip()
        if isinstance(default, str):
            return text, ""
        if isinstance(default, list):
            return parse_list(text, default)
        try:
            if isinstance(default, float):
                return float(text), ""
            value = tomllib.loads(f"v = {text or toml_literal(default)}")["v"]
        except (ValueError, tomllib.TOMLDecodeError):
            example = toml_literal(default)
            kind = "a number" if isinstance(default, float) else f"a {type(default).__name__} like {example}"
            return None, f"{text!r} is not {kind}"
        if not isinstance(value, type(default)):
            return None, f"expected a {type(default).__name__}, got {text!r}"
        return value, ""

    def _set(self, key: str, value: Any) -> None:
        widget = self._widgets[key]
        widget.blockSignals(True)
        if isinstance(widget, ChoiceBox):
            widget.choose(value)
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(value))
        elif isinstance(value, str):
            widget.setText(value)
        elif isinstance(value, float):
            widget.setText(repr(value))
        elif isinstance(value, list):
            widget.setText(list_text(value))
        else:
            widget.setText(toml_literal(value))
        widget.blockSignals(False)

    # -- reactions ---------------------------------------------------------------------------------
    def _field_changed(self, key: str) -> None:
        if self._refreshing:
            return
        self._refresh_choices(skip=key)
        problem = self._checked(key)[1]  # shown as soon as it is typed, not only at Start
        if problem:
            self._mark(key, problem)
        else:
            self._unmark(key)
        self.show_applicable()
        self.changed.emit()

    def _refresh_choices(self, skip: str = "") -> None:
        """List callable choices again from the other fields' values (unreadable ones count as defaults)."""
        dependent = [k for k, p in self.params.items() if callable(p.choices) and k != skip]
        if not dependent:
            return
        current = {}
        for key, param in self.params.items():
            value, problem = self._read(key)
            current[key] = param.default if problem or value is None else value
        self._refreshing = True
        try:
            for key in dependent:
                param, box = self.params[key], self._widgets[key]
                wanted = box.current_value() if box.count() else param.default
                try:
                    options, error = resolve_choices(param, current), ""
                except Exception as exc:  # a plugin's function: whatever it raises is shown under the field
                    options, error = [], f"{type(exc).__name__}: {exc}"
                if wanted == param.default and wanted not in options and options:
                    wanted = options[0]  # the default was a placeholder ("" before a file is chosen)
                self._options[key], self._choice_errors[key] = options, error
                box.set_options(options, wanted, param.choice_labels)
                self._unmark(key)  # listed again: what was marked may no longer hold
                self._show_error(key)
        finally:
            self._refreshing = False

    def _mark(self, key: str, text: str) -> None:
        self._marked[key] = text
        self._widgets[key].setStyleSheet(INVALID_STYLE)
        self._show_error(key)

    def _unmark(self, key: str) -> None:
        if self._marked.pop(key, None) is not None:
            self._widgets[key].setStyleSheet("")
            self._show_error(key)

    def _show_error(self, key: str) -> None:
        text = self._marked.get(key) or (
            f"the choices could not be listed: {self._choice_errors[key]}" if self._choice_errors.get(key) else "")
        self._errors[key].setText(text[:1].upper() + text[1:])
        self._errors[key].setVisible(bool(text))


def link_forms(*forms: ParamForm) -> None:
    """Let the ``applies`` of each form's parameters read the values of the others (the Train panel's basic
    and advanced settings: the scheduler in one, its step size in the other), and follow their changes."""
    for form in forms:
        form._linked = [other for other in forms if other is not form]
        for other in form._linked:
            other.changed.connect(form.show_applicable)
    for form in forms:
        form.show_applicable()
