"""The run dock: progress (epoch or step, batch, elapsed, ETA), pause/resume/cancel, live curves and a log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.curves import CurvesWidget, split_metric

if TYPE_CHECKING:  # not imported at run time: it would import torch before the window shows
    from dlstudio.gui.run_queue import QueuedRun

#: Progress bar and clock updates per second.
REFRESH_HZ = 4


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Stopwatch:
    """Elapsed time that stands still while paused."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._started: float | None = None
        self._accumulated = 0.0

    def start(self) -> None:
        if self._started is None:
            self._started = time.monotonic()

    def stop(self) -> None:
        if self._started is not None:
            self._accumulated += time.monotonic() - self._started
            self._started = None

    @property
    def elapsed(self) -> float:
        running = time.monotonic() - self._started if self._started is not None else 0.0
        return self._accumulated + running


@dataclass
class Progress:
    """Where a run stands, from its records alone (no Qt): the fraction done, the words for it, and where
    its points go on the curves' x axis. A run is measured in epochs or in steps (then ``epochs`` counts
    periods of ``period_steps`` steps); the length of a pass may be unknown (a stream): 0 batches."""

    unit: str = "epoch"
    epochs: int = 0
    start_epoch: int = 0
    train_batches: int = 0
    total_steps: int = 0
    period_steps: int = 0
    #: Batches in a training pass, learnt from a finished one when the data does not say.
    learnt_batches: int = 0
    _last_train_batch: int = field(default=0, init=False, repr=False)
    #: Steps taken before the current training pass began (None: unknown).
    _pass_began_at: int | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_fit_started(cls, info: dict) -> Progress:
        return cls(unit=info.get("unit", "epoch"), epochs=info["epochs"], start_epoch=info["start_epoch"],
                   train_batches=info.get("train_batches", 0), total_steps=info.get("total_steps", 0),
                   period_steps=info.get("period_steps", 0))

    @property
    def in_steps(self) -> bool:
        return self.unit == "step"

    def span(self) -> tuple[float, float | None]:
        """The x axis: from where the run starts to where it ends (None: unknown)."""
        if self.in_steps:
            return self.start_epoch * self.period_steps, (self.total_steps or None)
        return self.start_epoch, self.epochs

    def start_fraction(self) -> float:
        if self.in_steps:
            return min(1.0, self.start_epoch * self.period_steps / self.total_steps) if self.total_steps else 0.0
        return self.start_epoch / max(1, self.epochs)

    def batches(self, info: dict, guess: bool = True) -> int:
        """Batches in the pass a batch record belongs to (``guess``: or as many as the last pass had), 0 when
        unknown."""
        if info["batches"]:
            return info["batches"]
        if info["phase"] != "train":
            return 0
        return self.train_batches or (self.learnt_batches if guess else 0)

    def fraction(self, info: dict) -> float | None:
        """How much of the run is done at a batch record; None when nothing says (a stream's first pass)."""
        if self.in_steps:
            return min(1.0, info.get("step", 0) / self.total_steps) if self.total_steps else None
        done = info["epoch"] - 1
        batches = self.batches(info)
        if info["phase"] != "train":
            within: float | None = 1.0
        else:
            within = min(1.0, info["batch"] / batches) if batches else None
        if within is None:
            return done / max(1, self.epochs) if done > self.start_epoch else None
        return (done + within) / max(1, self.epochs)

    def train_batch(self, info: dict) -> float | None:
        """Learn from a training batch record; returns where its running loss goes on the x axis (None:
        nowhere yet)."""
        self._last_train_batch = info["batch"]
        if info.get("step"):
            self._pass_began_at = info["step"] - info["batch"]
        if self.in_steps:
            return info["step"] if info.get("step") else None
        batches = self.batches(info)
        return info["epoch"] - 1 + min(1.0, info["batch"] / batches) if batches else None

    def epoch_ended(self, info: dict) -> float:
        """Learn from an epoch's (a period's) end; returns where its metrics go on the x axis."""
        step = info.get("step", 0)
        if not self.in_steps and not self.train_batches:
            if step and self._pass_began_at is not None:
                self.learnt_batches = step - self._pass_began_at
            elif self._last_train_batch:  # the last batch of a pass is always reported
                self.learnt_batches = self._last_train_batch
        self._last_train_batch, self._pass_began_at = 0, None
        if self.in_steps:
            return step or info["epoch"] * self.period_steps
        return info["epoch"]

    def where(self, info: dict) -> str:
        """"epoch 3/4" or "step 140/300": where a batch or epoch record stands."""
        if self.in_steps:
            step = info.get("step", 0)
            return f"step {step}/{self.total_steps}" if self.total_steps else f"step {step}"
        return f"epoch {info['epoch']}/{info.get('epochs', self.epochs)}"

    def text(self, info: dict) -> str:
        """The progress bar's words for a batch record."""
        batches = self.batches(info, guess=False)
        count = f"{info['batch']}/{batches}" if batches else f"{info['batch']}"
        if info["phase"] != "train":
            return f"{self.where(info)} · validating {count}"
        batch = "" if self.in_steps else f" · batch {count}"
        return f"{self.where(info)}{batch} · loss {info['loss']:.4f}"

    def best_at(self, best_epoch: int) -> str:
        if self.in_steps and self.period_steps:
            step = best_epoch * self.period_steps
            return f"step {min(step, self.total_steps) if self.total_steps else step}"
        return f"epoch {best_epoch}"


