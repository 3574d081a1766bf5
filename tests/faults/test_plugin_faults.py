"""A broken plugin cannot take dlstudio down (issue 12, item 4).

A plugin that exits, is interrupted, raises or hangs while it is imported or registers its items is recorded as
failed with a one-line reason and its traceback; the other plugins load and every command and the window go on.
A third party cannot take a built-in plugin's name or ids, whatever order its entry points come in and whatever
its distribution claims to be; the warnings are its own, never the built-in's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from dlstudio.plugins import FAILED, LOADED, Candidate, entry_point_candidates, load_plugins, module_candidate
from dlstudio.studio import Studio
from tests.fake_plugins import model, plugin
from tests.fixture_plugins import demo_plugin

ROOT = Path(__file__).resolve().parents[2]
BUILT_INS = {"images", "inspector", "text", "generative"}


def by_name(records):
    return {r.name: r for r in records}


def raiser(exc: BaseException):
    def explode(*args, **kwargs):
        raise exc

    return explode


# -- exits, interrupts and exceptions ------------------------------------------------------------------------

FAULTS = {
    "sys.exit(message)": (SystemExit("bye"), "called sys.exit('bye')"),
    "sys.exit(3)": (SystemExit(3), "called sys.exit(3)"),
    "KeyboardInterrupt": (KeyboardInterrupt(), "raised KeyboardInterrupt"),
    "RuntimeError": (RuntimeError("kaput"), "raised RuntimeError: kaput"),
}


# A built-in plugin loads on the main thread, where a KeyboardInterrupt is the user's Ctrl+C: it is not caught.
@pytest.mark.parametrize(("fault", "builtin"), [
    (fault, builtin) for fault in sorted(FAULTS) for builtin in (False, True)
    if not (builtin and fault == "KeyboardInterrupt")])
def test_a_plugin_that_exits_or_raises_at_import_fails_alone(fault, builtin):
    exc, said = FAULTS[fault]
    registry, records = load_plugins([Candidate("broken", raiser(exc), "test", builtin=builtin),
                                      module_candidate("demo", demo_plugin)])
    broken = by_name(records)["broken"]
    assert broken.status == FAILED
    expected = f"could not load: it {said}" if isinstance(exc, SystemExit) else f"could not load: {said[7:]}"
    assert broken.error == expected
    assert "Traceback" in broken.traceback and "explode" in broken.traceback
    assert by_name(records)["demo"].status == LOADED and "demo.mlp" in registry.models


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_plugin_whose_hook_exits_or_raises_fails_alone_and_contributes_nothing(fault):
    exc, said = FAULTS[fault]
    bad = plugin("bad", models=lambda register: register(model("bad.model")), recipes=raiser(exc))
    registry, records = load_plugins([module_candidate("bad", bad), module_candidate("demo", demo_plugin)])
    record = by_name(records)["bad"]
    assert record.status == FAILED
    assert record.error == f"hook dlstudio_register_recipes {said}"
    assert "explode" in record.traceback
    assert "bad.model" not in registry.models
    assert by_name(records)["demo"].status == LOADED and "demo.mlp" in registry.models


# -- hangs -----------------------------------------------------------------------------------------------------


@pytest.fixture
def release():
    """An event a hanging plugin waits on; set after the test so no thread outlives it."""
    event = threading.Event()
    yield event
    event.set()


def test_a_plugin_that_never_finishes_importing_is_failed_after_the_time_limit(release):
    def wait_forever():
        release.wait()
        return plugin("late", models=lambda register: register(model("late.model")))

    registry, records = load_plugins([Candidate("hangs", wait_forever, "test"), module_candidate("demo", demo_plugin)],
                                     timeout=0.2)
    hangs = by_name(records)["hangs"]
    assert hangs.status == FAILED
    assert hangs.error.startswith("did not finish loading within 0.2 s") and "\n" not in hangs.error
    assert "wait_forever" in hangs.traceback  # where it was stuck
    assert by_name(records)["demo"].status == LOADED and "demo.mlp" in registry.models


def test_what_a_hung_hook_registers_once_it_returns_is_ignored(release):
    finished = threading.Event()

    def stuck(register):
        release.wait()
        register(model("late.model"))
        finished.set()

    hangs = plugin("hangs", families=lambda register: None, models=stuck)
    registry, records = load_plugins([module_candidate("hangs", hangs), module_candidate("demo", demo_plugin)],
                                     timeout=0.2)
    assert by_name(records)["hangs"].status == FAILED
    assert "stuck" in by_name(records)["hangs"].traceback
    release.set()
    assert finished.wait(30)
    assert registry.models.ids() == ["demo.mlp"]
    assert by_name(records)["hangs"].status == FAILED


# -- built-in names and ids, with real entry points -------------------------------------------------------------


def write_distribution(site: Path, folder: str, name: str | None, entry_points: str) -> None:
    info = site / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\n" + (f"Name: {name}\nVersion: 1.0\n" if name else ""))
    (info / "entry_points.txt").write_text(f"[dlstudio.plugins]\n{entry_points}\n")


@pytest.fixture
def impostors(tmp_path, monkeypatch):
    """Installed third parties: one declares a plugin named 'images'; another, whose metadata claims the name
    dlstudio, declares 'aaa', which registers the images plugin's ids (model, dataset and the digits recipe)."""
    site = tmp_path / "site"
    write_distribution(site, "evilplug-1.0.dist-info", "evilplug", "images = tests.fixture_plugins.impostor")
    write_distribution(site, "sneaky-1.0.dist-info", "dlstudio", "aaa = tests.fixture_plugins.impostor")
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("tests.fixture_plugins.impostor", None)


