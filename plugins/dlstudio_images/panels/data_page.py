"""The Data page: a dataset's samples per class, its class counts, the same samples after the chosen
augmentation (regenerate for new random variants), and the normalisation it will use."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.forms import ParamForm
from dlstudio.params import param_defaults
from dlstudio.spec import SpecError
from dlstudio_images.data.catalog import SOURCES
from dlstudio_images.data_settings import shared_data
from dlstudio_images.panels.folder_start import TRAIN_FOLDER_TOPIC, FolderStart
from dlstudio_images.panels.widgets import BarChart, Colour, ImageGrid
from dlstudio_images.preview import Preview, augmented, make_preview, prepare_source


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea(widgetResizable=True)
    area.setWidget(widget)
    return area


class DataPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.preview: Preview | None = None
        self.job: Any = None
        self.combo = QComboBox()
        for src in SOURCES.values():
            self.combo.addItem(src.title, src.id)
        self.forms: dict[str, ParamForm] = {}
        self.form_holder = QVBoxLayout()
        self.load_button = QPushButton("Load preview")
        self.load_button.setObjectName("load_preview")
        self.load_button.clicked.connect(self.load)
        self.regenerate_button = QPushButton("Regenerate augmentation")
        self.regenerate_button.clicked.connect(self.regenerate)
        self.regenerate_button.setEnabled(False)
        self.status = QLabel("Choose a dataset and load its preview.", wordWrap=True)

        #: The same "new classifier from a folder" as the Train page's; Train there starts it and shows it.
        self.folder_start = FolderStart(context)
        self.folder_start.train_requested.connect(
            lambda spec: context.post(TRAIN_FOLDER_TOPIC, {"spec": spec}))
        left = QVBoxLayout()
        left.addWidget(self.folder_start)
        left.addWidget(self.combo)
        left.addLayout(self.form_holder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.regenerate_button)
        left.addLayout(buttons)
        left.addWidget(self.status)
        left.addStretch(1)
        settings = QWidget()
        settings.setLayout(left)
        settings.setMinimumWidth(300)

        self.samples = ImageGrid(thumb=48)
        self.augmented = ImageGrid(thumb=48)
        self.counts = BarChart("Images per class")
        self.stats = QLabel(wordWrap=True)
        sample_box = QGroupBox("Samples per class")
        QVBoxLayout(sample_box).addWidget(_scrolled(self.samples))
        aug_box = QGroupBox("After augmentation (training only)")
        aug_layout = QVBoxLayout(aug_box)
        self.aug_note = QLabel(wordWrap=True)
        aug_layout.addWidget(self.aug_note)
        aug_layout.addWidget(_scrolled(self.augmented))
        right = QVBoxLayout()
        right.addWidget(self.counts, 2)
        right.addWidget(self.stats)
        right_w = QWidget()
        right_w.setLayout(right)
        grids = QSplitter()
        grids.addWidget(sample_box)
        grids.addWidget(aug_box)
        body = QSplitter()
        self.settings_area = _scrolled(settings)
        self._keep_settings_width()
        body.addWidget(self.settings_area)
        main = QSplitter()
        main.setOrientation(main.orientation().Vertical)
        main.addWidget(grids)
        main.addWidget(right_w)
        main.setSizes([480, 260])
        body.addWidget(main)
        body.setSizes([320, 880])
        layout = QVBoxLayout(self)
        layout.addWidget(body)
        self.combo.currentIndexChanged.connect(self._show_form)
        #: The data definition this page shares with the Train page: editing either edits both.
        self.data = shared_data(context)
        self._syncing = False
        self.elsewhere = QLabel(wordWrap=True)
        self.elsewhere.setObjectName("data_elsewhere")
        self.elsewhere.hide()
        left.insertWidget(2, self.elsewhere)
        self._show_form()
        if self.data.data_id:
            self._data_changed()
        else:
            self._edited()
        stop = self.data.observe(self, self._data_changed)
        self.destroyed.connect(lambda *_: stop())

    # -- form ---------------------------------------------------------------------------------------
    def data_id(self) -> str:
        return self.combo.currentData()

    def form(self) -> ParamForm:
        return self.forms[self.data_id()]

    def _show_form(self) -> None:
        for form in self.forms.values():
            form.hide()
        src = SOURCES[self.data_id()]
        if src.id not in self.forms:
            self.forms[src.id] = ParamForm(src.defaults, src.choices, HELP)
            self.forms[src.id].changed.connect(self._edited)
            self.form_holder.addWidget(self.forms[src.id])
        self.forms[src.id].show()
        self._keep_settings_width()
        self._edited()

    def _keep_settings_width(self) -> None:
        """The settings keep their width (a narrow window shrinks the pictures, not the fields)."""
        area = getattr(self, "settings_area", None)
        if area is not None:
            area.setMinimumWidth(area.widget().minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width()
                                 + 2 * area.frameWidth() + 8)

    # -- the shared data definition -------------------------------------------------------------------
    def _edited(self) -> None:
        if self._syncing or not hasattr(self, "data"):
            return
        form = self.form()
        self.elsewhere.hide()
        self.data.set(self.data_id(), form.current_values(), form.problems(), origin=self)

    def _data_changed(self) -> None:
        """Show the data another page set (the Train page's edits, a recipe, a cloned run)."""
        data_id, params = self.data.snapshot()
        src = SOURCES.get(data_id)
        if src is None:  # cached features: their source is previewed by choosing it here
            title = self.context.studio.registry.datasets.get(data_id).title if data_id else data_id
            self.elsewhere.setText(f"The Train page trains on <b>{title}</b>, which has no preview here; choosing "
                                   "a dataset here replaces it.")
            self.elsewhere.show()
            return
        self.elsewhere.hide()
        self._syncing = True
        try:
            self.combo.setCurrentIndex(self.combo.findData(data_id))
            self.form().set_values({**param_defaults(src.defaults), **params})
        finally:
            self._syncing = False

    def load_spec(self, spec: dict) -> bool:
        """Show a run's data (used when a run is cloned into this family)."""
        data = spec.get("data", {})
        index = self.combo.findData(data.get("id"))
        if index < 0:
            return False
        self.combo.setCurrentIndex(index)
        self.form().set_values({**param_defaults(SOURCES[data["id"]].defaults), **data.get("params", {})})
        return True

    # -- actions ------------------------------------------------------------------------------------
    def load(self) -> None:
        try:
            params = self.form().values()
        except SpecError as exc:
            self.context.show_error("Cannot load the preview", str(exc))
            return
        foreign = self.data.foreign_problems(self)
        if foreign:
            self.context.show_error("Cannot load the preview", "Train page › " + "\n".join(foreign))
            return
        self.load_button.setEnabled(False)
        self.status.setText("Loading…")
        studio = self.context.studio
        data_id = self.data_id()

        def work() -> tuple[Preview, dict]:
            preview = make_preview(prepare_source(studio, data_id, params), per_class=6)
            return preview, augmented(preview)

        self.job = self.context.run_in_background(work, on_result=self._loaded, on_error=self._failed)

    def regenerate(self) -> None:
        if self.preview is not None:
            self._show_augmented(augmented(self.preview))

    def _failed(self, exc: BaseException) -> None:
        self.load_button.setEnabled(True)
        self.status.setText(f"<span style='color:#b00'>{exc}</span>")

    def _loaded(self, result: tuple[Preview, dict]) -> None:
        preview, aug = result
        self.preview = preview
        self.load_button.setEnabled(True)
        self.regenerate_button.setEnabled(preview.augmenting)
        self.samples.set_rows(preview.samples)
        self._show_augmented(aug)
        self.counts.set_bars(list(preview.classes), [("train", preview.train_counts, Colour.TRAIN),
                                                     ("valid", preview.valid_counts, Colour.VALID)])
        n_train, n_valid = sum(preview.train_counts), sum(preview.valid_counts)
        if preview.mean:
            norm = (f"Normalisation ({preview.normalize}): mean {_fmt(preview.mean)}, std {_fmt(preview.std)}"
                    + (" — computed from the training set" if preview.normalize == "computed" else ""))
        else:
            norm = "No normalisation"
        notes = "".join(f"<br>• {m}" for m in preview.messages if not m.startswith("normalisation"))
        self.stats.setText(f"<b>{len(preview.classes)} classes</b>, {n_train} training and {n_valid} validation "
                           f"images.<br>{norm}{notes}")
        self.status.setText("Loaded.")

    def _show_augmented(self, aug: dict) -> None:
        self.augmented.set_rows(aug)
        on = self.preview is not None and self.preview.augmenting
        self.aug_note.setText("Random flips, rotations, colour jitter and crops as chosen; press Regenerate for "
                              "new variants." if on else "No augmentation chosen: training images look as above.")


HELP = {
    "size": "Images are resized to size × size pixels (the model's input).",
    "channels": "0: as stored; 1: greyscale; 3: colour (RGB). Pretrained networks want 3.",
    "resize": "resize: squash to a square; resize_crop: resize the shorter side, then crop the centre.",
    "normalize": "computed: mean and std of the training set; imagenet: ImageNet's (for pretrained networks); "
                 "custom: the mean and std lists below.",
    "rotation": "Random rotation up to ± this many degrees (training images only).",
    "color_jitter": "Random brightness, contrast and saturation change up to this fraction.",
    "holdout": "Fraction held out for validation when the data has no validation split.",
    "folds": "k-fold cross-validation: 0 is off; with k folds, 'fold' chooses the one held out.",
    "root": "The image folder: root/<class>/... or root/train/<class>/... with root/valid/<class>/...",
    "in_memory_mb": "Folders smaller than this (decoded at the model's size) are held in memory: faster epochs.",
}


def _fmt(values: list[float]) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


if __name__ == "__main__":
    from dlstudio_images.panels.stub import preview

    raise SystemExit(preview(DataPage))
