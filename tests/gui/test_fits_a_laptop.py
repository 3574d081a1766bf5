"""The window with every built-in plugin fits a laptop screen (1280×800, and 1024×640): no page may force it
wider (pages do not scroll sideways, so the widest page's minimum sets the window's), a page scrolls at one
level only, the idle run dock leaves the page its room, and "Start training" is in view without scrolling."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QApplication, QPushButton, QScrollArea

from dlstudio.studio import Studio


def test_the_window_with_every_built_in_plugin_fits_1280_by_800(make_window, studio_home):
    window = make_window(Studio.open(studio_home))  # the installed plugins: every built-in one
    assert {"images.train", "text.data", "inspector.main", "generative.style"} <= set(window.panels)
    hint = window.minimumSizeHint()
    widest = max(window.panels.items(), key=lambda item: item[1].minimumSizeHint().width())
    assert hint.width() <= 1280, f"{widest[0]} needs {widest[1].minimumSizeHint().width()} px"
    assert hint.height() <= 800


def _shown_at(window, qtbot, width, height):
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    return window


def test_every_page_fits_1024_by_640_with_one_scroll_level(make_window, studio_home, qtbot):
    window = _shown_at(make_window(Studio.open(studio_home)), qtbot, 1024, 640)
    hint = window.minimumSizeHint()
    widest = max(window.panels.items(), key=lambda item: item[1].minimumSizeHint().width())
    assert hint.width() <= 1024, f"{widest[0]} needs {widest[1].minimumSizeHint().width()} px"
    assert hint.height() <= 640
    assert window.size() == QSize(1024, 640)  # nothing forced it bigger
    for panel_id, page in window._panel_pages.items():
        for area in [page, *page.findChildren(QScrollArea)]:
            if not isinstance(area, QScrollArea):
                continue
            outer, parent = None, area.parentWidget()
            while parent is not None and outer is None:
                outer = parent if isinstance(parent, QScrollArea) else None
                parent = parent.parentWidget()
            assert outer is None, f"{panel_id}: a scroll area inside a scroll area ({outer.objectName()!r})"


def test_the_idle_run_dock_is_one_line_and_start_training_is_in_view_at_1024_by_640(make_window, studio_home,
                                                                                    qtbot):
    window = _shown_at(make_window(Studio.open(studio_home)), qtbot, 1024, 640)
    assert window.dock.height() < 80, "an idle run dock takes the page's room"
    assert window.show_panel("images.train")
    QApplication.processEvents()
    panel = window.panels["images.train"]
    button = panel.findChild(QPushButton, "start_training")
    assert button is not None and button.isVisible()
    # Its whole rectangle lies inside the page shown, above the dock, without any outer scrolling.
    page = window._panel_pages["images.train"]
    assert not isinstance(page, QScrollArea)
    top_left = button.mapTo(window, QPoint(0, 0))
    page_top_left = page.mapTo(window, QPoint(0, 0))
    button_rect = QRect(top_left, button.size())
    page_rect = QRect(page_top_left, page.size())
    assert page_rect.contains(button_rect), (button_rect, page_rect)
    assert button_rect.bottom() < window.dock.mapTo(window, QPoint(0, 0)).y()


def test_every_page_still_fits_1024_by_640_with_the_run_dock_open(make_window, studio_home, qtbot):
    """An open dock (a run shown) takes its height from the page shown, not from the tallest page of any family:
    the window stays 1024×640 whichever page is shown, and the page keeps the room its own minimum asks."""
    window = _shown_at(make_window(Studio.open(studio_home)), qtbot, 1024, 640)
    window.run_dock.set_expanded(True)
    for panel_id in window._panel_pages:
        assert window.show_panel(panel_id)
        QApplication.processEvents()
        assert window.size() == QSize(1024, 640), f"showing {panel_id} grew the window to {window.size()}"
        page = window._panel_pages[panel_id]
        assert page.height() >= page.minimumSizeHint().height(), panel_id


def test_at_1024_px_the_train_form_scrolls_down_not_sideways(make_window, studio_home, qtbot):
    window = _shown_at(make_window(Studio.open(studio_home)), qtbot, 1024, 640)
    for panel_id in ("images.train", "text.train", "generative.train"):
        assert window.show_panel(panel_id)
        QApplication.processEvents()
        form_area = window.panels[panel_id].findChild(QScrollArea)
        assert form_area is not None
        assert not form_area.horizontalScrollBar().isVisible(), f"{panel_id}: the form scrolls sideways"
    window.resize(1600, 900)
    assert window.show_panel("images.train")
    QApplication.processEvents()
    columns = window.panels["images.train"].panel._columns.columns
    assert columns.direction() == columns.Direction.LeftToRight  # room enough: side by side again
