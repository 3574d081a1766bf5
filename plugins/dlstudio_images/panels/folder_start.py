""""New classifier from a folder": drop a folder of class folders (or Browse…), read what was chosen for it
and why, press Train. The look and the choice are :mod:`dlstudio_images.folder_recipe`'s, in a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from dlstudio_images.folder_recipe import FolderRecipe, recipe_for_folder

#: The bus topic of a folder's run to train, ``{"spec": {...}}``: the Train page shows it and starts it.
TRAIN_FOLDER_TOPIC = "images.train_folder"
ERROR = "<span style='color:#c62828'>{}</span>"


class FolderStart(QGroupBox):
    """Emits ``train_requested`` with the chosen spec dict when Train is pressed."""

    train_requested = Signal(dict)

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__("New classifier from a folder", parent)
        self.context = context
        self.recipe: FolderRecipe | None = None
        self.job: Any = None
        self.setAcceptDrops(True)
        self.hint = QLabel("Drop a folder with one folder of images per class here, or Browse…; a model, input "
                           "size and training are chosen from the images.", wordWrap=True)
        self.lines = QLabel(wordWrap=True)
        self.lines.setObjectName("folder_recipe")
        self.lines.setTextFormat(Qt.TextFormat.RichText)
        self.lines.hide()
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("train_folder")
        self.train_button.setEnabled(False)
        self.train_button.clicked.connect(self._train)
        row = QHBoxLayout()
        row.addWidget(self.browse_button)
        row.addStretch(1)
        row.addWidget(self.train_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.lines)
        layout.addLayout(row)

    # -- choosing the folder -------------------------------------------------------------------------
    def browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of class folders")
        if path:
            self.open_folder(path)

    @staticmethod
    def _folder_of(event: Any) -> str:
        for url in event.mimeData().urls() if event.mimeData().hasUrls() else []:
            if url.isLocalFile() and Path(url.toLocalFile()).is_dir():
                return url.toLocalFile()
        return ""

    def dragEnterEvent(self, event: Any) -> None:
        if self._folder_of(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: Any) -> None:
        folder = self._folder_of(event)
        if folder:
            event.acceptProposedAction()
            self.open_folder(folder)

    def open_folder(self, path: str, work: Callable[[str], FolderRecipe] = recipe_for_folder) -> None:
        """Look at ``path`` in the background and show the run chosen for it (or what is wrong with it)."""
        self.recipe = None
        self.train_button.setEnabled(False)
        self.lines.setText(f"Looking at {path}…")
        self.lines.show()
        self.job = self.context.run_in_background(work, path, on_result=self._chosen, on_error=self._refused)

    def _chosen(self, recipe: FolderRecipe) -> None:
        self.recipe = recipe
        self.lines.setText("<br>".join(f"• {line}" for line in recipe.reasons))
        self.train_button.setEnabled(True)

    def _refused(self, exc: BaseException) -> None:
        self.lines.setText(ERROR.format(f"Cannot train on this folder: {exc}"))

    def _train(self) -> None:
        if self.recipe is not None:
            self.train_requested.emit(self.recipe.spec)
