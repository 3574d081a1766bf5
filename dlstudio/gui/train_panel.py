"""A generic training panel: recipe, model, data, task and [train] settings as forms; Start (which lists every
problem of the form at once); export/import spec.

Plugins use it as their Train page (or embed it); it is also what "clone" fills from a run's spec. A spec is
shown exactly or refused with the message ``dlstudio train`` gives, and the panel keeps what it showed.
"""

from __future__ import annotations

from collections.abc import Callable
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
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from dlstudio.gui.choice_form import ChoiceWithForm
from dlstudio.gui.context import StudioContext
from dlstudio.gui.forms import (
    NoWheelComboBox,
    NoWheelSpinBox,
    ParamForm,
    completed_spec,
    link_forms,
    spec_differences,
    train_form_parts,
    unshowable_in_forms,
)
from dlstudio.gui.pages import StackWhenNarrow
from dlstudio.gui.panel_memory import PanelMemory
from dlstudio.spec import RunSpec, SpecError

CUSTOM = "— custom —"


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

        self.recipe_combo = NoWheelComboBox()
        # Long recipe titles elide in a narrow window instead of setting the page's width.
        self.recipe_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.recipe_combo.setMinimumContentsLength(16)
        self.recipe_combo.addItem(CUSTOM, "")
        for recipe in self.recipes.values():
            self.recipe_combo.addItem(recipe.title, recipe.id)
        self.recipe_info = QLabel(wordWrap=True)
        self.recipe_combo.currentIndexChanged.connect(self._apply_recipe)

        self.model_box = ChoiceWithForm("Model", models)
        self.data_box = ChoiceWithForm("Data", datasets)
        #: The task the run trains with: a choice only where more than one fits the model and the data.
        self.task_box = ChoiceWithForm("Task", [])
        self.model_box.changed.connect(self._update_tasks)
        self.data_box.changed.connect(self._update_tasks)
        self.model_box.changed.connect(self._show_carried)
        basic, advanced, choices = train_form_parts()
        self.train_form = ParamForm(basic, choices)
        self.advanced_form = ParamForm(advanced, choices)
        # The scheduler (basic) decides which advanced fields apply (gamma, milestones, patience...).
        link_forms(self.train_form, self.advanced_form)
        self.advanced_box = QCollapsible("Advanced")
        self.advanced_box.addWidget(self.advanced_form)
        #: Why the last :meth:`load_spec` refused a spec of this panel's model and data ("" when it did not).
        self.refusal = ""
        #: Settings of a loaded spec that have no field here (a weights file, plugins' callbacks): carried
        #: into the spec the form makes, and said so, never dropped in silence. Weights go with their model.
        self.carried_weights: tuple[str, str] | None = None  # (model id, file)
        self.carried_callbacks: list[str] = []
        self.carried_label = QLabel(wordWrap=True)
        self.carried_label.setObjectName("carried_settings")
        self.carried_label.hide()
        self.name_edit = QLineEdit(placeholderText="run name (optional)")
        self.seed_spin = NoWheelSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.device_edit = QLineEdit(placeholderText="auto: the device chosen in the toolbar")
        self.device_edit.setObjectName("run_device")
        self.device_edit.setToolTip("[run] device of this run: cpu, cuda, cuda:1, mps... Leave it empty to use "
                                    "the device chosen in the toolbar when the run starts.")

        train_box = QGroupBox("Training")
        train_layout = QVBoxLayout(train_box)
        top = QFormLayout()
        top.addRow("Name", self.name_edit)
        top.addRow("Seed", self.seed_spin)
        top.addRow("Device", self.device_edit)
        train_layout.addLayout(top)
        train_layout.addWidget(self.train_form)
        train_layout.addWidget(self.advanced_box)
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
        left.addWidget(self.task_box)
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
        body_layout.addWidget(self.carried_label)
        body_layout.addLayout(columns)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(body)
        self._columns = StackWhenNarrow(scroll, columns)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addLayout(buttons)
        self.recipe_info.hide()
        #: More problems that stop Start, each function giving its lines (a page whose shared settings another
        #: page holds: "Data page › Rotation: 'x' is not a number").
        self.extra_problems: list[Callable[[], list[str]]] = []
        #: The queue tickets of the runs this panel started (a page follows them: "Evaluate this run").
        self.started_tickets: set[str] = set()
        #: Above zero while the panel fills its own fields (a recipe, a loaded spec): not the user's edits.
        self._applying = 0
        self._update_tasks()
        if self.recipes:
            self.recipe_combo.setCurrentIndex(1)
        for box in (self.model_box, self.data_box, self.task_box):
            box.changed.connect(self._edited)
        for form in (self.train_form, self.advanced_form):
            form.changed.connect(self._edited)
        #: The form's values, remembered across restarts and restored here (what no longer applies is
        #: dropped with a note: :attr:`PanelMemory.notes`).
        self.memory = PanelMemory(self, f"{family}.train")

    def hideEvent(self, event: Any) -> None:  # the window closing: write a change still waiting
        self.memory.flush()
        super().hideEvent(event)

    # -- tasks -------------------------------------------------------------------------------------
    def fitting_tasks(self, model_id: str, data_id: str) -> list[Any]:
        """The registered tasks both the model and the dataset support, in the model's order."""
        model, data = self.model_box.items.get(model_id), self.data_box.items.get(data_id)
        if model is None or data is None:
            return []
        tasks = self.context.studio.registry.tasks
        return [tasks.get(t) for t in dict.fromkeys(model.tasks) if t in data.tasks and t in tasks]

    def _update_tasks(self) -> None:
        model_id, data_id = self.model_box.current_id(), self.data_box.current_id()
        tasks = self.fitting_tasks(model_id, data_id)
        self.task_box.set_items(tasks)
        self.task_box.combo.setVisible(len(tasks) > 1)
        form = self.task_box.form()
        self.task_box.setTitle(f"Task: {tasks[0].title}" if len(tasks) == 1 else "Task")
        if not tasks and model_id and data_id:
            self.task_box.description.setText(self._no_common_task(model_id, data_id))
            self.task_box.description.show()
        self.task_box.setVisible(len(tasks) != 1 or bool(form and form.params))

    def _no_common_task(self, model_id: str, data_id: str) -> str:
        model, data = self.model_box.items[model_id], self.data_box.items[data_id]
        return (f"{model.title} ({', '.join(model.tasks)}) and {data.title} ({', '.join(data.tasks)}) have no "
                "registered task in common: choose another model or dataset.")

    # -- spec <-> form -----------------------------------------------------------------------------
    def problems(self, *, mark: bool = False) -> list[str]:
        """Every problem of the settings shown, each naming its field ("Training › Learning rate: ...");
        with ``mark``, the fields at fault are marked and their problem shown under them."""
        model_id, data_id = self.model_box.current_id(), self.data_box.current_id()
        out = [f"{box.section}: choose one" for box in (self.model_box, self.data_box) if not box.current_id()]
        if model_id and data_id and not self.task_box.current_id():
            out.append(f"Task: {self._no_common_task(model_id, data_id)}")
        for box in (self.model_box, self.data_box, self.task_box):
            out += box.problems(mark)
        for extra in self.extra_problems:
            out += extra()
        for form in (self.train_form, self.advanced_form):
            found = form.validate() if mark else form.problems()
            out += [f"Training › {problem}" for problem in found]
            if found and mark and form is self.advanced_form:
                self.advanced_box.expand(animate=False)
        return out

    def current_spec(self) -> RunSpec:
        """The run the form describes; raises SpecError listing every problem, one line each."""
        problems = self.problems()
        if problems:
            raise SpecError("\n".join(problems))
        task_form = self.task_box.form()
        model_id = self.model_box.current_id()
        weights = self.carried_weights[1] if self.carried_weights and self.carried_weights[0] == model_id else ""
        raw = {
            "run": {"name": self.name_edit.text().strip(), "task": self.task_box.current_id(),
                    "seed": self.seed_spin.value(), "device": self.device_edit.text().strip() or "auto",
                    "callbacks": list(self.carried_callbacks)},
            "model": {"id": model_id, "weights": weights, "params": self.model_box.form().values()},
            "data": {"id": self.data_box.current_id(), "params": self.data_box.form().values()},
            "task": {"params": task_form.values() if task_form is not None else {}},
            "train": {**self.train_form.values(), **self.advanced_form.values()},
        }
        return RunSpec.from_dict(raw, source="the form")

    def load_spec(self, spec: dict[str, Any]) -> bool:
        self._applying += 1
        try:
            return self._load_spec(spec)
        finally:
            self._applying -= 1

    def _load_spec(self, spec: dict[str, Any]) -> bool:
        """Show a spec dict (a run's, for "clone") exactly; False, with the panel as it was, if its model and
        data are not this panel's, or if ``dlstudio train`` would refuse it or a field here cannot show it (then
        :attr:`refusal` says why, in the CLI's words)."""
        from dlstudio.runner import resolve_parts

        self.refusal = ""
        if not self._offers(spec):
            return False  # another panel's run: not a refusal (the window asks the next panel)
        try:
            parsed = RunSpec.from_dict(spec, source="spec")
            parts = resolve_parts(self.context.studio, parsed)
        except SpecError as exc:
            return self._refuse([str(exc)])
        reasons = unshowable_in_forms(parsed, parts)
        if reasons:
            return self._refuse(reasons)
        expected = completed_spec(parsed, parts)
        previous = self._shown_spec()
        recipe_index, recipe_shown = self.recipe_combo.currentIndex(), not self.recipe_info.isHidden()
        self._show(parsed, parts)
        shown = self._shown_spec()
        if shown is None or shown.to_dict() != expected:  # a field that altered a value: never keep that
            reasons = self.problems() if shown is None else [
                f"{key}: the form cannot show it exactly" for key in spec_differences(expected, shown.to_dict())]
            if previous is not None:
                self._show(previous, None)
            self.recipe_combo.blockSignals(True)
            self.recipe_combo.setCurrentIndex(recipe_index)
            self.recipe_combo.blockSignals(False)
            self.recipe_info.setVisible(recipe_shown)
            return self._refuse(reasons)
        return True

    def _offers(self, spec: Any) -> bool:
        """Whether ``spec`` names one of this panel's models and one of its datasets."""
        ids = [section.get("id") if isinstance(section, dict) else None
               for section in (spec.get("model"), spec.get("data"))] if isinstance(spec, dict) else [None, None]
        return ids[0] in self.model_box.items and ids[1] in self.data_box.items

    def _refuse(self, reasons: list[str]) -> bool:
        self.refusal = "; ".join(reasons)
        self.context.notify(f"cannot show the settings of this run: {self.refusal}", "warning")
        return False

    def _shown_spec(self) -> RunSpec | None:
        """The spec the form shows, or None while it has problems."""
        try:
            return self.current_spec()
        except SpecError:
            return None

    def _show(self, parsed: RunSpec, parts: Any) -> None:
        """Fill every field from ``parsed`` (its parameters completed by ``parts`` when given)."""
        self.recipe_combo.blockSignals(True)
        self.recipe_combo.setCurrentIndex(0)
        self.recipe_combo.blockSignals(False)
        self.recipe_info.hide()
        params = ((parts.model_params, parts.data_params, parts.task_params) if parts is not None else
                  (parsed.model.params, parsed.data.params, parsed.task.params))
        self.model_box.select(parsed.model.id, params[0])
        self.data_box.select(parsed.data.id, params[1])
        self._update_tasks()
        self.task_box.select(parsed.run.task, params[2])
        self._update_tasks()
        train = parsed.to_dict()["train"]
        self.train_form.set_values(train)
        self.advanced_form.set_values(train)
        self.name_edit.setText(parsed.run.name)
        self.seed_spin.setValue(parsed.run.seed)
        self.device_edit.setText("" if parsed.run.device == "auto" else parsed.run.device)
        self.carried_weights = (parsed.model.id, parsed.model.weights) if parsed.model.weights else None
        self.carried_callbacks = list(parsed.run.callbacks)
        self._show_carried()

    def _show_carried(self) -> None:
        parts = []
        if self.carried_weights and self.carried_weights[0] == self.model_box.current_id():
            parts.append(f"initial weights from <code>{self.carried_weights[1]}</code>")
        if self.carried_callbacks:
            parts.append(f"callbacks {', '.join(self.carried_callbacks)}")
        self.carried_label.setText("<b>Also from the loaded spec:</b> " + "; ".join(parts) if parts else "")
        self.carried_label.setVisible(bool(parts))

    def _edited(self) -> None:
        """The user changed a setting: the run is no longer the recipe's, nor named after it."""
        recipe = self.recipes.get(self.recipe_combo.currentData() or "")
        if self._applying or recipe is None:
            return
        self.recipe_combo.blockSignals(True)
        self.recipe_combo.setCurrentIndex(0)
        self.recipe_combo.blockSignals(False)
        self.recipe_info.hide()
        if self.name_edit.text() == recipe.title:
            self.name_edit.clear()

    def _apply_recipe(self) -> None:
        recipe = self.recipes.get(self.recipe_combo.currentData() or "")
        if recipe is None:
            self.recipe_info.hide()
            return
        spec = RunSpec.from_dict(recipe.spec, source=f"recipe {recipe.id}").to_dict()
        self._applying += 1
        try:
            self.load_spec(spec)
        finally:
            self._applying -= 1
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
        spec = self._checked_spec("Cannot start the run")
        if spec is None:
            return None
        ticket = self.context.start_run(spec)
        if ticket is not None:
            self.started_tickets.add(ticket)
            self.run_requested.emit(spec)
        return ticket

    def _checked_spec(self, title: str) -> RunSpec | None:
        """The spec shown, or None after telling the user every problem at once (the fields marked)."""
        problems = self.problems(mark=True)
        if not problems:
            try:
                return self.current_spec()
            except SpecError as exc:
                problems = str(exc).splitlines()
        message = problems[0] if len(problems) == 1 else (
            f"{len(problems)} settings need fixing:\n" + "\n".join(f"• {problem}" for problem in problems))
        self.context.show_error(title, message)
        return None

    def export_spec(self) -> None:
        spec = self._checked_spec("Cannot export the spec")
        if spec is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run spec", "run.toml", "Run spec (*.toml)")
        if path:
            spec.save(path)
            self.context.notify(f"wrote {path}; replay it with: dlstudio train {path}")

    def import_spec(self) -> None:
        from dlstudio.runner import resolve_parts

        path, _ = QFileDialog.getOpenFileName(self, "Import run spec", "", "Run spec (*.toml)")
        if not path:
            return
        try:  # what ``dlstudio train PATH`` checks first, and says in its words
            spec = RunSpec.load(Path(path))
            resolve_parts(self.context.studio, spec)
        except SpecError as exc:
            self.context.show_error("Cannot import the spec", str(exc) if path in str(exc) else f"{path}: {exc}")
            return
        if not self.load_spec(spec.to_dict()):
            self.context.show_error("Cannot import the spec", f"{path}: {self.refusal}" if self.refusal else
                                    f"{path} uses model {spec.model.id!r} / data {spec.data.id!r}, "
                                    "which this panel does not offer")

