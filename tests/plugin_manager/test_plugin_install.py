"""The pip command, the constraints and the targets, without running pip (see test_install_into_a_venv.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from dlstudio.cli import main
from dlstudio.plugin_install import (
    INSTALL,
    UNINSTALL,
    UPDATE,
    PipOptions,
    PluginInstallError,
    Snapshot,
    constraints_file,
    core_pins,
    parse_target,
    pip_command,
    pip_errors,
    plugin_distribution,
)
from tests.plugin_manager.conftest import EXAMPLE


@pytest.fixture(scope="module")
def pip_list() -> dict[str, str]:
    """What pip itself says is installed here: the reference for the pins."""
    out = subprocess.run([sys.executable, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return {canonicalize_name(p["name"]): p["version"] for p in json.loads(out)}


def test_the_pins_are_dlstudio_and_what_it_runs_on_at_the_installed_versions(pip_list):
    pins = core_pins()
    for name in ("dlstudio", "torch", "torchvision", "numpy", "pyside6-essentials", "pluggy", "safetensors"):
        assert pins[name] == pip_list[name], name
    assert pins["shiboken6"] == pip_list["shiboken6"]  # PySide6's own requirement: the Qt under the window
    # Extras are not what dlstudio runs on: its test tools stay free.
    assert "pytest" not in pins and "import-linter" not in pins
    assert all(pip_list[name] == version for name, version in pins.items())


def test_the_constraints_file_pins_each_one_exactly_and_is_removed_afterwards():
    with constraints_file({"torch": "2.14.1", "dlstudio": "0.1.0"}) as path:
        lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
        assert lines == ["dlstudio==0.1.0", "torch==2.14.1"]
    assert not path.exists()


def test_install_and_update_carry_the_constraints_and_uninstall_does_not_ask():
    constraints = Path("/tmp/c.txt")
    install = pip_command(INSTALL, ["x==1"], constraints, PipOptions(no_index=True, find_links=("/w",)), "py")
    assert install[:4] == ["py", "-m", "pip", "install"]
    assert install[-3:] == ["--constraint", "/tmp/c.txt", "x==1"]
    assert "--no-index" in install and install[install.index("--find-links") + 1] == "/w"
    assert "--upgrade" not in install
    update = pip_command(UPDATE, ["x"], constraints, python="py")
    assert "--upgrade" in update and update[-3:] == ["--constraint", "/tmp/c.txt", "x"]
    assert pip_command(UNINSTALL, ["x"], python="py") == ["py", "-m", "pip", "uninstall", "--yes", "x"]
    with pytest.raises(ValueError, match="constraints"):
        pip_command(INSTALL, ["x"], None)
    with pytest.raises(PluginInstallError, match="nothing to install"):
        pip_command(INSTALL, [], constraints)


def test_targets_are_names_files_folders_or_urls(tmp_path):
    pins = {"torch": "2.14.1"}
    assert parse_target("dlstudio-foo", pins).kind == "package"
    assert parse_target("dlstudio-foo==1.2", pins) == parse_target(" dlstudio-foo==1.2 ", pins)
    assert parse_target("git+https://example.org/foo.git", pins).kind == "url"
    folder = parse_target(str(EXAMPLE), pins)
    assert (folder.kind, folder.value) == ("folder", str(EXAMPLE.resolve()))
    wheel = tmp_path / "foo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert parse_target(str(wheel), pins).kind == "file"


@pytest.mark.parametrize(("text", "message"), [
    ("", "nothing to install"),
    ("torch==2.0", "torch is what dlstudio runs on (pinned at 2.14.1), not a plugin"),
    ("./missing-folder", "no such file or folder: ./missing-folder"),
    ("a b c", "is neither a package name"),
    ("ftp://example.org/x.whl", "only http(s), file and git+"),
])
def test_bad_targets_are_refused_saying_why(text, message):
    with pytest.raises(PluginInstallError, match=re.escape(message)):
        parse_target(text, {"torch": "2.14.1"})


def test_a_folder_that_is_no_project_and_a_file_that_is_no_archive_are_refused(tmp_path):
    with pytest.raises(PluginInstallError, match=r"without pyproject\.toml"):
        parse_target(str(tmp_path), {})
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(PluginInstallError, match="neither a wheel"):
        parse_target(str(tmp_path / "notes.txt"), {})


def test_built_in_plugins_and_non_plugins_cannot_be_uninstalled():
    with pytest.raises(PluginInstallError, match="comes with dlstudio: a built-in plugin cannot be uninstalled"):
        plugin_distribution("images")
    with pytest.raises(PluginInstallError, match="declares no dlstudio plugin"):
        plugin_distribution("numpy")
    with pytest.raises(PluginInstallError, match="no installed plugin or distribution is called 'nope-nothing'"):
        plugin_distribution("nope-nothing")


def test_the_cli_refuses_before_running_pip(capsys):
    assert main(["plugins", "install", "torch==1.0"]) == 2
    assert "torch is what dlstudio runs on" in capsys.readouterr().err
    assert main(["plugins", "uninstall", "images", "--yes", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {"ok": False, "error": err.strip().removeprefix("dlstudio: ")}


def test_pips_reason_is_its_output_from_the_first_error_on():
    log = ["Processing ./x", "ERROR: Cannot install x", "", "The conflict is caused by:", "    x depends on y==1"]
    assert pip_errors(log) == "ERROR: Cannot install x\n\nThe conflict is caused by:\n    x depends on y==1"


def test_the_outcome_is_measured_on_the_installed_distributions():
    now = Snapshot.take().versions
    before = Snapshot({"gone-dist": "1", "numpy": "0.0", "torch": now["torch"]}, {"old": ("gone-dist", "old")})
    out = before.outcome(INSTALL, ["x"], 0, [])
    assert out.removed == {"gone-dist": "1"} and out.changed == {"numpy": ("0.0", now["numpy"])}
    assert "torch" not in out.added and "torch" not in out.changed and out.added["pluggy"] == now["pluggy"]
    assert out.gone_plugins == ["old"] and "images" in out.new_plugins
    assert out.ok and not out.nothing_changed


def test_enable_and_disable_are_saved_and_refuse_unknown_names(capsys, studio_home):
    assert main(["plugins", "disable", "images"]) == 0
    assert json.loads((studio_home / "settings.json").read_text())["disabled_plugins"] == ["images"]
    assert main(["plugins", "enable", "images"]) == 0
    assert json.loads((studio_home / "settings.json").read_text())["disabled_plugins"] == []
    capsys.readouterr()
    assert main(["plugins", "disable", "no-such-plugin"]) == 2
    assert "no plugin is called 'no-such-plugin'" in capsys.readouterr().err
    assert main(["plugins", "disable", "core"]) == 2


def test_enabling_a_plugin_the_environment_disables_says_it_stays_disabled(capsys, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_DISABLED_PLUGINS", "text")
    assert main(["plugins", "enable", "text"]) == 1
    assert "text stays disabled in this shell: $DLSTUDIO_DISABLED_PLUGINS names it" in capsys.readouterr().err
