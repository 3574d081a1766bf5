"""The learning-rate finder box of the Train page: sweep, loss-vs-LR plot, suggestion, one click to use it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from dlstudio.gui.widgets import EmptyNote, log_plot_item
from dlstudio_images.lr_finder import LRFinderResult, find_lr_for_spec


class LRFinderBox(QGroupBox):
    """``spec_source()`` gives the run spec to sweep; ``use_lr`` is emitted with the chosen rate."""

    use_lr = Signal(float)

    def __init__(self, context: Any, spec_source: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__("Learning-rate finder", parent)
        self.context = context
        self.spec_source = spec_source
        self.result: LRFinderResult | None = None
        self.job: Any = None
        self.points: tuple[list[float], list[float]] = ([], [])
        #: Counts sweeps started and cleared: only the current one's results are shown.
        self._sweep = 0
        self.plot = pg.PlotWidget(background="w", plotItem=log_plot_item())  # decades labelled: 1e-4, 1e-3 …
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumHeight(180)
        self.plot.setMaximumHeight(200)  # the Find button stays in sight at the top of the column
        self.curve = self.plot.plot(pen=pg.mkPen((52, 120, 200), width=2))
        self.empty_note = EmptyNote(self.plot.getPlotItem(), "press Find to sweep the learning rate")
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((220, 110, 30), width=2, style=pg.QtCore.Qt.DashLine))
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.find_button = QPushButton("Find")
        self.find_button.setToolTip("Train ~100 batches of a fresh model while the rate grows from 1e-7 to 10")
        self.find_button.clicked.connect(self.find)
        self.use_button = QPushButton("Use suggestion")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(lambda: self.result and self.use_lr.emit(self.result.suggestion))
        self.label = QLabel("Sweep the learning rate on a fresh copy of the model; the suggestion is where the "
                            "loss falls fastest.", wordWrap=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot)
        layout.addWidget(self.label)
        layout.addLayout(buttons)

    def find(self) -> None:
        try:
            spec = self.spec_source()
        except Exception as exc:  # the form names the field at fault
            self.context.show_error("Cannot run the learning-rate finder", str(exc))
            return
        self.points = ([], [])
        self.curve.setData([], [])
        self.empty_note.set_empty(True, "sweeping…")
        self.marker.hide()
        self.find_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.label.setText("Sweeping…")
        studio, device = self.context.studio, self.context.current_device()
        if self.context.is_running():
            device = "cpu"  # leave the accelerator to the run in progress

        def sweep():
            return (yield from find_lr_for_spec(studio, spec, device=device))

        self._sweep += 1
        sweep_id = self._sweep  # a sweep of a model since changed reports nothing

        def current(handler: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda value: handler(value) if sweep_id == self._sweep else None

        self.job = self.context.run_in_background(sweep, on_progress=current(self._progress),
                                                  on_result=current(self._done), on_error=current(self._failed))

    def clear(self, why: str = "The model changed: find again for it.") -> None:
        """Forget the sweep (its model or data changed): no plot, no suggestion to use."""
        if self.result is None and not self.points[0] and self.find_button.isEnabled():
            return
        self._sweep += 1
        if self.job is not None:
            self.job.cancel()
            self.job = None
        self.result = None
        self.points = ([], [])
        self.curve.setData([], [])
        self.empty_note.set_empty(True, "press Find to sweep the learning rate")
        self.marker.hide()
        self.use_button.setEnabled(False)
        self.find_button.setEnabled(True)
        self.label.setText(why)

    def _progress(self, point: tuple[int, float, float]) -> None:
        _, lr, loss = point
        if math.isfinite(loss):
            self.points[0].append(lr)
            self.points[1].append(loss)
            if len(self.points[0]) % 5 == 0:
                self.curve.setData(*self.points)
                self.empty_note.set_empty(False)

    def _done(self, result: LRFinderResult) -> None:
        self.result = result
        self.find_button.setEnabled(True)
        finite = [(lr, v) for lr, v in zip(result.lrs, result.losses) if math.isfinite(v)]
        if finite:
            lrs, losses = zip(*finite)
            best = min(losses)
            # keep the divergence from squashing the interesting part of the curve
            self.curve.setData(list(lrs), [min(v, best * 4) for v in losses])
            self.empty_note.set_empty(False)
        if result.suggestion is None:
            self.label.setText("No suggestion: the sweep was too short. Try more data or a larger range.")
            return
        self.marker.setValue(math.log10(result.suggestion))
        self.marker.show()
        self.use_button.setEnabled(True)
        why = " (the loss diverged after it)" if result.diverged else ""
        self.label.setText(f"Suggested learning rate: <b>{result.suggestion:.2g}</b>{why}.")

    def _failed(self, exc: BaseException) -> None:
        self.find_button.setEnabled(True)
        self.label.setText(f"<span style='color:#b00'>The sweep failed: {exc}</span>")
