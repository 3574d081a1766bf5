"""A context for running a page on its own (each page's ``__main__`` preview, and the tests): a real
:class:`StudioContext` over a studio with the text plugin, and a host that records what the page asks for."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def _printing_host():
    from dlstudio.gui.context import RecordingHost

    class PrintingHost(RecordingHost):
        """Errors also go to the terminal, so a preview run from a shell shows them."""

        def show_error(self, title: str, message: str, details: str) -> None:
            super().show_error(title, message, details)
            print(f"{title}: {message}")

    return PrintingHost()


def stub_context(home: str | Path | None = None) -> Any:
    """A StudioContext with the text plugin loaded, in ``home`` (a temporary folder by default)."""
    import dlstudio_text.plugin as text_plugin
    from dlstudio.gui.context import StudioContext
    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio

    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="dlstudio-text-"))
    studio = Studio.open(home, [module_candidate("text", text_plugin)])
    return StudioContext(studio, _printing_host())


def preview(factory: Any, size: tuple[int, int] = (1280, 800)) -> int:
    """Open ``factory(context)`` in its own window (for a module's ``__main__``)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    widget = factory(stub_context())
    widget.resize(*size)
    widget.show()
    return app.exec()
