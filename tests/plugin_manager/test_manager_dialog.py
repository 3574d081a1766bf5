"""The Plugins dialog as a manager, under pytest-qt: pip in a QProcess with its log streaming, Cancel, a new
plugin joining the running window, uninstall with a confirmation naming what goes; the crash-recovery prompt.

pip installs into a throw-away environment (tests/plugin_manager/conftest.py); the test process puts that
environment's site-packages on its own path, as a running dlstudio sees its own environment's.
"""

from __future__ import annotations

import importlib
import json
import sys

import pytest
from PySide6.QtCore import Qt

from dlstudio import plugin_safety
from dlstudio.gui import plugin_manager_recovery
from dlstudio.gui.plugin_manager_process import PipProcess
from dlstudio.gui.plugin_manager_recovery import CrashRecoveryBox, offer_crash_recovery, restart_command
from dlstudio.gui.plugins_dialog import COLUMNS, PluginsDialog
from dlstudio.home import Settings
from dlstudio.plugin_install import PipOptions
from tests.plugin_manager.conftest import copy_example

OFFLINE = PipOptions(no_index=True, no_build_isolation=True)
PIP_TIMEOUT_MS = 240_000


@pytest.fixture
def sees_the_throwaway_env(throwaway, monkeypatch):
    """The test process sees what pip installs into the throw-away environment; forgets it afterwards."""
    monkeypatch.syspath_prepend(str(throwaway.site))
    importlib.invalidate_caches()
    yield throwaway
    for name in [m for m in sys.modules if m.split(".")[0] == "dlstudio_hello"]:
        del sys.modules[name]
    importlib.invalidate_caches()


def manager(qtbot, studio, parent=None, env=None) -> PluginsDialog:
    dialog = PluginsDialog(studio.plugins, studio.settings, parent, studio=studio,
                           python=str(env.python) if env else None, env=env.env if env else None,
                           pip_options=OFFLINE)
    if parent is None:
        qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def rows(dialog) -> dict[str, dict[str, str]]:
    return {dialog.table.item(r, 1).text(): {c: dialog.table.item(r, i).text() for i, c in enumerate(COLUMNS)}
            for r in range(dialog.table.rowCount())}


def family_rows(window) -> list[str]:
    return [window.families.item(r).text() for r in range(window.families.count())]


@pytest.mark.slow
def test_installing_streams_pips_log_and_the_new_plugin_joins_the_window_then_uninstalls(
        qtbot, make_window, demo_studio, sees_the_throwaway_env, tmp_path):
    env = sees_the_throwaway_env
    window = make_window(demo_studio)
    dialog = manager(qtbot, demo_studio, window, env)
    source = copy_example(tmp_path / "hello-source")
    while_running = []
    dialog.pip.line.connect(lambda line: while_running.append((line, dialog.pip.is_running())))

    dialog.target.setText(str(source))
    with qtbot.waitSignal(dialog.pip.done, timeout=PIP_TIMEOUT_MS) as done:
        qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
        assert dialog.progress.isVisible() and dialog.progress.maximum() == 0  # busy, not a made-up percentage
        assert dialog.cancel_button.isVisible() and not dialog.install_button.isEnabled()
        assert not dialog.safe_mode_button.isEnabled()
    outcome = done.args[0]
    # The log came line by line while pip ran, and the dialog's log holds all of it.
    streamed = [line for line, running in while_running if running]
    assert any(line.startswith("Processing ") for line in streamed)
    assert any("Successfully installed dlstudio-hello-plugin-0.1.0" in line for line in streamed)
    assert "--constraint" in while_running[0][0]
    assert dialog.log.toPlainText().splitlines() == [line for line, _ in while_running]
    assert not dialog.progress.isVisible() and not dialog.cancel_button.isVisible()

    assert outcome.ok and outcome.added == {"dlstudio-hello-plugin": "0.1.0"} and outcome.new_plugins == ["hello"]
    assert dialog.result_label.text() == ("install done: added dlstudio-hello-plugin 0.1.0. "
                                          "Plugin hello loaded: Hello spirals is in the window")
    assert not dialog.restart_button.isVisible()
    # Without a restart: the plugin is in the table, its family in the window, above Runs, with its panels.
    hello = rows(dialog)["hello"]
    assert (hello["Status"], hello["Version"], hello["Installed by"]) == ("loaded", "0.1.0", "you")
    assert family_rows(window)[-4:] == ["Hello spirals", "", "Sweeps", "Runs"]
    assert {"hello.spirals", "hello.train"} <= set(window.panels)
    assert "hello-spirals" in demo_studio.registry.recipes

    dialog.table.setCurrentCell(list(rows(dialog)).index("hello"), 1)
    details = dialog.details.toPlainText()
    assert "installed by: you, as the distribution dlstudio-hello-plugin" in details
    assert "  families: hello" in details and "  recipes: hello-spirals" in details
    assert "contract: written for 2" in details
    assert dialog.uninstall_button.isEnabled() and dialog.update_button.isEnabled()

    asked = []
    dialog.confirm = lambda title, text, details: asked.append((title, text, details)) or True
    with qtbot.waitSignal(dialog.pip.done, timeout=PIP_TIMEOUT_MS) as done:
        assert dialog.uninstall_selected()
    ((title, text, files),) = asked
    assert title == "Uninstall dlstudio-hello-plugin" and "dlstudio-hello-plugin 0.1.0" in text
    assert "dlstudio_hello/ (" in files and "dlstudio_hello_plugin-0.1.0.dist-info/ (" in files
    assert done.args[0].removed == {"dlstudio-hello-plugin": "0.1.0"}
    assert not (env.site / "dlstudio_hello").exists()
    assert dialog.restart_button.isVisible()  # its code is still running here: a restart removes it
    assert "Restart dlstudio for the change to dlstudio-hello-plugin" in dialog.result_label.text()


