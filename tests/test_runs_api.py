"""The runs API (dlstudio.runs), checked against what the run itself yielded and the files it wrote, read
with safetensors directly: a model loaded back must compute what the saved weights compute."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import TensorDataset

from dlstudio import hookimpl, runs
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, ModelSpec
from dlstudio.engine import EpochEnd
from dlstudio.runner import Run, RunStarted
from dlstudio.spec import RunSpec
from tests.fixture_plugins import demo_plugin
from tests.runs import demo_spec, drive, ended, finished_run, interrupted_run

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 4


def load_flipped(params, ctx) -> DataBundle:
    """Separable blobs whose validation labels are all shifted by one class: the better the model fits the
    training data, the worse it scores on validation, so the best epoch is always the first."""
    bundle = demo_plugin.load_blobs({**params, "nan": False}, ctx)
    x, y = bundle.valid.tensors
    return DataBundle(bundle.train, TensorDataset(x, (y + 1) % params["classes"]), bundle.info)


def flip_plugin() -> types.ModuleType:
    module = types.ModuleType("flip")

    @hookimpl
    def dlstudio_register_models(register):
        register(ModelSpec(id="flip.mlp", title="Flip MLP", build=demo_plugin.build_mlp, defaults={"hidden": 8}))

    @hookimpl
    def dlstudio_register_datasets(register):
        register(DatasetSpec(id="flip.blobs", title="Flipped blobs", load=load_flipped,
                             defaults={"samples": 200, "classes": 3, "features": 4, "noise": 0.1}))

    module.dlstudio_register_models = dlstudio_register_models
    module.dlstudio_register_datasets = dlstudio_register_datasets
    return module


@pytest.fixture
def studio(make_studio):
    return make_studio(("demo", demo_plugin), ("flip", flip_plugin()))


def flip_spec(**train) -> RunSpec:
    return RunSpec.from_dict({
        "run": {"name": "flipped", "device": "cpu"},
        "model": {"id": "flip.mlp"},
        "data": {"id": "flip.blobs"},
        "train": {"epochs": EPOCHS, "batch_size": 16, "lr": 0.1, **train},
    })


def train(studio, spec: RunSpec) -> tuple[str, list[EpochEnd]]:
    run = Run(studio, spec)
    records = drive(run)
    assert ended(records).status == "completed", ended(records).message
    return run.run_id, [r for r in records if isinstance(r, EpochEnd)]


@pytest.fixture
def flipped(studio):
    """A completed run whose best epoch is its first (checked here, from what the loop reported)."""
    run_id, epochs = train(studio, flip_spec())
    assert [r.epoch for r in epochs if r.is_best] == [1], [(r.epoch, r.metrics) for r in epochs]
    return run_id, epochs


def file_tensors(studio, run_id: str, kind: str) -> dict[str, torch.Tensor]:
    """The checkpoint as safetensors reads it, from the run's folder."""
    return load_file(str(studio.home / "runs" / run_id / "checkpoints" / f"{kind}.safetensors"))


