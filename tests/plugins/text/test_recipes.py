"""The text recipes: every one passes the checks a run makes, the book's carry its hyperparameters and numbers,
and one whose data is missing says which archive to put where (the note and the run's message agree)."""

from __future__ import annotations

import pytest

from dlstudio.spec import check_params
from dlstudio_text.recipes import book_recipes, offline_recipes, recipe_specs
from tests.plugins.text import test_generate

RECIPES = {r.id: r for r in recipe_specs()}
text_studio = test_generate.text_studio  # the fixture, shared


@pytest.mark.parametrize("recipe", list(RECIPES), ids=str)
def test_every_recipe_passes_the_checks_a_run_makes(text_studio, recipe):
    spec = text_studio.recipe_spec(recipe, []).to_dict()
    registry = text_studio.registry
    model, data, task = (registry.models.get(spec["model"]["id"]), registry.datasets.get(spec["data"]["id"]),
                         registry.tasks.get(spec["run"]["task"]))
    assert task.id in model.tasks and task.id in data.tasks
    check_params("model.params", model.id, spec["model"].get("params", {}), model.defaults, model.choices)
    check_params("task.params", task.id, spec.get("task", {}).get("params", {}), task.defaults, task.choices)
    data_params = check_params("data.params", data.id, spec["data"].get("params", {}), data.defaults, data.choices)
    if model.id == "text.embnet":
        assert data_params["fix_length"] > 0  # EmbNet refuses variable-length texts


def test_the_book_recipes_carry_its_hyperparameters_and_results():
    book = {r.id: r for r in book_recipes()}
    assert "~70 %" in book["book-imdb-embnet"].reported_result
    assert "84 %" in book["book-imdb-lstm"].reported_result
    assert "~83 %" in book["book-imdb-conv1d"].reported_result
    embnet, lstm, conv = (book[k].spec for k in ("book-imdb-embnet", "book-imdb-lstm", "book-imdb-conv1d"))
    assert (embnet["data"]["params"]["fix_length"], embnet["train"]["batch_size"]) == (20, 128)
    for spec in (lstm, conv):
        assert (spec["data"]["params"]["fix_length"], spec["train"]["batch_size"], spec["train"]["epochs"]) == (
            200, 32, 4)
        assert (spec["data"]["params"]["max_vocab"], spec["data"]["params"]["min_freq"]) == (10000, 10)
    lm = book["book-wikitext2-lm"].spec
    assert lm["model"]["params"] == {"embedding_dim": 200, "hidden": 200, "layers": 2, "dropout": 0.2,
                                     "tie_weights": True}
    assert lm["task"]["params"] == {"bptt": 35}
    assert {k: lm["train"][k] for k in ("optimizer", "lr", "grad_clip", "batch_size", "epochs", "gamma")} == {
        "optimizer": "sgd", "lr": 20.0, "grad_clip": 0.25, "batch_size": 20, "epochs": 40, "gamma": 0.25}
    glove = book["book-imdb-glove"].spec["model"]["params"]
    assert glove["freeze_embeddings"] and glove["vectors"].endswith("glove.6B.300d.txt")
    assert all(r.data_note for r in book.values())
    assert not any(r.data_note for r in offline_recipes())  # nothing to download
    assert {r.spec["data"]["id"] for r in offline_recipes()} == {"text.sentiment", "text.corpus"}


@pytest.mark.parametrize("recipe,archive", [("book-imdb-lstm", "aclImdb_v1.tar.gz"),
                                            ("book-wikitext2-lm", "wikitext-2-v1.zip")])
def test_a_book_recipe_without_its_data_names_the_archive_and_folder(text_studio, recipe, archive):
    from dlstudio.errors import RunError
    from dlstudio.runner import Run

    with pytest.raises(RunError) as refused:  # offline: 'download' is off in the recipes
        list(Run(text_studio, text_studio.recipe_spec(recipe, ["run.device=cpu"])).records())
    dataset = RECIPES[recipe].spec["data"]["id"]
    folder = text_studio.home / "cache" / dataset
    assert archive in str(refused.value) and str(folder) in str(refused.value)
    note = RECIPES[recipe].data_note
    assert archive in note and f"$DLSTUDIO_HOME/cache/{dataset}/" in note


def test_dlstudio_recipes_lists_the_text_recipes(text_studio, capsys):
    from dlstudio.cli import build_parser

    args = build_parser(text_studio).parse_args(["recipes"])
    assert args.handler(args, text_studio) == 0
    out = capsys.readouterr().out
    assert all(recipe in out for recipe in RECIPES)
