"""Finding and loading plugins: each plugin's failures stay its own, junk is rejected item by item."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

from dlstudio import CONTRACT_VERSION, hookimpl, hookspecs
from dlstudio.contract import (
    REGISTRABLE,
    CommandSpec,
    FamilySpec,
)
from dlstudio.home import Settings
from dlstudio.plugins import (
    DISABLED,
    FAILED,
    LOADED,
    Candidate,
    Catalog,
    entry_point_candidates,
    load_plugins,
    module_candidate,
)
from dlstudio.studio import Studio
from tests.fake_plugins import load, model, plugin, registers
from tests.fixture_plugins import demo_plugin

ROOT = Path(__file__).resolve().parents[1]


# -- the good cases ----------------------------------------------------------------------------------


def test_the_core_is_a_plugin_like_any_other():
    registry, records = load()
    assert list(records) == ["core"]
    core = records["core"]
    assert (core.status, core.builtin, core.version) == (LOADED, True, "2.1")
    assert registry.tasks.ids() == ["classification"]
    assert registry.tasks.get("classification").plugin == "core"


def test_the_demo_plugin_registers_everything_tagged_with_its_name():
    registry, records = load(("demo", demo_plugin))
    demo = records["demo"]
    assert (demo.status, demo.version, demo.error, demo.warnings) == (LOADED, "0.0.1", "", [])
    assert demo.source == "given directly" and not demo.builtin
    assert registry.families.ids() == ["demo"]
    assert registry.panels.ids() == ["demo.train"]
    assert registry.models.ids() == ["demo.mlp"]
    assert registry.datasets.ids() == ["demo.blobs"]
    assert registry.recipes.ids() == ["demo-blobs"]
    assert {item.plugin for kind in ("families", "panels", "models", "datasets", "recipes")
            for item in registry.catalog(kind)} == {"demo"}


def test_a_plugin_may_be_an_object_with_hook_methods():
    class Plugin:
        DLSTUDIO_CONTRACT = 1
        __version__ = "2.0"

        @hookimpl
        def dlstudio_register_models(self, register):
            register(model("obj.model"))

        @hookimpl
        def dlstudio_register_commands(self, register):
            register(CommandSpec(name="hello", help="say hello", add_arguments=lambda p: None,
                                 run=lambda args, studio: 0))

    registry, records = load(("obj", Plugin()))
    assert records["obj"].status == LOADED and records["obj"].version == "2.0"
    assert registry.models.get("obj.model").plugin == "obj"
    assert registry.commands.get("hello").plugin == "obj"


def test_a_hook_may_leave_out_the_arguments_it_does_not_use():
    calls = []
    registry, records = load(("quiet", plugin("quiet", models=lambda: calls.append("called"))))
    assert records["quiet"].status == LOADED and calls == ["called"]
    assert len(registry.models) == 0


def test_hooks_go_through_pluggy_with_the_plugins_own_ordering_and_wrappers():
    class Plugin:
        @hookimpl(specname="dlstudio_register_models", trylast=True)
        def last(self, register):
            register(model("p.last"))

        @hookimpl(specname="dlstudio_register_models", tryfirst=True)
        def first(self, register):
            register(model("p.first"))

        @hookimpl(specname="dlstudio_register_models", wrapper=True)
        def around(self, register):
            register(model("p.before"))
            result = yield
            register(model("p.after"))
            return result

    registry, records = load(("p", Plugin()))
    assert records["p"].status == LOADED, records["p"].error
    assert registry.models.ids() == ["p.before", "p.first", "p.last", "p.after"]


def test_a_plugins_wrapper_wraps_only_its_own_hooks_and_fails_only_it():
    seen = []

    class Spy:
        @hookimpl(specname="dlstudio_register_models", wrapper=True)
        def around(self, register):
            seen.append("spy")
            yield
            raise RuntimeError("the wrapper broke")

    registry, records = load(("spy", Spy()), ("demo", demo_plugin))
    assert seen == ["spy"]  # not called again for the demo plugin's models
    assert records["spy"].status == FAILED
    assert records["spy"].error == "hook dlstudio_register_models raised RuntimeError: the wrapper broke"
    assert records["demo"].status == LOADED and registry.models.ids() == ["demo.mlp"]


def test_a_hook_asking_for_an_argument_the_contract_lacks_fails_the_plugin():
    _, records = load(("greedy", plugin("greedy", models=lambda register, frobnicate: None)))
    assert records["greedy"].status == FAILED
    assert "frobnicate" in records["greedy"].error


# -- failures stay with the plugin -------------------------------------------------------------------


def test_a_plugin_whose_import_raises_fails_alone():
    def explode():
        raise ImportError("No module named 'missing_dependency'")

    registry, records = load_plugins([Candidate("broken", explode, "test"), module_candidate("demo", demo_plugin)])
    by_name = {r.name: r for r in records}
    broken = by_name["broken"]
    assert broken.status == FAILED
    assert broken.error == "could not load: ImportError: No module named 'missing_dependency'"
    assert "Traceback" in broken.traceback and "explode" in broken.traceback
    assert by_name["demo"].status == LOADED and "demo.mlp" in registry.models


def test_a_hook_that_raises_fails_its_plugin_which_contributes_nothing():
    def boom(register):
        raise RuntimeError("kaput")

    bad = plugin("bad", models=lambda register: register(model("bad.model")), recipes=boom,
                 families=lambda register: register(FamilySpec(id="bad", title="Bad")))
    registry, records = load(("bad", bad), ("demo", demo_plugin))
    assert records["bad"].status == FAILED
    assert records["bad"].error == "hook dlstudio_register_recipes raised RuntimeError: kaput"
    assert "kaput" in records["bad"].traceback
    assert "bad.model" not in registry.models and "bad" not in registry.families
    assert records["demo"].status == LOADED and "demo.mlp" in registry.models


def test_a_plugin_for_another_contract_version_fails_with_the_reason():
    _, records = load(("future", registers("models", model("future.model"), name="future")))
    assert records["future"].status == LOADED  # no declaration: assumed to fit
    future = registers("models", model("future.model"), name="future")
    future.DLSTUDIO_CONTRACT = 99
    registry, records = load(("future", future))
    assert records["future"].status == FAILED
    assert records["future"].error == "written for plugin contract 99, this dlstudio provides 2.1"
    assert "future.model" not in registry.models
    assert CONTRACT_VERSION[0] == 2


def test_a_plugin_for_contract_1_loads_with_a_warning_that_points_at_the_migration():
    old = registers("models", model("old.model"), name="old")
    old.DLSTUDIO_CONTRACT = 1
    registry, records = load(("old", old))
    assert records["old"].status == LOADED and "old.model" in registry.models
    assert records["old"].warnings == [
        "written for plugin contract 1; dlstudio 2.1 loads it as it is, but it may need changes: see "
        "'Migrating from contract 1' in the plugin guide"]


def test_two_plugins_with_the_same_name_keep_the_first():
    registry, records = load_plugins([module_candidate("twin", registers("models", model("a.model"))),
                                      module_candidate("twin", registers("models", model("b.model")))])
    assert [r.status for r in records[1:]] == [LOADED, FAILED]
    assert records[2].error == "another plugin is already called 'twin'"
    assert registry.models.ids() == ["a.model"]


# -- disabling ---------------------------------------------------------------------------------------


def test_a_disabled_plugin_is_not_even_imported():
    def must_not_load():
        raise AssertionError("imported a disabled plugin")

    registry, records = load_plugins([Candidate("off", must_not_load), module_candidate("demo", demo_plugin)],
                                     disabled=["off", "core"])
    by_name = {r.name: r for r in records}
    assert by_name["off"].status == DISABLED
    assert by_name["core"].status == LOADED  # the core cannot be disabled
    assert "classification" in registry.tasks


def test_plugins_disabled_through_the_environment(studio_home, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_DISABLED_PLUGINS", " demo , other")
    studio = Studio.open(studio_home, [module_candidate("demo", demo_plugin)])
    assert studio.plugin_record("demo").status == DISABLED
    assert "demo.mlp" not in studio.registry.models


def test_plugins_disabled_in_the_settings_file(studio_home):
    studio_home.mkdir(parents=True)
    Settings(studio_home).set_plugin_enabled("demo", False)
    studio = Studio.open(studio_home, [module_candidate("demo", demo_plugin)])
    assert studio.plugin_record("demo").status == DISABLED and len(studio.registry.models) == 0
    studio.settings.set_plugin_enabled("demo", True)
    studio = Studio.open(studio_home, [module_candidate("demo", demo_plugin)])
    assert studio.plugin_record("demo").status == LOADED and "demo.mlp" in studio.registry.models


# -- discovery through entry points -------------------------------------------------------------------


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution 'fakeplug' 1.0 on sys.path declaring two dlstudio plugins, one of them broken."""
    site = tmp_path / "site"
    info = site / "fakeplug-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[dlstudio.plugins]\nfakeep = fake_ep_plugin\nfakebroken = fake_ep_missing_module\n")
    (site / "fake_ep_plugin.py").write_text(textwrap.dedent("""
        from dlstudio import hookimpl
        from dlstudio.contract import FamilySpec

        DLSTUDIO_CONTRACT = 1

        @hookimpl
        def dlstudio_register_families(register):
            register(FamilySpec(id="fakeep", title="From an entry point"))
    """))
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("fake_ep_plugin", None)


