"""Specs through the window (issue 12, item 1): Import spec and Clone apply a spec exactly or refuse it with
the CLI's message, leaving the panel as it was; import → export gives back the same spec."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
import tomli_w
from PySide6.QtWidgets import QFileDialog

from dlstudio import hookimpl
from dlstudio.cli import build_parser, dispatch
from dlstudio.contract import CallbackSpec, DatasetSpec, FamilySpec, ModelSpec, PanelSpec, TaskSpec
from dlstudio.gui.train_panel import TrainPanel
from dlstudio.params import Param
from dlstudio.spec import TrainSection
from tests.fixture_plugins.demo_plugin import build_mlp, load_blobs

#: The parameters the test plugin declares, and their defaults: what a spec that leaves one out means.
MODEL_DEFAULTS = {"hidden": 8, "dropout": 0.1}
DATA_DEFAULTS = {"samples": 80, "classes": 2, "features": 3, "noise": 1.0, "nan": False}
TASK_DEFAULTS = {"smoothing": 0.1}


def _smoothed(ctx):
    from dlstudio.engine.classification import ClassificationTask

    return ClassificationTask(ctx)


class RoundTrip:
    """Family "rt": a model, a dataset, a task with a parameter, a callback, and the core's Train panel."""

    @hookimpl
    def dlstudio_register_families(self, register):
        register(FamilySpec(id="rt", title="Round trip"))

    @hookimpl
    def dlstudio_register_tasks(self, register):
        register(TaskSpec(id="rt.smooth", title="Smoothed labels", create=_smoothed,
                          defaults={"smoothing": Param(0.1, minimum=0.0, maximum=0.5)}))

    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="rt.mlp", title="MLP", build=build_mlp, family="rt",
                           tasks=("classification", "rt.smooth"),
                           defaults={"hidden": Param(8, minimum=1), "dropout": 0.1}))

    @hookimpl
    def dlstudio_register_datasets(self, register):
        register(DatasetSpec(id="rt.blobs", title="Blobs", load=load_blobs, family="rt", defaults=DATA_DEFAULTS,
                             tasks=("classification", "rt.smooth")))

    @hookimpl
    def dlstudio_register_callbacks(self, register):
        register(CallbackSpec(id="rt.events", title="Events", create=lambda context: None))

    @hookimpl
    def dlstudio_register_panels(self, register):
        register(PanelSpec(id="rt.train", title="Train", family="rt",
                           factory=lambda context: TrainPanel(context, family="rt")))


#: Every key of every section set, none to its default.
FULL = {
    "run": {"name": "round trip", "task": "rt.smooth", "seed": 11, "device": "cpu", "callbacks": ["rt.events"]},
    "model": {"id": "rt.mlp", "weights": "/data/pretrained.safetensors", "params": {"hidden": 5, "dropout": 0.25}},
    "data": {"id": "rt.blobs", "params": {"samples": 60, "classes": 3, "features": 4, "noise": 0.5, "nan": True}},
    "task": {"params": {"smoothing": 0.2}},
    "train": {"epochs": 4, "steps": 40, "eval_every": 10, "batch_size": 16, "optimizer": "adamw", "lr": 0.003,
              "momentum": 0.8, "nesterov": True, "weight_decay": 0.01, "scheduler": "multistep", "step_size": 3,
              "gamma": 0.5, "milestones": [2, 3], "plateau_patience": 2, "early_stopping": 2, "keep_best": False,
              "grad_clip": 0.5, "amp": True, "channels_last": True, "num_workers": 1, "checkpoint_every": 2},
}


@pytest.fixture
def studio(make_studio):
    return make_studio(("rt", RoundTrip()))


@pytest.fixture
def window(make_window, studio):
    return make_window(studio)


def copy_of(spec: dict) -> dict:
    return tomllib.loads(tomli_w.dumps(spec))


def write(path, spec: dict):
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    return path


def import_into(panel, path, monkeypatch) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    panel.import_spec()


def export_from(panel, path, monkeypatch) -> dict:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    panel.export_spec()
    return tomllib.loads(path.read_text(encoding="utf-8"))


def cli_message(studio, path, capsys) -> str:
    """What ``dlstudio train PATH`` says when it refuses the spec (the reference the window must match)."""
    capsys.readouterr()
    assert dispatch(build_parser(studio, ["train", str(path)]).parse_args(["train", str(path)]), studio) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dlstudio: ")
    return err.removeprefix("dlstudio: ")


def stored_run(studio, spec: dict) -> str:
    store = studio.store
    run_id = store.create_run(name="stored", plugin="rt", task=spec["run"]["task"], model=spec["model"]["id"],
                              dataset=spec["data"]["id"], params={}, spec=tomli_w.dumps(spec), device="cpu",
                              epochs=2, monitor="")
    store.set_status(run_id, "completed")
    return run_id


def clone_from_runs_view(window, run_id: str) -> None:
    view = window.runs_view
    view.refresh()
    view.select_ids([run_id])
    view.buttons["clone"].click()


# -- exactly --------------------------------------------------------------------------------------------------


def test_the_full_spec_names_every_key_of_train():
    assert set(FULL["train"]) == {f.name for f in dataclasses.fields(TrainSection)}


