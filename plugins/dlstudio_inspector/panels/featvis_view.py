"""Feature visualisation: optimise an image to excite one channel, drawn as it optimises.

It runs on a copy of the model in its own background job, so the other views stay usable meanwhile.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio_inspector.featvis import Frame, maximise
from dlstudio_inspector.inputs import takes_tokens
from dlstudio_inspector.panels.qtimage import ImageView
from dlstudio_inspector.panels.session import Session


def _pixels(image: np.ndarray) -> np.ndarray:
    image = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    return (image * 255).round().astype(np.uint8)


class FeatVisView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.job = None
        self.values: list[tuple[int, float]] = []
        self.layer_combo = QComboBox(minimumContentsLength=24)
        self.channel_spin = QSpinBox(minimum=0, maximum=4095)
        self.channel_spin.setPrefix("channel ")
        self.steps_spin = QSpinBox(minimum=8, maximum=5000, value=128, singleStep=32)
        self.steps_spin.setSuffix(" steps")
        self.lr_spin = QDoubleSpinBox(minimum=0.001, maximum=1.0, singleStep=0.01, decimals=3)
        self.lr_spin.setValue(0.05)
        self.lr_spin.setPrefix("lr ")
        self.size_spin = QSpinBox(minimum=16, maximum=512, value=128, singleStep=16)
        self.size_spin.setSuffix(" px")
        self.fourier_box = QCheckBox("Fourier")
        self.fourier_box.setChecked(True)
        self.fourier_box.setToolTip("Optimise the image's 1/f-scaled spectrum with decorrelated colours (readable "
                                    "shapes) instead of its raw pixels (high-frequency noise)")
        self.transforms_box = QCheckBox("Transforms")
        self.transforms_box.setChecked(True)
        self.transforms_box.setToolTip("Random jitter, scale and rotation every step: keeps only robust features")
        self.tv_spin = QDoubleSpinBox(minimum=0.0, maximum=10.0, singleStep=0.05, decimals=3)
        self.tv_spin.setPrefix("TV ")
        self.tv_spin.setToolTip("Total-variation penalty: smoother images")
        self.decay_spin = QDoubleSpinBox(minimum=0.0, maximum=10.0, singleStep=0.01, decimals=4)
        self.decay_spin.setPrefix("L2 ")
        self.decay_spin.setToolTip("L2 penalty pulling pixels towards grey")
        self.start_button = QPushButton("Start")
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Layer"), self.layer_combo, self.channel_spin, self.steps_spin, self.lr_spin,
                  self.size_spin, self.start_button):
            bar.addWidget(w)
        # The regularisers on a second row, so that the page fits a 1280-px screen.
        regularisers = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (self.fourier_box, self.transforms_box, self.tv_spin, self.decay_spin):
            regularisers.addWidget(w)
        self.info = QLabel("Optimises an input image so that the chosen channel's mean activation grows (Olah et "
                           "al. 2017): Fourier-space image, random jitter, scale and rotation. For a class, choose "
                           "the last Linear layer and the class's index as the channel.")
        self.info.setWordWrap(True)
        self.image = ImageView()
        self.curve = pg.PlotWidget(title="Mean activation of the channel")
        self.curve.setLabel("bottom", "step")
        self.line = self.curve.plot([], [], pen=pg.mkPen("#f58518", width=2))
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.image)
        split.addWidget(self.curve)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 500])
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addLayout(regularisers)
        box.addWidget(self.info)
        box.addWidget(split, 1)
        self.start_button.clicked.connect(self.toggle)
        session.model_changed.connect(self.load)

    def load(self) -> None:
        self.stop()
        opened = self.session.opened
        self.layer_combo.clear()
        if opened is None:
            return
        usable = not opened.is_scripted and not takes_tokens(opened.model, opened.data) \
            and len(opened.data.input_shape) == 3
        self.start_button.setEnabled(usable)
        if not usable:
            self.info.setText("Feature visualisation needs an image model opened from a checkpoint or an "
                              "architecture.")
            return
        if opened.data.input_shape:
            self.size_spin.setValue(min(int(opened.data.input_shape[-1]), 224))
        for name, module in opened.model.named_modules():
            if isinstance(module, (torch.nn.modules.conv._ConvNd, torch.nn.Linear)) \
                    or (name and name.count(".") <= 1 and any(module.children())):
                self.layer_combo.addItem(f"{name}  ({type(module).__name__})", name)

    def toggle(self) -> None:
        if self.job is not None:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        opened, layer = self.session.opened, self.layer_combo.currentData()
        if opened is None or not layer:
            return
        model = copy.deepcopy(opened.model).eval()
        self.values = []
        self.line.setData([], [])
        steps = self.steps_spin.value()
        # A partial of the generator function is still seen as one: frames arrive through on_progress.
        work = functools.partial(maximise, model, layer, self.channel_spin.value(), data=opened.data, steps=steps,
                                 lr=self.lr_spin.value(), size=self.size_spin.value(), decay=self.decay_spin.value(),
                                 tv=self.tv_spin.value(), fourier=self.fourier_box.isChecked(),
                                 decorrelate=self.fourier_box.isChecked(), every=max(1, steps // 64),
                                 **({} if self.transforms_box.isChecked() else {"jitter": 0, "scale": 0.0,
                                                                                 "degrees": 0.0}))
        self.job = self.session.context.run_in_background(work, on_progress=self.show_frame, on_result=self._ended,
                                                          on_error=self._failed)
        self.job.done.connect(self._job_done)
        self.start_button.setText("Stop")
        self.info.setText(f"Optimising channel {self.channel_spin.value()} of {layer}…")

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def show_frame(self, frame: Frame) -> None:
        self.image.set_image(_pixels(frame.image))
        self.values.append((frame.step, frame.activation))
        steps, values = zip(*self.values)
        self.line.setData(list(steps), list(values))
        self.info.setText(f"step {frame.step}/{frame.steps}: mean activation {frame.activation:.4g}")

    def _ended(self, frame: Frame | None) -> None:
        if frame is not None:
            self.image.set_image(_pixels(frame.image))

    def _failed(self, exc: BaseException) -> None:
        self.info.setText(str(exc))

    def _job_done(self) -> None:
        self.job = None
        self.start_button.setText("Start")


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(FeatVisView))
