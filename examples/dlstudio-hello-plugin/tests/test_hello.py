"""The hello plugin, headless: it loads, registers what it should, and its recipe trains."""

import pytest
import torch
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
    (row,) = studio.store.list_runs()
    assert (row.model, row.dataset, row.status, row.plugin) == ("hello.mlp", "hello.spirals", "completed", "hello")


def test_a_misspelt_parameter_is_refused_with_a_hint(studio):
    spec = studio.recipe_spec("hello-spirals", ["model.params.hiden=8"])
    with pytest.raises(SpecError, match="did you mean 'hidden'"):
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