def test_only_dlstudios_own_entry_points_are_built_in(impostors):
    candidates = entry_point_candidates()
    assert {c.name for c in candidates if c.builtin} == BUILT_INS
    outsiders = {(c.name, c.source) for c in candidates if not c.builtin}
    assert outsiders == {("images", "evilplug (entry point tests.fixture_plugins.impostor)"),
                         ("aaa", "dlstudio (entry point tests.fixture_plugins.impostor; not dlstudio's own "
                                 "distribution)")}


@pytest.mark.parametrize("order", ["as found", "reversed"])
def test_third_parties_cannot_take_the_built_in_plugins_name_or_ids(impostors, order):
    candidates = [c for c in entry_point_candidates() if c.name in {"images", "aaa"}]
    if order == "reversed":
        candidates.reverse()
    registry, records = load_plugins(candidates)
    builtin = next(r for r in records if r.name == "images" and r.builtin)
    named_like_it = next(r for r in records if r.name == "images" and not r.builtin)
    aaa = by_name(records)["aaa"]
    assert (builtin.status, builtin.warnings, builtin.error) == (LOADED, [], "")
    assert named_like_it.status == FAILED and named_like_it.source.startswith("evilplug")
    assert named_like_it.error == ("refused: 'images' is the name of a built-in dlstudio plugin; uninstall the one "
                                   "from evilplug (entry point tests.fixture_plugins.impostor), or ask its author "
                                   "to rename its entry point")
    assert aaa.status == LOADED
    assert sorted(aaa.warnings) == sorted(
        f"rejected {kind} {ident!r}: {ident!r} is a built-in id of plugin 'images'; choose another id"
        for kind, ident in [("model", "images.mnist_net"), ("dataset", "images.digits"), ("recipe", "digits-cnn")])
    recipe = registry.recipes.get("digits-cnn")
    assert recipe.plugin == "images" and recipe.title != "Impostor recipe"
    assert registry.models.get(recipe.spec["model"]["id"]).plugin == "images"
    assert registry.datasets.get(recipe.spec["data"]["id"]).plugin == "images"


def test_a_third_party_named_like_a_built_in_is_refused_even_when_the_built_in_is_disabled():
    impostor = module_candidate("images", plugin("images", models=lambda register: register(model("x.model"))))
    real = module_candidate("images", plugin("images"), builtin=True)
    registry, records = load_plugins([impostor, real], disabled=["images"])
    assert [(r.builtin, r.status) for r in records[1:]] == [(True, "disabled"), (False, FAILED)]
    assert records[2].error.startswith("refused: 'images' is the name of a built-in dlstudio plugin")
    assert "x.model" not in registry.models


