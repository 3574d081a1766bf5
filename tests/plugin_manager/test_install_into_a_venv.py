"""Installing, updating and uninstalling plugins for real, with pip, into throw-away environments.

The example plugin installs from its folder, a wheel and a git URL and then loads in a fresh ``dlstudio plugins``,
and updates to a newer release;
a plugin that wants another torch is refused with pip's own reason, and ``pip freeze`` is the same before
and after; uninstall removes its files. ``pip freeze`` and the site-packages folder are the references: what
the command says it did is checked against them, not against itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.plugin_manager.conftest import copy_example, write_project

pytestmark = pytest.mark.slow

OFFLINE = ("--no-index", "--no-build-isolation")


def result_of(proc) -> dict:
    """The one JSON object ``--json`` prints last (pip's log went to stderr)."""
    return json.loads(proc.stdout.strip().splitlines()[-1])


def listed(env) -> dict[str, dict]:
    """``dlstudio plugins --json`` in a new process of the environment: each plugin by name."""
    proc = env.dlstudio("plugins", "--json")
    return {p["name"]: p for p in json.loads(proc.stdout)}


def hello_in_freeze(env) -> list[str]:
    """The example's ``name==version`` as pip lists it (``pip list``; ``pip freeze`` would give its file's URL)."""
    listing = json.loads(env.run("-m", "pip", "list", "--format", "json", check=True).stdout)
    return [f"{p['name']}=={p['version']}" for p in listing if p["name"].lower() == "dlstudio-hello-plugin"]


def test_the_example_installs_from_its_folder_and_loads(throwaway, tmp_path):
    pytest.importorskip("setuptools")
    source = copy_example(tmp_path / "source")
    assert "hello" not in listed(throwaway)

    proc = throwaway.dlstudio("plugins", "install", str(source), *OFFLINE, "--json")
    assert proc.returncode == 0, proc.stderr
    result = result_of(proc)
    assert result["ok"] and result["added"] == {"dlstudio-hello-plugin": "0.1.0"}
    assert result["removed"] == {} and result["changed"] == {}
    assert result["new_plugins"] == ["hello"]
    assert result["plugins"] == [{"name": "hello", "status": "loaded", "error": ""}]
    assert "--constraint" in proc.stderr and "Successfully installed dlstudio-hello-plugin-0.1.0" in proc.stderr

    assert (throwaway.site / "dlstudio_hello" / "plugin.py").is_file()
    assert hello_in_freeze(throwaway) == ["dlstudio-hello-plugin==0.1.0"]
    hello = listed(throwaway)["hello"]
    assert (hello["status"], hello["version"], hello["builtin"]) == ("loaded", "0.1.0", False)
    assert hello["distribution"] == "dlstudio-hello-plugin"
    assert hello["registered"]["families"] == ["hello"] and hello["registered"]["recipes"] == ["hello-spirals"]
    # The plugin's command is there for the next command line.
    csv = tmp_path / "points.csv"
    made = throwaway.dlstudio("spirals-csv", str(csv), "--samples", "10")
    assert made.returncode == 0, made.stderr
    assert len(csv.read_text().splitlines()) == 11


def test_the_example_installs_from_a_wheel_and_uninstalls(throwaway, example_wheel):
    proc = throwaway.dlstudio("plugins", "install", str(example_wheel), "--no-index", "--json")
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["plugins"] == [{"name": "hello", "status": "loaded", "error": ""}]
    assert listed(throwaway)["hello"]["status"] == "loaded"
    assert hello_in_freeze(throwaway) == ["dlstudio-hello-plugin==0.1.0"]

    # Without a terminal, uninstall wants --yes; it asked, so nothing happened.
    refused = throwaway.dlstudio("plugins", "uninstall", "hello")
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    assert hello_in_freeze(throwaway) == ["dlstudio-hello-plugin==0.1.0"]

    proc = throwaway.dlstudio("plugins", "uninstall", "hello", "--yes", "--json")  # the plugin's name will do
    assert proc.returncode == 0, proc.stderr
    result = result_of(proc)
    assert result["removed"] == {"dlstudio-hello-plugin": "0.1.0"} and result["gone_plugins"] == ["hello"]
    assert hello_in_freeze(throwaway) == []
    assert not (throwaway.site / "dlstudio_hello").exists()
    assert "hello" not in listed(throwaway)


def test_a_plugin_that_wants_another_torch_is_refused_with_pips_reason_and_nothing_changes(throwaway, tmp_path):
    pytest.importorskip("setuptools")
    project = write_project(tmp_path / "oldtorch", "dlstudio-oldtorch", {"oldtorch": "oldtorch"},
                            ["dlstudio", "torch==1.13.1"], {"oldtorch/__init__.py": ""})
    before = throwaway.freeze()
    proc = throwaway.dlstudio("plugins", "install", str(project), *OFFLINE, "--json")
    assert proc.returncode == 1
    result = result_of(proc)
    assert not result["ok"] and result["added"] == {} and result["changed"] == {} and result["removed"] == {}
    # pip's resolver says why, in its own words, naming the pinned torch and the plugin's wish.
    assert "ResolutionImpossible" in result["error"]
    assert "torch==1.13.1" in result["error"] and "(constraint) torch==" in result["error"]
    assert result["hint"].startswith("dlstudio keeps what it runs on at the installed versions")
    assert throwaway.freeze() == before
    assert not list(throwaway.site.glob("oldtorch*")) and not list(throwaway.site.glob("dlstudio_oldtorch*"))


def test_the_text_output_names_what_was_added_and_that_the_plugin_loads(throwaway, example_wheel):
    proc = throwaway.dlstudio("plugins", "install", str(example_wheel), "--no-index")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == ["install done: added dlstudio-hello-plugin 0.1.0", "plugin hello: loaded"]
    again = throwaway.dlstudio("plugins", "install", str(example_wheel), "--no-index")
    assert again.returncode == 0 and again.stdout.splitlines()[0] == "install done: nothing changed"


def test_a_plugin_that_installs_but_fails_to_load_is_said_and_exits_1(throwaway, tmp_path):
    pytest.importorskip("setuptools")
    project = write_project(tmp_path / "broken", "dlstudio-broken", {"broken": "broken_plugin"}, ["dlstudio"],
                            {"broken_plugin/__init__.py": "raise RuntimeError('needs a licence key')\n"})
    proc = throwaway.dlstudio("plugins", "install", str(project), *OFFLINE, "--json")
    assert proc.returncode == 1
    (plugin,) = result_of(proc)["plugins"]
    assert plugin["name"] == "broken" and plugin["status"] == "failed"
    assert "RuntimeError: needs a licence key" in plugin["error"]
    assert re.search(r"^dlstudio-broken @ file:", "\n".join(throwaway.freeze()), re.M)


def test_update_replaces_the_plugin_with_its_newer_release_and_nothing_else(throwaway, example_wheel, tmp_path):
    pytest.importorskip("setuptools")
    assert throwaway.dlstudio("plugins", "install", str(example_wheel), "--no-index").returncode == 0
    newer = copy_example(tmp_path / "newer")
    pyproject = newer / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"', 1))
    throwaway.run("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w",
                  str(tmp_path / "index"), str(newer), check=True)
    before = [line for line in throwaway.freeze() if not line.lower().startswith("dlstudio-hello-plugin")]

    proc = throwaway.dlstudio("plugins", "update", "hello", "--no-index", "--find-links", str(tmp_path / "index"),
                              "--json")
    assert proc.returncode == 0, proc.stderr
    result = result_of(proc)
    assert result["changed"] == {"dlstudio-hello-plugin": ["0.1.0", "0.2.0"]}
    assert result["added"] == {} and result["removed"] == {}
    assert hello_in_freeze(throwaway) == ["dlstudio-hello-plugin==0.2.0"]
    assert [line for line in throwaway.freeze() if not line.lower().startswith("dlstudio-hello-plugin")] == before
    refused = throwaway.dlstudio("plugins", "update", "images")
    assert refused.returncode == 2 and "a built-in plugin cannot be uninstalled or updated" in refused.stderr


def test_the_example_installs_from_a_vcs_url(throwaway, tmp_path):
    pytest.importorskip("setuptools")
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    repo = copy_example(tmp_path / "repo")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v"],
                 ["tag", "v0.1.0"]):
        subprocess.run([git, *args], cwd=repo, check=True, capture_output=True, timeout=60)
    url = f"git+{repo.as_uri()}@v0.1.0"  # as git+https://…@tag, offline
    proc = throwaway.dlstudio("plugins", "install", url, *OFFLINE, "--json")
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["plugins"] == [{"name": "hello", "status": "loaded", "error": ""}]
    assert hello_in_freeze(throwaway) == ["dlstudio-hello-plugin==0.1.0"]
