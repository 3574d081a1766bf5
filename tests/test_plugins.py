"""Finding and loading plugins: each plugin's failures stay its own, junk is rejected item by item."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
import types
from dataclasses import replace
from pathlib import Path

import pytest

from dlstudio import CONTRACT_VERSION, hookimpl, hookspecs
from dlstudio.contract import (
    REGISTRABLE,
    CallbackSpec,
    CommandSpec,
    DatasetSpec,
    FamilySpec,
    ModelSpec,
    PanelSpec,
    RecipeSpec,
    TaskSpec,
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
from tests.fixture_plugins import demo_plugin

ROOT = Path(__file__).resolve().parents[1]


def build(params, info):
    raise AssertionError("not built in these tests")


def model(ident: str = "fake.model", **kwargs) -> ModelSpec:
    return ModelSpec(id=ident, title=kwargs.pop("title", "Fake model"), build=build, **kwargs)


def plugin(name: str = "fake", contract: int | None = None, **hooks) -> types.ModuleType:
    """An in-memory plugin module: ``models=lambda register: ...`` becomes ``dlstudio_register_models``."""
    module = types.ModuleType(name)
    if contract is not None:
        module.DLSTUDIO_CONTRACT = contract
    for kind, function in hooks.items():
        setattr(module, f"dlstudio_register_{kind}", hookimpl(function))
    return module


def registers(kind: str, *items, name: str = "fake") -> types.ModuleType:
    return plugin(name, **{kind: lambda register: [register(item) for item in items]})


def load(*plugins: tuple[str, object], disabled=()):
    registry, records = load_plugins([module_candidate(name, module) for name, module in plugins], disabled)
    return registry, {r.name: r for r in records}


# -- the good cases ----------------------------------------------------------------------------------


def test_the_core_is_a_plugin_like_any_other():
    registry, records = load()
    assert list(records) == ["core"]
    core = records["core"]
    assert (core.status, core.builtin, core.version) == (LOADED, True, "2.0")
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
    assert records["future"].error == "written for plugin contract 99, this dlstudio provides 2.0"
    assert "future.model" not in registry.models
    assert CONTRACT_VERSION[0] == 2


def test_a_plugin_for_contract_1_loads_with_a_warning_that_points_at_the_migration():
    old = registers("models", model("old.model"), name="old")
    old.DLSTUDIO_CONTRACT = 1
    registry, records = load(("old", old))
    assert records["old"].status == LOADED and "old.model" in registry.models
    assert records["old"].warnings == [
        "written for plugin contract 1; dlstudio 2.0 loads it as it is, but it may need changes: see "
        "'Migrating from contract 1' in the plugin guide"]


def test_two_plugins_with_the_same_name_keep_the_first():
    registry, records = load_plugins([module_candidate("twin", registers("models", model("a.model"))),
                                      module_candidate("twin", registers("models", model("b.model")))])
    assert [r.status for r in records[1:]] == [LOADED, FAILED]
    assert records[2].error == "another plugin is already called 'twin'"
    assert registry.models.ids() == ["a.model"]


@pytest.mark.parametrize("kind, item, warning", [
    ("models", {"id": "dict.model"}, "rejected a model: expected ModelSpec, got dict"),
    ("models", FamilySpec(id="x", title="X"), "rejected a model: expected ModelSpec, got FamilySpec"),
    ("models", model("Bad Id"), "rejected: model id 'Bad Id' is not valid"),
    ("models", model("m", title=" "), "rejected: model 'm' needs a non-empty title"),
    ("models", model("m", defaults={"f": object()}), "rejected: model 'm': default 'f' must be bool, int, float"),
    ("models", model("m", defaults={"a": 1}, choices={"b": [1]}),
     "rejected: model 'm': choices given for 'b', which has no default"),
    ("models", model("m", defaults={"a": 1}, choices={"a": [2, 3]}),
     "rejected: model 'm': choices for 'a' must be a list holding its default"),
    ("models", model("m", tasks=5), "rejected: model 'm': tasks must be a non-empty tuple of task ids"),
    ("models", model("m", tasks="classification"), "rejected: model 'm': tasks must be a non-empty tuple"),
    ("models", model("m", default_data=(1, 28, 28)), "rejected: model 'm': default_data must be a DataInfo"),
    ("models", ModelSpec(id="m", title="M", build="not callable"),
     "rejected: model 'm': build must be callable, got str"),
    ("datasets", DatasetSpec(id="d", title="D", load=build, tasks=()),
     "rejected: dataset 'd': tasks must be a non-empty tuple"),
    ("tasks", TaskSpec(id="t", title="T", create=None), "rejected: task 't': create must be callable"),
    ("recipes", RecipeSpec(id="r", title="R", spec={"model": {"id": "x"}}),
     "rejected: recipe 'r': spec must be a dict with [model] and [data] sections"),
    ("commands", CommandSpec(name="Say Hi", help="h", add_arguments=print, run=print),
     "rejected: command id 'Say Hi' is not valid"),
    ("panels", PanelSpec(id="p", title="P", family="", factory=print), "rejected: panel 'p': family id ''"),
])
def test_junk_is_rejected_item_by_item_with_a_warning(kind, item, warning):
    good = model("good.model")
    if kind == "models":
        junky = plugin("junky", models=lambda register: (register(item), register(good)))
    else:
        junky = plugin("junky", models=lambda register: register(good), **{kind: lambda register: register(item)})
    registry, records = load(("junky", junky))
    junk = records["junky"]
    assert junk.status == LOADED
    assert len(junk.warnings) == 1 and junk.warnings[0].startswith(warning), junk.warnings
    assert registry.models.ids() == ["good.model"]


def test_validation_that_crashes_on_junk_rejects_the_item_not_the_app():
    class Weird(ModelSpec):
        def validate(self):
            raise TypeError("cannot even look at it")

    registry, records = load(("weird", registers("models", Weird(id="w", title="W", build=build), model("fine"))))
    assert records["weird"].status == LOADED
    assert records["weird"].warnings == ["rejected a model: TypeError while validating it: cannot even look at it"]
    assert registry.models.ids() == ["fine"]


def test_an_id_taken_by_another_plugin_is_rejected_naming_both():
    registry, records = load(("first", registers("models", model("shared.mlp"), name="first")),
                             ("second", registers("models", model("shared.mlp", title="Other"), model("own"),
                                                  name="second")))
    assert records["second"].status == LOADED and records["first"].warnings == []
    assert records["second"].warnings == ["rejected model 'shared.mlp' of plugin 'second': plugin 'first' already "
                                          "registered that id; one of them must choose another id"]
    assert registry.models.get("shared.mlp").plugin == "first" and registry.models.get("own").plugin == "second"


def test_an_id_registered_twice_by_one_plugin_keeps_the_first():
    registry, records = load(("twice", registers("models", model("twice.m"), model("twice.m", title="Again"),
                                                 name="twice")))
    assert records["twice"].warnings == ["rejected model 'twice.m': plugin 'twice' registers that id twice; "
                                         "the first one is kept"]
    assert registry.models.get("twice.m").title == "Fake model"


def test_a_task_id_taken_by_the_core_is_rejected():
    registry, records = load(("rival", registers("tasks", TaskSpec(id="classification", title="Mine", create=print))))
    assert records["rival"].warnings == ["rejected task 'classification': 'classification' is a built-in id of "
                                         "plugin 'core'; choose another id"]
    assert registry.tasks.get("classification").plugin == "core"


# One item of each kind, as a built-in plugin ("images") and a third-party one both register it.
SAME_ID_ITEMS = {
    "families": FamilySpec(id="images", title="Image classification"),
    "panels": PanelSpec(id="images.train", title="Train", family="images", factory=print),
    "models": model("images.resnet18"),
    "datasets": DatasetSpec(id="images.digits", title="Digits", load=build),
    "tasks": TaskSpec(id="images.task", title="A task", create=print),
    "callbacks": CallbackSpec(id="images.callback", title="A callback", create=print),
    "recipes": RecipeSpec(id="digits-cnn", title="Digits CNN", spec={"model": {}, "data": {}}),
    "commands": CommandSpec(name="inspect", help="inspect", add_arguments=print, run=print),
}


def test_every_kind_of_item_is_covered_by_the_built_in_id_test():
    assert set(SAME_ID_ITEMS) == set(REGISTRABLE)


@pytest.mark.parametrize("kind", sorted(SAME_ID_ITEMS))
def test_a_built_in_id_cannot_be_taken_by_a_plugin_whose_name_sorts_first(kind):
    item = SAME_ID_ITEMS[kind]
    hooks = {kind: lambda register: register(item)}
    if kind == "panels":  # a panel needs its family
        hooks["families"] = lambda register: register(SAME_ID_ITEMS["families"])
    builtin = module_candidate("images", plugin("images", **hooks), builtin=True)
    text = "help" if kind == "commands" else "title"
    rival_item = replace(item, **{text: "Rival"})
    rival = module_candidate("aaa", plugin("aaa", **{kind: lambda register: register(rival_item)}))
    registry, records = load_plugins([rival, builtin])  # the rival comes first, as entry points sorted by name
    by_name = {r.name: r for r in records}
    assert [r.name for r in records] == ["core", "images", "aaa"]  # built-ins load first
    assert by_name["images"].warnings == [] and by_name["aaa"].status == LOADED
    ident = getattr(item, "id", None) or item.name
    assert by_name["aaa"].warnings == [f"rejected {registry.catalog(kind).kind} {ident!r}: {ident!r} is a built-in "
                                       "id of plugin 'images'; choose another id"]
    kept = registry.catalog(kind).get(ident)
    assert (kept.plugin, getattr(kept, text)) == ("images", getattr(item, text))


def test_a_third_party_plugin_cannot_take_a_built_in_plugins_name():
    impostor = module_candidate("images", registers("models", model("fake.model"), name="images"))
    real = module_candidate("images", registers("models", model("images.real"), name="images"), builtin=True)
    registry, records = load_plugins([impostor, real])
    assert [(r.name, r.builtin, r.status) for r in records[1:]] == [("images", True, LOADED),
                                                                    ("images", False, FAILED)]
    assert records[2].error == "another plugin is already called 'images'"
    assert registry.models.ids() == ["images.real"]


def test_the_readme_demo_survives_a_plugin_that_registers_its_ids():
    """The README's demo (the digits recipe on the digits dataset) still trains from the built-in parts."""
    from dlstudio_images import plugin as images_plugin

    rival = plugin("aaa", datasets=lambda register: register(DatasetSpec(id="images.digits", title="Mine",
                                                                         load=build)),
                   recipes=lambda register: register(RecipeSpec(id="digits-cnn", title="Mine",
                                                                spec={"model": {"id": "x"}, "data": {"id": "y"}})))
    registry, records = load_plugins([module_candidate("aaa", rival),
                                      module_candidate("images", images_plugin, builtin=True)])
    recipe = registry.recipes.get("digits-cnn")
    assert recipe.plugin == "images"
    assert registry.datasets.get(recipe.spec["data"]["id"]).plugin == "images"
    assert registry.models.get(recipe.spec["model"]["id"]).plugin == "images"
    assert len({r.name: r for r in records}["aaa"].warnings) == 2


def test_a_panel_of_a_family_nobody_registered_is_dropped():
    lonely = registers("panels", PanelSpec(id="lonely.panel", title="Lonely", family="nowhere", factory=print))
    joiner = registers("panels", PanelSpec(id="join.panel", title="Joins demo", family="demo", factory=print),
                       name="joiner")
    registry, records = load(("lonely", lonely), ("joiner", joiner), ("demo", demo_plugin))
    assert records["lonely"].warnings == ["rejected panel 'lonely.panel': no family 'nowhere' is registered"]
    assert sorted(registry.panels.ids()) == ["demo.train", "join.panel"]  # another plugin's family is fine


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