@pytest.mark.slow
def test_cancel_stops_pip_and_nothing_is_installed(qtbot, demo_studio, throwaway, tmp_path):
    project = tmp_path / "slowbuild"
    project.mkdir()
    (project / "setup.py").write_text(
        "import time\ntime.sleep(15)  # a long build\nfrom setuptools import setup\n"
        "setup(name='dlstudio-slowbuild', version='0.1', entry_points={'dlstudio.plugins': ['slow = slowbuild']})\n")
    before = throwaway.freeze()
    dialog = manager(qtbot, demo_studio, env=throwaway)
    dialog.target.setText(str(project))
    assert dialog.install()
    qtbot.waitUntil(lambda: "Processing" in dialog.log.toPlainText(), timeout=60_000)
    with qtbot.waitSignal(dialog.pip.done, timeout=30_000) as done:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    outcome = done.args[0]
    assert outcome.cancelled and not outcome.ok and outcome.nothing_changed
    assert dialog.result_label.text().startswith("install cancelled: nothing changed")
    assert "Cancelling…" in dialog.log.toPlainText()
    assert dialog.install_button.isEnabled() and not dialog.progress.isVisible()
    assert throwaway.freeze() == before


def test_a_process_that_ignores_terminate_is_killed(qtbot):
    pip = PipProcess()
    pip._kill_timer.setInterval(300)
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
                "time.sleep(60)")
    lines = []
    pip.line.connect(lines.append)
    pip.start("install", ["x"], [sys.executable, "-c", stubborn])
    qtbot.waitUntil(lambda: "ready" in lines, timeout=30_000)
    with qtbot.waitSignal(pip.done, timeout=30_000) as done:
        pip.cancel()
    assert done.args[0].cancelled
    assert lines[-2:] == ["Cancelling…", "pip did not stop: killing it"]
    assert not pip.is_running()


def test_a_bad_target_is_refused_in_the_dialog_before_pip_runs(qtbot, demo_studio):
    dialog = manager(qtbot, demo_studio)
    dialog.target.setText("torch==1.0")
    assert not dialog.install()
    assert not dialog.pip.is_running() and not dialog.progress.isVisible()
    assert dialog.result_label.text().startswith("torch is what dlstudio runs on (pinned at ")


def test_built_in_plugins_cannot_be_uninstalled_from_the_dialog(qtbot, studio_home):
    from dlstudio.studio import Studio

    studio = Studio.open(studio_home)  # the installed built-in plugins
    dialog = manager(qtbot, studio)
    names = list(rows(dialog))
    dialog.table.setCurrentCell(names.index("images"), 1)
    assert rows(dialog)["images"]["Installed by"] == "dlstudio (built in)"
    assert not dialog.uninstall_button.isEnabled() and not dialog.update_button.isEnabled()
    assert "can be disabled, not removed" in dialog.uninstall_button.toolTip()
    assert not dialog.uninstall_selected()
    assert "a built-in plugin cannot be uninstalled" in dialog.result_label.text()
    assert all(r["Load time"].endswith(" s") for n, r in rows(dialog).items() if r["Status"] == "loaded")


