"""The Play page: a trained generator to play with. Resample a grid from a seed; click a sample to keep it as a
favourite (its latent vector kept with it); walk from one latent point to another along the sphere and see
the pictures change on the way; save a grid or a strip as PNG. Loading and sampling run off the GUI thread."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.widgets import RunPicker
from dlstudio_generative.panels.play_work import Drawn, cell_at, resample, seed_vector, walk
from dlstudio_generative.panels.views import (
    ERROR_STYLE,
    HINT_STYLE,
    ImageView,
    line_label,
    pil_to_qimage,
    save_png_dialog,
)

TASK = "gan"
PLUGIN = "generative"
SAMPLE_COUNTS = (16, 36, 64)


class ClickableImage(ImageView):
    """An :class:`ImageView` that says where on the picture (in its own pixels) it was clicked."""

    clicked_at = Signal(float, float)

    def mousePressEvent(self, event: Any) -> None:
        point = self.image_point(event.position().x(), event.position().y())
        if point is not None:
            self.clicked_at.emit(*point)

    def image_point(self, x: float, y: float) -> tuple[float, float] | None:
        """The picture's pixel under widget position (x, y); None off the picture."""
        pixmap, image = self.pixmap(), self.image()
        if image.isNull() or pixmap is None or pixmap.isNull():
            return None
        room = self.contentsRect()
        left = room.x() + (room.width() - pixmap.width()) / 2
        top = room.y() + (room.height() - pixmap.height()) / 2
        u, v = (x - left) / pixmap.width(), (y - top) / pixmap.height()
        if not (0 <= u < 1 and 0 <= v < 1):
            return None
        return u * image.width(), v * image.height()


