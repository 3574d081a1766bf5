"""The Spirals panel: the dataset as a scatter plot, a few settings, and a Train button.

Only the panel factory in plugin.py imports this module, so the plugin itself loads without Qt.
Preview it on its own with ``python -m dlstudio_hello.panel``.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from dlstudio.params import Param, param_defaults
from dlstudio.spec import RunSpec
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio_hello import data
from dlstudio_hello.plugin import DATASET_ID, MLP_PARAMS, MODEL_ID, RECIPE_ID, SPIRALS_PARAMS

COLOURS = [(230, 120, 30), (40, 110, 200)]


def spin_box(param: Param, decimals: int = 0) -> QSpinBox | QDoubleSpinBox:
    """A spin box over a parameter's declared range, its help text as the tooltip."""
    spin = QDoubleSpinBox(decimals=decimals, singleStep=10.0**-decimals) if decimals else QSpinBox()
    spin.setRange(param.minimum, param.maximum)
    spin.setToolTip(param.help)
    return spin


class SpiralsPanel(QWidget):
    """Shows the points a run will train on; Train queues the recipe with the settings shown."""

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        #: The name dlstudio gave this plugin (the entry point's); runs of our model are tagged with it.
        self.plugin = context.studio.registry.models.get(MODEL_ID).plugin
        #: The spec the settings apply to: the recipe's, or a cloned run's.
        self.base: dict[str, Any] = {}
        self.run_id = ""

        self.plot = pg.PlotWidget(background="w")
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(10, 10))
        self.scatter = [
            self.plot.plot([], [], pen=None, symbol="o", symbolSize=6, symbolPen=None, symbolBrush=colour, name=name)
            for colour, name in zip(COLOURS, data.CLASSES, strict=True)
        ]

        self.samples = spin_box(SPIRALS_PARAMS["samples"])
        self.samples.setSingleStep(100)
        self.noise = spin_box(SPIRALS_PARAMS["noise"], decimals=2)
        self.turns = spin_box(SPIRALS_PARAMS["turns"], decimals=2)
        self.turns.setSingleStep(0.25)
        self.hidden = spin_box(MLP_PARAMS["hidden"])
        self.activation = QComboBox(toolTip=MLP_PARAMS["activation"].help)
        self.activation.addItems(MLP_PARAMS["activation"].choices)
        self.epochs = QSpinBox(minimum=1, maximum=10_000)
        for spin in (self.samples, self.noise, self.turns):
            spin.valueChanged.connect(self.redraw)

        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
        data_form.addRow("Points", self.samples)
        data_form.addRow("Noise", self.noise)
        data_form.addRow("Turns", self.turns)
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Hidden units", self.hidden)
        model_form.addRow("Activation", self.activation)
        model_form.addRow("Epochs", self.epochs)
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.train)
        self.status = QLabel("Set the data and the model, then press Train.", wordWrap=True)

        column = QWidget()
        column.setFixedWidth(260)  # the plot takes the rest, whatever the status says
        side = QVBoxLayout(column)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(data_box)
        side.addWidget(model_box)
        side.addWidget(self.train_button)
        side.addWidget(self.status)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(column)

        context.run_started.connect(self._run_started)
        context.run_epoch.connect(self._run_epoch)
        context.run_finished.connect(self._run_finished)
        self.load_spec(context.studio.recipe_spec(RECIPE_ID).to_dict())

    # -- spec <-> widgets ----------------------------------------------------------------------------
    def load_spec(self, spec: dict[str, Any]) -> bool:
        """Show a spec's settings ("clone" calls this with a run's spec); False if it is not ours."""
        if spec.get("model", {}).get("id") != MODEL_ID or spec.get("data", {}).get("id") != DATASET_ID:
            return False
        self.base = spec
        data_params = {**param_defaults(SPIRALS_PARAMS), **spec["data"].get("params", {})}
        model_params = {**param_defaults(MLP_PARAMS), **spec["model"].get("params", {})}
        for widget, value in ((self.samples, data_params["samples"]), (self.noise, data_params["noise"]),
                              (self.turns, data_params["turns"]), (self.hidden, model_params["hidden"]),
                              (self.epochs, spec.get("train", {}).get("epochs", 10))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.activation.setCurrentText(model_params["activation"])
        self.redraw()
        return True

    def current_spec(self) -> RunSpec:
        """The base spec with the settings shown, as the same ``KEY=VALUE`` overrides ``--set`` takes."""
        overrides = [
            f"data.params.samples={self.samples.value()}",
            f"data.params.noise={self.noise.value()!r}",
            f"data.params.turns={self.turns.value()!r}",
            f"model.params.hidden={self.hidden.value()}",
            f'model.params.activation="{self.activation.currentText()}"',
            f"train.epochs={self.epochs.value()}",
        ]
        return RunSpec.from_dict(self.base, source="the Spirals panel").with_overrides(overrides)

    def redraw(self) -> None:
        """Plot the points of the run's seed: exactly what the dataset will load."""
        seed = self.base.get("run", {}).get("seed", 0)
        points, labels = data.make_spirals(self.samples.value(), self.noise.value(), self.turns.value(), seed)
        for arm, item in enumerate(self.scatter):
            chosen = points[labels == arm].numpy()
            item.setData(chosen[:, 0], chosen[:, 1])

    # -- training ------------------------------------------------------------------------------------
    def train(self) -> None:
        try:
            spec = self.current_spec()
        except ValueError as exc:  # a SpecError names the setting at fault
            self.context.show_error("Cannot start the run", str(exc))
            return
        if self.context.start_run(spec) is not None:
            self.status.setText("Queued: training starts when the device is free.")

    def _run_started(self, run_id: str, plugin: str) -> None:
        if plugin == self.plugin:
            self.run_id = run_id
            self.status.setText(f"Run {run_id} started.")

    def _run_epoch(self, run_id: str, metrics: dict) -> None:
        if run_id == self.run_id:
            accuracy = metrics.get("valid_accuracy", metrics.get("train_accuracy", float("nan")))
            self.status.setText(f"Run {run_id}: epoch {metrics['epoch']}, accuracy {accuracy:.1%}.")

    def _run_finished(self, run_id: str, status: str, message: str) -> None:
        if run_id == self.run_id:
            self.status.setText(f"Run {run_id} {status}. {message}".strip())


if __name__ == "__main__":  # preview: the panel over a studio holding only this plugin
    import sys
    import tempfile

    from dlstudio.gui.context import StudioContext
    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio
    from PySide6.QtWidgets import QApplication

    from dlstudio_hello import plugin

    class PreviewHost:
        """Stands in for the main window: prints the spec instead of training it."""

        def start_run(self, spec: RunSpec, resume_id: str | None) -> str | None:
            print(spec.to_toml())
            return None

        def current_device(self) -> str:
            return "cpu"

        def is_running(self) -> bool:
            return False

        def notify(self, text: str, level: str) -> None:
            print(f"{level}: {text}")

        def show_error(self, title: str, message: str, details: str) -> None:
            print(f"{title}: {message}\n{details}")

        def show_panel(self, panel_id: str) -> bool:
            return False

    app = QApplication(sys.argv)
    studio = Studio.open(tempfile.mkdtemp(prefix="dlstudio-preview-"), [module_candidate("hello", plugin)])
    panel = SpiralsPanel(StudioContext(studio, PreviewHost()))
    panel.resize(900, 560)
    panel.show()
    sys.exit(app.exec())