def test_the_crash_recovery_prompt_names_the_plugin_and_disabling_it_is_saved(qtbot, studio_home):
    studio_home.mkdir(parents=True)
    marker = studio_home / f"{plugin_safety.MARKER_PREFIX}999999991.json"
    marker.write_text(json.dumps({"plugin": "killer", "distribution": "dlstudio-killer", "pid": 999999991}))
    shown = []

    def click_disable(box: CrashRecoveryBox):
        shown.append((box.text(), box.informativeText(), [b.text() for b in box.buttons()]))
        return box.disable_button

    assert offer_crash_recovery(studio_home, ask=click_disable) == ["disabled killer"]
    ((text, informative, buttons),) = shown
    assert text == "The last time dlstudio ran, it stopped while loading the plugin “killer” from dlstudio-killer."
    assert informative.startswith("Disable “killer” to start without it")
    assert set(buttons) == {"Disable killer", "Start in safe mode", "Load it anyway"}
    assert Settings(studio_home).disabled_plugins() == {"killer"}
    assert not marker.exists() and offer_crash_recovery(studio_home, ask=click_disable) == []


def test_choosing_safe_mode_in_the_prompt_starts_in_safe_mode(qtbot, studio_home):
    studio_home.mkdir(parents=True)
    (studio_home / f"{plugin_safety.MARKER_PREFIX}999999992.json").write_text(json.dumps({"plugin": "killer"}))
    assert offer_crash_recovery(studio_home, ask=lambda box: box.safe_button) == ["safe mode"]
    assert plugin_safety.safe_mode_requested()
    assert Settings(studio_home).disabled_plugins() == set()


def test_restarting_runs_dlstudio_again_with_or_without_safe_mode():
    assert restart_command(True) == (sys.executable, ["-m", "dlstudio.cli", "--safe-mode"])
    assert restart_command(False) == (sys.executable, ["-m", "dlstudio.cli"])


def test_the_window_says_it_runs_in_safe_mode(make_window, demo_studio, monkeypatch):
    monkeypatch.setenv(plugin_safety.SAFE_MODE_ENV, "1")
    window = make_window(demo_studio)
    plugin_manager_recovery.mark_safe_mode(window)
    plugin_manager_recovery.mark_safe_mode(window)
    assert window.windowTitle() == "dlstudio — safe mode"


def test_the_app_and_the_built_in_families_have_icons(qtbot):
    from dlstudio.resources import app_icon_path, family_icon_path

    assert not plugin_manager_recovery.app_icon().isNull()
    for family in ("images", "text", "generative", "inspector"):
        assert family_icon_path(family).name == f"{family}.svg"
        assert not plugin_manager_recovery.family_icon(family).pixmap(32, 32).isNull()
    assert family_icon_path("someone-elses").name == "plugin.svg"
    assert app_icon_path().is_file()


def test_a_new_plugin_this_process_cannot_import_asks_for_a_restart(qtbot, demo_studio):
    from dlstudio.plugin_install import Outcome

    dialog = manager(qtbot, demo_studio)
    outcome = Outcome("install", ["dlstudio-elsewhere"], 0, added={"dlstudio-elsewhere": "1.0"},
                      new_plugins=["elsewhere"])  # installed where this process does not look (an editable .pth)
    dialog._pip_done(outcome)
    assert dialog.restart_needed == ["elsewhere"] and dialog.restart_button.isVisible()
    assert dialog.result_label.text() == ("install done: added dlstudio-elsewhere 1.0. "
                                          "Restart dlstudio for the change to elsewhere to take effect.")
    assert "elsewhere" not in rows(dialog)


def test_pips_failure_is_shown_in_red_with_its_reason(qtbot, demo_studio):
    from dlstudio.plugin_install import Outcome

    dialog = manager(qtbot, demo_studio)
    error = ("ERROR: Cannot install x==0.1 because these package versions have conflicting dependencies.\n"
             "    The user requested (constraint) torch==2.14.1")
    dialog._pip_done(Outcome("install", ["x"], 1, error=error))
    text = dialog.result_label.text()
    assert text.startswith("install failed (pip exited with status 1): nothing changed. Cannot install x==0.1")
    assert "dlstudio keeps what it runs on at the installed versions" in text
    assert "200, 40, 40" in dialog.result_label.styleSheet() and not dialog.restart_button.isVisible()


def test_the_wheel_ships_every_bundled_resource():
    """Each file of resources/dlstudio_resources is named by the package-data globs setuptools reads."""
    import tomllib

    from dlstudio.resources import _SOURCE_TREE

    root = _SOURCE_TREE
    config = tomllib.loads((root.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "resources" in config["packages"]["find"]["where"]
    shipped = {path for pattern in config["package-data"]["dlstudio_resources"] for path in root.glob(pattern)}
    files = {path for path in root.rglob("*") if path.is_file() and path.suffix != ".py" and "__pycache__" not in
             path.parts}
    assert files and files == shipped
