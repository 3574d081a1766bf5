"""The main window's desktop habits: start the page shown (Ctrl+Return), go to Evaluate (Ctrl+E), open a run
spec or a model (Ctrl+O) and the offline guide (F1). A mixin of :class:`~dlstudio.gui.main_window.MainWindow`,
kept apart so the window's module holds its layout and run control only."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTabWidget, QWidget

#: Posted when a person asks to evaluate a run: ``{"run_id": ..., "panel": the Evaluate page shown}``.
EVALUATE_TOPIC = "run.evaluate"


class DesktopActions:
    """What the shortcuts do; it uses the window's ``pages``, ``panels``, ``family_pages``, ``studio``,
    ``context``, ``notify``, ``show_error``, ``show_panel`` and ``clone_run``."""

    def current_panel(self) -> QWidget | None:
        """The panel shown now (None on the Runs page or while loading)."""
        tabs = self.pages.currentWidget()
        if not isinstance(tabs, QTabWidget):
            return None
        page = tabs.currentWidget()
        panel_id = next((pid for pid, shown in self._panel_pages.items() if shown is page), None)
        return self.build_panel(panel_id) if panel_id is not None else page

    def start_current_page(self) -> None:
        """Ctrl+Return: press the current page's start button (its default button, or one named start…)."""
        panel = self.current_panel()
        button = _start_button(panel) if panel is not None else None
        if button is None:
            self.notify("this page has nothing to start", "warning")
        elif not button.isEnabled():
            self.notify(f"“{button.text()}” is not available now", "warning")
        else:
            button.click()

    def show_evaluate_page(self) -> None:
        """Ctrl+E: the Evaluate page of the current family, else the first one of any family."""
        evaluate = [p for p in self.studio.registry.panels
                    if p.title.lower().startswith("evaluat") and p.id in self._panel_pages] if self.studio else []
        if not evaluate:
            self.notify("no loaded plugin has an Evaluate page", "warning")
            return
        tabs = self.pages.currentWidget()
        family = next((f for f, t in self.family_pages.items() if t is tabs), None)
        evaluate.sort(key=lambda p: (p.family != family, p.order, p.title))
        self.show_panel(evaluate[0].id)

    def evaluate_page_for(self, run_id: str) -> str | None:
        """The id of the Evaluate page of a run's family (None: its family has none, or the run is gone)."""
        if self.studio is None:
            return None
        try:
            model_id = self.studio.store.get(run_id).model
        except KeyError:
            return None
        if model_id not in self.studio.registry.models:
            return None
        family = self.studio.registry.models.get(model_id).family
        pages = sorted((p for p in self.studio.registry.panels if p.family == family and p.id in self._panel_pages
                        and p.title.lower().startswith("evaluat")), key=lambda p: (p.order, p.title))
        return pages[0].id if pages else None

    def evaluate_run(self, run_id: str) -> None:
        """"Evaluate this run": its family's Evaluate page, with the run chosen in the page's run pickers; the
        ``run.evaluate`` message tells a page that picks runs its own way."""
        from dlstudio.gui.widgets import RunPicker

        panel_id = self.evaluate_page_for(run_id)
        if panel_id is None:
            self.notify(f"run {run_id} has no Evaluate page to open", "warning")
            return
        self.show_panel(panel_id)
        for picker in self.panels[panel_id].findChildren(RunPicker):
            picker.choose(run_id)
        self.context.post(EVALUATE_TOPIC, {"run_id": run_id, "panel": panel_id})

    def open_file_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self, "Open a run spec or a model", "",
            "Run specs and models (*.toml *.pt *.pth *.ckpt *.onnx *.ts);;Run specs (*.toml);;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """A run spec (.toml) opens in the panel that can take it (as Clone does); anything else is offered
        as a model to the panels that open models (the ``model.open`` message, e.g. the inspector)."""
        import tomllib
        from pathlib import Path

        from dlstudio.gui.runs_view import MODEL_OPEN_TOPIC, clone_problem, model_opener_listening

        self.build_all_panels()
        file = Path(path)
        if not file.is_file():
            self.show_error("Cannot open", f"{path} does not exist or is not a file")
            return
        if file.suffix.lower() == ".toml":
            text = file.read_text(encoding="utf-8")
            problem = clone_problem(self.studio, text)
            if problem:
                self.show_error("Cannot open this run spec", f"{path}: {problem}")
                return
            spec = tomllib.loads(text)
            self.clone_run(str(spec.get("run", {}).get("plugin", "")), spec)
        elif model_opener_listening(self.context):
            self.context.post(MODEL_OPEN_TOPIC, {"path": str(file)})
        else:
            self.show_error("Cannot open a model", "no loaded panel opens model files (is the inspector plugin "
                            "enabled? see Plugins…)")

    def show_help(self) -> None:
        """F1: the bundled user guide, offline."""
        from dlstudio.gui.help import HelpDialog

        dialog = HelpDialog(parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.help_dialog = dialog


def _start_button(panel: QWidget) -> QPushButton | None:
    """A panel's start: its ``start_button``, else a shown default button or one named ``start…``."""
    own = getattr(panel, "start_button", None)
    if isinstance(own, QPushButton) and own.isVisibleTo(panel):
        return own
    shown = [b for b in panel.findChildren(QPushButton) if b.isVisibleTo(panel)]
    return next((b for b in shown if b.isDefault()), None) or next(
        (b for b in shown if b.objectName().lower().startswith("start")), None)
