"""Projector: a layer's features for N dataset samples as a 2-D scatter (PCA or t-SNE), coloured by class.

Clicking a point shows that sample's image, its true class and the model's prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio_inspector import projector, samples
from dlstudio_inspector.inputs import takes_tokens, tensor_to_image
from dlstudio_inspector.panels.qtimage import ImageView
from dlstudio_inspector.panels.session import Session
from dlstudio_inspector.projector import INPUT, Projection

#: Ten well-separated colours (Tableau 10), then grey for "no class".
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
NO_CLASS = (90, 90, 90)
KEY = "projector"


def colour_of(label: int) -> tuple[int, int, int]:
    if label < 0:
        return NO_CLASS
    base = PALETTE[label % len(PALETTE)]
    if label < len(PALETTE):
        return base
    shade = 0.6 if (label // len(PALETTE)) % 2 else 1.0  # beyond ten classes: darker repeats
    return tuple(int(c * shade) for c in base)  # type: ignore[return-value]


def _layers(model, x) -> list[tuple[str, str]]:
    from dlstudio_inspector.summary import summarize

    summary = summarize(model, x, flops=False)
    return [(n, summary.by_name[n].type) for n in summary.execution_order() if n]


def _load_bundle(studio, dataset_id: str, params: dict[str, Any]):
    return samples.load_dataset(studio, dataset_id, params)


class ProjectorView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.projection: Projection | None = None
        self.bundle: tuple[str, Any] | None = None
        self.selected: int | None = None
        self.layer_combo = QComboBox(minimumContentsLength=24)
        self.dataset_combo = QComboBox(minimumContentsLength=14)
        self.split_combo = QComboBox()
        self.split_combo.addItems(["valid", "train"])
        self.count_spin = QSpinBox(minimum=10, maximum=projector.PCA_MAX, singleStep=100, value=500)
        self.count_spin.setSuffix(" samples")
        self.method_combo = QComboBox()
        self.method_combo.addItem("PCA", "pca")
        self.method_combo.addItem("t-SNE", "tsne")
        self.run_button = QPushButton("Project")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        bar = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Layer"), self.layer_combo, QLabel("Data"), self.dataset_combo, self.split_combo,
                  self.count_spin, self.method_combo, self.run_button, self.stop_button):
            bar.addWidget(w)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.scatters: list[pg.ScatterPlotItem] = []
        self.marker = pg.ScatterPlotItem(size=16, pen=pg.mkPen("k", width=2), brush=pg.mkBrush(None))
        self.image = ImageView()
        self.detail = QLabel("Click a point to see its sample.")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop)
        side = QWidget()
        side_box = QVBoxLayout(side)
        side_box.addWidget(self.image, 1)
        side_box.addWidget(self.detail)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plot)
        split.addWidget(side)
        split.setSizes([850, 300])
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.info)
        box.addWidget(split, 1)
        self.run_button.clicked.connect(self.compute)
        self.stop_button.clicked.connect(self.stop)
        self.method_combo.currentIndexChanged.connect(lambda _i: self._say_cost())
        self.count_spin.valueChanged.connect(lambda _v: self._say_cost())
        session.model_changed.connect(self._model_changed)
        session.busy_changed.connect(self._busy)
        session.input_changed.connect(self._input_changed)
        self._layers_stale = True

    # -- the model, its layers and datasets --------------------------------------------------------------
    def _model_changed(self) -> None:
        self._layers_stale = True
        self.projection = None
        self.bundle = None
        self._clear_plot()
        self.dataset_combo.clear()
        opened = self.session.opened
        if opened is not None:
            for dataset_id in samples.candidate_datasets(self.session.studio, opened):
                self.dataset_combo.addItem(self.session.studio.registry.datasets.get(dataset_id).title, dataset_id)

    def _input_changed(self) -> None:
        # The layer list needs an input to trace with: a new model's arrives just after model_changed.
        if self._layers_stale and self.isVisible():
            self.load_layers()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._layers_stale:
            self.load_layers()

    def load_layers(self) -> None:
        self._layers_stale = False
        self.layer_combo.clear()
        opened, x = self.session.opened, self.session.x
        if opened is None or x is None:
            return
        self.layer_combo.addItem("input (raw values)", INPUT)
        if opened.is_scripted:
            self.info.setText("TorchScript models take no forward hooks: only the raw input can be projected.")
            return
        self.session.submit("projector-layers", _layers, opened.model, x, on_result=self._got_layers,
                            on_error=self.info.setText)

    def _got_layers(self, layers: list[tuple[str, str]]) -> None:
        for name, kind in layers:
            self.layer_combo.addItem(f"{name}  ({kind})", name)
        # The penultimate layer is the usual embedding: preselect the last layer before the output layer.
        if len(layers) >= 2:
            self.layer_combo.setCurrentIndex(len(layers) - 1)
        self._say_cost()

    def set_layer(self, name: str) -> None:
        index = self.layer_combo.findData(name)
        if index >= 0:
            self.layer_combo.setCurrentIndex(index)

    def _say_cost(self) -> None:
        method = self.method_combo.currentData()
        n = self.count_spin.value()
        if method == "tsne" and n > projector.TSNE_MAX:
            self.info.setText(f"t-SNE is limited to {projector.TSNE_MAX} samples here.")
        elif method == "tsne":
            self.info.setText(f"t-SNE of {n} points takes about {projector.estimate_seconds('tsne', n):.0f} s "
                              "(it cannot be stopped half-way).")

    # -- computing ------------------------------------------------------------------------------------------
    def compute(self) -> None:
        opened, dataset_id = self.session.opened, self.dataset_combo.currentData()
        if opened is None:
            self.info.setText("Open a model first.")
            return
        if dataset_id is None:
            self.info.setText("No registered dataset fits this model: the projector needs real samples.")
            return
        if takes_tokens(opened.model, opened.data) and self.layer_combo.currentData() == INPUT:
            self.info.setText("The raw input of a text model is token ids: choose a layer (its embedding).")
            return
        method = self.method_combo.currentData()
        n = self.count_spin.value()
        if method == "tsne" and n > projector.TSNE_MAX:
            self.info.setText(f"t-SNE is limited to {projector.TSNE_MAX} samples here; take fewer.")
            return
        layer = self.layer_combo.currentData() or INPUT
        found = samples.run_dataset(opened)
        params = found[1] if found and found[0] == dataset_id else {}
        cached = self.bundle[1] if self.bundle is not None and self.bundle[0] == dataset_id else None
        split = self.split_combo.currentText()
        studio, model, num_classes = self.session.studio, opened.model, len(opened.data.classes)
        expected = tuple(opened.data.input_shape)

        def work():
            bundle = cached if cached is not None else _load_bundle(studio, dataset_id, params)
            yield ("bundle", bundle)
            dataset = bundle.valid if split == "valid" and bundle.valid is not None and len(bundle.valid) \
                else bundle.train
            used = "valid" if dataset is bundle.valid else "train"
            first = samples.sample_at(bundle, 0, used, expected)  # checks the shape against the model's input
            del first
            indices = projector.choose_indices(len(dataset), n)
            return (yield from projector.compute(model, dataset, layer, indices, method, split=used,
                                                 num_classes=num_classes))

        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.info.setText(f"Loading {dataset_id}…")
        self.session.submit(KEY, work, on_result=self._done, on_progress=self._progress, on_error=self._failed)

    def stop(self) -> None:
        self.session.cancel(KEY)
        self.info.setText("Stopped (a t-SNE already under way finishes first, then is dropped).")

    def _busy(self, busy: bool) -> None:
        if not self.session.running(KEY):
            self.run_button.setEnabled(True)
            self.stop_button.setEnabled(False)

    def _progress(self, step: Any) -> None:
        if isinstance(step, tuple) and step[0] == "bundle":
            self.bundle = (self.dataset_combo.currentData(), step[1])
        else:
            self.info.setText(str(step))

    def _failed(self, message: str) -> None:
        self.info.setText(message)

    def _done(self, projection: Projection) -> None:
        self.projection = projection
        self.selected = None
        self.draw()
        f = projection.features
        name = "PCA" if projection.method == "pca" else "t-SNE"
        extra = (f"; the axes explain {projection.explained[0]:.0%} and {projection.explained[1]:.0%} of the "
                 "variance" if projection.explained else "")
        dims = "×".join(map(str, f.shape)) or "1"
        self.info.setText(f"{len(f.values)} {f.split} samples, {f.layer or 'input'} ({dims} = {f.values.shape[1]} "
                          f"values each), {name} in {projection.seconds:.1f} s{extra}. Click a point.")

    # -- drawing and picking --------------------------------------------------------------------------------
    def _clear_plot(self) -> None:
        for item in self.scatters:
            self.plot.removeItem(item)
        self.scatters = []
        self.legend.clear()
        if self.marker.scene() is not None:
            self.plot.removeItem(self.marker)

    def draw(self) -> None:
        self._clear_plot()
        p = self.projection
        if p is None:
            return
        classes = self.session.opened.data.classes if self.session.opened is not None else ()
        labels = p.features.labels
        for label in sorted(set(labels.tolist())):
            rows = np.flatnonzero(labels == label)
            name = (classes[label] if 0 <= label < len(classes) else str(label)) if label >= 0 else "no class"
            item = pg.ScatterPlotItem(p.points[rows, 0], p.points[rows, 1], data=rows, size=7,
                                      pen=None, brush=pg.mkBrush(*colour_of(label), 200), name=name)
            item.sigClicked.connect(self._point_clicked)
            self.plot.addItem(item)
            self.scatters.append(item)
        self.plot.addItem(self.marker)
        self.marker.setData([], [])
        self.plot.autoRange()

    def _point_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.select(int(points[0].data()))

    def select(self, row: int) -> None:
        """Show the sample behind point ``row`` (its image, true and predicted class) and mark it."""
        p, opened = self.projection, self.session.opened
        if p is None or opened is None or not 0 <= row < len(p.points):
            return
        self.selected = row
        self.marker.setData([p.points[row, 0]], [p.points[row, 1]])
        f = p.features
        index = int(f.indices[row])
        classes = opened.data.classes

        def name(c: int) -> str:
            return "—" if c < 0 else (classes[c] if c < len(classes) else str(c))

        text = (f"{f.split} sample #{index}\nclass: {name(int(f.labels[row]))}\n"
                f"predicted: {name(int(f.predicted[row]))}")
        if f.labels[row] >= 0 and f.predicted[row] >= 0 and f.labels[row] != f.predicted[row]:
            text += "  (wrong)"
        self.detail.setText(text)
        bundle = self.bundle[1] if self.bundle is not None else None
        if bundle is None or takes_tokens(opened.model, opened.data):
            self.image.set_image(None)
            return
        sample = samples.sample_at(bundle, index, f.split)
        image = tensor_to_image(sample.x, opened.data)
        self.image.set_image((image * 255).round().astype(np.uint8))


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(ProjectorView))
