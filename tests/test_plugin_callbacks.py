"""A third party's regression plugin, written against the contract alone: it declares its metrics,
adds a callback to runs, and reads back a finished run's model through the runs API only."""

from __future__ import annotations

import json
import re

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score
from torch import nn
from torch.utils.data import TensorDataset

from dlstudio import hookimpl, runs
from dlstudio.contract import CallbackSpec, DataBundle, DataInfo, DatasetSpec, MetricSpec, ModelSpec, TaskSpec
from dlstudio.engine import Callback, StepResult, Task
from dlstudio.engine.step import Stepper
from dlstudio.runner import Run, RunStarted
from dlstudio.spec import RunSpec, SpecError
from tests.runs import drive, ended


def load_houses(params, ctx):
    g = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(params["samples"], 3, generator=g)
    y = 1000 * (x @ torch.tensor([2.0, -1.0, 0.5]) + 0.1 * torch.randn(params["samples"], generator=g))
    cut = int(params["samples"] * 0.75)
    info = DataInfo(input_shape=(3,), input_kind="vector")
    return DataBundle(TensorDataset(x[:cut], y[:cut, None]), TensorDataset(x[cut:], y[cut:, None]), info)


class RegressionTask(Task):
    monitor, monitor_mode = "valid_r2", "max"

    def __init__(self, ctx):
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        self.optimizers = [torch.optim.Adam(self.model.parameters(), lr=ctx.train.lr)]

    def _sums(self, batch, train):
        x, y = self.stepper.to_device(tuple(batch))
        with self.stepper.autocast():
            loss = F.mse_loss(self.model(x), y)
        if train:
            self.stepper.optimize(loss, self.optimizers[0])
        n = y.shape[0]
        return StepResult(n, {"loss": loss.detach() * n, "y": y.sum(), "y2": (y * y).sum()})

    def train_step(self, batch):
        return self._sums(batch, True)

    def eval_step(self, batch):
        return self._sums(batch, False)

    def summarize(self, sums, count):
        mse = sums["loss"] / count
        variance = sums["y2"] / count - (sums["y"] / count) ** 2
        return {"loss": mse, "r2": 1 - mse / variance}


class EventLog(Callback):
    """Writes each event it sees to events.jsonl in the run's folder."""

    def __init__(self, path):
        self.path = path

    def _write(self, **event):
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")

    def on_fit_start(self, state):
        self._write(event="fit_start")

    def on_train_batch_end(self, state):
        if state.step % 10 == 0:
            self._write(event="step", step=state.step, batch=len(state.batch[0]), count=state.output.count)

    def on_evaluate(self, state, metrics):
        metrics["valid_rmse"] = metrics["valid_loss"] ** 0.5  # a metric of the callback's own

    def on_fit_end(self, state, status):
        self._write(event="fit_end", status=status)


class TabularPlugin:
    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="tab.linear", title="Linear", tasks=("regression",),
                           build=lambda p, info: nn.Linear(info.input_shape[0], 1)))

    @hookimpl
    def dlstudio_register_datasets(self, register):
        register(DatasetSpec(id="tab.houses", title="Houses", load=load_houses, tasks=("regression",),
                             defaults={"samples": 256}))

    @hookimpl
    def dlstudio_register_tasks(self, register):
        register(TaskSpec(id="regression", title="Regression", create=RegressionTask,
                          metrics=(MetricSpec("loss", "Mean squared error", "min", unit="$²", group="error"),
                                   MetricSpec("r2", "R²", "max", group="r2"))))

    @hookimpl
    def dlstudio_register_callbacks(self, register):
        register(CallbackSpec(id="tab.events", title="Event log", tasks=("regression",),
                              create=lambda ctx: EventLog(ctx.run_dir / "events.jsonl")))


@pytest.fixture
def tabular_studio(make_studio):
    return make_studio(("tabular", TabularPlugin()))


def regression_spec(*callbacks):
    return RunSpec.from_dict({"run": {"task": "regression", "device": "cpu", "callbacks": list(callbacks)},
                              "model": {"id": "tab.linear"}, "data": {"id": "tab.houses"},
                              "train": {"epochs": 4, "batch_size": 16, "lr": 0.5, "optimizer": "adam"}})


def test_a_plugin_callback_sees_the_loop_and_adds_a_metric(tabular_studio):
    run = Run(tabular_studio, regression_spec("tab.events"))
    records = drive(run)
    assert ended(records).status == "completed"
    events = runs.get_run(tabular_studio, run.run_id).run_dir / "events.jsonl"
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[0] == {"event": "fit_start"} and lines[-1] == {"event": "fit_end", "status": "completed"}
    steps = [line for line in lines if line["event"] == "step"]
    assert [s["step"] for s in steps] == [10, 20, 30, 40]  # 12 batches an epoch, counted over the run
    assert all(s["batch"] == s["count"] == 16 for s in steps)  # it sees the batch and the step's output
    metrics = runs.read_metrics(tabular_studio, run.run_id)
    assert all(m["valid_rmse"] == pytest.approx(m["valid_loss"] ** 0.5) for m in metrics)


def test_declared_metrics_reach_the_run_started_record(tabular_studio):
    records = drive(Run(tabular_studio, regression_spec()))
    declared = next(r for r in records if isinstance(r, RunStarted)).metrics
    assert {m["name"]: (m["group"], m["direction"], m["unit"]) for m in declared} == {
        "loss": ("error", "min", "$²"), "r2": ("r2", "max", "")}


def test_a_finished_runs_model_is_read_back_through_the_runs_api(tabular_studio):
    run = Run(tabular_studio, regression_spec())
    drive(run)
    info = runs.get_run(tabular_studio, run.run_id)
    assert info.status == "completed" and runs.list_runs(tabular_studio, task="regression")[0].id == run.run_id
    loaded = runs.load_model(tabular_studio, run.run_id, "best")
    # The R² of the loaded model on the validation split, computed independently (scikit-learn), is the
    # best epoch's recorded valid_r2.
    bundle = load_houses({"samples": 256}, type("Ctx", (), {"seed": 0})())
    x, y = bundle.valid.tensors
    with torch.no_grad():
        predicted = loaded.model(x)
    assert r2_score(y.numpy(), predicted.numpy()) == pytest.approx(info.best_value, rel=1e-4)
    assert loaded.epoch == info.best_epoch


def test_an_unknown_callback_is_refused_with_a_suggestion(tabular_studio):
    with pytest.raises(SpecError, match=re.escape("no callback 'tab.event' is registered. Did you mean 'tab.events'")):
        drive(Run(tabular_studio, regression_spec("tab.event")))


def test_a_callback_for_another_task_is_refused(make_studio):
    from tests.fixture_plugins import demo_plugin

    studio = make_studio(("tabular", TabularPlugin()), ("demo", demo_plugin))
    spec = studio.recipe_spec("demo-blobs", ['run.callbacks=["tab.events"]'])
    with pytest.raises(SpecError, match=re.escape("'tab.events' does not apply to task 'classification'")):
        drive(Run(studio, spec))
