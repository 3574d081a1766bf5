"""The run dock: progress (epoch, batch, elapsed, ETA), pause/resume/cancel, live curves and a log."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.curves import CurvesWidget

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


class RunDock(QWidget):
    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()

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
        self.queue_label = QLabel("")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pause_run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_run")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.curves = CurvesWidget()
        self.curves.setMinimumHeight(180)

        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.status)
        controls = QHBoxLayout()
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.pause_button)
        controls.addWidget(self.cancel_button)
        info = QHBoxLayout()
        info.addWidget(self.times, 1)
        info.addWidget(self.queue_label)
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
        self._epochs = 0
        self._fraction = self._start_fraction = 0.0
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
        self.progress.setValue(0)
        self.progress.setFormat("loading data…")
        self.watch.reset()
        self.watch.start()
        self._fraction = self._start_fraction = 0.0
        self._latest_batch = None
        self._set_active(True)
        self._clock.start()
        self.append_log(f"— {title} —")

    def on_run_started(self, info: dict) -> None:
        self.status.setText(f"running on {info['device']}")
        self.append_log(f"run {info['run_id']} on {info['device']}; files in {info['run_dir']}")

    def on_fit_started(self, info: dict) -> None:
        self._epochs = info["epochs"]
        self._fraction = self._start_fraction = info["start_epoch"] / max(1, info["epochs"])
        self.curves.set_epoch_span(info["start_epoch"], info["epochs"])

    def on_batch(self, info: dict) -> None:
        # Only remembered here; the bar is redrawn on the dock's clock. (QProgressBar.setValue repaints
        # at once, and a GUI thread woken often enough costs the run thread its throughput.)
        self._latest_batch = info
        if info["phase"] == "train":
            batches = max(1, info["batches"])
            x = info["epoch"] - 1 + info["batch"] / batches
            self._fraction = x / max(1, self._epochs)
            self.curves.add_batch_loss(x, info["loss"])

    def _show_batch(self) -> None:
        info, self._latest_batch = self._latest_batch, None
        if info is None:
            return
        self.progress.setValue(int(self._fraction * 1000))
        if info["phase"] != "train":
            self.progress.setFormat(
                f"epoch {info['epoch']}/{self._epochs} · validating {info['batch']}/{info['batches']}"
            )
            return
        self.progress.setFormat(f"epoch {info['epoch']}/{self._epochs} · batch {info['batch']}/{info['batches']}"
                                f" · loss {info['loss']:.4f}")

    def on_epoch(self, info: dict) -> None:
        self.curves.add_epoch(info["epoch"], info["metrics"])
        metrics = "  ".join(f"{k} {v:.4g}" for k, v in info["metrics"].items())
        star = "  ★ best" if info.get("is_best") else ""
        self.append_log(f"epoch {info['epoch']}/{info['epochs']}  {metrics}  ({info['seconds']:.1f}s){star}")

    def on_fit_ended(self, info: dict) -> None:
        self._show_batch()
        self.watch.stop()
        status = info["status"]
        self.status.setText(status)
        if status == "completed":
            self.progress.setValue(1000)
        best = ""
        if info.get("best_value") is not None:
            best = f" — best {info['monitor']} {info['best_value']:.4f} at epoch {info['best_epoch']}"
        self.progress.setFormat(f"{status}{best}")
        level = "error" if status == "failed" else "info"
        self.append_log(f"{status}{best}. {info.get('message') or ''}".strip(), level)
        self.curves.flush()

    def on_failed(self, message: str, details: str) -> None:
        self._latest_batch = None  # the clock must not draw a batch over "failed"
        self.watch.stop()
        self.status.setText("failed")
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

    def on_queue(self, pending: int) -> None:
        self.queue_label.setText(f"{pending} queued" if pending else "")

    def append_log(self, text: str, level: str = "info") -> None:
        prefix = {"warning": "⚠ ", "error": "✖ "}.get(level, "")
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {prefix}{text}")
        self.log_view.moveCursor(QTextCursor.MoveOperation.End)

    # -- internals ---------------------------------------------------------------------------------
    def _toggle_pause(self) -> None:
        (self.resume_requested if self._paused else self.pause_requested).emit()

    def _set_active(self, active: bool) -> None:
        self._active = active
        self.pause_button.setEnabled(active)
        self.cancel_button.setEnabled(active)
        if not active:
            self.pause_button.setText("Pause")
            self._paused = False

    def _update_times(self) -> None:
        elapsed = self.watch.elapsed
        text = f"elapsed {format_seconds(elapsed)}"
        done = self._fraction - self._start_fraction
        if self._active and done > 0.01 and self._fraction < 1:
            text += f" · ETA {format_seconds(elapsed * (1 - self._fraction) / done)}"
        self.times.setText(text)