def test_plugins_are_discovered_through_entry_points(installed_plugin):
    candidates = {c.name: c for c in entry_point_candidates()}
    fake = candidates["fakeep"]
    assert (fake.source, fake.version, fake.builtin) == ("fakeplug (entry point fake_ep_plugin)", "1.0", False)
    registry, records = load_plugins([candidates["fakeep"], candidates["fakebroken"]])
    by_name = {r.name: r for r in records}
    assert by_name["fakeep"].status == LOADED and by_name["fakeep"].version == "1.0"
    assert registry.families.get("fakeep").plugin == "fakeep"
    assert by_name["fakebroken"].status == FAILED
    assert "ModuleNotFoundError" in by_name["fakebroken"].error and "fake_ep_missing_module" in by_name[
        "fakebroken"].error


def test_studio_open_loads_what_is_installed(installed_plugin, studio_home):
    studio = Studio.open(studio_home)
    assert studio.plugin_record("fakeep").status == LOADED
    assert studio.plugin_record("fakebroken").status == FAILED
    assert "fakeep" in studio.registry.families


def test_the_built_in_plugins_are_declared_like_any_other():
    builtin = {c.name for c in entry_point_candidates() if c.builtin}
    assert {"images", "inspector"} <= builtin


# -- catalogs and the contract itself ----------------------------------------------------------------


def test_an_unknown_id_says_what_is_known():
    catalog: Catalog = Catalog("model")
    catalog._add("demo.mlp", object())
    catalog._add("demo.cnn", object())
    with pytest.raises(KeyError) as info:
        catalog.get("demo.mpl")
    message = info.value.args[0]
    assert message.startswith("no model 'demo.mpl' is registered. Did you mean 'demo.mlp'")
    assert "Known models: demo.cnn, demo.mlp." in message and "dlstudio plugins" in message


def test_every_registrable_kind_has_a_hook_and_every_hook_a_kind():
    hooks = {name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("dlstudio_")}
    assert hooks == {f"dlstudio_register_{kind}" for kind in REGISTRABLE}


def test_every_hook_is_documented_with_its_exact_signature():
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for kind, cls in REGISTRABLE.items():
        function = getattr(hookspecs, f"dlstudio_register_{kind}")
        signature = f"def {function.__name__}(register: Callable[[{cls.__name__}], None]) -> None"
        assert re.sub(r"\s+", " ", str(inspect.signature(function))) == (
            f"(register: 'Callable[[{cls.__name__}], None]') -> 'None'")
        assert signature in guide, f"docs/plugins.md does not document {signature}"
        assert ":param register:" in function.__doc__
