"""The main window: task families on the left, the chosen family's panels in the centre, a device picker
in the toolbar, the run dock at the bottom and the Runs view. It is the panels' :class:`Host`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from dlstudio import __version__
from dlstudio.gui.desktop_actions import DesktopActions
from dlstudio.gui.device_selector import DeviceSelector
from dlstudio.gui.dock_sizer import DockSizer
from dlstudio.gui.pages import size_to_current
from dlstudio.gui.panel_pages import RUNS_PAGE, PanelPages
from dlstudio.gui.run_dock import RunDock

if TYPE_CHECKING:
    from dlstudio.gui.context import StudioContext
    from dlstudio.gui.run_queue import RunQueue
    from dlstudio.gui.runs_view import RunsView
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio

#: The task families' list at its narrowest (px): the window must fit 1024 px with the widest page beside it.
FAMILIES_MIN_WIDTH = 120
#: Its width before the person drags it: the longest built-in family name.
FAMILIES_WIDTH = 170
#: How long quitting waits for a run to reach its next batch (data loading can take a while).
STOP_TIMEOUT_MS = 30_000


class MainWindow(PanelPages, DesktopActions, QMainWindow):
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
        self._panel_pages: dict[str, QWidget] = {}
        #: Panels whose pages exist but are not built yet (start-up builds one per event-loop turn).
        self._unbuilt: dict[str, Any] = {}
        self.family_pages: dict[str, QTabWidget] = {}
        self.errors: list[tuple[str, str]] = []  # (title, message) of every error shown, newest last
        self._dialogs: list[QWidget] = []
        #: Quitting without asking (a signal): closing stops a run in progress without a question.
        self._quitting = False

        self.families = QListWidget()
        self.families.setObjectName("families")
        # Narrow enough for a 1024-px screen; long family names get a tooltip-free ellipsis rather than width.
        self.families.setMinimumWidth(FAMILIES_MIN_WIDTH)
        self.families.setMaximumWidth(240)
        self.families.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.families.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.families.addItem("Loading plugins…")
        self.families.currentItemChanged.connect(self._family_chosen)
        self.pages = QStackedWidget()
        loading = QLabel("Loading PyTorch and plugins…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(loading)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.families)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([FAMILIES_WIDTH, 10_000])  # the pages take the rest (until a remembered state)
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
        self.dock = dock
        self.dock_sizer = DockSizer(dock, self.run_dock, settings)
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

    def attach_studio(self, studio: Studio, *, build_panels_later: bool = False) -> None:
        """Second start-up step (after torch is imported): plugins' families and panels, runs, devices.

        ``build_panels_later``: the shown panel is built now and the others one per event-loop turn (all
        at once they keep the window from responding for ~0.7 s); any use of a panel builds it first."""
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
            self._add_family(studio, family, build_panels_later)
        separator = QListWidgetItem("")
        separator.setFlags(Qt.ItemFlag.NoItemFlags)
        self.families.addItem(separator)
        runs_item = QListWidgetItem("Runs")
        runs_item.setData(Qt.ItemDataRole.UserRole, RUNS_PAGE)
        runs_item.setToolTip("Every run ever started")
        self.families.addItem(runs_item)
        self.runs_view = RunsView(self.context)
        self.runs_view.clone_requested.connect(self.clone_run)
        self.runs_view.deleted.connect(lambda ids: [self.run_dock.forget_run(run_id) for run_id in ids])
        self.runs_view.evaluate_requested.connect(self.evaluate_run)
        self.runs_view.can_evaluate = lambda run_id: self.evaluate_page_for(run_id) is not None
        runs_splitter = self.settings.value("runs/splitter")
        if runs_splitter is not None:
            self.runs_view.splitter.restoreState(runs_splitter)
        self.pages.addWidget(self.runs_view)
        self._add_sweeps_page()
        self._size_pages_to_current = size_to_current(self.pages)
        self.families.blockSignals(False)

        remembered = str(self.settings.value("window/family", ""))
        if not self._select_family(remembered):
            self.families.setCurrentRow(0)
        if self._unbuilt:
            QTimer.singleShot(0, self._build_next_panel)
        failed = [r for r in studio.plugins if r.status == "failed"]
        if failed:
            names = ", ".join(r.name for r in failed)
            self.notify(f"plugins that failed to load and were disabled: {names} (see Plugins…)", "warning")
        else:
            self.statusBar().showMessage(f"{len(studio.registry.families)} task families loaded", 5000)

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
        dock.evaluate_requested.connect(self.evaluate_run)
        dock.can_evaluate = lambda run_id: self.evaluate_page_for(run_id) is not None
        q.run_started.connect(lambda info: dock.carry_earlier(self._earlier_seconds(info["run_id"])))
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

    def _earlier_seconds(self, run_id: str) -> float:
        """The time a resumed run already trained (its stored duration when this segment begins)."""
        try:
            return float(self.studio.store.get(run_id).duration)
        except KeyError:
            return 0.0

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
        self.build_all_panels()
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
        from dlstudio.gui.run_names import outdated_recipe_name
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
            renamed = outdated_recipe_name(self.studio, spec)
            if renamed:
                self.notify(f"run named “{renamed}”: the recipe's name “{spec.run.name}” is not what it trains")
                spec.run.name = renamed
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
        self.build_panel(panel_id)
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
        self.dock_sizer.remember()
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
