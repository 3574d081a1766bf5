"""A context for running a page on its own (each page's ``__main__`` preview, and the tests): a real
:class:`StudioContext` over a studio with this plugin, and a host that records what the page asks for."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


class StubHost:
    def __init__(self) -> None:
        self.started: list[Any] = []
        self.notices: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str]] = []
        self.shown: list[str] = []

    def start_run(self, spec: Any, resume_id: str | None) -> str | None:
        self.started.append(spec)
        return f"run-{len(self.started)}"

    def current_device(self) -> str:
        return "cpu"

    def is_running(self) -> bool:
        return False

    def notify(self, text: str, level: str) -> None:
        self.notices.append((text, level))

    def show_error(self, title: str, message: str, details: str) -> None:
        self.errors.append((title, message))
        print(f"{title}: {message}")

    def show_panel(self, panel_id: str) -> bool:
        self.shown.append(panel_id)
        return True


def stub_context(home: str | Path | None = None) -> Any:
    """A StudioContext with the image plugin loaded, in ``home`` (a temporary folder by default)."""
    import dlstudio_images.plugin as images_plugin
    from dlstudio.gui.context import StudioContext
    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio

    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="dlstudio-images-"))
    studio = Studio.open(home, [module_candidate("images", images_plugin)])
    return StudioContext(studio, StubHost())


def preview(factory: Any, size: tuple[int, int] = (1200, 780)) -> int:
    """Open ``factory(context)`` in its own window (for a module's ``__main__``)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    widget = factory(stub_context())
    widget.resize(*size)
    widget.show()
    return app.exec()