class PlayPage(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.gen: Any = None
        self.job: Any = None
        self.drawn: Drawn | None = None
        self.strip: Drawn | None = None
        self._seeds = (0, 0)

        self.runs = RunPicker(context, TASK)
        self.runs.currentIndexChanged.connect(lambda *_: self._run_changed())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.runs.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel("GAN run"))
        top.addWidget(self.runs, 1)
        top.addWidget(refresh)
        self.status = line_label(HINT_STYLE)

        # -- resample --
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("The same seed gives the same samples")
        self.seed.setMaximumWidth(110)
        self.count = QComboBox()
        for n in SAMPLE_COUNTS:
            self.count.addItem(f"{n} samples", n)
        self.count.setCurrentIndex(len(SAMPLE_COUNTS) - 1)
        self.resample_button = QPushButton("Resample")
        self.resample_button.setDefault(True)
        self.resample_button.clicked.connect(self.resample)
        next_seed = QPushButton("Next seed")
        next_seed.setToolTip("Seed + 1, and resample")
        next_seed.clicked.connect(lambda: (self.seed.setValue(self.seed.value() + 1), self.resample()))
        self.save_grid_button = QPushButton("Save grid…")
        self.save_grid_button.clicked.connect(lambda: self._save(self.drawn, "grid"))
        controls = QHBoxLayout()
        for widget in (QLabel("Seed"), self.seed, self.count, self.resample_button, next_seed):
            controls.addWidget(widget)
        controls.addStretch(1)
        self.grid = ClickableImage("Pick a GAN run and press Resample.", minimum=240)
        self.grid.setToolTip("Click a sample to keep it as a favourite")
        self.grid.clicked_at.connect(self._grid_clicked)
        grid_box = QWidget()
        grid_column = QVBoxLayout(grid_box)
        grid_column.setContentsMargins(0, 0, 0, 0)
        grid_column.addLayout(controls)
        grid_column.addWidget(self.grid, 1)
        hint = line_label(HINT_STYLE)
        hint.setText("Click a sample to keep it as a favourite.")
        below = QHBoxLayout()
        below.addWidget(hint, 1)
        below.addWidget(self.save_grid_button)
        grid_column.addLayout(below)

        # -- favourites and interpolation --
        self.favourites = QListWidget()
        self.favourites.setObjectName("favourites")
        self.favourites.setViewMode(QListWidget.ViewMode.IconMode)
        self.favourites.setIconSize(QSize(48, 48))
        self.favourites.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.favourites.setMovement(QListWidget.Movement.Static)
        self.favourites.setMinimumHeight(72)
        self.favourites.setToolTip("Favourites of this run, kept while the window is open")
        forget = QPushButton("Forget")
        forget.setToolTip("Forget the selected favourites")
        forget.clicked.connect(self._forget)
        favourite_box = QGroupBox("Favourites")
        favourite_row = QHBoxLayout(favourite_box)
        favourite_row.addWidget(self.favourites, 1)
        favourite_row.addWidget(forget, 0, Qt.AlignmentFlag.AlignBottom)

        self.ends = [_Endpoint("From"), _Endpoint("To")]
        self.ends[1].seed.setValue(1)
        self.steps = QSpinBox(minimum=2, maximum=24, value=8)
        self.steps.setToolTip("Pictures in the strip, both ends included")
        self.interpolate_button = QPushButton("Interpolate")
        self.interpolate_button.clicked.connect(self.interpolate)
        self.save_strip_button = QPushButton("Save strip…")
        self.save_strip_button.clicked.connect(lambda: self._save(self.strip, "strip"))
        walk_rows = QGridLayout()
        walk_rows.setContentsMargins(0, 0, 0, 0)
        walk_rows.addWidget(self.ends[0], 0, 0, 1, 4)
        walk_rows.addWidget(self.ends[1], 1, 0, 1, 4)
        walk_rows.addWidget(QLabel("Steps"), 2, 0)
        walk_rows.addWidget(self.steps, 2, 1)
        walk_rows.addWidget(self.interpolate_button, 2, 2)
        walk_rows.addWidget(self.save_strip_button, 2, 3)
        self.strip_view = ImageView("The interpolation strip appears here: the pictures on the arc between two "
                                    "latent points (spherical interpolation).", minimum=56)
        walk_box = QGroupBox("Interpolate between two latent points")
        walk_column = QVBoxLayout(walk_box)
        walk_column.addLayout(walk_rows)
        walk_column.addWidget(self.strip_view, 1)

        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(favourite_box)
        side.addWidget(walk_box)
        side.setStretchFactor(0, 1)
        side.setStretchFactor(1, 2)
        split = QSplitter()
        split.addWidget(grid_box)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self._run_changed()

    # -- state shared by the plugin's pages -------------------------------------------------------------
    def favourite_list(self) -> list[dict[str, Any]]:
        """The favourites of the chosen run: ``{"label", "vector" (numpy), "picture" (PIL)}``, oldest first."""
        run_id = self.runs.currentData() or ""
        store = self.context.plugin_state(PLUGIN).setdefault("favourites", {})
        return store.setdefault(run_id, [])

    # -- actions --------------------------------------------------------------------------------------
    def resample(self) -> None:
        run_id = self.runs.currentData()
        if not run_id:
            self._say_error("Choose a finished GAN run first (train one on the Train page).")
            return
        self._busy(True, "Drawing samples…")
        n, seed = int(self.count.currentData()), self.seed.value()
        self._seeds = (seed, n)
        self.job = self.context.run_in_background(resample, self.context.studio, run_id, self.gen, n, seed,
                                                  on_result=self._sampled, on_error=self._failed)

    def interpolate(self) -> None:
        if self.gen is None or self.gen.run_id != self.runs.currentData():
            self._say_error("Resample first: the generator is loaded with the first grid.")
            return
        try:
            start, end = (end.vector(self.gen, self.favourite_list()) for end in self.ends)
        except ValueError as exc:
            self._say_error(str(exc))
            return
        self._busy(True, "Walking between the two points…")
        self.job = self.context.run_in_background(walk, self.gen, start, end, self.steps.value(),
                                                  on_result=self._walked, on_error=self._failed)

    def keep(self, index: int) -> None:
        """Keep picture ``index`` of the grid as a favourite."""
        if self.drawn is None or not 0 <= index < len(self.drawn.pictures):
            return
        seed, _ = self._seeds
        favourites = self.favourite_list()
        favourites.append({"label": f"seed {seed} #{index + 1}", "vector": self.drawn.vectors[index].copy(),
                           "picture": self.drawn.pictures[index]})
        self._show_favourites()
        self.status.setText(f"Kept {favourites[-1]['label']} as favourite {len(favourites)}.")

    # -- reactions ------------------------------------------------------------------------------------
    def _run_changed(self) -> None:
        run_id = self.runs.currentData()
        if self.gen is not None and self.gen.run_id != run_id:
            self.gen = None
        for button in (self.resample_button, self.interpolate_button):
            button.setEnabled(bool(run_id))
        self.status.setText(f"Run {run_id}: press Resample to draw samples." if run_id else
                            "No finished GAN run yet: train one on the Train page (the digits recipe).")
        self._show_favourites()

    def _sampled(self, result: tuple[Any, Drawn]) -> None:
        self.gen, self.drawn = result
        self._busy(False)
        self.grid.set_image(self.drawn.grid)
        seed, n = self._seeds
        epoch = f" (weights of epoch {self.gen.epoch})" if self.gen.epoch else ""
        self.status.setText(f"Run {self.gen.run_id}{epoch}: {n} samples of seed {seed}, latent size "
                            f"{self.gen.latent}. Click one to keep it.")

    def _walked(self, drawn: Drawn) -> None:
        self.strip = drawn
        self._busy(False)
        self.strip_view.set_image(drawn.grid)
        labels = [end.describe(self.favourite_list()) for end in self.ends]
        self.status.setText(f"{len(drawn.pictures)} steps from {labels[0]} to {labels[1]}, along the sphere.")

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self._say_error(str(exc))

    def _grid_clicked(self, x: float, y: float) -> None:
        if self.drawn is not None:
            self.keep(cell_at(x, y, self.drawn.columns, self.drawn.side, len(self.drawn.pictures)))

    def _forget(self) -> None:
        favourites = self.favourite_list()
        for row in sorted((self.favourites.row(item) for item in self.favourites.selectedItems()), reverse=True):
            del favourites[row]
        self._show_favourites()

    # -- showing --------------------------------------------------------------------------------------
    def _show_favourites(self) -> None:
        favourites = self.favourite_list()
        self.favourites.clear()
        for number, favourite in enumerate(favourites, 1):
            icon = QIcon(QPixmap.fromImage(pil_to_qimage(favourite["picture"].resize((56, 56),
                                                                                     Image.Resampling.NEAREST))))
            item = QListWidgetItem(icon, f"{number}")
            item.setToolTip(f"Favourite {number}: {favourite['label']}")
            self.favourites.addItem(item)
        for end in self.ends:
            end.set_favourites([f"Favourite {i}: {f['label']}" for i, f in enumerate(favourites, 1)])

    def _busy(self, busy: bool, text: str = "") -> None:
        run_id = bool(self.runs.currentData())
        self.resample_button.setEnabled(not busy and run_id)
        self.interpolate_button.setEnabled(not busy and run_id)
        if text:
            self.status.setText(text)

    def _save(self, drawn: Drawn | None, what: str) -> None:
        if drawn is None:
            self._say_error(f"Nothing to save yet: draw a {what} first.")
            return
        name = f"{self.runs.currentData()}-{what}.png"
        try:
            path = save_png_dialog(self, drawn.grid, f"Save the {what} as PNG", name)
        except OSError as exc:
            self._say_error(str(exc))
            return
        if path:
            self.context.notify(f"Saved {path}")

    def _say_error(self, message: str) -> None:
        self.status.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span>")


