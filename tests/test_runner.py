"""From a spec to a finished run: store rows, metrics, checkpoints, failures, and resuming."""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest
import torch

from dlstudio import hookimpl
from dlstudio.checkpoints import CheckpointError, load_checkpoint, read_sidecar
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, ModelSpec, TaskSpec
from dlstudio.engine import EpochEnd, LogMessage, RunControl
from dlstudio.engine.classification import ClassificationTask
from dlstudio.runner import Run, RunError, RunStarted, read_weight_norms, run_to_end
from dlstudio.spec import SpecError
from tests.fixture_plugins import demo_plugin
from tests.runs import demo_spec, drive, ended, metrics_by_epoch


def test_a_run_records_everything(demo_studio):
    spec = demo_spec(demo_studio)
    run = Run(demo_studio, spec)
    records = drive(run)
    kinds = [r.kind for r in records if r.kind not in ("batch_end", "log")]
    assert kinds == ["run_started", "fit_started", "epoch_end", "epoch_end", "fit_ended"]
    started = next(r for r in records if isinstance(r, RunStarted))
    assert started.run_id == run.run_id and started.device == "cpu"
    assert ended(records).status == "completed"

    store = demo_studio.store
    row = store.get(run.run_id)
    assert (row.status, row.epochs_done, row.epochs, row.model, row.dataset, row.plugin) == (
        "completed", 2, 2, "demo.mlp", "demo.blobs", "demo")
    assert (row.name, row.monitor, row.device) == ("Tiny MLP on blobs", "valid_accuracy", "cpu")
    assert row.best_epoch in (1, 2) and row.best_value == ended(records).best_value
    assert row.duration > 0 and row.ended is not None
    assert row.params == spec.summary()

    per_epoch = metrics_by_epoch(demo_studio, run.run_id)
    assert sorted(per_epoch) == [1, 2]
    assert set(per_epoch[1]) == {"train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "lr"}
    assert [e.metrics for e in records if isinstance(e, EpochEnd)] == [per_epoch[1], per_epoch[2]]

    run_dir = store.run_dir(run.run_id)
    assert Path(started.run_dir) == run_dir
    assert (run_dir / "spec.toml").read_text() == spec.to_toml()
    artifacts = store.artifacts(run.run_id)
    assert set(artifacts) == {"best", "last", "final"}
    assert artifacts["last"] == (run_dir / "checkpoints" / "last.safetensors", 2)
    assert artifacts["best"][1] == row.best_epoch and artifacts["final"][1] == row.best_epoch
    for path, _ in artifacts.values():
        tensors, meta = load_checkpoint(path)
        assert set(tensors) == {"1.weight", "1.bias", "3.weight", "3.bias"}
        assert (meta["architecture"], meta["plugin"], meta["classes"], meta["input_shape"]) == (
            "demo.mlp", "demo", ["c0", "c1", "c2"], [4])
        assert meta["run_id"] == run.run_id and meta["spec"] == spec.to_dict()


def test_a_checkpoint_is_written_every_epoch(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"))
    seen = []
    for record in run.records():
        if isinstance(record, EpochEnd):
            folder = demo_studio.store.run_dir(run.run_id) / "checkpoints"
            sidecar = read_sidecar(folder / "last.safetensors")
            states = sorted(p.name for p in folder.glob("last-state-*"))
            seen.append((record.epoch, sidecar["epoch"], sidecar["train_state"], states))
    assert seen == [
        (n, n, f"last-state-{n}", [f"last-state-{n}.json", f"last-state-{n}.safetensors"]) for n in (1, 2, 3)
    ]


def test_nan_in_the_data_fails_the_run_with_a_clear_message(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio, "data.params.nan=true"))
    records = drive(run)
    assert ended(records).status == "failed"
    assert "the train loss became nan in epoch 1" in ended(records).message
    row = demo_studio.store.get(run.run_id)
    assert row.status == "failed" and row.message == ended(records).message
    assert "final" not in demo_studio.store.artifacts(run.run_id)


def test_the_same_seed_gives_identical_metrics(demo_studio):
    def metrics(seed):
        run = Run(demo_studio, demo_spec(demo_studio, f"run.seed={seed}", "train.epochs=2"))
        drive(run)
        return metrics_by_epoch(demo_studio, run.run_id)

    first = metrics(1)
    assert metrics(1) == first
    assert metrics(2) != first


def test_a_cancelled_run_is_stored_as_cancelled_and_can_be_resumed(demo_studio):
    control = RunControl()
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"), control=control)
    for record in run.records():
        if isinstance(record, EpochEnd) and record.epoch == 1:
            control.cancel()
    row = demo_studio.store.get(run.run_id)
    assert (row.status, row.message, row.epochs_done) == ("cancelled", "cancelled during epoch 2", 1)
    assert row.resumable
    resumed = Run.resume(demo_studio, run.run_id)
    assert ended(drive(resumed)).status == "completed"
    assert demo_studio.store.get(run.run_id).epochs_done == 3


# -- best weights and early stopping -----------------------------------------------------------------

SCRIPT = [0.5, 0.9, 0.7, 0.6, 0.6]


class ScriptedAccuracy(ClassificationTask):
    """Real training, but the validation accuracy follows SCRIPT: the best epoch is known in advance."""

    def start_epoch(self, epoch, phase):
        self.at = (epoch, phase)

    def summarize(self, sums, count):
        metrics = super().summarize(sums, count)
        epoch, phase = self.at
        if phase == "valid":
            metrics["accuracy"] = SCRIPT[epoch - 1]
        return metrics


def scripted_plugin() -> types.ModuleType:
    module = types.ModuleType("scripted")
    tasks = ("classification", "scripted")

    @hookimpl
    def dlstudio_register_models(register):
        register(ModelSpec(id="s.mlp", title="MLP", build=demo_plugin.build_mlp, defaults={"hidden": 8}, tasks=tasks))

    @hookimpl
    def dlstudio_register_datasets(register):
        defaults = {"samples": 64, "classes": 3, "features": 4, "noise": 1.0, "nan": False}
        register(DatasetSpec(id="s.blobs", title="Blobs", load=demo_plugin.load_blobs, defaults=defaults, tasks=tasks))
        register(DatasetSpec(id="s.broken", title="Broken", load=broken_load, defaults={"mode": "raise"}, tasks=tasks))

    @hookimpl
    def dlstudio_register_tasks(register):
        register(TaskSpec(id="scripted", title="Scripted accuracy", create=ScriptedAccuracy))

    for hook in (dlstudio_register_models, dlstudio_register_datasets, dlstudio_register_tasks):
        setattr(module, hook.__name__, hook)
    return module


def broken_load(params, ctx):
    if params["mode"] == "raise":
        raise OSError("the data folder /nowhere does not exist")
    if params["mode"] == "empty":
        return DataBundle(torch.utils.data.TensorDataset(torch.zeros(0, 4), torch.zeros(0)), None,
                          DataInfo(input_shape=(4,), classes=("a", "b")))
    return {"train": []}


@pytest.fixture
def scripted_studio(make_studio):
    return make_studio(("scripted", scripted_plugin()))


def scripted_spec(studio, **train):
    from dlstudio.spec import RunSpec

    return RunSpec.from_dict({"run": {"task": "scripted"}, "model": {"id": "s.mlp"}, "data": {"id": "s.blobs"},
                              "train": {"epochs": 5, "batch_size": 16, "lr": 0.1, **train}})


def test_early_stopping_stops_and_the_best_weights_are_kept(scripted_studio):
    run = Run(scripted_studio, scripted_spec(scripted_studio, early_stopping=2))
    records = drive(run)
    assert ended(records).status == "stopped"
    assert ended(records).message.startswith("early stopping: valid_accuracy has not improved for 2 epochs")
    assert [r.epoch for r in records if isinstance(r, EpochEnd)] == [1, 2, 3, 4]
    assert any(isinstance(r, LogMessage) and r.text == "restored the weights of epoch 2 (best valid_accuracy)"
               for r in records)
    row = scripted_studio.store.get(run.run_id)
    assert (row.status, row.epochs_done, row.best_epoch, row.best_value) == ("stopped", 4, 2, 0.9)

    artifacts = scripted_studio.store.artifacts(run.run_id)
    assert artifacts["final"][1] == 2 and artifacts["best"][1] == 2 and artifacts["last"][1] == 4
    final, best, last = (load_checkpoint(artifacts[k][0])[0] for k in ("final", "best", "last"))
    assert all(torch.equal(final[k], best[k]) for k in final)
    assert not all(torch.equal(final[k], last[k]) for k in final)


def test_keep_best_off_keeps_the_last_weights(scripted_studio):
    run = Run(scripted_studio, scripted_spec(scripted_studio, keep_best=False, epochs=3))
    drive(run)
    artifacts = scripted_studio.store.artifacts(run.run_id)
    final, last = (load_checkpoint(artifacts[k][0])[0] for k in ("final", "last"))
    assert all(torch.equal(final[k], last[k]) for k in final)


# -- errors before training --------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, error, message", [
    (["model.id=demo.mpl"], SpecError, "no model 'demo.mpl' is registered. Did you mean 'demo.mlp'"),
    (["data.id=nope"], SpecError, "no dataset 'nope' is registered"),
    (["run.task=scripted"], SpecError, "no task 'scripted' is registered"),
    (["model.params.hiden=3"], SpecError, "[model.params] unknown key 'hiden' for model 'demo.mlp'"),
    (["data.params.samples=many"], SpecError, "[data.params] samples: expected an integer, got 'many'"),
    (["run.device=cuda:7"], SpecError, "[run] device: device 'cuda:7' is not available here"),
])
def test_a_spec_that_cannot_run_is_refused_before_anything_is_stored(demo_studio, overrides, error, message):
    with pytest.raises(error) as info:
        drive(Run(demo_studio, demo_spec(demo_studio, *overrides)))
    assert message in str(info.value)
    assert demo_studio.store.list_runs() == []


