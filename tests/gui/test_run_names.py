"""A run is named from what it trains: a recipe's title left on a run whose data the person changed gives way to
"<model> on <data>"; a name the person typed, or a recipe's name that is still true, stays."""

import pytest

from dlstudio.contract import DatasetSpec
from dlstudio.gui.run_names import outdated_recipe_name
from tests.fake_plugins import registers
from tests.fixture_plugins import demo_plugin

MORE_BLOBS = registers("datasets", DatasetSpec(id="demo.more_blobs", title="More blobs", family="demo",
                                               load=demo_plugin.load_blobs,
                                               defaults={"samples": 400, "classes": 3, "features": 4,
                                                         "noise": 1.0, "nan": False}), name="more_blobs")


@pytest.fixture
def studio(make_studio):
    return make_studio(("demo", demo_plugin), ("more_blobs", MORE_BLOBS))


def _spec(studio, name, dataset="demo.blobs"):
    spec = studio.recipe_spec("demo-blobs")
    spec.run.name = name
    spec.data.id = dataset
    return spec


def test_a_recipe_name_on_other_data_gives_way(studio):
    assert outdated_recipe_name(studio, _spec(studio, "Tiny MLP on blobs", "demo.more_blobs")) == \
        "Tiny MLP on More blobs"


@pytest.mark.parametrize(("name", "dataset"), [("Tiny MLP on blobs", "demo.blobs"),  # still the recipe's run
                                               ("my experiment", "demo.more_blobs")])  # the person's own name
def test_a_true_or_own_name_stays(studio, name, dataset):
    assert outdated_recipe_name(studio, _spec(studio, name, dataset)) is None


def test_the_window_starts_the_run_under_its_true_name(make_window, studio, qtbot):
    window = make_window(studio)
    spec = _spec(studio, "Tiny MLP on blobs", "demo.more_blobs")
    spec.train.epochs = 1
    with qtbot.waitSignal(window.queue.run_done, timeout=60_000):
        assert window.start_run(spec, None)
    [row] = studio.store.list_runs()
    assert row.name == "Tiny MLP on More blobs" and row.dataset == "demo.more_blobs"
