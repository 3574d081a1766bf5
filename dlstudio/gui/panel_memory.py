"""A Train panel's values remembered across restarts: saved (shortly after each change) through
:meth:`StudioContext.remember`, restored when the panel is next built. What no longer applies — a model or
dataset gone, a file or folder gone, a parameter no longer taken — is dropped with a note
(:mod:`dlstudio.gui.remembered`), and a spec the form cannot show is refused in the CLI's words, never shown
half."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer

#: How long after the last change the values are written (typing a number writes once).
SAVE_DELAY_MS = 300


def _gone(path: str) -> bool:
    from pathlib import Path

    return bool(path) and not Path(path).expanduser().exists()


class PanelMemory(QObject):
    """Restores ``panel``'s remembered values now, then remembers them under ``key`` as they change."""

    def __init__(self, panel: Any, key: str) -> None:
        super().__init__(panel)
        self.panel = panel
        self.key = key
        #: What of the remembered values could not be restored, one sentence each (also told in the status bar).
        self.notes: list[str] = []
        self._timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        self.restore()
        for box in (panel.model_box, panel.data_box, panel.task_box):
            box.changed.connect(self._timer.start)
        for form in (panel.train_form, panel.advanced_form):
            form.changed.connect(self._timer.start)
        panel.recipe_combo.currentIndexChanged.connect(self._timer.start)
        for edit in (panel.name_edit, panel.device_edit):
            edit.textChanged.connect(self._timer.start)
        panel.seed_spin.valueChanged.connect(self._timer.start)
        panel.destroyed.connect(self._timer.stop)

    def _empty(self, gone: list[tuple[str, str]]) -> None:
        """Empty the fields whose remembered file or folder is gone (Start then asks for them)."""
        from dlstudio.params import param_defaults

        for section, key in gone:
            box = self.panel.model_box if section == "model" else self.panel.data_box
            form = box.form()
            form.set_values({key: param_defaults(box.items[box.current_id()].defaults)[key]})
            form.validate()
        weights = self.panel.carried_weights
        if weights and _gone(weights[1]):
            self.notes.append(f"the remembered initial weights {weights[1]} no longer exist: they were dropped")
            self.panel.carried_weights = None
            self.panel._show_carried()

    def save(self) -> None:
        """Remember the values shown now (values with a problem are not remembered: the last good ones stay)."""
        self._timer.stop()
        spec = self.panel._shown_spec()
        if spec is None:
            return
        self.panel.context.remember(self.key, {"recipe": self.panel.recipe_combo.currentData() or "",
                                               "spec": spec.to_dict()})

    def flush(self) -> None:
        """Write a change still waiting for its delay (the window is closing)."""
        if self._timer.isActive():
            self.save()

    def restore(self) -> None:
        from dlstudio.gui.remembered import applicable
        from dlstudio.gui.train_fields import train_form_parts

        saved = self.panel.context.remembered(self.key)
        if saved is None:
            return
        panel = self.panel
        recipe_id = saved.get("recipe", "") if isinstance(saved, dict) else ""
        if recipe_id and recipe_id in panel.recipes:
            panel.recipe_combo.setCurrentIndex(panel.recipe_combo.findData(recipe_id))
            return
        if recipe_id:
            self.notes.append(f"recipe {recipe_id!r} is no longer available: its settings are shown as custom")
        shown = panel._shown_spec()
        basic, advanced, _ = train_form_parts()
        spec, notes, gone = applicable(saved.get("spec") if isinstance(saved, dict) else saved,
                                 shown.to_dict() if shown is not None else {}, panel.model_box.items,
                                 panel.data_box.items, set(basic) | set(advanced))
        self.notes += notes
        if spec.get("model") and spec.get("data"):
            if panel.load_spec(spec):
                self._empty(gone)
            else:
                self.notes.append(f"the remembered settings were not restored: {panel.refusal or 'not this panel'}")
        for note in self.notes:
            panel.context.notify(f"remembered settings: {note}", "warning")
