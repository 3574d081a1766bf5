"""The bar above every view: which model (registered, a run's checkpoint, a file) and which input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)
from superqt import QFlowLayout

from dlstudio import runs
from dlstudio_inspector import inputs, samples, sources, trust
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.panels.session import Session

MODEL_FILES = "Models (*.safetensors *.pt *.pth *.bin *.json *.onnx);;All files (*)"
INPUT_FILES = "Inputs (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.npy *.txt);;All files (*)"


class SourceBar(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._bundle: tuple[str, Any] | None = None
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)

        # One "Open" for every kind of model: the kind chosen first (a run's checkpoint, a registered model, a
        # file), then what of that kind; the button opens it (a file: the file dialog).
        self.kind_combo = QComboBox()
        for title, kind in (("A run's checkpoint", "run"), ("A registered model", "registered"),
                            ("A model file…", "file")):
            self.kind_combo.addItem(title, kind)
        self.kind_combo.setToolTip("What to open: a training run's checkpoint, a registered model with random "
                                   "weights, or a model file (.pt, .safetensors, .onnx, TorchScript)")
        self.model_combo = QComboBox(minimumContentsLength=18)
        self.run_combo = QComboBox(minimumContentsLength=22)
        self.which_combo = QComboBox()
        self.which_combo.addItems(["best", "last", "final"])
        self.which_combo.setToolTip("Which of the run's checkpoints: the best epoch's, the last epoch's, or the "
                                    "final model")
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("inspector_open")
        self.shape_edit = QLineEdit(placeholderText="input shape, e.g. 3,224,224")
        self.shape_edit.setToolTip("The input shape (without the batch) to open a file with, when the file does not "
                                   "say it or says it wrong (TorchScript files); empty: the file's own")
        self.shape_edit.setMaximumWidth(180)
        self.follow_box = QCheckBox("Follow training")
        self.follow_box.setToolTip("Reload the run's latest checkpoint after each epoch")
        self.refresh_button = QPushButton("Latest checkpoint")
        row = QFlowLayout()  # wraps onto more lines in a narrow window
        for w in (QLabel("Open"), self.kind_combo, self.run_combo, self.which_combo, self.model_combo,
                  self.open_button, self.follow_box, self.refresh_button):
            row.addWidget(w)
        grid.addLayout(row, 0, 0)

        self.input_combo = QComboBox()
        self.input_combo.addItems(["Random sample", "Dataset sample", "File"])
        self.dataset_combo = QComboBox(minimumContentsLength=14)
        self.split_combo = QComboBox()
        self.split_combo.addItems(["valid", "train"])
        self.index_spin = QSpinBox(maximum=10_000_000)
        self.index_spin.setPrefix("#")
        self.input_file_button = QPushButton("Choose…")
        self.input_label = QLabel(wordWrap=True)  # a long file name wraps instead of widening the page
        self.input_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QFlowLayout()  # wraps onto more lines in a narrow window
        # The input shape sits with the input, not in the model row: the page must fit a 1280-px screen.
        for w in (QLabel("Input"), self.input_combo, self.dataset_combo, self.split_combo, self.index_spin,
                  self.input_file_button, QLabel("  Shape"), self.shape_edit, self.input_label):
            row.addWidget(w)
        grid.addLayout(row, 1, 0)
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        grid.addWidget(self.title_label, 2, 0)

        self.open_button.clicked.connect(self.open_chosen)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        self.refresh_button.clicked.connect(self.refresh)
        self.input_combo.currentIndexChanged.connect(self._input_mode)
        self.dataset_combo.activated.connect(lambda _i: self.load_sample())
        self.split_combo.activated.connect(lambda _i: self.load_sample())
        self.index_spin.editingFinished.connect(self.load_sample)
        self.index_spin.valueChanged.connect(lambda _v: self.load_sample())
        self.input_file_button.clicked.connect(self.choose_input_file)
        session.model_changed.connect(self._model_changed)
        session.input_changed.connect(self._input_changed)
        context = session.context
        context.run_started.connect(lambda *_: self.reload_lists())
        context.run_finished.connect(lambda *_: self.reload_lists())
        context.run_epoch.connect(self._epoch)
        self.reload_lists()
        if not self.run_combo.count():
            self.set_kind("registered")  # no run yet: the models there are
        self._kind_changed()
        self._input_mode()
        self._model_changed()

    # -- lists ----------------------------------------------------------------------------------------
    def reload_lists(self) -> None:
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for spec in sorted(self.session.studio.registry.models, key=lambda s: s.title.lower()):
            self.model_combo.addItem(spec.title, spec.id)
            self.model_combo.setItemData(self.model_combo.count() - 1, f"{spec.id} ({spec.plugin})",
                                         Qt.ItemDataRole.ToolTipRole)
        if current is not None and self.model_combo.findData(current) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(current))
        run = self.run_combo.currentData()
        self.run_combo.clear()
        for info in runs.list_runs(self.session.studio):
            self.run_combo.addItem(f"{info.name or info.model} · {info.id} · {info.status}", info.id)
        if run is not None and self.run_combo.findData(run) >= 0:
            self.run_combo.setCurrentIndex(self.run_combo.findData(run))

    def _model_changed(self) -> None:
        opened = self.session.opened
        is_run = opened is not None and opened.kind == "run"
        self.follow_box.setEnabled(is_run)
        self.refresh_button.setEnabled(is_run)
        if opened is None:
            self.title_label.setText("Open a registered model, a run's checkpoint or a model file.")
            return
        notes = "".join(f"<br><i>{n}</i>" for n in opened.notes)
        self.title_label.setText(f"<b>{opened.title}</b> — {opened.origin}{notes}")
        self.dataset_combo.clear()
        if opened.model_id or opened.kind == "run":
            for dataset_id in samples.candidate_datasets(self.session.studio, opened):
                self.dataset_combo.addItem(self.session.studio.registry.datasets.get(dataset_id).title, dataset_id)
        self._bundle = None

    def _input_changed(self) -> None:
        self.input_label.setText(self.session.input_label)
        if self.session.input_label.startswith("random sample") and self.input_combo.currentIndex() != 0:
            self.input_combo.blockSignals(True)  # a new model replaced an input that did not fit it
            self.input_combo.setCurrentIndex(0)
            self.input_combo.blockSignals(False)
            self._input_mode_widgets()

    # -- opening models ---------------------------------------------------------------------------------
    def set_kind(self, kind: str) -> None:
        """Choose what "Open" opens: ``run``, ``registered`` or ``file``."""
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))

    def _kind_changed(self) -> None:
        kind = self.kind_combo.currentData()
        self.run_combo.setVisible(kind == "run")
        self.which_combo.setVisible(kind == "run")
        self.model_combo.setVisible(kind == "registered")
        self.open_button.setText("Open…" if kind == "file" else "Open")

    def open_chosen(self) -> None:
        """The one Open: the chosen run's checkpoint, the chosen registered model, or a file from the dialog."""
        kind = self.kind_combo.currentData()
        if kind == "run":
            self.open_run()
        elif kind == "registered":
            self.open_registered()
        else:
            self.choose_file()

    def open_registered(self) -> None:
        model_id = self.model_combo.currentData()
        if model_id:
            self._open(sources.open_registered, self.session.studio, model_id)

    def open_run(self) -> None:
        run_id = self.run_combo.currentData()
        if run_id:
            self._open(sources.open_run, self.session.studio, run_id, self.which_combo.currentText())

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", "", MODEL_FILES)
        if path:
            self.open_path(path)

    #: Set by the inspector page: opens an ``.onnx`` file in its ONNX view (a graph, not a PyTorch model).
    onnx_opener: Callable[[str | Path], None] | None = None

    def open_path(self, path: str | Path, architecture: str | None = None) -> None:
        if Path(path).suffix.lower() == ".onnx" and self.onnx_opener is not None:
            self.onnx_opener(path)
            return
        def done_or_ask(message: str) -> None:
            if "choose one" in message and architecture is None:
                self._ask_architecture(path)

        def opened_or_untrusted(result: sources.OpenedModel | sources.UntrustedCode) -> None:
            if isinstance(result, sources.UntrustedCode):
                self._ask_trust(result, architecture)
            else:
                self.session.set_model(result)

        text = self.shape_edit.text().strip()
        try:
            shape = inputs.parse_shape(text) if text else None
        except InspectorError as exc:
            self.session.status.emit(f"{Path(path).name} not opened: {exc}")
            return
        self.session.status.emit("opening…")
        self.session.submit("open", _open_file_or_refusal, self.session.studio, str(path), architecture, shape,
                            on_result=opened_or_untrusted, on_error=done_or_ask)

    def _ask_trust(self, refusal: sources.UntrustedCode, architecture: str | None) -> None:
        """Ask before running a TorchScript file's code; yes is remembered for this file (path and content)."""
        self.session.status.emit(str(refusal))
        answer = QMessageBox.question(
            self, "Run this TorchScript file's code?",
            f"{refusal}\n\nRun the code in {refusal.path} ({refusal.digest[:12]}…)? Your answer applies to this "
            "file, with this content, until dlstudio quits.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            trust.allow(refusal.path, refusal.digest)
            self.open_path(refusal.path, architecture)

    def _ask_architecture(self, path: str | Path) -> None:
        try:
            fits = sources.matching_architectures(self.session.studio, runs.load_weights(path).state)
        except Exception:
            fits = []
        ids = fits + [i for i in sorted(self.session.studio.registry.models.ids()) if i not in fits]
        labels = [f"{i}  ✓ fits" if i in fits else i for i in ids]
        if not labels:
            return
        choice, ok = QInputDialog.getItem(self, "Which architecture?",
                                          f"{Path(path).name} holds weights only. Which architecture are they for?",
                                          labels, 0, False)
        if ok and choice:
            self.open_path(path, ids[labels.index(choice)])

    def refresh(self) -> None:
        opened = self.session.opened
        if opened is None or opened.kind != "run":
            return

        def done(newer: sources.OpenedModel | None) -> None:
            if newer is None:
                self.session.status.emit(f"run {opened.run_id}: no newer checkpoint than epoch {opened.epoch}")
            else:
                self.session.set_model(newer)

        self.session.submit("refresh", sources.refresh, self.session.studio, opened, on_result=done)

    def _epoch(self, run_id: str, _record: dict) -> None:
        opened = self.session.opened
        if self.follow_box.isChecked() and opened is not None and opened.run_id == run_id:
            self.refresh()

    def _open(self, fn, *args, on_error=None) -> None:
        self.session.status.emit("opening…")
        self.session.submit("open", fn, *args, on_result=self.session.set_model, on_error=on_error)

    # -- inputs -------------------------------------------------------------------------------------------
    def _input_mode(self) -> None:
        mode = self.input_combo.currentIndex()
        for w in (self.dataset_combo, self.split_combo, self.index_spin):
            w.setVisible(mode == 1)
        self.input_file_button.setVisible(mode == 2)
        opened = self.session.opened
        if mode == 0 and opened is not None:
            self.session.set_input(opened.sample(seed=self.index_spin.value()), "random sample")
        elif mode == 1:
            self.load_sample()

    def load_sample(self) -> None:
        opened, dataset_id = self.session.opened, self.dataset_combo.currentData()
        if opened is None or dataset_id is None or self.input_combo.currentIndex() != 1:
            return
        params = {}
        found = samples.run_dataset(opened)
        if found and found[0] == dataset_id:
            params = found[1]
        index, split, expected = self.index_spin.value(), self.split_combo.currentText(), opened.data.input_shape
        cached = self._bundle if self._bundle is not None and self._bundle[0] == dataset_id else None

        def work():
            bundle = cached[1] if cached else samples.load_dataset(self.session.studio, dataset_id, params)
            return bundle, samples.sample_at(bundle, index, split, expected)

        def done(result) -> None:
            bundle, sample = result
            self._bundle = (dataset_id, bundle)
            label = f"{dataset_id} {sample.split} #{sample.index}" + (f" ({sample.label_name})"
                                                                       if sample.label_name else "")
            self.session.set_input(sample.x, label, sample.label)

        self.session.submit("sample", work, on_result=done)

    def choose_input_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an input", "", INPUT_FILES)
        if path:
            self.load_input_file(path)

    def load_input_file(self, path: str | Path) -> None:
        opened = self.session.opened
        if opened is None:
            return
        self.input_combo.blockSignals(True)
        self.input_combo.setCurrentIndex(2)
        self.input_combo.blockSignals(False)
        self._input_mode_widgets()
        self.session.submit("input-file", inputs.load_input_file, path, opened.model, opened.data,
                            on_result=lambda x: self.session.set_input(x, Path(path).name))

    def _input_mode_widgets(self) -> None:
        mode = self.input_combo.currentIndex()
        for w in (self.dataset_combo, self.split_combo, self.index_spin):
            w.setVisible(mode == 1)
        self.input_file_button.setVisible(mode == 2)


def _open_file_or_refusal(studio: Any, path: str, architecture: str | None, shape: tuple[int, ...] | None = None
                          ) -> sources.OpenedModel | sources.UntrustedCode:
    """The opened file, or the refusal to run an untrusted TorchScript file (the GUI thread then asks)."""
    try:
        return sources.open_file(studio, path, architecture, shape)
    except sources.UntrustedCode as refusal:
        return refusal


if __name__ == "__main__":
    from dlstudio_inspector.panels.preview import preview

    raise SystemExit(preview(SourceBar, size=(1200, 120)))
