"""The window with every built-in plugin fits a 1280×800 laptop screen: no page may force it wider (pages do not
scroll sideways, so the widest page's minimum sets the window's)."""

from __future__ import annotations

from dlstudio.studio import Studio


def test_the_window_with_every_built_in_plugin_fits_1280_by_800(make_window, studio_home):
    window = make_window(Studio.open(studio_home))  # the installed plugins: every built-in one
    assert {"images.train", "text.data", "inspector.main", "generative.style"} <= set(window.panels)
    hint = window.minimumSizeHint()
    widest = max(window.panels.items(), key=lambda item: item[1].minimumSizeHint().width())
    assert hint.width() <= 1280, f"{widest[0]} needs {widest[1].minimumSizeHint().width()} px"
    assert hint.height() <= 800
