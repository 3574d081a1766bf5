"""The run dock: progress (epoch or step, batch, elapsed, ETA), pause/resume/cancel, live curves and a log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.curve_metrics import split_metric
from dlstudio.gui.curves import CurvesWidget
from dlstudio.gui.run_progress import Progress, Stopwatch, format_seconds

if TYPE_CHECKING:  # not imported at run time: it would import torch before the window shows
    from dlstudio.gui.run_queue import QueuedRun

IDLE_TITLE = "No run yet. Start one from a panel."

#: Progress bar and clock updates per second.
REFRESH_HZ = 4


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when narrower than its text (QLabel would cut it off), with the whole
    text as its tooltip; ``text()`` is the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(60)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())
        painter.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


class RunDock(QWidget):
    pause_requested = Signal()
    resume_requested = Signal()
    #: Cancel the current run only (the next queued one then starts).
    cancel_requested = Signal()
    #: Cancel the current run and drop every queued one.
    cancel_all_requested = Signal()
    #: Drop one queued run: its ticket.
    remove_requested = Signal(str)
    #: "Evaluate this run": the run's id.
    evaluate_requested = Signal(str)
    #: The details (times, log, curves) were shown (True) or hidden.
    expanded_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = ElidedLabel(IDLE_TITLE)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.status = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.times = QLabel("")
        self.queue_menu = QMenu(self)
        self.queue_button = QToolButton(text="")
        self.queue_button.setObjectName("run_queue")
        self.queue_button.setToolTip("Runs waiting for the current one to end: remove one, or cancel all")
        self.queue_button.setMenu(self.queue_menu)
        self.queue_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.queue_button.setAutoRaise(True)
        self.queue_button.hide()
        self._queued: list[QueuedRun] = []
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pause_run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_run")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.curves = CurvesWidget()
        self.curves.setMinimumHeight(120)
        self.curves_button = QToolButton(text="Curves")
        self.curves_button.setObjectName("curves_menu")
        self.curves_button.setToolTip("Which metrics are plotted")
        self.curves_button.setMenu(self.curves.menu)
        self.curves_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.curves_button.setAutoRaise(True)

        # One line that is all the dock shows while idle (the last run and how it ended); the details (times,
        # log, curves) open when a run starts or on request, so an idle dock leaves the page its room.
        self.progress.setMinimumWidth(200)
        self.times.setMaximumWidth(240)  # the words of a busy bar can be long: they are cut, not the strip widened
        self.details_button = QToolButton(text="Details")
        self.details_button.setObjectName("run_details")
        self.details_button.setCheckable(True)
        self.details_button.setAutoRaise(True)
        self.details_button.setToolTip("Show or hide the run's times, log and curves")
        self.details_button.toggled.connect(self.set_expanded)
        self.evaluate_button = QPushButton("Evaluate this run")
        self.evaluate_button.setObjectName("evaluate_run")
        self.evaluate_button.setToolTip("Open the Evaluate page of the run's family with this run chosen")
        self.evaluate_button.clicked.connect(lambda: self.evaluate_requested.emit(self.run_id))
        self.evaluate_button.hide()
        strip = QHBoxLayout()
        strip.addWidget(self.title, 1)
        strip.addWidget(self.status)
        strip.addWidget(self.progress, 3)
        strip.addWidget(self.times)
        strip.addWidget(self.queue_button)
        strip.addWidget(self.evaluate_button)
        strip.addWidget(self.pause_button)
        strip.addWidget(self.cancel_button)
        strip.addWidget(self.curves_button)
        strip.addWidget(self.details_button)
        # Log and curves share the details' width.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.log_view)
        splitter.addWidget(self.curves)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self.details = QWidget()
        details_layout = QVBoxLayout(self.details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(splitter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(strip)
        layout.addWidget(self.details, 1)
        #: The run shown (its id once it has one): the one "Evaluate this run" opens.
        self.run_id = ""

        self.watch = Stopwatch()
        self.run_progress = Progress()
        #: Units of the run's declared metrics, by bare name ("r2"), for the log.
        self._units: dict[str, str] = {}
        self._fraction: float | None = 0.0
        self._start_fraction = 0.0
        self._paused = False
        self._active = False
        #: Time of a resumed run's earlier segments (seconds).
        self._earlier = 0.0
        #: Whether an ETA is worth showing (not once the run is being stopped or has ended).
        self._eta_shown = False
        #: Whether a run can be evaluated (the window knows which pages evaluate): the Evaluate button's test.
        self.can_evaluate = lambda run_id: False
        self._latest_batch: dict | None = None
        self._clock = QTimer(self)
        self._clock.setInterval(1000 // REFRESH_HZ)
        self._clock.timeout.connect(self._show_batch)
        self._clock.timeout.connect(self._update_times)
        self._set_active(False)
        self.set_expanded(False)

    # -- slots fed by the run queue ------------------------------------------------------------------
    def on_starting(self, ticket: str, title: str) -> None:
        self.curves.clear_curves()
        self.title.setText(title)
        self.status.setText("preparing…")
        self._set_bar(0.0)
        self.progress.setFormat("loading data…")
        self.watch.reset()
        self.watch.start()
        self.run_progress = Progress()
        self._units = {}
        self._fraction = self._start_fraction = 0.0
        self._latest_batch = None
        self._earlier = 0.0
        self._eta_shown = True
        self.run_id = ""
        self.evaluate_button.hide()
        self._set_active(True)
        self._clock.start()
        self.set_expanded(True)
        self.append_log(f"— {title} —")

    def on_run_started(self, info: dict) -> None:
        metrics = info.get("metrics") or []
        self.curves.set_metrics(metrics)
        self._units = {m["name"]: m.get("unit", "") for m in metrics if m.get("unit")}
        self.run_id = str(info["run_id"])
        processes = int(info.get("processes", 1) or 1)
        together = f", {processes} processes (rank 0 shown)" if processes > 1 else ""
        self.status.setText(f"running on {info['device']}{together}")
        self.append_log(f"run {info['run_id']} on {info['device']}{together}; files in {info['run_dir']}")

    def on_fit_started(self, info: dict) -> None:
        self.run_progress = Progress.from_fit_started(info)
        self._fraction = self._start_fraction = self.run_progress.start_fraction()
        first, last = self.run_progress.span()
        self.curves.set_span(first, last, self.run_progress.unit)

    def on_batch(self, info: dict) -> None:
        # Only remembered here; the bar is redrawn on the dock's clock. (QProgressBar.setValue repaints
        # at once, and a GUI thread woken often enough costs the run thread its throughput.)
        self._latest_batch = info
        self._fraction = self.run_progress.fraction(info)
        if info["phase"] == "train":
            x = self.run_progress.train_batch(info)
            if x is not None:
                self.curves.add_batch_loss(x, info["loss"])

    def _show_batch(self) -> None:
        info, self._latest_batch = self._latest_batch, None
        if info is None:
            return
        self._set_bar(self._fraction)
        self.progress.setFormat(self.run_progress.text(info))

    def on_epoch(self, info: dict) -> None:
        self.curves.add_epoch(self.run_progress.epoch_ended(info), info["metrics"])
        metrics = "  ".join(f"{k} {v:.4g}{self._unit_of(k)}" for k, v in info["metrics"].items())
        star = "  ★ best" if info.get("is_best") else ""
        self.append_log(f"{self.run_progress.where(info)}  {metrics}  ({info['seconds']:.1f}s){star}")

    def on_fit_ended(self, info: dict) -> None:
        self._show_batch()
        self.watch.stop()
        self._eta_shown = False
        status = info["status"]
        self.status.setText(status)
        self._set_bar(1.0 if status == "completed" else self._fraction or 0.0)
        best = ""
        if info.get("best_value") is not None:
            best = (f" — best {info['monitor']} {info['best_value']:.4f}"
                    f" at {self.run_progress.best_at(info['best_epoch'])}")
        self.progress.setFormat(f"{status}{best}")
        level = "error" if status == "failed" else "info"
        self.append_log(f"{status}{best}. {info.get('message') or ''}".strip(), level)
        self.curves.flush()
        self.evaluate_button.setVisible(status in ("completed", "stopped") and bool(self.run_id)
                                        and self.can_evaluate(self.run_id))
        self._update_times()

    def on_failed(self, message: str, details: str) -> None:
        self._latest_batch = None  # the clock must not draw a batch over "failed"
        self.watch.stop()
        self._eta_shown = False
        self.status.setText("failed")
        self._set_bar(self._fraction or 0.0)  # a busy bar shows no words
        self.progress.setFormat("failed")
        self.append_log(message, "error")

    def on_done(self, ticket: str) -> None:
        self._clock.stop()
        self._update_times()
        self._set_active(False)

    def on_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.watch.stop()
            self.status.setText("paused")
        elif self._active:
            self.watch.start()
            self.status.setText("running")

    def on_queue(self, queued: list[QueuedRun]) -> None:
        """Show the runs waiting, next first. While any wait,
        Cancel cancels them too: a Cancel stops everything that was started, so none trains unseen."""
        self._queued = list(queued)
        count = len(self._queued)
        self.queue_button.setText(f"{count} queued")
        self.queue_button.setVisible(bool(count))
        self.queue_menu.clear()
        for entry in self._queued:
            action = self.queue_menu.addAction(f"Remove “{entry.describe()}”")
            action.triggered.connect(lambda _checked=False, ticket=entry.ticket: self.remove_requested.emit(ticket))
        self.queue_menu.addSeparator()
        self.queue_menu.addAction("Cancel only the current run (the next one starts)", self._cancel_current)
        self.queue_menu.addAction(f"Cancel all (the current run and {count} queued)", self._cancel_all)
        self._show_cancel_scope()

    def carry_earlier(self, seconds: float) -> None:
        """A resumed run: its earlier segments' time, so elapsed goes on from where the run stopped."""
        self._earlier = max(0.0, float(seconds))
        self._update_times()

    def forget_run(self, run_id: str) -> None:
        """The run shown was deleted: the dock goes back to saying nothing about it."""
        if not run_id or run_id != self.run_id or self._active:
            return
        self.run_id = ""
        self.title.setText(IDLE_TITLE)
        self.status.setText("")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.times.setText("")
        self.evaluate_button.hide()
        self.curves.clear_curves()

    @property
    def expanded(self) -> bool:
        return not self.details.isHidden()

    def set_expanded(self, expanded: bool) -> None:
        """Show the details (times, log, curves) or only the one-line strip."""
        self.details.setVisible(expanded)
        self.details_button.blockSignals(True)
        self.details_button.setChecked(expanded)
        self.details_button.blockSignals(False)
        self.details_button.setText("Hide details" if expanded else "Details")
        self.expanded_changed.emit(expanded)

    def append_log(self, text: str, level: str = "info") -> None:
        prefix = {"warning": "⚠ ", "error": "✖ "}.get(level, "")
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {prefix}{text}")
        self.log_view.moveCursor(QTextCursor.MoveOperation.End)

    # -- internals ---------------------------------------------------------------------------------
    def _toggle_pause(self) -> None:
        (self.resume_requested if self._paused else self.pause_requested).emit()

    def _cancel_clicked(self) -> None:
        self._cancel_all() if self._queued else self._cancel_current()

    def _cancel_current(self) -> None:
        self._stop_eta()
        self.status.setText("stopping…")
        self.cancel_requested.emit()

    def _cancel_all(self) -> None:
        self._stop_eta()
        self.status.setText("stopping…")
        self.cancel_all_requested.emit()

    def _stop_eta(self) -> None:
        """A run being stopped has no time left to guess."""
        self._eta_shown = False
        self._update_times()

    def _show_cancel_scope(self) -> None:
        """The Cancel button says what it cancels: the current run, or all of them while some wait."""
        count = len(self._queued)
        self.cancel_button.setText(f"Cancel all ({count + 1})" if count else "Cancel")
        self.cancel_button.setToolTip(
            f"Stop the current run at its next batch and drop the {count} queued (the queue's menu removes "
            "one at a time)" if count else "Stop the run at its next batch; its last checkpoint is kept")

    def _set_active(self, active: bool) -> None:
        self._active = active
        self.pause_button.setEnabled(active)
        self.cancel_button.setEnabled(active)
        # Shown while a run goes on only: the idle strip keeps its room for the last run's words.
        self.pause_button.setVisible(active)
        self.cancel_button.setVisible(active)
        if not active:
            self.pause_button.setText("Pause")
            self._paused = False

    @property
    def busy(self) -> bool:
        """Whether the bar is indeterminate (nothing says how far the run is)."""
        return self.progress.maximum() == 0

    def _set_bar(self, fraction: float | None) -> None:
        """The bar at ``fraction`` of the run, or busy (indeterminate) when it is None."""
        if fraction is None:
            if not self.busy:
                self.progress.setRange(0, 0)
            return
        if self.busy:
            self.progress.setRange(0, 1000)
        self.progress.setValue(int(fraction * 1000))

    def _unit_of(self, key: str) -> str:
        unit = self._units.get(split_metric(key)[1], "")
        return "" if not unit else unit if unit == "%" else f" {unit}"

    def _update_times(self) -> None:
        elapsed = self.watch.elapsed  # this segment's: the ETA's pace is today's
        text = f"elapsed {format_seconds(self._earlier + elapsed)}"
        if self.busy:  # a busy bar shows no words: they go here
            text = f"{self.progress.format()} · {text}"
        fraction = self._fraction
        if fraction is not None:
            done = fraction - self._start_fraction
            if self._active and self._eta_shown and not self._paused and done > 0.01 and fraction < 1:
                text += f" · ETA {format_seconds(elapsed * (1 - fraction) / done)}"
        self.times.setText(text)
