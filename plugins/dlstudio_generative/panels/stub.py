"""A context for running a page on its own (each page's ``__main__`` preview, and the tests): the core's
:func:`~dlstudio.gui.context.preview_context` over a studio with the generative plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def stub_context(home: str | Path | None = None) -> Any:
    """A StudioContext with the generative plugin loaded, in ``home`` (a temporary folder by default)."""
    import dlstudio_generative.plugin as generative_plugin
    from dlstudio.gui.context import preview_context

    return preview_context("generative", generative_plugin, home)


def preview(factory: Any, size: tuple[int, int] = (1280, 800)) -> int:
    """Open ``factory(context)`` in its own window (for a module's ``__main__``)."""
    from dlstudio.gui.context import preview_panel

    return preview_panel(factory, stub_context(), size)
