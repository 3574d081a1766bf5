"""The Style transfer page: choose a content and a style picture, press Start, and watch the picture being
painted — the newest snapshot large, the content, style and total losses beside it, a timeline to scrub back
through the snapshots. Stop keeps the picture painted so far. Earlier runs reopen with their snapshots and
curves, and a finished one is shown beside its content and style."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio import runs
from dlstudio.gui.widgets import RunPicker
from dlstudio.spec import RunSpec
from dlstudio_generative.panels import style_runs
from dlstudio_generative.panels.image_picker import dropped_files
from dlstudio_generative.panels.style_controls import TASK, StyleControls
from dlstudio_generative.panels.views import (
    ERROR_STYLE,
    HINT_STYLE,
    Curves,
    ImageView,
    Timeline,
    metric,
    save_png_dialog,
    titled,
)

#: While painting, the run's snapshots folder is looked at this often (a listing; only the newest PNG is read):
#: snapshots come every few iterations, far more often than the run reports a period, and the window stays
#: responsive however fast the iterations go.
POLL_MS = 200
RESULT = "result"


class StylePage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setAcceptDrops(True)
        #: The run this page started (its queue ticket, then its id) and the run shown.
        self.ticket = ""
        self.run_id = ""
        self.painting = False
        self.run_dir: Path | None = None
        self._losses_read = 0  # bytes of the run's losses.jsonl already on the curves
        self.period, self.steps = 1, 0

        self.controls = StyleControls(context)
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(370)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("start")
        self.start_button.setDefault(True)
        self.start_button.setToolTip("Paint on the device chosen in the toolbar")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop now and keep the picture painted so far")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.stop_button)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(scroll, 1)
        left_column.addLayout(buttons)

        self.runs = RunPicker(context, TASK)
        self.runs.setMinimumWidth(220)
        self.runs.activated.connect(lambda *_: self.open_run(self.runs.currentData() or ""))
        reopen = QPushButton("Open")
        reopen.setToolTip("Show the chosen earlier run: its snapshots, curves and result")
        reopen.clicked.connect(lambda: self.open_run(self.runs.currentData() or ""))
        earlier = QHBoxLayout()
        earlier.addWidget(QLabel("Earlier runs"))
        earlier.addWidget(self.runs, 1)
        earlier.addWidget(reopen)
        self.status = QLabel(wordWrap=True)
        self.status.setStyleSheet(HINT_STYLE)
        self.status.setText("Choose the pictures (or drop files here: the first is the content, a second the "
                            "style) and press Start.")

        self.canvas = ImageView("The picture appears here as it is painted.", minimum=220)
        self.curves = Curves("Losses (log scale)", "iteration", log_y=True)
        self.curves.setMinimumWidth(220)
        self.timeline = Timeline(self.canvas, lambda _i, key: "result" if key == RESULT else f"iteration {key}")
        self.save_button = QPushButton("Save PNG…")
        self.save_button.setToolTip("Save the picture shown, at its own size")
        self.save_button.clicked.connect(self.save)
        paint_split = QSplitter()
        paint_split.addWidget(self.canvas)
        paint_split.addWidget(self.curves)
        paint_split.setStretchFactor(0, 3)
        paint_split.setStretchFactor(1, 2)
        paint_split.setChildrenCollapsible(False)
        paint_split.setSizes([600, 360])  # the picture gets the room; the curves what is left
        under = QHBoxLayout()
        under.addWidget(self.timeline, 1)
        under.addWidget(self.save_button)
        painting = QWidget()
        painting_column = QVBoxLayout(painting)
        painting_column.setContentsMargins(4, 4, 4, 4)
        painting_column.addWidget(paint_split, 1)
        painting_column.addLayout(under)

        self.compare = [ImageView(text, minimum=140) for text in ("No content", "No style", "No result yet")]
        compare = QWidget()
        compare_row = QHBoxLayout(compare)
        for title, view in zip(("Content", "Style", "Result"), self.compare, strict=True):
            compare_row.addWidget(titled(title, view), 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(painting, "Painting")
        self.tabs.addTab(compare, "Content | style | result")

        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addLayout(earlier)
        right_column.addWidget(self.status)
        right_column.addWidget(self.tabs, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([380, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh_snapshots)
        context.run_assigned.connect(self._assigned)
        context.run_epoch.connect(self._epoch)
        context.run_finished.connect(self._finished)
        context.run_refused.connect(self._refused)
        if self.runs.currentData():
            self.open_run(self.runs.currentData())

    # -- actions --------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.painting:
            return
        try:
            raw = self.controls.spec()
            spec = RunSpec.from_dict(raw, source="the style transfer settings")
        except ValueError as exc:  # SpecError and the form's own problems, each naming its field
            self._say_error(f"Cannot start: {exc}")
            return
        ticket = self.context.start_run(spec)
        if ticket is None:
            self._say_error("The run was refused (the message says why).")
            return
        self.ticket, self.run_id, self.run_dir, self.painting = ticket, "", None, True
        self.period, self.steps = style_runs.period_of(raw)
        self.curves.reset()
        self._losses_read = 0
        self.timeline.follow = True
        self.timeline.set_items([])
        self.canvas.clear_image()
        self._show_pictures(self.controls.content.picture, self.controls.style.picture, None)
        self.tabs.setCurrentIndex(0)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(f"Starting on {self.context.current_device()}: {raw['train']['steps']} iterations, "
                            f"a snapshot every {self.controls.snapshot_every.value()}…")

    def stop(self) -> None:
        if self.painting and self.context.cancel_run(self.run_id or self.ticket):
            self.status.setText("Stopping: the picture painted so far is kept…")

    def save(self) -> None:
        current = self.timeline.current()
        name = f"{self.run_id or 'style'}-{current[0] if current else 'picture'}.png"
        try:
            path = save_png_dialog(self, self.canvas.image(), "Save the picture as PNG", name)
        except OSError as exc:
            self._say_error(str(exc))
            return
        if path:
            self.context.notify(f"Saved {path}")

    def open_run(self, run_id: str) -> None:
        """Show an earlier run: its snapshots to scrub through, its curves, its result beside its pictures."""
        if not run_id or self.painting:
            return
        try:
            info = runs.get_run(self.context.studio, run_id)
            raw = runs.read_spec(self.context.studio, run_id)
            history = runs.read_metrics(self.context.studio, run_id)
        except KeyError as exc:
            self._say_error(str(exc))
            return
        self.run_id, self.run_dir = run_id, info.run_dir
        self.period, self.steps = style_runs.period_of(raw)
        self.curves.reset()
        self._losses_read = 0
        if not self._read_losses():  # a run from before the snapshot losses: one point a period
            for record in history:
                self.curves.append(self._iteration(record["epoch"]), style_runs.loss_points(record))
        self.timeline.follow = True
        self.refresh_snapshots(finished=True)
        content, style = (style_runs.picture(ref) for ref in style_runs.spec_pictures(raw))
        result = style_runs.result_file(info.run_dir)
        self._show_pictures(content, style, result)
        self.status.setText(f"Run {run_id} ({info.status}): {len(self.timeline.items)} pictures, "
                            f"{self._iteration(info.epochs_done)} iterations.")

    def load_spec(self, raw: dict[str, Any]) -> bool:
        """Clone: show an earlier style-transfer run's settings (the window calls this)."""
        if (raw.get("run") or {}).get("task") != TASK:
            return False
        self.controls.load_values(raw)
        return True

    # -- the run this page started ---------------------------------------------------------------------
    def _assigned(self, ticket: str, run_id: str) -> None:
        if ticket != self.ticket or not self.painting:
            return
        self.run_id = run_id
        try:
            self.run_dir = runs.get_run(self.context.studio, run_id).run_dir
        except KeyError:
            self.run_dir = None
        self.status.setText(f"Painting (run {run_id})…")
        self.poll.start()

    def _epoch(self, run_id: str, metrics: dict) -> None:
        if not (self.painting and run_id and run_id == self.run_id):
            return
        iteration = self._iteration(int(metrics.get("epoch", 0)))
        total = metric(metrics, "loss")
        loss = f", total loss {total:.4g}" if total is not None else ""
        self.status.setText(f"Painting (run {run_id}): iteration {iteration}{loss}…")

    def _finished(self, run_id: str, status: str, message: str) -> None:
        if not self.painting or (run_id != self.run_id) or not run_id:
            return
        self.painting = False
        self.poll.stop()
        self.refresh_snapshots(finished=True)
        result = style_runs.result_file(self.run_dir) if self.run_dir else None
        self._show_pictures(self.controls.content.picture, self.controls.style.picture, result)
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        index = self.runs.findData(run_id)  # the list of earlier runs has it now: show it as the one open
        if index >= 0:
            self.runs.blockSignals(True)
            self.runs.setCurrentIndex(index)
            self.runs.blockSignals(False)
        kept = " The picture painted so far is kept." if status != "completed" and result else ""
        if status == "failed":
            self._say_error(f"The run failed: {message}.{kept}")
        else:
            self.status.setText(f"Run {run_id} {status}.{kept}")

    def _refused(self, ticket: str, message: str) -> None:
        if ticket == self.ticket and self.painting:
            self.painting = False
            self.poll.stop()
            self.start_button.setEnabled(True)
            self.stop_button.setEnabled(False)
            self._say_error(f"The run could not start: {message}")

    def _iteration(self, period_number: int) -> int:
        return style_runs.iteration_at(self.period, self.steps, period_number)

    # -- showing --------------------------------------------------------------------------------------
    def refresh_snapshots(self, finished: bool = False) -> None:
        """List the run's snapshots again and show the newest (only its PNG is read). A finished run's
        result comes last."""
        if self.run_dir is None:
            return
        self._read_losses()
        items: list[tuple[Any, Path]] = style_runs.snapshots(self.run_dir)
        result = style_runs.result_file(self.run_dir) if finished else None
        if result is not None:
            items.append((RESULT, result))
        if [p for _, p in items] != [p for _, p in self.timeline.items] or finished:
            self.timeline.set_items(items)

    def _read_losses(self) -> bool:
        """Add the losses written since the last read (one point a snapshot) to the curves; False when the run
        has none."""
        points, self._losses_read = style_runs.losses_since(self.run_dir, self._losses_read)
        for point in points:
            self.curves.append(point["step"], style_runs.loss_points(point))
        return self._losses_read > 0

    def _show_pictures(self, content: Any, style: Any, result: Path | None) -> None:
        for view, image in zip(self.compare[:2], (content, style), strict=True):
            view.set_image(image)
        if result is None:
            self.compare[2].clear_image()
        else:
            self.compare[2].load(result)

    def _say_error(self, message: str) -> None:
        self.status.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span>")

    # -- drops on the page ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: Any) -> None:
        files = dropped_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.take_files(files)

    def take_files(self, files: list[str]) -> None:
        """Files dropped on the page: the first becomes the content, a second the style."""
        self.controls.content.choose_file(files[0])
        if len(files) > 1:
            self.controls.style.choose_file(files[1])


if __name__ == "__main__":
    from dlstudio_generative.panels.stub import preview

    raise SystemExit(preview(StylePage))
