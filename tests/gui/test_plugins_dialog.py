"""The Plugins dialog: each plugin's version, source and status, a failed one's error, enable/disable.

(Installing, updating and uninstalling from it: tests/plugin_manager/test_manager_dialog.py.)"""

from __future__ import annotations

import json
import types

import pytest
from PySide6.QtCore import Qt

from dlstudio import hookimpl
from dlstudio.gui.plugins_dialog import COLUMNS, PluginsDialog
from dlstudio.home import Settings
from dlstudio.plugins import DISABLED, FAILED, LOADED, module_candidate
from dlstudio.studio import Studio
from tests.fixture_plugins import demo_plugin


def broken_plugin() -> types.ModuleType:
    """A plugin whose families hook raises."""
    module = types.ModuleType("broken")

    def dlstudio_register_families(register):
        raise RuntimeError("kaput")

    module.dlstudio_register_families = hookimpl(dlstudio_register_families)
    return module


def junk_plugin(kind: str = "models") -> types.ModuleType:
    """A plugin that loads but has its one item of ``kind`` rejected (a warning)."""
    module = types.ModuleType("junky")
    module.__version__ = "3.2"
    setattr(module, f"dlstudio_register_{kind}", hookimpl(lambda register: register({"id": "not a spec"})))
    return module


def quiet_plugin() -> types.ModuleType:
    module = types.ModuleType("quiet")
    module.__version__ = "1.0"
    return module


PLUGINS = (("demo", demo_plugin), ("broken", broken_plugin()), ("junky", junk_plugin()), ("quiet", quiet_plugin()))


def candidates():
    return [module_candidate(name, module) for name, module in PLUGINS]


def table(dialog) -> dict[str, dict[str, str]]:
    """The table's texts by plugin name: {name: {column: text}} (the Enabled column as its check state)."""
    out = {}
    for row in range(dialog.table.rowCount()):
        cells = {name: dialog.table.item(row, col).text() for col, name in enumerate(COLUMNS)}
        cells["Enabled"] = dialog.table.item(row, 0).checkState() == Qt.CheckState.Checked
        del cells["Load time"]  # measured: tests/plugin_manager/test_manager_dialog.py
        out[cells["Plugin"]] = cells
    return out


def row_of(dialog, name: str) -> int:
    return next(row for row in range(dialog.table.rowCount()) if dialog.table.item(row, 1).text() == name)


def set_enabled(dialog, name: str, enabled: bool) -> None:
    """What clicking the plugin's check box does."""
    state = Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked
    dialog.table.item(row_of(dialog, name), 0).setCheckState(state)


def stored_disabled(home) -> list[str]:
    return json.loads((home / "settings.json").read_text(encoding="utf-8"))["disabled_plugins"]


@pytest.fixture
def studio(studio_home):
    studio_home.mkdir(parents=True)
    Settings(studio_home).set_plugin_enabled("quiet", False)
    return Studio.open(studio_home, candidates())


@pytest.fixture
def dialog(qtbot, studio):
    widget = PluginsDialog(studio.plugins, studio.settings)
    qtbot.addWidget(widget)
    return widget


def test_every_plugin_is_listed_with_version_source_and_status(dialog, studio):
    assert [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())] == list(COLUMNS)
    given = {"Source": "given directly", "Installed by": "given directly"}
    assert table(dialog) == {
        "core": {"Enabled": True, "Plugin": "core", "Version": "2.1", "Status": LOADED, "Source": "dlstudio",
                 "Installed by": "dlstudio (built in)"},
        "demo": {"Enabled": True, "Plugin": "demo", "Version": "0.0.1", "Status": LOADED, **given},
        "broken": {"Enabled": True, "Plugin": "broken", "Version": "–", "Status": FAILED, **given},
        "junky": {"Enabled": True, "Plugin": "junky", "Version": "3.2", "Status": "loaded (1 warnings)", **given},
        "quiet": {"Enabled": False, "Plugin": "quiet", "Version": "–", "Status": DISABLED, **given},
    }
    assert [dialog.table.item(row, 1).text() for row in range(dialog.table.rowCount())] == [
        r.name for r in studio.plugins]


def test_failed_and_disabled_plugins_stand_out_by_colour(dialog):
    def colour(name):
        return dialog.table.item(row_of(dialog, name), COLUMNS.index("Status")).foreground().color().getRgb()[:3]

    assert colour("broken") == (200, 40, 40)
    assert colour("quiet") == (130, 130, 130)
    assert colour("demo") not in {(200, 40, 40), (130, 130, 130)}


