"""Loading for the plugin manager: load times, safe mode, the crash marker, and plugins added to a running studio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types

from dlstudio import hookimpl, plugins
from dlstudio.contract import FamilySpec
from dlstudio.plugin_safety import MARKER_PREFIX, LoadingMarker, take_crash_reports
from dlstudio.plugins import DISABLED, FAILED, LOADED, SAFE_MODE_NOTE, Registry, add_plugins, module_candidate
from tests.fixture_plugins import demo_plugin


def family_plugin(family: str, pause: float = 0.0) -> types.ModuleType:
    module = types.ModuleType(f"{family}_plugin")
    module.DLSTUDIO_CONTRACT = 2

    def dlstudio_register_families(register):
        time.sleep(pause)
        register(FamilySpec(id=family, title=family.title()))

    module.dlstudio_register_families = hookimpl(dlstudio_register_families)
    return module


def test_each_plugins_load_time_and_declared_contract_are_recorded(monkeypatch):
    monkeypatch.setattr(plugins, "SLOW_LOAD_S", 0.2)
    _, records = plugins.load_plugins([module_candidate("slow", family_plugin("slow", pause=0.3)),
                                       module_candidate("quick", family_plugin("quick"))])
    by_name = {r.name: r for r in records}
    assert by_name["slow"].load_seconds >= 0.3 and by_name["slow"].slow
    assert not by_name["quick"].slow and by_name["quick"].load_seconds > 0
    assert by_name["slow"].contract == 2


def test_safe_mode_disables_third_party_plugins_only():
    builtin = module_candidate("builtin-one", family_plugin("b"), builtin=True)
    registry, records = plugins.load_plugins([builtin, module_candidate("demo", demo_plugin)], safe_mode=True)
    by_name = {r.name: r for r in records}
    assert (by_name["demo"].status, by_name["demo"].note) == (DISABLED, SAFE_MODE_NOTE)
    assert by_name["builtin-one"].status == LOADED and by_name["core"].status == LOADED
    assert "b" in registry.families and "demo" not in registry.families


def test_a_plugin_added_to_a_running_studio_joins_under_the_same_rules(make_studio):
    studio = make_studio(("demo", demo_plugin))
    new = add_plugins(studio.registry, studio.plugins,
                      [module_candidate("later", family_plugin("later")),
                       module_candidate("demo", family_plugin("other"))])
    assert [(r.name, r.status) for r in new] == [("later", LOADED), ("demo", FAILED)]
    assert "another plugin is already called 'demo'" in new[1].error
    assert "later" in studio.registry.families and "other" not in studio.registry.families
    assert studio.plugins[-2:] == new
    # One module cannot be two plugins, later either.
    (twin,) = add_plugins(studio.registry, studio.plugins, [module_candidate("demo2", demo_plugin)])
    assert twin.status == FAILED and "same module as plugin 'demo'" in twin.error


def test_the_marker_names_the_plugin_while_it_loads_and_is_gone_after(tmp_path):
    seen = []

    def peek(register):
        (marker,) = tmp_path.glob(f"{MARKER_PREFIX}*.json")
        seen.append(json.loads(marker.read_text())["plugin"])

    module = types.ModuleType("peeker")
    module.dlstudio_register_families = hookimpl(peek)
    plugins.load_plugins([module_candidate("peeker", module)], watch=LoadingMarker(tmp_path).watch)
    assert seen == ["peeker"]
    assert list(tmp_path.glob(f"{MARKER_PREFIX}*.json")) == []


def test_a_marker_of_a_dead_process_is_reported_once_and_a_live_ones_left_alone(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    (tmp_path / f"{MARKER_PREFIX}{dead}.json").write_text(json.dumps({"plugin": "killer", "pid": int(dead)}))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f"{MARKER_PREFIX}{sleeper.pid}.json"
        live.write_text(json.dumps({"plugin": "busy", "pid": sleeper.pid}))
        (report,) = take_crash_reports(tmp_path)
        assert report.plugin == "killer" and "while loading plugin 'killer'" in report.message()
        assert take_crash_reports(tmp_path) == [] and live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [r.plugin for r in take_crash_reports(tmp_path)] == ["busy"]


def test_a_garbled_marker_still_says_dlstudio_died_loading_a_plugin(tmp_path):
    (tmp_path / f"{MARKER_PREFIX}999999999.json").write_text('{"plugin": "kil')
    (report,) = take_crash_reports(tmp_path)
    assert report.plugin == "?"


def test_the_studio_writes_markers_in_its_data_folder(studio_home, make_studio):
    studio_home.mkdir(parents=True)
    seen = []

    def peek(register):
        seen.extend(p.name for p in studio_home.glob(f"{MARKER_PREFIX}*.json"))

    module = types.ModuleType("peeker")
    module.dlstudio_register_families = hookimpl(peek)
    make_studio(("peeker", module))
    assert seen == [f"{MARKER_PREFIX}{os.getpid()}.json"]


def test_registry_items_of_a_plugin(demo_studio):
    items = demo_studio.registry.items_of("demo")
    assert items["families"] == ["demo"] and "demo.mlp" in items["models"]
    assert Registry().items_of("demo") == {}


def test_building_a_plugins_panel_is_marked_too(make_window, studio_home):
    """A native crash in a panel's factory (plugin code the window runs at start-up) is named at the next start."""
    from dlstudio.contract import PanelSpec
    from dlstudio.studio import Studio

    studio_home.mkdir(parents=True)
    seen = []

    def factory(context):
        from PySide6.QtWidgets import QLabel

        (marker,) = studio_home.glob(f"{MARKER_PREFIX}*.json")
        seen.append(json.loads(marker.read_text()))
        return QLabel("panel")

    module = family_plugin("paneled")
    module.dlstudio_register_panels = hookimpl(
        lambda register: register(PanelSpec(id="paneled.page", title="Page", family="paneled", factory=factory)))
    make_window(Studio.open(studio_home, [module_candidate("paneled", module)]))
    assert [(m["plugin"], m["doing"]) for m in seen] == [("paneled", "building panel 'paneled.page' of")]
    assert list(studio_home.glob(f"{MARKER_PREFIX}*.json")) == []
    # Had it died there, the next start would say so in these words:
    (studio_home / f"{MARKER_PREFIX}999999993.json").write_text(json.dumps(seen[0]))
    (report,) = take_crash_reports(studio_home)
    assert "stopped unexpectedly while building panel 'paneled.page' of plugin 'paneled'" in report.message()
