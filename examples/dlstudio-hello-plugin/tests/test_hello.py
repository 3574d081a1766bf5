"""The hello plugin, headless: it loads, registers what it should, its recipe trains, and what a run leaves
behind (its model, its metrics, the CSV log) is read back through the runs API."""

import csv

import pytest
import torch
from dlstudio import runs
from dlstudio.cli import build_parser
from dlstudio.plugins import load_plugins, module_candidate
from dlstudio.runner import Run, run_to_end
from dlstudio.spec import SpecError
from dlstudio.studio import Studio

from dlstudio_hello import plugin
from dlstudio_hello.data import make_spirals


def test_the_plugin_loads_and_registers_its_parts():
    registry, records = load_plugins([module_candidate("hello", plugin)])
    hello = next(r for r in records if r.name == "hello")
    assert (hello.status, hello.error, hello.warnings) == ("loaded", "", [])
    assert registry.families.ids() == ["hello"]
    assert registry.models.ids() == ["hello.mlp"]
    assert registry.datasets.ids() == ["hello.spirals"]
    assert registry.recipes.ids() == ["hello-spirals"]
    assert registry.callbacks.ids() == ["hello.csv-log"]
    assert registry.commands.ids() == ["spirals-csv"]
    assert sorted(registry.panels.ids()) == ["hello.spirals", "hello.train"]
    assert registry.models.get("hello.mlp").plugin == "hello"  # the host tags each item with its plugin


@pytest.fixture
def studio(tmp_path, monkeypatch):
    """A studio in a temporary folder holding only this plugin (nothing else installed leaks in)."""
    monkeypatch.delenv("DLSTUDIO_DISABLED_PLUGINS", raising=False)
    return Studio.open(tmp_path, [module_candidate("hello", plugin)])


def test_the_recipe_trains_headless(studio):
    spec = studio.recipe_spec("hello-spirals", ["train.epochs=2", 'run.device="cpu"'])
    records = []
    ended = run_to_end(Run(studio, spec), records.append)
    assert ended.status == "completed", ended.message
    epochs = [r for r in records if r.kind == "epoch_end"]
    assert [r.epoch for r in epochs] == [1, 2]
    assert 0.0 <= epochs[-1].metrics["valid_accuracy"] <= 1.0
    (run,) = runs.list_runs(studio)
    assert (run.model, run.dataset, run.status, run.plugin) == ("hello.mlp", "hello.spirals", "completed", "hello")


def test_the_trained_model_separates_spirals_it_never_saw(studio):
    spec = studio.recipe_spec("hello-spirals", ["train.epochs=10", 'run.device="cpu"'])  # ~97 % already
    run = Run(studio, spec)
    assert run_to_end(run).status == "completed"
    info = runs.get_run(studio, run.run_id)
    loaded = runs.load_model(studio, run.run_id, "best")
    assert loaded.epoch == info.best_epoch
    # Fresh points from another seed, labelled by the generator itself: the reference the model never saw.
    points, arms = make_spirals(400, 0.05, 1.5, seed=12345)
    with torch.no_grad():
        predicted = loaded.model(points).argmax(1)
    assert (predicted == arms).float().mean() > 0.9


def test_the_csv_log_holds_every_epoch_once_even_after_a_resume(studio):
    spec = studio.recipe_spec("hello-spirals", ["train.epochs=3", 'run.device="cpu"'])
    records = Run(studio, spec).records()
    for record in records:  # stop consuming after epoch 1, as if the app had been closed
        if record.kind == "epoch_end" and record.epoch == 1:
            break
    records.close()
    (broken,) = runs.list_runs(studio)
    assert broken.status == "interrupted" and broken.resumable
    assert run_to_end(Run.resume(studio, broken.id)).status == "completed"

    with (runs.get_run(studio, broken.id).run_dir / "metrics.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    recorded = runs.read_metrics(studio, broken.id)
    assert [int(row["epoch"]) for row in rows] == [m["epoch"] for m in recorded] == [1, 2, 3]
    for row, metrics in zip(rows, recorded, strict=True):
        assert float(row["valid_accuracy"]) == metrics["valid_accuracy"]
        assert float(row["train_loss"]) == metrics["train_loss"]


def test_a_misspelt_parameter_is_refused_with_a_hint(studio):
    spec = studio.recipe_spec("hello-spirals", ["model.params.hiden=8"])
    with pytest.raises(SpecError, match="did you mean 'hidden'"):
        run_to_end(Run(studio, spec))


def test_a_parameter_outside_its_range_is_refused(studio):
    spec = studio.recipe_spec("hello-spirals", ["data.params.noise=-0.1"])
    with pytest.raises(SpecError, match=r"\[data.params\] noise: -0.1 is below the minimum 0.0"):
        run_to_end(Run(studio, spec))


def test_the_points_depend_on_the_seed_only():
    x1, y1 = make_spirals(200, 0.05, 1.5, seed=3)
    x2, y2 = make_spirals(200, 0.05, 1.5, seed=3)
    x3, _ = make_spirals(200, 0.05, 1.5, seed=4)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert x1.shape == (200, 2) and set(y1.tolist()) == {0, 1}


def test_the_command_writes_the_points(studio, tmp_path, capsys):
    out = tmp_path / "points.csv"
    args = build_parser(studio).parse_args(["spirals-csv", str(out), "--samples", "20"])
    assert args.handler(args, studio) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "x,y,arm" and len(lines) == 21
    assert "wrote 20 points" in capsys.readouterr().out
