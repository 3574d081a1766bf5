"""A context for running a page on its own (each page's ``__main__`` preview, and the tests): the core's
:func:`~dlstudio.gui.context.preview_context` over a studio with the image plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def stub_context(home: str | Path | None = None) -> Any:
    """A StudioContext with the image plugin loaded, in ``home`` (a temporary folder by default)."""
    import dlstudio_images.plugin as images_plugin
    from dlstudio.gui.context import preview_context

    return preview_context("images", images_plugin, home)


def preview(factory: Any, size: tuple[int, int] = (1200, 780)) -> int:
    """Open ``factory(context)`` in its own window (for a module's ``__main__``)."""
    from dlstudio.gui.context import preview_panel

    return preview_panel(factory, stub_context(), size)