class _Endpoint(QWidget):
    """One end of an interpolation: a favourite, or the latent point of a seed."""

    SEED = "seed"

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.setMinimumContentsLength(10)
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setMaximumWidth(110)
        self.choice.currentIndexChanged.connect(lambda *_: self.seed.setEnabled(self.choice.currentData() ==
                                                                               self.SEED))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel(title)
        label.setMinimumWidth(34)
        row.addWidget(label)
        row.addWidget(self.choice, 1)
        row.addWidget(self.seed)
        self.set_favourites([])

    def set_favourites(self, labels: list[str]) -> None:
        current = self.choice.currentData()
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItem("Seed", self.SEED)
        for index, label in enumerate(labels):
            self.choice.addItem(label, index)
        found = self.choice.findData(current)
        self.choice.setCurrentIndex(found if found >= 0 else 0)
        self.choice.blockSignals(False)
        self.seed.setEnabled(self.choice.currentData() == self.SEED)

    def choose_favourite(self, index: int) -> None:
        self.choice.setCurrentIndex(self.choice.findData(index))

    def vector(self, gen: Any, favourites: list[dict[str, Any]]) -> np.ndarray:
        data = self.choice.currentData()
        if data == self.SEED:
            return seed_vector(gen, self.seed.value())
        if not isinstance(data, int) or data >= len(favourites):
            raise ValueError("that favourite is gone: choose another end")
        vector = favourites[data]["vector"]
        if vector.shape[-1] != gen.latent:
            raise ValueError(f"favourite {data + 1} has {vector.shape[-1]} latent numbers, this generator "
                             f"takes {gen.latent}")
        return vector

    def describe(self, favourites: list[dict[str, Any]]) -> str:
        data = self.choice.currentData()
        if data == self.SEED:
            return f"seed {self.seed.value()}"
        return f"favourite {data + 1}" if isinstance(data, int) else "?"


if __name__ == "__main__":
    from dlstudio_generative.panels.stub import preview

    raise SystemExit(preview(PlayPage))