def test_a_model_that_does_not_support_the_task_is_refused(make_studio):
    studio = make_studio(("demo", demo_plugin), ("scripted", scripted_plugin()))
    spec = scripted_spec(studio)
    spec.model.id = "demo.mlp"
    with pytest.raises(SpecError, match=r"\[model\] demo.mlp cannot be used for task 'scripted' "
                                        r"\(it supports classification\)"):
        drive(Run(studio, spec))


@pytest.mark.parametrize("mode, message", [
    ("raise", "dataset 's.broken' could not be loaded: the data folder /nowhere does not exist"),
    ("empty", "dataset 's.broken' has no training samples"),
    ("junk", "dataset 's.broken' returned dict, not a DataBundle"),
])
def test_data_that_cannot_be_loaded_is_a_run_error(scripted_studio, mode, message):
    spec = scripted_spec(scripted_studio)
    spec.data.id, spec.data.params = "s.broken", {"mode": mode}
    with pytest.raises(RunError) as info:
        drive(Run(scripted_studio, spec))
    assert str(info.value) == message
    assert scripted_studio.store.list_runs() == []


def test_the_loader_is_told_the_runs_device_seed_and_cache_folder(make_studio):
    seen = []
    module = types.ModuleType("seeing")

    @hookimpl
    def dlstudio_register_datasets(register):
        def load(params, ctx):
            seen.append(ctx)
            return demo_plugin.load_blobs(params, ctx)

        defaults = {"samples": 400, "classes": 3, "features": 4, "noise": 1.0, "nan": False}
        register(DatasetSpec(id="seeing.blobs", title="Blobs", load=load, defaults=defaults))

    module.dlstudio_register_datasets = dlstudio_register_datasets
    studio = make_studio(("demo", demo_plugin), ("seeing", module))
    spec = demo_spec(studio, "data.id=seeing.blobs", "run.seed=7", "run.device=cpu", "train.epochs=1")
    run_to_end(Run(studio, spec))
    (ctx,) = seen
    assert (ctx.device, ctx.seed, ctx.cache_dir) == ("cpu", 7, studio.cache_dir / "seeing.blobs")


