"""Attribution: Grad-CAM, Guided Grad-CAM, Integrated Gradients, SmoothGrad, Occlusion or saliency (Captum) for
image models; for token models, Integrated Gradients at the embedding layer, shown as the text with each token
shaded by its contribution (green for the class, red against)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio_inspector.activations import colorize
from dlstudio_inspector.attribution import BASELINE_METHODS, LAYER_METHODS, METHODS, Attribution, attribute, overlay
from dlstudio_inspector.inputs import image_to_tensor, takes_tokens, tensor_to_image
from dlstudio_inspector.panels.qtimage import ImageView
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.token_attribution import TokenAttribution, attribute_tokens, shaded_html


def _predictions(model, x, classes: tuple[str, ...], k: int = 5) -> str:
    with torch.no_grad():
        out = model(x[:1])
    out = out[0] if isinstance(out, (tuple, list)) else out
    if out.dim() != 2:
        return ""
    probs = torch.softmax(out[0].float(), 0)
    top = probs.topk(min(k, probs.numel()))
    names = [classes[i] if i < len(classes) else str(i) for i in top.indices.tolist()]
    return "Predicted: " + ", ".join(f"{n} {p:.1%}" for n, p in zip(names, top.values.tolist()))


def _black(model, x, data) -> torch.Tensor | float:
    """A black image in the model's normalised input space: the baseline Integrated Gradients and Occlusion
    compare against (0 there would be the dataset's mean grey, not "no information")."""
    try:
        black = image_to_tensor(Image.new("RGB", (x.shape[3], x.shape[2])), data, model)
    except Exception:  # no known input shape: Captum's usual zero baseline
        return 0.0
    return black if black.shape == x[:1].shape else 0.0


def _attribute(model, x, method: str, layer: str | None, target: int | None, data) -> tuple[Attribution, str]:
    classes = data.classes
    name = None if target is None or target >= len(classes) else f"class {target} ({classes[target]})"
    baseline = _black(model, x, data) if method in BASELINE_METHODS else 0.0
    att = attribute(model, x, method, target, layer, baseline, name)
    return att, _predictions(model, x, classes)


def _attribute_tokens(model, x, target: int | None, data) -> tuple[TokenAttribution, str]:
    att = attribute_tokens(model, x, target, data)
    return att, _predictions(model, x[:1], data.classes)


class AttributionView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.result: Attribution | None = None
        self.token_result: TokenAttribution | None = None
        self._stale = True
        self.method_combo = QComboBox()
        for method, label in METHODS.items():
            self.method_combo.addItem(label, method)
        self.class_combo = QComboBox(minimumContentsLength=16)
        self.layer_combo = QComboBox(minimumContentsLength=22)
        self.alpha = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=50)
        self.alpha.setFixedWidth(120)
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Method"), self.method_combo, QLabel("Class"), self.class_combo, QLabel("Layer"),
                  self.layer_combo, QLabel("Overlay"), self.alpha):
            bar.addWidget(w)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.input_view = ImageView()
        self.heat_view = ImageView()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.input_view)
        split.addWidget(self.heat_view)
        split.setSizes([600, 600])
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.info)
        #: The text with each token shaded by its Integrated Gradients score (token models).
        self.text_view = QTextBrowser()
        self.stack = QStackedWidget()
        self.stack.addWidget(split)
        self.stack.addWidget(self.text_view)
        box.addWidget(self.stack, 1)
        self.method_combo.currentIndexChanged.connect(lambda _i: self._method_changed())
        self.class_combo.activated.connect(lambda _i: self.compute())
        self.layer_combo.activated.connect(lambda _i: self.compute())
        self.alpha.valueChanged.connect(lambda _v: self.draw())
        session.model_changed.connect(self.load)
        session.input_changed.connect(self.compute)
        self._method_changed()

    def _method_changed(self) -> None:
        self.layer_combo.setEnabled(self.method_combo.currentData() in LAYER_METHODS)
        self.compute()

    def load(self) -> None:
        opened = self.session.opened
        if opened is None:
            return
        self.class_combo.clear()
        self.class_combo.addItem("predicted class", None)
        classes = opened.data.classes
        for i, name in enumerate(classes[:2000]):
            self.class_combo.addItem(f"{i}: {name}", i)
        self.layer_combo.clear()
        self.layer_combo.addItem("last spatial layer (auto)", None)
        if not opened.is_scripted:  # blocks (two levels deep) and every convolution
            for name, module in opened.model.named_modules():
                if name and (name.count(".") <= 1 or isinstance(module, torch.nn.modules.conv._ConvNd)):
                    self.layer_combo.addItem(f"{name}  ({type(module).__name__})", name)

    def compute(self) -> None:
        self._stale = not self.isVisible()
        opened, x = self.session.opened, self.session.x
        if self._stale or opened is None or x is None:
            return
        if not opened.is_scripted and takes_tokens(opened.model, opened.data):
            self._compute_tokens(opened, x)
            return
        self.stack.setCurrentIndex(0)
        if opened.is_scripted or x.dim() != 4:
            self.info.setText("Attribution works on models opened from a checkpoint or an architecture (not "
                              "TorchScript files), on image batches (N, C, H, W) or token ids.")
            self.input_view.set_image(None)
            self.heat_view.set_image(None)
            return
        target = self.class_combo.currentData()
        self.info.setText("Computing…")
        self.session.submit("attribution", _attribute, opened.model, x, self.method_combo.currentData(),
                            self.layer_combo.currentData(), target, opened.data,
                            on_result=self._done, on_error=self.info.setText)

    def _compute_tokens(self, opened, x: torch.Tensor) -> None:
        self.stack.setCurrentIndex(1)
        self.token_result = None
        self.text_view.clear()
        target = self.class_combo.currentData()
        self.info.setText("Computing…")
        self.session.submit("attribution", _attribute_tokens, opened.model, x, target, opened.data,
                            on_result=self._tokens_done, on_error=self.info.setText)

    def _tokens_done(self, result: tuple[TokenAttribution, str]) -> None:
        self.token_result, predictions = result
        att = self.token_result
        classes = self.session.opened.data.classes if self.session.opened is not None else ()
        name = classes[att.target] if att.target < len(classes) else str(att.target)
        method = self.method_combo.currentData()
        note = ("" if method == "integrated-gradients" else f"({METHODS.get(method, method)} needs float pixels; "
                "token ids have no gradient, so a token model gets Integrated Gradients at its embedding.) ")
        text = note + (f"Integrated Gradients at embedding {att.layer!r} for class {att.target} ({name}): score "
                f"{att.score:.3g}, all-padding baseline {att.baseline_score:.3g}; the token scores sum to "
                f"{float(att.scores.sum()):.3g} (convergence delta {att.delta:.2g}). Green: for the class, red: "
                f"against. {predictions}")
        self.info.setText(f"<b>Empty map:</b> {att.empty}<br>{text}" if att.empty else text)
        self.text_view.setHtml(f"<p style='font-size:15pt; line-height:160%'>{shaded_html(att)}</p>")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.compute()

    def _done(self, result: tuple[Attribution, str]) -> None:
        self.result, predictions = result
        opened = self.session.opened
        att = self.result
        name = opened.data.classes[att.target] if att.target < len(opened.data.classes) else str(att.target)
        where = f" at layer {att.layer}" if att.layer else ""
        text = (f"{METHODS[att.method]}{where} for class {att.target} ({name}): score {att.score:.3g}, "
                f"probability {att.probability:.1%}. {predictions}")
        # An empty map is said inline, in words, so that a blank picture is never taken for an answer.
        self.info.setText(f"<b>Empty map:</b> {att.empty}<br>{text}" if att.empty else text)
        self.draw()

    def draw(self) -> None:
        opened, x = self.session.opened, self.session.x
        if self.result is None or opened is None or x is None or x.dim() != 4:
            return
        image = tensor_to_image(x, opened.data)
        base = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        self.input_view.set_image((base * 255).round().astype(np.uint8))
        alpha = self.alpha.value() / 100
        heat = self.result.heat
        if heat.shape != base.shape[:2]:
            self.heat_view.set_image(colorize(heat, "jet"))
        else:
            self.heat_view.set_image(overlay(base, heat, "jet", alpha))


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(AttributionView))