def test_a_failed_plugin_is_selected_first_with_its_error_and_traceback(dialog, studio):
    broken = studio.plugin_record("broken")
    assert broken.status == FAILED and "Traceback" in broken.traceback
    assert dialog.table.currentRow() == row_of(dialog, "broken")
    text = dialog.details.toPlainText()
    assert text.splitlines()[:3] == ["broken — failed", "", "source: given directly"]
    assert "error: hook dlstudio_register_families raised RuntimeError: kaput" in text
    assert broken.traceback.strip() in text
    assert 'raise RuntimeError("kaput")' in text


def test_choosing_another_plugin_shows_its_details(dialog):
    dialog.table.setCurrentCell(row_of(dialog, "junky"), 1)
    text = dialog.details.toPlainText()
    assert text.startswith("junky 3.2 — loaded")
    assert "warnings:\n  • rejected a model: expected ModelSpec, got dict" in text
    assert "error:" not in text and "Traceback" not in text
    dialog.table.setCurrentCell(row_of(dialog, "demo"), 1)
    assert dialog.details.toPlainText().splitlines()[:3] == ["demo 0.0.1 — loaded", "", "source: given directly"]


def test_without_a_failed_plugin_the_first_one_is_shown(qtbot, make_studio):
    studio = make_studio(("demo", demo_plugin))
    dialog = PluginsDialog(studio.plugins, studio.settings)
    qtbot.addWidget(dialog)
    assert dialog.table.currentRow() == 0
    assert dialog.details.toPlainText().splitlines()[:4] == [
        "core 2.1 — loaded", "", "installed by: dlstudio (built in: it can be disabled, not uninstalled)",
        "source: dlstudio"]


def test_the_core_cannot_be_disabled(dialog):
    core = dialog.table.item(row_of(dialog, "core"), 0)
    assert not core.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert not core.flags() & Qt.ItemFlag.ItemIsEnabled
    demo = dialog.table.item(row_of(dialog, "demo"), 0)
    assert demo.flags() & Qt.ItemFlag.ItemIsUserCheckable and demo.flags() & Qt.ItemFlag.ItemIsEnabled


def test_disabling_a_plugin_is_saved_and_applies_at_the_next_start(dialog, studio, studio_home):
    set_enabled(dialog, "demo", False)
    assert stored_disabled(studio_home) == ["demo", "quiet"]
    assert Settings(studio_home).disabled_plugins() == {"demo", "quiet"}
    assert studio.plugin_record("demo").status == LOADED  # this session keeps it
    assert table(dialog)["demo"]["Status"] == LOADED
    restarted = Studio.open(studio_home, candidates())
    assert restarted.plugin_record("demo").status == DISABLED
    assert "demo.mlp" not in restarted.registry.models and "demo" not in restarted.registry.families


def test_enabling_a_disabled_plugin_is_saved_and_applies_at_the_next_start(dialog, studio_home):
    assert Studio.open(studio_home, candidates()).plugin_record("quiet").status == DISABLED
    set_enabled(dialog, "quiet", True)
    assert stored_disabled(studio_home) == []
    assert Studio.open(studio_home, candidates()).plugin_record("quiet").status == LOADED


def test_a_failed_plugin_can_be_disabled_and_then_is_not_even_loaded(dialog, studio_home):
    set_enabled(dialog, "broken", False)
    assert stored_disabled(studio_home) == ["broken", "quiet"]
    record = Studio.open(studio_home, candidates()).plugin_record("broken")
    assert (record.status, record.error) == (DISABLED, "")


def test_the_window_opens_the_dialog_over_its_studio(make_window, studio):
    window = make_window(studio)
    window.show_plugins()
    dialog = window.plugins_dialog
    assert isinstance(dialog, PluginsDialog) and dialog.isVisible()
    assert dialog.records is studio.plugins
    assert table(dialog)["broken"]["Status"] == FAILED
    set_enabled(dialog, "junky", False)
    assert studio.settings.disabled_plugins() == {"junky", "quiet"}
    dialog.reject()
    assert not dialog.isVisible()


def test_a_rejected_family_is_called_a_family_in_the_warning_shown(qtbot, make_studio):
    studio = make_studio(("junky", junk_plugin("families")))
    dialog = PluginsDialog(studio.plugins, studio.settings)
    qtbot.addWidget(dialog)
    dialog.table.setCurrentCell(row_of(dialog, "junky"), 1)
    assert "  • rejected a family: expected FamilySpec, got dict" in dialog.details.toPlainText()