class RunDock(QWidget):
    pause_requested = Signal()
    resume_requested = Signal()
    #: Cancel the current run only (the next queued one then starts).
    cancel_requested = Signal()
    #: Cancel the current run and drop every queued one.
    cancel_all_requested = Signal()
    #: Drop one queued run: its ticket.
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No run yet. Start one from a panel.")
        self.title.setStyleSheet("font-weight: 600;")
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
        self.curves.setMinimumHeight(180)
        self.curves_button = QToolButton(text="Curves")
        self.curves_button.setObjectName("curves_menu")
        self.curves_button.setToolTip("Which metrics are plotted")
        self.curves_button.setMenu(self.curves.menu)
        self.curves_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.curves_button.setAutoRaise(True)

        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.status)
        controls = QHBoxLayout()
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.pause_button)
        controls.addWidget(self.cancel_button)
        info = QHBoxLayout()
        info.addWidget(self.times, 1)
        info.addWidget(self.queue_button)
        info.addWidget(self.curves_button)
        # Progress and controls span the dock's width; log and curves share the rest.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.log_view)
        splitter.addWidget(self.curves)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addLayout(controls)
        layout.addLayout(info)
        layout.addWidget(splitter, 1)

        self.watch = Stopwatch()
        self.run_progress = Progress()
        #: Units of the run's declared metrics, by bare name ("r2"), for the log.
        self._units: dict[str, str] = {}
        self._fraction: float | None = 0.0
        self._start_fraction = 0.0
        self._paused = False
        self._active = False
        self._latest_batch: dict | None = None
        self._clock = QTimer(self)
        self._clock.setInterval(1000 // REFRESH_HZ)
        self._clock.timeout.connect(self._show_batch)
        self._clock.timeout.connect(self._update_times)
        self._set_active(False)

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
        self._set_active(True)
        self._clock.start()
        self.append_log(f"— {title} —")

    def on_run_started(self, info: dict) -> None:
        metrics = info.get("metrics") or []
        self.curves.set_metrics(metrics)
        self._units = {m["name"]: m.get("unit", "") for m in metrics if m.get("unit")}
        self.status.setText(f"running on {info['device']}")
        self.append_log(f"run {info['run_id']} on {info['device']}; files in {info['run_dir']}")

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

    def on_failed(self, message: str, details: str) -> None:
        self._latest_batch = None  # the clock must not draw a batch over "failed"
        self.watch.stop()
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
        self.status.setText("stopping…")
        self.cancel_requested.emit()

    def _cancel_all(self) -> None:
        self.status.setText("stopping…")
        self.cancel_all_requested.emit()

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
        elapsed = self.watch.elapsed
        text = f"elapsed {format_seconds(elapsed)}"
        if self.busy:  # a busy bar shows no words: they go here
            text = f"{self.progress.format()} · {text}"
        fraction = self._fraction
        if fraction is not None:
            done = fraction - self._start_fraction
            if self._active and done > 0.01 and fraction < 1:
                text += f" · ETA {format_seconds(elapsed * (1 - fraction) / done)}"
        self.times.setText(text)
