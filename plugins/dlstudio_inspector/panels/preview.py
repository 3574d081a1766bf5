"""Previews of the inspector's widgets on sample data: ``python -m dlstudio_inspector.panels.<view>``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QApplication, QWidget


class PreviewHost:
    """The window's side of a :class:`~dlstudio.gui.context.StudioContext`, for previews and tests."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str, str]] = []
        self.shown: list[str] = []

    def start_run(self, spec: Any, resume_id: str | None) -> str | None:
        return None

    def current_device(self) -> str:
        return "cpu"

    def is_running(self) -> bool:
        return False

    def notify(self, text: str, level: str = "info") -> None:
        print(f"[{level}] {text}")

    def show_error(self, title: str, message: str, details: str = "") -> None:
        self.errors.append((title, message, details))
        print(f"{title}: {message}\n{details}", file=sys.stderr)

    def show_panel(self, panel_id: str) -> bool:
        self.shown.append(panel_id)
        return True


def sample_model(name: str = "resnet18"):
    """A torchvision model (random weights) as an opened model, for previews."""
    import torchvision

    from dlstudio.contract import DataInfo
    from dlstudio_inspector.sources import OpenedModel

    model = getattr(torchvision.models, name)(weights=None).eval()
    data = DataInfo(input_shape=(3, 224, 224), classes=tuple(f"class {i}" for i in range(1000)))
    return OpenedModel(model, f"{name} (random weights, preview)", data, "registered")


def preview(make: Callable[[Any], QWidget], model: str | None = "resnet18", size: tuple[int, int] = (1200, 760)
            ) -> int:
    """Open ``make(session)`` in a window on a studio of the installed plugins and a sample model."""
    from dlstudio.gui.context import StudioContext
    from dlstudio.studio import Studio
    from dlstudio_inspector.panels.session import Session

    app = QApplication.instance() or QApplication(sys.argv)
    context = StudioContext(Studio.open(), PreviewHost())
    session = Session(context)
    widget = make(session)
    widget.resize(*size)
    widget.show()
    if model:
        session.set_model(sample_model(model))
    return app.exec()
