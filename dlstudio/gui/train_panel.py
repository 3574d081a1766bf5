"""A generic training panel: recipe, model, data and [train] settings as forms; Start; export/import spec.

Plugins use it as their Train page (or embed it); it is also what "clone" fills from a run's spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from dlstudio.gui.context import StudioContext
from dlstudio.gui.forms import ParamForm, train_form_parts
from dlstudio.spec import RunSpec, SpecError

CUSTOM = "— custom —"


class _ChoiceWithForm(QGroupBox):
    """A combo of registered items (models or datasets) and the parameter form of the chosen one."""

    changed = Signal()

    def __init__(self, title: str, items: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.items = {item.id: item for item in items}
        self.combo = QComboBox()
        for item in items:
            self.combo.addItem(item.title, item.id)
        self.description = QLabel(wordWrap=True)
        self.description.setStyleSheet("color: palette(mid);")
        self.forms: dict[str, ParamForm] = {}
        self._form_holder = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.combo)
        layout.addWidget(self.description)
        layout.addLayout(self._form_holder)
        self.combo.currentIndexChanged.connect(self._show_current)
        self._show_current()

    def current_id(self) -> str:
        return self.combo.currentData() or ""

    def form(self) -> ParamForm | None:
        return self.forms.get(self.current_id())

    def _show_current(self) -> None:
        for form in self.forms.values():
            form.hide()
        ident = self.current_id()
        if not ident:
            return
        item = self.items[ident]
        self.description.setText(item.description)
        self.description.setVisible(bool(item.description))
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
            form.set_values({**self.items[ident].defaults, **params})
        return True


class TrainPanel(QWidget):
    """Pick a recipe or compose a run from the family's models and datasets, then start it."""

    #: Emitted with the spec just queued for training.
    run_requested = Signal(object)

    def __init__(self, context: StudioContext, family: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.family = family
        registry = context.studio.registry
        models = [m for m in registry.models if m.family == family]
        datasets = [d for d in registry.datasets if d.family == family]
        self.recipes = {r.id: r for r in registry.recipes if r.family == family}

        self.recipe_combo = QComboBox()
        self.recipe_combo.addItem(CUSTOM, "")
        for recipe in self.recipes.values():
            self.recipe_combo.addItem(recipe.title, recipe.id)
        self.recipe_info = QLabel(wordWrap=True)
        self.recipe_combo.currentIndexChanged.connect(self._apply_recipe)

        self.model_box = _ChoiceWithForm("Model", models)
        self.data_box = _ChoiceWithForm("Data", datasets)
        basic, advanced, choices = train_form_parts()
        self.train_form = ParamForm(basic, choices)
        self.advanced_form = ParamForm(advanced, choices)
        advanced_box = QCollapsible("Advanced")
        advanced_box.addWidget(self.advanced_form)
        self.name_edit = QLineEdit(placeholderText="run name (optional)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)

        train_box = QGroupBox("Training")
        train_layout = QVBoxLayout(train_box)
        top = QFormLayout()
        top.addRow("Name", self.name_edit)
        top.addRow("Seed", self.seed_spin)
        train_layout.addLayout(top)
        train_layout.addWidget(self.train_form)
        train_layout.addWidget(advanced_box)
        train_layout.addStretch(1)

        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("start_training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        export_button = QPushButton("Export spec…")
        export_button.clicked.connect(self.export_spec)
        import_button = QPushButton("Import spec…")
        import_button.clicked.connect(self.import_spec)

        recipe_row = QHBoxLayout()
        recipe_row.addWidget(QLabel("Recipe"))
        recipe_row.addWidget(self.recipe_combo, 1)
        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.model_box)
        left.addWidget(self.data_box)
        left.addStretch(1)
        columns.addLayout(left, 1)
        columns.addWidget(train_box, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(import_button)
        buttons.addWidget(export_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.addLayout(recipe_row)
        body_layout.addWidget(self.recipe_info)
        body_layout.addLayout(columns)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addLayout(buttons)
        self.recipe_info.hide()
        if self.recipes:
            self.recipe_combo.setCurrentIndex(1)

    # -- spec <-> form -----------------------------------------------------------------------------
    def current_spec(self) -> RunSpec:
        """The run the form describes; raises SpecError naming the field at fault."""
        model_id, data_id = self.model_box.current_id(), self.data_box.current_id()
        if not model_id or not data_id:
            raise SpecError("choose a model and a dataset")
        model = self.model_box.items[model_id]
        train = {**self.train_form.values(), **self.advanced_form.values()}
        raw = {
            "run": {"name": self.name_edit.text().strip(), "task": model.tasks[0], "seed": self.seed_spin.value()},
            "model": {"id": model_id, "params": self.model_box.form().values()},
            "data": {"id": data_id, "params": self.data_box.form().values()},
            "train": train,
        }
        return RunSpec.from_dict(raw, source="the form")

    def load_spec(self, spec: dict[str, Any]) -> bool:
        """Fill the form from a spec dict (a run's, for "clone"); False if its model is not in this panel."""
        try:
            parsed = RunSpec.from_dict(spec, source="spec")
        except SpecError:
            return False
        if parsed.model.id not in self.model_box.items or parsed.data.id not in self.data_box.items:
            return False
        self.recipe_combo.blockSignals(True)
        self.recipe_combo.setCurrentIndex(0)
        self.recipe_combo.blockSignals(False)
        self.recipe_info.hide()
        self.model_box.select(parsed.model.id, parsed.model.params)
        self.data_box.select(parsed.data.id, parsed.data.params)
        train = parsed.to_dict()["train"]
        self.train_form.set_values(train)
        self.advanced_form.set_values(train)
        self.name_edit.setText(parsed.run.name)
        self.seed_spin.setValue(parsed.run.seed)
        return True

    def _apply_recipe(self) -> None:
        recipe = self.recipes.get(self.recipe_combo.currentData() or "")
        if recipe is None:
            self.recipe_info.hide()
            return
        spec = RunSpec.from_dict(recipe.spec, source=f"recipe {recipe.id}").to_dict()
        self.load_spec(spec)
        self.recipe_combo.blockSignals(True)
        self.recipe_combo.setCurrentIndex(self.recipe_combo.findData(recipe.id))
        self.recipe_combo.blockSignals(False)
        self.name_edit.setText(recipe.title)
        lines = [recipe.description] if recipe.description else []
        if recipe.reported_result:
            lines.append(f"<b>Reported result:</b> {recipe.reported_result}")
        if recipe.data_note:
            lines.append(f"<b>Data:</b> {recipe.data_note}")
        self.recipe_info.setText("<br>".join(lines))
        self.recipe_info.setVisible(bool(lines))

    # -- actions -----------------------------------------------------------------------------------
    def start(self) -> str | None:
        """Queue the run the form describes; its queue ticket, or None when it was refused."""
        try:
            spec = self.current_spec()
        except SpecError as exc:
            self.context.show_error("Cannot start the run", str(exc))
            return None
        ticket = self.context.start_run(spec)
        if ticket is not None:
            self.run_requested.emit(spec)
        return ticket

    def export_spec(self) -> None:
        try:
            spec = self.current_spec()
        except SpecError as exc:
            self.context.show_error("Cannot export the spec", str(exc))
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run spec", "run.toml", "Run spec (*.toml)")
        if path:
            spec.save(path)
            self.context.notify(f"wrote {path}; replay it with: dlstudio train {path}")

    def import_spec(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import run spec", "", "Run spec (*.toml)")
        if not path:
            return
        try:
            spec = RunSpec.load(Path(path))
        except SpecError as exc:
            self.context.show_error("Cannot import the spec", str(exc))
            return
        if not self.load_spec(spec.to_dict()):
            self.context.show_error("Cannot import the spec",
                                    f"{path} uses model {spec.model.id!r} / data {spec.data.id!r}, "
                                    "which this panel does not offer")
