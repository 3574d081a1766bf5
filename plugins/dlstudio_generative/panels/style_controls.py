"""The settings side of the Style transfer page: the content and style pictures, how long and how large to
paint, the task's own parameters (shown from what the ``style-transfer`` task declares), whether VGG-19's
weights are here, and the run spec all of it makes."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.forms import ParamForm
from dlstudio_generative.panels.image_picker import ImagePicker
from dlstudio_generative.panels.views import ERROR_STYLE, HINT_STYLE, WARNING_STYLE

TASK = "style-transfer"
#: ``style_spec``'s own arguments, shown as the fields above the task's parameters (not twice).
RUN_KEYS = ("size", "iterations", "snapshot_every")
#: The task's parameters that only matter with VGG-19.
VGG_KEYS = ("vgg_weights",)


def vgg_status(features: str, weights_file: str) -> tuple[str, str]:
    """(words, style) saying whether VGG-19's weights will be found, and where to put them if not.

    Cheap (looks at files, reads none): the file itself is checked in the background by :func:`check_weights`.
    """
    if features != "vgg19":
        return "", ""
    from dlstudio_generative.style import vgg_weights as vgg

    if weights_file.strip():
        path = Path(weights_file).expanduser()
        if not path.is_file():
            return f"VGG-19 weights: {path} does not exist.", ERROR_STYLE
        return f"VGG-19 weights: your file {path.name} (checking…)", HINT_STYLE
    cached = vgg.hub_weights_path()
    if cached.is_file():
        return f"VGG-19 weights found: torch hub's copy {cached}.", HINT_STYLE
    return (f"VGG-19 weights are not on this machine: the run downloads {vgg.VGG19_FILE} ({vgg.VGG19_SIZE}). "
            f"Offline, download {vgg.VGG19_URL} elsewhere and put it in {cached.parent}, or choose the file "
            "above.", WARNING_STYLE)


def check_weights(path: str) -> str:
    """Worker thread: read the weights file at ``path`` and check it is VGG-19's (raises with what differs)."""
    from dlstudio_generative.style.vgg_weights import vgg19_features_state

    state = vgg19_features_state(path, report=lambda _text: None)
    return f"VGG-19 weights: {Path(path).name} holds VGG-19's {len(state) // 2} convolutions."


