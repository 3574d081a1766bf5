"""Choosing a picture for style transfer: a thumbnail, the bundled samples in a drop-down, a Browse… button,
and drag and drop of a file. A user's file is read with :func:`dlstudio_generative.images.load_image` first,
so a file that is not a picture is refused with the reason shown, and the previous choice is kept."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from dlstudio_generative.images import IMAGE_FILTER, load_image
from dlstudio_generative.panels.views import ERROR_STYLE, HINT_STYLE, ImageView
from dlstudio_generative.style.samples import SAMPLE_PREFIX, SAMPLES, image_source

#: Thumbnails are made this large (the view scales them down further).
THUMB_SIDE = 256


def dropped_files(mime: Any) -> list[str]:
    """The local files a drag carries (URLs of other kinds, e.g. web links, are left out)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class ImagePicker(QWidget):
    """One picture slot ("content" or "style"). :meth:`reference` is what a spec names: ``"sample:<name>"``
    or a file's path. ``changed`` is emitted when the choice changes (never for a refused file)."""

    changed = Signal()

    def __init__(self, role: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self._reference = ""
        #: The chosen picture, RGB, at most THUMB_SIDE on a side (for thumbnails and the side-by-side view).
        self.picture: Image.Image | None = None
        self.setAcceptDrops(True)
        self.setObjectName(f"picker_{role}")

        self.thumb = ImageView("Drop a picture here", minimum=88)
        self.thumb.setFixedSize(104, 88)
        self.thumb.setToolTip("Drop an image file here, choose a sample, or Browse… for a file")
        self.combo = QComboBox()
        self.combo.setObjectName(f"samples_{role}")
        self.combo.setMinimumContentsLength(16)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        ordered = sorted(SAMPLES.items(), key=lambda item: item[1].role != role)  # this slot's samples first
        for name, sample in ordered:
            suffix = "" if sample.role == role else f" ({sample.role} sample)"
            self.combo.addItem(f"{sample.title}{suffix}", f"{SAMPLE_PREFIX}{name}")
        self.combo.currentIndexChanged.connect(self._combo_chosen)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setToolTip(f"Choose your own {role} picture (PNG, JPEG, BMP, GIF, TIFF, WebP)")
        self.browse_button.clicked.connect(self.browse)
        self.info = QLabel(wordWrap=True)
        self.info.setStyleSheet(HINT_STYLE)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        grid.addWidget(QLabel(f"<b>{title}</b>"), 0, 1, 1, 2)
        grid.addWidget(self.thumb, 0, 0, 3, 1)
        grid.addWidget(self.combo, 1, 1)
        grid.addWidget(self.browse_button, 1, 2)
        grid.addWidget(self.info, 2, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        self._combo_chosen()

    # -- public ---------------------------------------------------------------------------------------
    def reference(self) -> str:
        """``"sample:<name>"`` or the chosen file's path: what the run spec names."""
        return self._reference

    def choose_sample(self, name: str) -> None:
        index = self.combo.findData(f"{SAMPLE_PREFIX}{name}")
        if index < 0:
            raise ValueError(f"there is no sample picture {name!r}")
        self.combo.setCurrentIndex(index)

    def choose_file(self, path: str | Path) -> bool:
        """Take the picture at ``path`` if it can be read; otherwise say why under the slot and keep the
        previous choice. True when taken."""
        path = Path(path)
        try:
            loaded = load_image(path)
        except ValueError as exc:  # ImageError: the message names the file and the reason
            self._say_error(str(exc))
            return False
        except OSError as exc:  # unreadable (permissions, a vanished network drive)
            self._say_error(f"{path.name} cannot be read: {exc}")
            return False
        self._take(str(path), loaded.image, loaded.notes)
        index = self.combo.findData(str(path))
        if index < 0:
            self.combo.blockSignals(True)
            self.combo.insertItem(0, f"Your file: {path.name}", str(path))
            self.combo.setItemData(0, str(path), Qt.ItemDataRole.ToolTipRole)
            index = 0
            self.combo.blockSignals(False)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self.changed.emit()
        return True

    def browse(self) -> None:
        start = str(Path(self._reference).parent) if self._reference and not self._is_sample() else ""
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {self.role} picture", start, IMAGE_FILTER)
        if path:
            self.choose_file(path)

    def error_text(self) -> str:
        """The refusal shown under the slot, "" when none."""
        return self.info.property("error") or ""

    # -- drag and drop ---------------------------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: Any) -> None:
        files = dropped_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.choose_file(files[0])

    # -- inside ----------------------------------------------------------------------------------------
    def _is_sample(self) -> bool:
        return self._reference.startswith(SAMPLE_PREFIX)

    def _combo_chosen(self, *_: Any) -> None:
        reference = self.combo.currentData()
        if not reference or reference == self._reference:
            return
        if not reference.startswith(SAMPLE_PREFIX):
            if not self.choose_file(reference):  # a file chosen before: read again (it may have changed)
                self._show_choice()
            return
        try:
            loaded = load_image(image_source(reference))
        except (ValueError, OSError) as exc:  # a sample removed from the installation
            self._say_error(f"the sample cannot be read: {exc}")
            self._show_choice()
            return
        self._take(reference, loaded.image, [])
        self.changed.emit()

    def _show_choice(self) -> None:
        """The drop-down back on the picture in use (after a refused one was picked in it)."""
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(0, self.combo.findData(self._reference)))
        self.combo.blockSignals(False)

    def _take(self, reference: str, image: Image.Image, notes: list[str]) -> None:
        self._reference = reference
        size = f"{image.width}×{image.height} px"
        picture = image.copy()
        picture.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        self.picture = picture
        self.thumb.set_image(picture)
        self.thumb.setToolTip(reference if not self._is_sample() else self.combo.currentText())
        lines = [size, *notes]
        self.info.setProperty("error", "")
        self.info.setText("<br>".join(html.escape(line) for line in lines))

    def _say_error(self, message: str) -> None:
        if self._is_sample():
            kept = f"the sample '{SAMPLES[self._reference[len(SAMPLE_PREFIX):]].title}'"
        else:
            kept = Path(self._reference).name or "nothing"
        self.info.setProperty("error", message)
        self.info.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span><br>"
                          f"<span style='{HINT_STYLE}'>Still using {html.escape(kept)}.</span>")
