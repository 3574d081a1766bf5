"""Plugins' items one by one: junk rejected with a warning, ids that clash (built-in ids kept by their
plugins whatever the names' order), panels of a family nobody registered."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

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
from dlstudio.plugins import (
    FAILED,
    LOADED,
    load_plugins,
    module_candidate,
)
from tests.fake_plugins import build, load, model, plugin, registers
from tests.fixture_plugins import demo_plugin

ROOT = Path(__file__).resolve().parents[1]



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
    assert records[2].error.startswith("refused: 'images' is the name of a built-in dlstudio plugin")
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