def test_a_malformed_or_nameless_distribution_does_not_hide_the_others(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_distribution(site, "garbled-1.0.dist-info", "garbled", "a line without an equals sign")
    write_distribution(site, "nameless-1.0.dist-info", None, "nameless = tests.fixture_plugins.impostor")
    monkeypatch.syspath_prepend(str(site))
    candidates = entry_point_candidates()
    assert {c.name for c in candidates if c.builtin} == BUILT_INS
    garbled = next(c for c in candidates if c.source.startswith("garbled"))
    assert not garbled.builtin
    _, records = load_plugins([garbled])
    assert records[1].status == FAILED and "entry_points.txt" in records[1].error
    assert any(c.name == "nameless" and not c.builtin for c in candidates)


def test_studio_open_blames_the_third_party_and_finds_the_built_in_by_name(impostors, studio_home):
    studio = Studio.open(studio_home, [c for c in entry_point_candidates() if c.name in {"images", "aaa"}])
    images = studio.plugin_record("images")
    assert images.builtin and images.status == LOADED and images.warnings == []
    assert len(studio.plugin_record("aaa").warnings) == 3
    assert studio.recipe_spec("digits-cnn").model.id == "images.mnist_net"
    assert studio.registry.models.get("images.mnist_net").plugin == "images"


# -- through the CLI --------------------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, sys
    from dlstudio.cli import main

    codes = [main(["recipes"]), main(["plugins"])]
    print(json.dumps(codes))
""")


def test_the_cli_goes_on_when_a_plugin_calls_sys_exit_at_import(tmp_path, studio_home):
    site = tmp_path / "site"
    write_distribution(site, "exiter-1.0.dist-info", "exiter", "exits = tests.fixture_plugins.exits_at_import")
    env = {k: v for k, v in os.environ.items() if k not in ("DLSTUDIO_DISABLED_PLUGINS",)}
    env.update(DLSTUDIO_HOME=str(studio_home), PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    assert json.loads(out.splitlines()[-1]) == [0, 1]  # recipes works; plugins says one failed
    assert "digits-cnn" in out
    exits = next(line for line in out.splitlines() if line.startswith("exits "))
    assert exits.split()[2] == FAILED and "exiter" in exits
    assert ("    error: could not load: it called sys.exit('exits_at_import: this plugin refuses to load')"
            in out.splitlines())
    assert next(line for line in out.splitlines() if line.startswith("images ")).split()[2] == LOADED


# -- the Plugins dialog -----------------------------------------------------------------------------------------


def test_the_plugins_dialog_shows_each_failed_plugin_with_its_reason(qtbot, studio_home, release):
    from PySide6.QtCore import Qt

    from dlstudio.gui.plugins_dialog import PluginsDialog

    def wait_forever():
        release.wait()

    candidates = [Candidate("exits", raiser(SystemExit("bye")), "test"), Candidate("hangs", wait_forever, "test"),
                  module_candidate("images", plugin("images"), builtin=True),
                  module_candidate("images", plugin("images")), module_candidate("demo", demo_plugin)]
    registry, records = load_plugins(candidates, timeout=0.2)
    studio = Studio(studio_home, registry, records)
    dialog = PluginsDialog(studio.plugins, studio.settings)
    qtbot.addWidget(dialog)
    failed = [row for row, r in enumerate(records) if r.status == FAILED]
    assert len(failed) == 3
    for row in failed:
        dialog.table.setCurrentCell(row, 1)
        record = records[row]
        assert dialog.table.item(row, 3).text() == FAILED
        assert dialog.table.item(row, 3).toolTip() == record.error
        assert f"error: {record.error}" in dialog.details.toPlainText()
    # The refused namesake cannot be switched off by its name: that would switch off the built-in.
    refused = next(row for row, r in enumerate(records) if r.name == "images" and not r.builtin)
    checkbox = dialog.table.item(refused, 0)
    assert not checkbox.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert "built-in" in checkbox.toolTip()
    builtin = next(row for row, r in enumerate(records) if r.name == "images" and r.builtin)
    assert dialog.table.item(builtin, 0).flags() & Qt.ItemFlag.ItemIsUserCheckable