class StyleControls(QWidget):
    """Left side of the page. ``spec()`` is the run spec (a dict) of what is chosen, or raises ValueError
    (a SpecError too) naming what is wrong; ``changed`` fires on every change."""

    changed = Signal()

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.weights_job: Any = None
        task = context.studio.registry.tasks.get(TASK)
        self.task_defaults = {k: v for k, v in task.defaults.items() if k not in RUN_KEYS}
        self.task_choices = {k: v for k, v in task.choices.items() if k not in RUN_KEYS}

        self.content = ImagePicker("content", "Content: what is painted")
        self.style = ImagePicker("style", "Style: how it is painted")
        self.content.choose_sample(_first_sample("content"))
        self.style.choose_sample(_first_sample("style"))

        self.size = QSpinBox(minimum=32, maximum=1024, value=128, singleStep=16, suffix=" px")
        self.size.setObjectName("size")
        self.size.setToolTip("The longer side of the painted picture. 128 px paints in about 20 s on a CPU; "
                             "the time grows with the square of the side.")
        self.iterations = QSpinBox(minimum=1, maximum=5000, value=100, suffix=" iterations")
        self.iterations.setObjectName("iterations")
        self.iterations.setToolTip("L-BFGS iterations: the picture is improved once per iteration")
        self.snapshot_every = QSpinBox(minimum=1, maximum=1000, value=5, suffix=" iterations")
        self.snapshot_every.setObjectName("snapshot_every")
        self.snapshot_every.setToolTip("A snapshot of the painting every this many iterations (the losses are "
                                       "recorded less often: every period of the run).")
        run_box = QGroupBox("Painting")
        run_form = QFormLayout(run_box)
        run_form.addRow("Image size", self.size)
        run_form.addRow("Iterations", self.iterations)
        run_form.addRow("Snapshot every", self.snapshot_every)

        self.form = ParamForm(self.task_defaults, self.task_choices)
        self.vgg_line = QLabel(wordWrap=True)
        self.vgg_line.setObjectName("vgg_status")
        self.vgg_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.limitation = QLabel(wordWrap=True)
        self.limitation.setObjectName("limitation")
        self.limitation.setStyleSheet("QLabel { background:#fff8e1; border:1px solid #f0d890; padding:4px }")
        params_box = QGroupBox("Style transfer")
        params_column = QVBoxLayout(params_box)
        params_column.addWidget(self.form)
        params_column.addWidget(self.vgg_line)
        params_column.addWidget(self.limitation)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.content)
        layout.addWidget(self.style)
        layout.addWidget(run_box)
        layout.addWidget(params_box)
        layout.addStretch(1)

        for picker in (self.content, self.style):
            picker.changed.connect(self.changed)
        for spin in (self.size, self.iterations, self.snapshot_every):
            spin.valueChanged.connect(lambda *_: self.changed.emit())
        self.form.changed.connect(self._form_changed)
        self._form_changed()

    # -- values ---------------------------------------------------------------------------------------
    def features(self) -> str:
        if "features" not in self.form.params:
            return ""
        return str(self.form.widget("features").current_value() or "")

    def spec(self) -> dict[str, Any]:
        """The run spec of what is chosen (``style_spec``'s), device left to the toolbar."""
        from dlstudio_generative.style.spec import style_spec

        problems = self.form.validate()
        if problems:
            raise ValueError("\n".join(problems))
        params = self.form.values()
        if {"features", "content_layer", "style_layers"} <= set(params):
            from dlstudio_generative.style.layers import parse_layers

            # Named layers are checked now, not when the run has started: the message names the layers there are.
            parse_layers(params["features"], params["content_layer"], params["style_layers"])
        return style_spec(self.content.reference(), self.style.reference(), size=self.size.value(),
                          iterations=self.iterations.value(), snapshot_every=self.snapshot_every.value(),
                          **params)

    def load_values(self, raw: dict[str, Any]) -> None:
        """Show the settings of an earlier run's spec (the pictures, sizes and task parameters)."""
        from dlstudio_generative.panels.style_runs import spec_pictures

        content, style = spec_pictures(raw)
        for picker, ref in ((self.content, content), (self.style, style)):
            if ref.startswith("sample:"):
                try:
                    picker.choose_sample(ref.removeprefix("sample:"))
                except ValueError as exc:
                    picker._say_error(str(exc))
            elif ref:
                picker.choose_file(ref)
        train = raw.get("train") or {}
        if train.get("steps"):
            self.iterations.setValue(int(train["steps"]))
        task_params = (raw.get("task") or {}).get("params") or {}
        every = task_params.get("snapshot_every") or train.get("eval_every")
        if every:
            self.snapshot_every.setValue(int(every))
        size = _spec_size(raw)
        if size:
            self.size.setValue(size)
        # A spec's own style weight is applied as it is, not followed to its network's default.
        self._features = str(task_params.get("features", self.features()))
        self.form.set_values(task_params)

    # -- reactions ------------------------------------------------------------------------------------
    def _form_changed(self) -> None:
        features = self.features()
        self._follow_style_weight(features)
        vgg = features == "vgg19"
        for key in VGG_KEYS:
            if key in self.form.params:
                self.form.widget(key).setEnabled(vgg)
                self.form.browse_button(key).setEnabled(vgg)
        text, style = vgg_status(features, self._weights_file())
        self.vgg_line.setText(html.escape(text))
        self.vgg_line.setStyleSheet(style)
        self.vgg_line.setVisible(bool(text))
        self.limitation.setText(_limitation())
        self.limitation.setVisible(features == "random-banks")
        if vgg and self._weights_file() and Path(self._weights_file()).expanduser().is_file():
            self._check_weights(self._weights_file())
        self.changed.emit()

    def _follow_style_weight(self, features: str) -> None:
        """Switching the feature network switches the style weight to the new network's default, unless the user
        chose their own: VGG-19 wants the book's 1, the random banks 30 (their losses are scaled apart)."""
        from dlstudio_generative.style.spec import default_style_weight

        before, self._features = getattr(self, "_features", features), features
        if before == features or "style_weight" not in self.form.params:
            return
        if float(self.form.values()["style_weight"]) == default_style_weight(before):
            self.form.set_values({"style_weight": default_style_weight(features)})

    def _weights_file(self) -> str:
        if "vgg_weights" not in self.form.params:
            return ""
        return self.form.widget("vgg_weights").text().strip()

    def _check_weights(self, path: str) -> None:
        def done(text: str) -> None:
            if self._weights_file() == path:
                self.vgg_line.setText(html.escape(text))
                self.vgg_line.setStyleSheet(HINT_STYLE)

        def failed(exc: BaseException) -> None:
            if self._weights_file() == path:
                self.vgg_line.setText(html.escape(f"VGG-19 weights cannot be used: {exc}"))
                self.vgg_line.setStyleSheet(ERROR_STYLE)

        self.weights_job = self.context.run_in_background(check_weights, path, on_result=done, on_error=failed)


def _first_sample(role: str) -> str:
    from dlstudio_generative.style.samples import SAMPLES

    return next(name for name, sample in SAMPLES.items() if sample.role == role)


def _limitation() -> str:
    from dlstudio_generative.style.layers import LIMITATION

    return LIMITATION


def _spec_size(raw: dict[str, Any]) -> int:
    for section in ("data", "task", "model"):
        value = ((raw.get(section) or {}).get("params") or {}).get("size")
        if isinstance(value, int):
            return value
    return 0
