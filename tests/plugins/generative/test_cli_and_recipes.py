"""The generative recipes and ``dlstudio generative``: every recipe passes the checks a run makes (the book's
carry its settings, and say which file to put where); stylize stores a run whose picture it copies, sample
draws the run's generator, score reads the samples with a classifier run; mistakes are messages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import dlstudio_generative.plugin as generative_plugin
from dlstudio import runs
from dlstudio.errors import USER_ERRORS
from dlstudio.spec import check_params
from dlstudio_generative.recipes import recipe_specs
from tests.plugins.generative.test_gan_training import gan_spec

RECIPES = {r.id: r for r in recipe_specs()}



pytestmark = pytest.mark.usefixtures("one_thread")  # tests/helpers.py


@pytest.fixture
def studio(make_studio):
    return make_studio(("generative", generative_plugin))


def run_cli(studio, *argv: str) -> int:
    from dlstudio.cli import build_parser

    args = build_parser(studio).parse_args(["generative", *argv])
    return args.handler(args, studio)


@pytest.mark.parametrize("recipe", list(RECIPES), ids=str)
def test_every_recipe_passes_the_checks_a_run_makes(studio, recipe):
    spec = studio.recipe_spec(recipe, []).to_dict()
    registry = studio.registry
    model, data, task = (registry.models.get(spec["model"]["id"]), registry.datasets.get(spec["data"]["id"]),
                         registry.tasks.get(spec["run"]["task"]))
    assert task.id in model.tasks and task.id in data.tasks
    check_params("model.params", model.id, spec["model"].get("params", {}), model.defaults, model.choices)
    check_params("task.params", task.id, spec.get("task", {}).get("params", {}), task.defaults, task.choices)
    check_params("data.params", data.id, spec["data"].get("params", {}), data.defaults, data.choices)
    assert RECIPES[recipe].family == "generative"


def test_the_book_recipes_carry_its_settings_and_name_their_files():
    gan = RECIPES["book-cifar10-dcgan"].spec
    assert gan["model"]["params"] == {"latent": 100, "width": 64} and gan["data"]["params"]["size"] == 64
    assert (gan["train"]["optimizer"], gan["train"]["lr"], gan["train"]["batch_size"]) == ("adam", 0.0002, 64)
    assert gan["task"]["params"]["beta1"] == 0.5
    style = RECIPES["book-style-vgg19"].spec
    assert style["task"]["params"]["features"] == "vgg19" and style["data"]["params"]["size"] == 512
    assert (style["train"]["optimizer"], style["train"]["steps"]) == ("lbfgs", 500)
    assert style["task"]["params"]["snapshot_every"] == 50
    assert "vgg19-dcbb9e9d.pth" in RECIPES["book-style-vgg19"].data_note
    assert "cifar-10-python.tar.gz" in RECIPES["book-cifar10-dcgan"].data_note
    offline = [r for r in RECIPES.values() if not r.id.startswith("book-")]
    assert offline and not any(r.data_note for r in offline)  # nothing to download


def test_stylize_stores_a_run_and_copies_its_picture(studio, tmp_path, capsys):
    out = tmp_path / "painted.png"
    assert run_cli(studio, "stylize", "sample:landscape", "sample:mosaic", "--size", "32", "--iterations", "4",
                   "--snapshot-every", "2", "--set", "style_weight=10", "-o", str(out)) == 0
    (info,) = runs.list_runs(studio)
    assert info.status == "completed" and info.task == "style-transfer"
    spec = runs.read_spec(studio, info.id)
    assert spec["task"]["params"]["style_weight"] == 10 and spec["train"]["steps"] == 4
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(info.run_dir / "result.png")))
    assert f"wrote {out}" in capsys.readouterr().out
    # the stored spec replays headless as any run does
    from dlstudio import launch

    again = launch.train(studio, spec, progress=False)
    assert np.array_equal(np.asarray(Image.open(again.run_dir / "result.png")), np.asarray(Image.open(out)))


@pytest.mark.parametrize("argv, message", [
    (("no-such-file.png", "sample:mosaic"), "no-such-file.png"),
    (("sample:landscape", "sample:nope"), "nope"),
    (("sample:landscape", "sample:mosaic", "--set", "style_wieght=3"), "style_wieght"),
    (("sample:landscape", "sample:mosaic", "--set", "oops"), "KEY=VALUE"),
], ids=["missing file", "unknown sample", "misspelt parameter", "no value"])
def test_stylize_mistakes_are_messages(studio, argv, message):
    with pytest.raises(USER_ERRORS, match=message):
        run_cli(studio, "stylize", *argv, "--size", "32", "--iterations", "2")


def test_sample_and_score_a_trained_gan(studio, tmp_path, capsys):
    from dlstudio import launch
    from dlstudio_generative.gan.sampling import grid_image, load_generator, sample

    gan = launch.train(studio, gan_spec(epochs=1), progress=False)
    out = tmp_path / "grid.png"
    assert run_cli(studio, "sample", gan.id, "-n", "16", "-o", str(out), "--seed", "7") == 0
    expected = grid_image(sample(load_generator(studio, gan.id), 16, 7))
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(expected.convert("RGB")))
    scorer = launch.train(studio, studio.recipe_spec("digits-scorer", ["train.epochs=1"]), progress=False)
    capsys.readouterr()
    assert run_cli(studio, "score", gan.id, "--scorer", scorer.id, "-n", "200") == 0
    printed = capsys.readouterr().out
    assert "score " in printed and "coverage " in printed and "samples per class: 0 " in printed
    with pytest.raises(USER_ERRORS, match="must be a classification run"):
        run_cli(studio, "score", gan.id, "--scorer", gan.id)
    with pytest.raises(USER_ERRORS, match="at least one sample"):
        run_cli(studio, "sample", gan.id, "-n", "0", "-o", str(out))