def test_import_then_export_gives_back_the_same_spec(window, tmp_path, monkeypatch):
    panel = window.panels["rt.train"]
    import_into(panel, write(tmp_path / "in.toml", FULL), monkeypatch)
    assert window.errors == []
    assert export_from(panel, tmp_path / "out.toml", monkeypatch) == FULL
    assert window.errors == []


def test_a_spec_that_leaves_parameters_out_comes_back_with_their_declared_defaults(window, tmp_path, monkeypatch):
    partial = copy_of(FULL)
    partial["model"]["params"] = {"hidden": 5}
    partial["data"]["params"] = {"samples": 60}
    partial["task"]["params"] = {}
    panel = window.panels["rt.train"]
    import_into(panel, write(tmp_path / "in.toml", partial), monkeypatch)
    expected = copy_of(partial)
    expected["model"]["params"] = {**MODEL_DEFAULTS, "hidden": 5}
    expected["data"]["params"] = {**DATA_DEFAULTS, "samples": 60}
    expected["task"]["params"] = dict(TASK_DEFAULTS)
    assert export_from(panel, tmp_path / "out.toml", monkeypatch) == expected


def test_clone_from_the_runs_view_keeps_every_setting_and_shows_the_weights(window):
    clone_from_runs_view(window, stored_run(window.studio, FULL))
    panel = window.panels["rt.train"]
    assert window.errors == []
    assert panel.current_spec().to_dict() == FULL
    assert "/data/pretrained.safetensors" in panel.carried_label.text() and panel.carried_label.isVisibleTo(panel)


# -- or refused, with the CLI's message, nothing half applied -------------------------------------------------


@pytest.mark.parametrize("section, key, value", [
    ("model", "params", {"dropuot": 0.3}),  # misspelt
    ("run", "task", "segmentation"),  # not registered
    ("run", "task", "classification"),  # registered, but it has no parameter 'smoothing'
])
def test_import_refuses_what_the_cli_refuses_with_its_message(window, tmp_path, monkeypatch, capsys,
                                                              section, key, value):
    bad = copy_of(FULL)
    bad[section][key] = value
    path = write(tmp_path / "bad.toml", bad)
    expected = cli_message(window.studio, path, capsys)
    panel = window.panels["rt.train"]
    before = panel.current_spec().to_dict()
    import_into(panel, path, monkeypatch)
    assert window.errors and window.errors[-1][0] == "Cannot import the spec"
    assert expected in window.errors[-1][1]
    assert panel.current_spec().to_dict() == before  # the panel's previous settings, untouched


def test_a_misspelt_parameter_is_named_with_the_suggestion_the_cli_gives(window, tmp_path, monkeypatch, capsys):
    bad = copy_of(FULL)
    bad["model"]["params"] = {"dropuot": 0.3}
    import_into(window.panels["rt.train"], write(tmp_path / "bad.toml", bad), monkeypatch)
    assert "unknown key 'dropuot' for model 'rt.mlp' (did you mean 'dropout'?)" in window.errors[-1][1]


def test_clone_of_a_run_the_cli_would_refuse_says_why_and_changes_nothing(window, capsys, tmp_path):
    bad = copy_of(FULL)
    bad["run"]["task"] = "segmentation"
    expected = cli_message(window.studio, write(tmp_path / "bad.toml", bad), capsys)
    panel = window.panels["rt.train"]
    before = panel.current_spec().to_dict()
    clone_from_runs_view(window, stored_run(window.studio, bad))
    assert window.errors[-1][0] == "Cannot clone this run" and expected in window.errors[-1][1]
    assert panel.current_spec().to_dict() == before


def test_a_value_the_form_cannot_show_is_refused_not_clamped(window, tmp_path, monkeypatch):
    big = copy_of(FULL)
    big["train"]["epochs"] = 3_000_000_000  # valid for the CLI; no spin box holds it
    panel = window.panels["rt.train"]
    before = panel.current_spec().to_dict()
    import_into(panel, write(tmp_path / "big.toml", big), monkeypatch)
    assert "[train] epochs: 3000000000 is too large" in window.errors[-1][1]
    assert panel.current_spec().to_dict() == before


def test_a_value_a_field_would_alter_is_refused_and_the_panel_put_back(window, tmp_path, monkeypatch):
    padded = copy_of(FULL)
    padded["run"]["name"] = "  padded  "  # valid for the CLI; the name field trims what it is given
    panel = window.panels["rt.train"]
    before, recipe = panel.current_spec().to_dict(), panel.recipe_combo.currentIndex()
    import_into(panel, write(tmp_path / "padded.toml", padded), monkeypatch)
    assert "[run] name: the form cannot show it exactly" in window.errors[-1][1]
    assert panel.current_spec().to_dict() == before and panel.recipe_combo.currentIndex() == recipe


def test_a_clone_the_panel_cannot_show_exactly_is_refused_not_passed_on(window):
    """The Train panel refuses a setting it cannot hold: the window says why instead of asking the next panel
    (which could show the run half)."""
    big = copy_of(FULL)
    big["train"]["epochs"] = 3_000_000_000
    panel = window.panels["rt.train"]
    before = panel.current_spec().to_dict()
    window.clone_run("rt", big)
    assert window.errors[-1][0] == "Cannot clone this run"
    assert "[train] epochs: 3000000000 is too large" in window.errors[-1][1]
    assert panel.current_spec().to_dict() == before
