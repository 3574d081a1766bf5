"""Safe mode and crash recovery, in real processes: a plugin whose import kills dlstudio (``os.abort()``).

The dying process cannot clean up after itself: the marker it leaves names the plugin, the next start says so
before loading any plugin, ``dlstudio plugins disable`` works without loading the culprit, and safe mode starts
with every third-party plugin disabled.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from dlstudio.plugin_safety import MARKER_PREFIX
from tests.plugin_manager.conftest import write_installed_plugin

KILLER = "import os\nos.abort()  # a native crash, as a broken extension module would cause\n"
FINE = "__version__ = '0.1'\n"


@pytest.fixture
def crashing(throwaway):
    write_installed_plugin(throwaway.site, "dlstudio-killer", "killer", "killer_plugin", KILLER)
    write_installed_plugin(throwaway.site, "dlstudio-fine", "fine", "fine_plugin", FINE)
    return throwaway


def markers(env) -> list:
    return sorted(env.home.glob(f"{MARKER_PREFIX}*.json"))


def test_a_plugin_that_kills_the_process_is_named_at_the_next_start_and_can_be_disabled(crashing):
    died = crashing.dlstudio("plugins")
    assert died.returncode == -signal.SIGABRT
    (marker,) = markers(crashing)
    assert json.loads(marker.read_text())["plugin"] == "killer"

    # The next command says which plugin was loading, before loading any: disabling it loads none.
    fixed = crashing.dlstudio("plugins", "disable", "killer")
    assert fixed.returncode == 0, fixed.stderr
    assert "stopped unexpectedly while loading plugin 'killer' (from dlstudio-killer)" in fixed.stderr
    assert "dlstudio plugins disable killer" in fixed.stderr
    assert markers(crashing) == []  # said once

    listed = crashing.dlstudio("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    status = {p["name"]: p["status"] for p in json.loads(listed.stdout)}
    assert status["killer"] == "disabled" and status["fine"] == "loaded" and status["images"] == "loaded"
    assert "stopped unexpectedly" not in listed.stderr


def test_safe_mode_starts_with_every_third_party_plugin_disabled(crashing):
    proc = crashing.dlstudio("--safe-mode", "plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    plugins = {p["name"]: p for p in json.loads(proc.stdout)}
    third_party = {name for name, p in plugins.items() if not p["builtin"]}
    assert third_party == {"killer", "fine"}
    assert all(plugins[name]["status"] == "disabled" and "safe mode" in plugins[name]["note"] for name in third_party)
    assert all(p["status"] == "loaded" for p in plugins.values() if p["builtin"])
    assert markers(crashing) == []
    # Safe mode is for the session: the settings are untouched, and the next start loads the plugins again.
    settings = crashing.home / "settings.json"
    assert not settings.exists() or json.loads(settings.read_text())["disabled_plugins"] == []
    assert crashing.dlstudio("plugins").returncode == -signal.SIGABRT


def test_safe_mode_reaches_the_processes_dlstudio_starts(crashing):
    env = dict(crashing.env, DLSTUDIO_SAFE_MODE="1")
    proc = subprocess.run([str(crashing.python), "-m", "dlstudio.cli", "plugins"], env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "note: safe mode" in proc.stdout