def mlp_by_hand(t: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The demo MLP (flatten, linear, relu, linear) computed from raw tensors."""
    hidden = torch.relu(x @ t["1.weight"].T + t["1.bias"])
    return hidden @ t["3.weight"].T + t["3.bias"]


# -- loading a run's model ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", runs.WEIGHTS)
def test_a_runs_model_computes_what_its_saved_weights_compute(studio, flipped, kind):
    run_id, _ = flipped
    loaded = runs.load_model(studio, run_id, kind)
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), mlp_by_hand(file_tensors(studio, run_id, kind), x), atol=1e-6)
    assert not loaded.model.training
    assert (loaded.weights, loaded.run_id, loaded.spec.id, loaded.params) == (kind, run_id, "flip.mlp", {"hidden": 8})
    assert loaded.data == DataInfo(input_shape=(4,), classes=("c0", "c1", "c2"), input_kind="vector")
    assert loaded.path == studio.home / "runs" / run_id / "checkpoints" / f"{kind}.safetensors"


def test_best_and_last_are_the_epochs_the_run_reported(studio, flipped):
    run_id, epochs = flipped
    best, last, final = (runs.load_model(studio, run_id, k) for k in runs.WEIGHTS)
    assert (best.epoch, last.epoch, final.epoch) == (1, EPOCHS, 1)
    assert best.meta["metrics"] == pytest.approx(epochs[0].metrics)
    assert last.meta["metrics"] == pytest.approx(epochs[-1].metrics)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not torch.allclose(best.model(x), last.model(x)), "three epochs of training changed nothing"
        # The run keeps its best weights (train.keep_best): it ends with epoch 1's.
        assert torch.equal(final.model(x), best.model(x))


def test_without_keep_best_final_holds_the_last_epochs_weights(studio):
    run_id, epochs = train(studio, flip_spec(keep_best=False))
    assert [r.epoch for r in epochs if r.is_best] == [1]
    saved = runs.artifacts(studio, run_id)
    assert (saved["best"].epoch, saved["last"].epoch, saved["final"].epoch) == (1, EPOCHS, EPOCHS)
    last, final = file_tensors(studio, run_id, "last"), file_tensors(studio, run_id, "final")
    assert all(torch.equal(last[k], final[k]) for k in last)
    assert runs.load_model(studio, run_id, "final").epoch == EPOCHS


# -- reading a run -----------------------------------------------------------------------------------


def test_run_info_spec_and_metrics_match_the_run(studio, flipped):
    run_id, epochs = flipped
    info = runs.get_run(studio, run_id)
    assert (info.id, info.name, info.status, info.plugin, info.task, info.model, info.dataset) == (
        run_id, "flipped", "completed", "flip", "classification", "flip.mlp", "flip.blobs")
    assert (info.epochs, info.epochs_done, info.best_epoch, info.monitor) == (EPOCHS, EPOCHS, 1, "valid_accuracy")
    assert info.best_value == pytest.approx(epochs[0].metrics["valid_accuracy"])
    assert info.finished and not info.resumable and info.ended is not None and info.ended >= info.created
    assert info.run_dir == studio.home / "runs" / run_id and info.summary["epochs"] == EPOCHS

    spec = runs.read_spec(studio, run_id)
    assert spec == tomllib.loads((info.run_dir / "spec.toml").read_text(encoding="utf-8"))
    assert RunSpec.from_dict(spec).to_dict() == flip_spec().to_dict()

    assert runs.read_metrics(studio, run_id) == [{"epoch": r.epoch, **r.metrics} for r in epochs]


def test_a_nan_metric_reads_as_nan(studio):
    run_id = finished_run(studio)
    # SQLite stores a NaN as NULL; the API gives it back as a float NaN, like the epoch's record had it.
    studio.store.record_epoch(run_id, 2, {"valid_loss": float("nan")}, best_epoch=1, best_value=0.5)
    last = runs.read_metrics(studio, run_id)[-1]
    assert last["epoch"] == 2 and isinstance(last["valid_loss"], float) and math.isnan(last["valid_loss"])
    assert isinstance(last["train_loss"], float) and not math.isnan(last["train_loss"])


def test_weight_norms_are_those_of_each_epochs_weights(studio, flipped):
    run_id, _ = flipped
    norms = runs.weight_norms(studio, run_id)
    assert sorted(norms) == list(range(1, EPOCHS + 1))
    for kind, epoch in (("best", 1), ("last", EPOCHS)):
        tensors = file_tensors(studio, run_id, kind)
        for layer in ("1", "3"):
            by_hand = float(torch.linalg.vector_norm(tensors[f"{layer}.weight"]))
            assert norms[epoch][layer] == pytest.approx(by_hand, rel=1e-6)
            assert runs.layer_weight_norms(tensors)[layer] == pytest.approx(by_hand, rel=1e-6)


# -- listing -----------------------------------------------------------------------------------------


def test_listing_filters_and_order(studio):
    first = finished_run(studio)
    stopped_early = interrupted_run(studio)
    flip_id, _ = train(studio, flip_spec(epochs=1))
    assert [r.id for r in runs.list_runs(studio)] == [flip_id, stopped_early, first]  # newest first
    assert [r.id for r in runs.list_runs(studio, plugin="demo")] == [stopped_early, first]
    assert [r.id for r in runs.list_runs(studio, plugin="flip")] == [flip_id]
    assert [r.id for r in runs.list_runs(studio, status="interrupted")] == [stopped_early]
    assert [r.id for r in runs.list_runs(studio, status=("completed",), plugin="demo")] == [first]
    assert {r.id for r in runs.list_runs(studio, status=runs.FINISHED_STATUSES)} == {first, stopped_early, flip_id}
    assert [r.id for r in runs.list_runs(studio, model="flip.mlp", dataset="flip.blobs")] == [flip_id]
    assert runs.list_runs(studio, task="classification", plugin="nobody") == []
    assert len(runs.list_runs(studio, task="classification")) == 3
    with pytest.raises(ValueError, match="unknown run status 'complete'"):
        runs.list_runs(studio, status="complete")
    assert runs.get_run(studio, stopped_early).resumable


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("read", [runs.get_run, runs.read_spec, runs.read_metrics, runs.artifacts,
                                  runs.load_model, runs.weight_norms])
def test_an_unknown_run_is_named(studio, read):
    finished_run(studio)
    with pytest.raises(runs.RunNotFound, match="no run 'nope-123'") as caught:
        read(studio, "nope-123")
    assert isinstance(caught.value, KeyError) and str(caught.value).startswith("no run 'nope-123'")


def test_a_missing_checkpoint_lists_those_that_exist(studio):
    run_id = interrupted_run(studio, "train.epochs=3", after_epoch=2)
    assert set(runs.artifacts(studio, run_id)) == {"best", "last"}
    with pytest.raises(runs.CheckpointError, match=rf"run {run_id} has no 'final' checkpoint; it has: best, last"):
        runs.load_model(studio, run_id, "final")
    (studio.home / "runs" / run_id / "checkpoints" / "best.safetensors").unlink()
    assert list(runs.artifacts(studio, run_id)) == ["last"]
    with pytest.raises(runs.CheckpointError, match="has no 'best' checkpoint; it has: last"):
        runs.load_model(studio, run_id)
    with pytest.raises(ValueError, match="weights must be one of best, last, final, got 'first'"):
        runs.load_model(studio, run_id, "first")


def test_a_run_without_checkpoints_says_so(studio):
    run = Run(studio, demo_spec(studio))
    records = run.records()
    next(r for r in records if isinstance(r, RunStarted))
    records.close()  # the app went away before the first epoch ended
    run_id = run.run_id
    assert runs.artifacts(studio, run_id) == {}
    with pytest.raises(runs.CheckpointError, match="has no 'best' checkpoint; it has none yet"):
        runs.load_model(studio, run_id)


# -- weights files -----------------------------------------------------------------------------------


def test_saved_weights_rebuild_the_model(studio, tmp_path):
    built = runs.build_model(studio, "flip.mlp", {"hidden": 5}, DataInfo(input_shape=(4,), classes=("a", "b")))
    meta = {"architecture": "flip.mlp", "model_params": built.params, "input_shape": [4], "classes": ["a", "b"],
            "input_kind": "vector"}
    path = runs.save_weights(tmp_path / "exported.safetensors", built.model.state_dict(), meta)
    assert path == tmp_path / "exported.safetensors"
    assert json.loads(path.with_suffix(".json").read_text())["architecture"] == "flip.mlp"
    assert runs.weights_meta(path)["model_params"] == {"hidden": 5}

    raw = load_file(str(path))
    x = torch.randn(3, 4)
    loaded = runs.load_model_file(studio, path)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), mlp_by_hand(raw, x), atol=1e-6)
    assert not loaded.model.training and loaded.path == path and loaded.weights == ""

    state, sidecar = runs.load_weights(path)
    fresh = runs.build_model(studio, "flip.mlp", {"hidden": 5}, loaded.data).model
    runs.apply_weights(fresh, state, source=str(path))
    with torch.no_grad():
        assert torch.equal(fresh(x), loaded.model(x))
    assert sidecar["classes"] == ["a", "b"]
    with pytest.raises(runs.CheckpointError, match=r"1\.weight: file \(5, 4\) vs model \(9, 4\)"):
        runs.apply_weights(runs.build_model(studio, "flip.mlp", {"hidden": 9}, loaded.data).model, state)


def test_a_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "note": Path("x")}, path)
    with pytest.raises(runs.CheckpointError, match="refused"):
        runs.load_weights(path)


# -- the module itself ---------------------------------------------------------------------------------


def test_importing_the_api_imports_neither_torch_nor_qt():
    code = ("import sys, dlstudio.runs; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'PySide6', 'safetensors'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_public_name_is_documented():
    for name in runs.__all__:
        obj = getattr(runs, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"dlstudio.runs.{name} has no docstring"
