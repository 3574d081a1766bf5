"""The window's panel pages: each family a row of tabs, each tab one panel, built when first needed.

At start-up the shown panel is built at once and the others one per event-loop turn (all at once they kept
the window from responding for ~0.7 s); using a panel (showing it, cloning into it, posting a message) builds
it first. A panel that scrolls itself is its page; any other is put in one scroll area: one scroll level.
"""

from __future__ import annotations

import traceback
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QListWidgetItem, QTabWidget, QVBoxLayout, QWidget

from dlstudio.gui.pages import page_for, size_to_current
from dlstudio.gui.plugin_manager_recovery import family_icon
from dlstudio.plugin_safety import LoadingMarker

#: The families list's entry for the Runs view.
RUNS_PAGE = "__runs__"
#: ... and for the Sweeps view.
SWEEPS_PAGE = "__sweeps__"


class PanelPages:
    """Mixed into the main window: it uses ``studio``, ``context``, ``settings``, ``panels``, ``_panel_pages``,
    ``_unbuilt``, ``family_pages``, ``pages``, ``families``, ``runs_view``, ``sweeps_view`` and ``clone_run``."""

    def _add_family(self, studio: Any, family, build_panels_later: bool = False) -> None:
        tabs = QTabWidget()
        tabs.setDocumentMode(True)
        panels = sorted((p for p in studio.registry.panels if p.family == family.id), key=lambda p: (p.order, p.title))
        for panel in panels:
            self._panel_pages[panel.id] = page = _page()
            self._unbuilt[panel.id] = panel
            if not build_panels_later:
                self.build_panel(panel.id)
            tabs.addTab(page, panel.title.replace("&", "&&"))  # a lone & would be a mnemonic
        if not panels:
            tabs.addTab(QLabel(family.description or "This family has no panels."), family.title)
        tabs.currentChanged.connect(lambda _index, tabs=tabs: self._build_shown(tabs))
        size_to_current(tabs)
        self.family_pages[family.id] = tabs
        self.pages.addWidget(tabs)
        item = QListWidgetItem(family.title)
        item.setIcon(family_icon(family.id))  # resources/: dlstudio/gui/plugin_manager_recovery.py
        item.setData(Qt.ItemDataRole.UserRole, family.id)
        item.setToolTip(family.description)
        self.families.addItem(item)

    def add_families(self, family_ids: list[str]) -> None:
        """Pages for families registered after start-up (a plugin installed from Plugins…), after the other
        families (above the separator, Sweeps and Runs)."""
        runs_row = next(row for row in range(self.families.count())
                        if self.families.item(row).data(Qt.ItemDataRole.UserRole) in (RUNS_PAGE, SWEEPS_PAGE))
        for family_id in family_ids:
            self._add_family(self.studio, self.studio.registry.families.get(family_id))
            self.families.insertItem(runs_row - 1, self.families.takeItem(self.families.count() - 1))
            runs_row += 1
        follow = getattr(self, "_size_pages_to_current", None)
        if follow is not None:
            follow()

    def _add_sweeps_page(self) -> None:
        """The Sweeps view (``dlstudio sweep``'s trials), listed just above Runs (which stays last); its clone opens a
        panel as Runs' does."""
        from dlstudio.gui.sweeps_view import SweepsView

        item = QListWidgetItem("Sweeps")
        item.setData(Qt.ItemDataRole.UserRole, SWEEPS_PAGE)
        item.setToolTip("Hyperparameter sweeps and their trials")
        self.families.insertItem(self.families.count() - 1, item)
        self.sweeps_view = SweepsView(self.context)
        self.sweeps_view.clone_requested.connect(self.clone_run)
        self.pages.addWidget(self.sweeps_view)

    def _family_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        key = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if key == RUNS_PAGE and self.runs_view is not None:
            self.runs_view.refresh()
            self.pages.setCurrentWidget(self.runs_view)
        elif key == SWEEPS_PAGE and self.sweeps_view is not None:
            self.sweeps_view.refresh()
            self.pages.setCurrentWidget(self.sweeps_view)
        elif key in self.family_pages:
            self._build_shown(self.family_pages[key])
            self.pages.setCurrentWidget(self.family_pages[key])
            self.settings.setValue("window/family", key)

    def _select_family(self, key: str) -> bool:
        for row in range(self.families.count()):
            if self.families.item(row).data(Qt.ItemDataRole.UserRole) == key and key:
                self.families.setCurrentRow(row)
                return True
        return False


    def build_panel(self, panel_id: str) -> QWidget | None:
        """The panel's widget, built now if it was not yet (a factory that fails gives an error page)."""
        panel = self._unbuilt.pop(panel_id, None)
        if panel is None:
            return self.panels.get(panel_id)
        try:
            # A native crash in a panel's factory is named at the next start, as one in a plugin's load is.
            with LoadingMarker(self.studio.home).running(panel.plugin, f"building panel {panel.id!r} of"):
                widget = panel.factory(self.context)
            if not isinstance(widget, QWidget):
                raise TypeError(f"the factory returned {type(widget).__name__}, not a QWidget")
        except Exception as exc:
            record = self.studio.plugin_record(panel.plugin)
            if record is not None:
                record.warnings.append(f"panel {panel.id!r} failed to build: {exc}")
            widget = QLabel(f"The panel “{panel.title}” of plugin {panel.plugin!r} failed to build:\n\n"
                            f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            widget.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        widget.setObjectName(panel.id)
        self.panels[panel.id] = widget
        _hold(self._panel_pages[panel.id], widget)
        return widget

    def build_all_panels(self) -> None:
        for panel_id in list(self._unbuilt):
            self.build_panel(panel_id)

    def _build_shown(self, tabs: QTabWidget) -> None:
        shown = tabs.currentWidget()
        for panel_id in list(self._unbuilt):
            if self._panel_pages[panel_id] is shown:
                self.build_panel(panel_id)

    def _build_next_panel(self) -> None:
        if not self._unbuilt:
            return
        self.build_panel(next(iter(self._unbuilt)))
        QTimer.singleShot(0, self._build_next_panel)


def _page() -> QWidget:
    """A panel's tab page, empty until the panel is built (:func:`_hold`)."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    return page


def _hold(page: QWidget, panel: QWidget) -> None:
    page.layout().addWidget(page_for(panel))
    for tabs in panel.findChildren(QTabWidget):  # a panel's own tabs: the shown one alone sets its height
        size_to_current(tabs)