def test_every_epochs_weight_norms_are_kept_beside_the_few_checkpoints(demo_studio):
    run = Run(demo_studio, demo_spec(demo_studio, "train.epochs=3"))
    run_to_end(run)
    norms = read_weight_norms(demo_studio.store.run_dir(run.run_id))
    assert sorted(norms) == [1, 2, 3]
    final, _ = load_checkpoint(demo_studio.store.artifacts(run.run_id)["last"][0])
    assert set(norms[3]) == {key.removesuffix(".weight") for key in final if key.endswith(".weight")}
    for layer, value in norms[3].items():
        assert value == pytest.approx(float(final[f"{layer}.weight"].norm()), rel=1e-5)


def test_an_error_during_training_fails_the_stored_run(demo_studio, monkeypatch):
    def explode(self, batch):
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(ClassificationTask, "train_step", explode)
    run = Run(demo_studio, demo_spec(demo_studio))
    with pytest.raises(RuntimeError, match="device-side assert"):
        drive(run)
    row = demo_studio.store.get(run.run_id)
    assert row.status == "failed" and row.message == "RuntimeError: CUDA error: device-side assert triggered"


# -- initial weights ---------------------------------------------------------------------------------


def test_a_run_can_start_from_another_runs_weights(demo_studio):
    first = Run(demo_studio, demo_spec(demo_studio))
    drive(first)
    final = demo_studio.store.artifacts(first.run_id)["final"][0]
    # A learning rate too small to move the weights: the second run's weights are the first run's.
    second = Run(demo_studio, demo_spec(demo_studio, f'model.weights="{final}"', "train.epochs=1", "train.lr=1e-12"))
    records = drive(second)
    assert any(isinstance(r, LogMessage) and r.text == f"initialised the weights from {final}" for r in records)
    start, after = load_checkpoint(final)[0], load_checkpoint(demo_studio.store.artifacts(second.run_id)["last"][0])[0]
    assert all(torch.allclose(start[k], after[k], atol=1e-6) for k in start)

    wrong = Run(demo_studio, demo_spec(demo_studio, f'model.weights="{final}"', "model.params.hidden=5"))
    with pytest.raises(CheckpointError, match="do not fit this architecture"):
        drive(wrong)

    # a checkpoint of another architecture says so (its sidecar names it), beside the keys that differ
    from dlstudio.checkpoints import save_checkpoint

    other = save_checkpoint(final.parent / "other", {"fc.weight": torch.zeros(2, 2)}, {"architecture": "x.resnet"})
    with pytest.raises(CheckpointError, match=r"\(a checkpoint of x\.resnet; the model is demo\.\w+\) do not fit"
                                              r".*unexpected: fc\.weight"):
        drive(Run(demo_studio, demo_spec(demo_studio, f'model.weights="{other}"')))


def test_run_to_end_returns_the_final_record(demo_studio):
    seen = []
    result = run_to_end(Run(demo_studio, demo_spec(demo_studio)), seen.append)
    assert result is seen[-1] and result.status == "completed"
    assert os.path.isdir(seen[[r.kind for r in seen].index("run_started")].run_dir)
