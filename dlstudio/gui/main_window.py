"""The main window: task families on the left, the chosen family's panels in the centre, a device picker
in the toolbar, the run dock at the bottom and the Runs view. It is the panels' :class:`Host`."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from dlstudio import __version__
from dlstudio.gui.desktop_actions import DesktopActions
from dlstudio.gui.device_selector import DeviceSelector
from dlstudio.gui.run_dock import RunDock

if TYPE_CHECKING:
    from dlstudio.gui.context import StudioContext
    from dlstudio.gui.run_queue import RunQueue
    from dlstudio.gui.runs_view import RunsView
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

RUNS_PAGE = "__runs__"
SWEEPS_PAGE = "__sweeps__"
#: How long quitting waits for a run to reach its next batch (data loading can take a while).
STOP_TIMEOUT_MS = 30_000


class MainWindow(DesktopActions, QMainWindow):
    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("dlstudio")
        self.resize(1280, 800)
        self.studio: Studio | None = None
        self.context: StudioContext | None = None
        self.queue: RunQueue | None = None
        self.runs_view: RunsView | None = None
        self.sweeps_view: QWidget | None = None  # dlstudio.gui.sweeps_view.SweepsView
        self.panels: dict[str, QWidget] = {}
        #: The tab page (a scroll area) that holds each panel.
        self._panel_pages: dict[str, QScrollArea] = {}
        self.family_pages: dict[str, QTabWidget] = {}
        self.errors: list[tuple[str, str]] = []  # (title, message) of every error shown, newest last
        self._dialogs: list[QWidget] = []
        #: Quitting without asking (a signal): closing stops a run in progress without a question.
        self._quitting = False

        self.families = QListWidget()
        self.families.setObjectName("families")
        self.families.setMinimumWidth(170)
        self.families.setMaximumWidth(260)
        self.families.addItem("Loading plugins…")
        self.families.currentItemChanged.connect(self._family_chosen)
        self.pages = QStackedWidget()
        loading = QLabel("Loading PyTorch and plugins…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(loading)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.families)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.device_selector = DeviceSelector(settings)
        self.run_dock = RunDock()
        dock = QDockWidget("Run", self)
        dock.setObjectName("run_dock")
        dock.setWidget(self.run_dock)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        # A third of the screen for the run, within reason; panels get the rest (they scroll when short).
        screen = self.screen().availableGeometry().height() if self.screen() is not None else 900
        self.resizeDocks([dock], [max(250, min(360, screen // 3))], Qt.Orientation.Vertical)
        self._build_actions()
        self.statusBar().showMessage("Starting…")
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        splitter_state = settings.value("window/splitter")
        if splitter_state is not None:
            splitter.restoreState(splitter_state)

    # -- building ----------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        toolbar.addWidget(QLabel(" Device: "))
        toolbar.addWidget(self.device_selector)
        toolbar.addSeparator()
        self.runs_action = QAction("Runs", self, shortcut=QKeySequence("Ctrl+R"), triggered=self.show_runs)
        self.plugins_action = QAction("Plugins…", self, triggered=self.show_plugins)
        self.start_action = QAction("&Start", self, shortcut=QKeySequence("Ctrl+Return"),
                                    triggered=self.start_current_page)
        self.start_action.setToolTip("Press the current page's start button (Ctrl+Return)")
        self.evaluate_action = QAction("&Evaluate…", self, shortcut=QKeySequence("Ctrl+E"),
                                       triggered=self.show_evaluate_page)
        self.open_action = QAction("&Open a run spec or model…", self, shortcut=QKeySequence.StandardKey.Open,
                                   triggered=self.open_file_dialog)
        self.help_action = QAction("dlstudio &help", self, shortcut=QKeySequence.StandardKey.HelpContents,
                                   triggered=self.show_help)
        self.pause_action = QAction("Pause / resume run", self, shortcut=QKeySequence("Ctrl+P"),
                                    triggered=self._toggle_pause, enabled=False)
        self.cancel_action = QAction("Cancel the current run", self, shortcut=QKeySequence("Ctrl+."),
                                     triggered=self._cancel_run, enabled=False)
        self.cancel_all_action = QAction("Cancel all runs", self, triggered=self._cancel_all_runs, enabled=False)
        toolbar.addAction(self.runs_action)
        toolbar.addAction(self.plugins_action)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close))
        run_menu = menu.addMenu("&Run")
        run_menu.addAction(self.start_action)
        run_menu.addAction(self.evaluate_action)
        run_menu.addSeparator()
        run_menu.addAction(self.pause_action)
        run_menu.addAction(self.cancel_action)
        run_menu.addAction(self.cancel_all_action)
        run_menu.addSeparator()
        run_menu.addAction(self.runs_action)
        plugin_menu = menu.addMenu("&Plugins")
        plugin_menu.addAction(self.plugins_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(QAction("&About dlstudio", self, triggered=self._about))

    def attach_studio(self, studio: Studio) -> None:
        """Second start-up step (after torch is imported): plugins' families and panels, runs, devices."""
        from dlstudio.gui.context import StudioContext
        from dlstudio.gui.run_queue import RunQueue
        from dlstudio.gui.runs_view import RunsView

        self.studio = studio
        self.context = StudioContext(studio, self, self)
        self.queue = RunQueue(studio, self)
        self._wire_queue()
        self.device_selector.populate()

        self.families.blockSignals(True)
        self.families.clear()
        for family in sorted(studio.registry.families, key=lambda f: (f.order, f.title)):
            self._add_family(studio, family)
        separator = QListWidgetItem("")
        separator.setFlags(Qt.ItemFlag.NoItemFlags)
        self.families.addItem(separator)
        runs_item = QListWidgetItem("Runs")
        runs_item.setData(Qt.ItemDataRole.UserRole, RUNS_PAGE)
        runs_item.setToolTip("Every run ever started")
        self.families.addItem(runs_item)
        self.runs_view = RunsView(self.context)
        self.runs_view.clone_requested.connect(self.clone_run)
        runs_splitter = self.settings.value("runs/splitter")
        if runs_splitter is not None:
            self.runs_view.splitter.restoreState(runs_splitter)
        self.pages.addWidget(self.runs_view)
        self._add_sweeps_page()
        self.families.blockSignals(False)

        remembered = str(self.settings.value("window/family", ""))
        if not self._select_family(remembered):
            self.families.setCurrentRow(0)
        failed = [r for r in studio.plugins if r.status == "failed"]
        if failed:
            names = ", ".join(r.name for r in failed)
            self.notify(f"plugins that failed to load and were disabled: {names} (see Plugins…)", "warning")
        else:
            self.statusBar().showMessage(f"{len(studio.registry.families)} task families loaded", 5000)

    def _add_family(self, studio: Studio, family) -> None:
        tabs = QTabWidget()
        tabs.setDocumentMode(True)
        panels = sorted((p for p in studio.registry.panels if p.family == family.id), key=lambda p: (p.order, p.title))
        for panel in panels:
            try:
                widget = panel.factory(self.context)
                if not isinstance(widget, QWidget):
                    raise TypeError(f"the factory returned {type(widget).__name__}, not a QWidget")
            except Exception as exc:
                record = studio.plugin_record(panel.plugin)
                if record is not None:
                    record.warnings.append(f"panel {panel.id!r} failed to build: {exc}")
                widget = QLabel(f"The panel “{panel.title}” of plugin {panel.plugin!r} failed to build:\n\n"
                                f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
                widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                widget.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            widget.setObjectName(panel.id)
            self.panels[panel.id] = widget
            self._panel_pages[panel.id] = page = _scrollable(widget)
            tabs.addTab(page, panel.title.replace("&", "&&"))  # a lone & would be a mnemonic
        if not panels:
            tabs.addTab(QLabel(family.description or "This family has no panels."), family.title)
        self.family_pages[family.id] = tabs
        self.pages.addWidget(tabs)
        item = QListWidgetItem(family.title)
        item.setData(Qt.ItemDataRole.UserRole, family.id)
        item.setToolTip(family.description)
        self.families.addItem(item)

    def _wire_queue(self) -> None:
        q, dock, ctx = self.queue, self.run_dock, self.context
        q.starting.connect(dock.on_starting)
        q.run_started.connect(dock.on_run_started)
        q.fit_started.connect(dock.on_fit_started)
        q.batch_ended.connect(dock.on_batch)
        q.epoch_ended.connect(dock.on_epoch)
        q.log.connect(dock.append_log)
        q.fit_ended.connect(dock.on_fit_ended)
        q.failed.connect(dock.on_failed)
        q.run_done.connect(dock.on_done)
        q.paused_changed.connect(dock.on_paused)
        q.queue_changed.connect(dock.on_queue)
        dock.pause_requested.connect(q.pause)
        dock.resume_requested.connect(q.resume)
        dock.cancel_requested.connect(q.cancel)
        dock.cancel_all_requested.connect(q.cancel_all)
        dock.remove_requested.connect(q.cancel_one)
        q.queue_changed.connect(self._show_queue_in_actions)
        q.run_started.connect(lambda info: ctx.run_assigned.emit(q.current_ticket, info["run_id"]))
        q.run_started.connect(lambda info: ctx.run_started.emit(info["run_id"], self._run_plugin(info["run_id"])))
        q.epoch_ended.connect(lambda info: ctx.run_epoch.emit(q.current_run_id, {"epoch": info["epoch"],
                                                                                  **info["metrics"]}))
        q.fit_ended.connect(lambda info: ctx.run_finished.emit(q.current_run_id, info["status"], info["message"]))
        q.failed.connect(self._run_failed)
        q.dropped.connect(self._run_dropped)
        q.starting.connect(lambda *_: self._run_actions(True))
        q.run_done.connect(lambda *_: self._run_actions(self.queue.is_running()))

    def _run_plugin(self, run_id: str) -> str:
        try:
            return self.studio.store.get(run_id).plugin
        except KeyError:
            return ""

    def _run_failed(self, message: str, details: str) -> None:
        if self.queue.current_started:
            self.context.run_finished.emit(self.queue.current_run_id, "failed", message)
        else:  # refused before training (a resume too: its stored status has not changed)
            self.context.run_refused.emit(self.queue.current_ticket, message)
            self.context.run_finished.emit("", "failed", message)
        self.show_error("The run failed" if details else "The run could not start", message, details)

    def _run_dropped(self, ticket: str) -> None:
        """A queued run removed before it started ends, for the panel that queued it, as a refused one does."""
        message = "cancelled before it started"
        self.context.run_refused.emit(ticket, message)
        self.context.run_finished.emit("", "cancelled", message)

    def _run_actions(self, running: bool) -> None:
        self.pause_action.setEnabled(running)
        self.cancel_action.setEnabled(running)
        self.cancel_all_action.setEnabled(running)

    def _show_queue_in_actions(self, queued: list) -> None:
        self.cancel_action.setText(f"Cancel the current run ({len(queued)} queued start next)" if queued
                                   else "Cancel the current run")
        self.cancel_all_action.setText(f"Cancel all runs (the current one and {len(queued)} queued)" if queued
                                       else "Cancel all runs")

    def _add_sweeps_page(self) -> None:
        """The Sweeps view (``dlstudio sweep``'s trials), listed just above Runs (which stays last); its clone opens a
        panel as Runs' does."""
        from dlstudio.gui.sweeps_view import SweepsView

        item = QListWidgetItem("Sweeps")
        item.setData(Qt.ItemDataRole.UserRole, SWEEPS_PAGE)
        item.setToolTip("Hyperparameter sweeps and their trials")
        self.families.insertItem(self.families.count() - 1, item)
        self.sweeps_view = SweepsView(self.context)
        self.sweeps_view.clone_requested.connect(self.clone_run)
        self.pages.addWidget(self.sweeps_view)

    # -- navigation --------------------------------------------------------------------------------
    def _family_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        key = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if key == RUNS_PAGE and self.runs_view is not None:
            self.runs_view.refresh()
            self.pages.setCurrentWidget(self.runs_view)
        elif key == SWEEPS_PAGE and self.sweeps_view is not None:
            self.sweeps_view.refresh()
            self.pages.setCurrentWidget(self.sweeps_view)
        elif key in self.family_pages:
            self.pages.setCurrentWidget(self.family_pages[key])
            self.settings.setValue("window/family", key)

    def _select_family(self, key: str) -> bool:
        for row in range(self.families.count()):
            if self.families.item(row).data(Qt.ItemDataRole.UserRole) == key and key:
                self.families.setCurrentRow(row)
                return True
        return False

    def show_runs(self) -> None:
        self._select_family(RUNS_PAGE)

    def show_plugins(self) -> None:
        if self.studio is None:
            return
        from dlstudio.gui.plugins_dialog import PluginsDialog

        dialog = PluginsDialog(self.studio.plugins, self.studio.settings, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.plugins_dialog = dialog

    def clone_run(self, plugin: str, spec: dict) -> None:
        """Re-open a run's settings in the panel that can take them."""
        model_id = spec.get("model", {}).get("id", "")
        family = self.studio.registry.models.get(model_id).family if model_id in self.studio.registry.models else ""
        family_of = {p.id: p.family for p in self.studio.registry.panels}
        candidates = sorted(self.panels.items(), key=lambda kv: family_of.get(kv[0]) != family)
        for panel_id, widget in candidates:
            loader = getattr(widget, "load_spec", None)
            if callable(loader) and loader(spec):
                self.show_panel(panel_id)
                self.notify(f"settings of the run loaded into “{panel_id}”; change them and start")
                return
            # A panel that can show this run but refuses one of its settings says why: asking the next panel
            # would show the run half (e.g. a Data page that holds only the data settings).
            refusal = getattr(widget, "refusal", "") or getattr(getattr(widget, "panel", None), "refusal", "")
            if callable(loader) and isinstance(refusal, str) and refusal:
                self.show_error("Cannot clone this run", refusal)
                return
        self.show_error("Cannot clone this run", f"no loaded panel can open a run of model {model_id!r} "
                        f"(is plugin {plugin!r} enabled?)")

    # -- Host protocol (what panels reach through StudioContext) -----------------------------------
    def start_run(self, spec: RunSpec | None, resume_id: str | None) -> str | None:
        from dlstudio.runner import resolve_parts
        from dlstudio.spec import SpecError

        if spec is not None:
            if spec.run.device == "auto":
                spec.run.device = self.current_device()
            try:
                resolve_parts(self.studio, spec)
            except SpecError as exc:
                self.show_error("Cannot start the run", str(exc))
                return None
        if resume_id is not None and self.queue.has_resume(resume_id):
            self.notify(f"run {resume_id} is already being resumed", "warning")
            return None
        ticket = self.queue.submit(spec, resume_id)
        if self.queue.pending():
            self.notify(f"run queued: it starts when the current one ends ({self.queue.pending()} waiting)")
        return ticket

    def current_device(self) -> str:
        return self.device_selector.current()

    def is_running(self) -> bool:
        return self.queue is not None and self.queue.is_running()

    def cancel_run(self, key: str) -> bool:
        return self.queue is not None and self.queue.cancel_one(key)

    def notify(self, text: str, level: str = "info") -> None:
        self.statusBar().showMessage(text, 10_000)
        self.run_dock.append_log(text, level)

    def show_error(self, title: str, message: str, details: str = "") -> None:
        self.errors.append((title, message))
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.show()  # not exec(): an error must never block a running event loop (or a test)
        self.run_dock.append_log(f"{title}: {message}", "error")

    def show_panel(self, panel_id: str) -> bool:
        page = self._panel_pages.get(panel_id)
        if page is None:
            return False
        for family, tabs in self.family_pages.items():
            index = tabs.indexOf(page)
            if index >= 0:
                self._select_family(family)
                tabs.setCurrentIndex(index)
                return True
        return False

    # -- run control -------------------------------------------------------------------------------
    def _toggle_pause(self) -> None:
        if self.queue is not None:
            self.queue.resume() if self.queue.paused else self.queue.pause()

    def _cancel_run(self) -> None:
        if self.queue is not None:
            self.queue.cancel()

    def _cancel_all_runs(self) -> None:
        if self.queue is not None:
            self.queue.cancel_all()

    def _about(self) -> None:
        QMessageBox.about(self, "About dlstudio", f"<b>dlstudio {__version__}</b><br>"
                          "Point-and-click deep learning, after <i>Deep Learning with PyTorch</i> (2018).")

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_running() and not self._quitting and not self._confirm_stopping_the_run():
            event.ignore()
            return
        self.stop_work()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        if self.runs_view is not None:
            self.settings.setValue("runs/splitter", self.runs_view.splitter.saveState())
        self.settings.sync()
        event.accept()
        if self._quitting:
            QApplication.exit(0)  # also when message boxes or dialogs are still open

    def _confirm_stopping_the_run(self) -> bool:
        answer = QMessageBox.question(
            self, "A run is in progress",
            "A training run is in progress. Stop it and quit? Its last checkpoint is kept and it can be "
            "resumed from the Runs view.",
        )
        return answer == QMessageBox.StandardButton.Yes or self._quitting  # a signal came while asking

    def quit_without_asking(self) -> None:
        """Quit now (SIGTERM, SIGINT): as Quit does, but a run in progress is stopped without a question."""
        self._quitting = True
        modal = QApplication.activeModalWidget()
        if isinstance(modal, QDialog):
            modal.reject()  # a question of closeEvent's own included: that close then goes on
        self.close()  # does nothing while the window is already closing: that close quits

    def stop_work(self) -> bool:
        """Stop every thread the window started: the current run at its next batch (its last checkpoint kept,
        resumable), the queued runs dropped, background jobs cancelled; False if the run did not stop in time.
        Also called when the event loop ends without the window closing (a session manager's quit)."""
        stopped = True
        if self.queue is not None and (self.queue.is_running() or self.queue.pending()):
            self.statusBar().showMessage("Stopping the run…")
            stopped = self.queue.shutdown(STOP_TIMEOUT_MS)
            if not stopped:
                self.notify("the run did not stop in time; it will show as interrupted", "warning")
        if self.context is not None:
            self.context.shutdown()
        return stopped


def _scrollable(panel: QWidget) -> QScrollArea:
    """A panel in a frameless, vertically scrolling area: one taller than the screen scrolls instead of
    making the window taller than the screen. Sideways it keeps its full width (forms scrolled
    sideways are hard to use), as it did before."""
    area = QScrollArea()
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(panel)
    area.setMinimumWidth(panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area
