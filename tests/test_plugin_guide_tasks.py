"""The plugin guide's custom tasks (GAN, language model, L-BFGS style transfer), its parameter choices, its
callback and its runs-API example: each trains or runs, on its own and as a plugin through ``Run``."""

from __future__ import annotations

import math
import types

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlstudio import hookimpl, runs
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, ModelSpec
from dlstudio.engine import EpochEnd, FitEnded, FitStarted, fit
from dlstudio.engine.task import TaskContext
from dlstudio.errors import RunError
from dlstudio.runner import Run, RunStarted
from dlstudio.spec import RunSpec, SpecError, TrainSection, check_params
from tests.guide_helpers import EXAMPLE, guide_module


def test_the_guides_csv_choices_are_the_files_columns(tmp_path):
    params = guide_module("csv_columns").CSV_PARAMS
    table = tmp_path / "houses.csv"
    table.write_text("area,rooms,price\n70,3,250000\n", encoding="utf-8")
    checked = check_params("data.params", "dataset 'tab.csv'", {"path": str(table), "target": "price"}, params)
    assert checked == {"path": str(table), "target": "price", "valid_fraction": 0.2}
    with pytest.raises(SpecError, match=r"target: 'prise' is not one of \['area', 'rooms', 'price'\]"):
        check_params("data.params", "dataset 'tab.csv'", {"path": str(table), "target": "prise"}, params)
    with pytest.raises(SpecError, match="target: its choices could not be listed: FileNotFoundError"):
        check_params("data.params", "dataset 'tab.csv'", {"path": str(tmp_path / "gone.csv")}, params)


def _train(task, train_batches, valid_batches, epochs):
    records = list(fit(task, train_batches, valid_batches, epochs=epochs))
    ended = records[-1]
    assert isinstance(ended, FitEnded) and ended.status == "completed", ended.message
    metrics = [r.metrics for r in records if isinstance(r, EpochEnd)]
    assert len(metrics) == epochs
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    return metrics


def _context(model, info, *, params=None, **train):
    return TaskContext(model, info, TrainSection(**train), torch.device("cpu"), params=dict(params or {}))


def _drive(studio, spec: dict) -> list:
    """Train ``spec`` through ``Run``, as ``dlstudio train`` does; every record, the last one a completed end."""
    records = list(Run(studio, RunSpec.from_dict(spec)).records())
    assert isinstance(records[-1], FitEnded) and records[-1].status == "completed", records[-1]
    return records


@pytest.fixture
def hello(monkeypatch):
    """The example plugin's package, importable from its source folder."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from dlstudio_hello import data, plugin

    return types.SimpleNamespace(data=data, plugin=plugin)


class _Points:
    """A test plugin: the hello plugin's spirals as data for the guide's GAN."""

    def __init__(self, make_spirals) -> None:
        self.make_spirals = make_spirals

    @hookimpl
    def dlstudio_register_datasets(self, register):
        def load(params, ctx):
            x, _ = self.make_spirals(256, 0.05, 1.5, ctx.seed)
            return DataBundle(TensorDataset(x[:192]), TensorDataset(x[192:]), DataInfo(input_shape=(2,)))

        register(DatasetSpec(id="test.points", title="Spiral points", load=load, tasks=("gan",)))


def test_the_guides_gan_task_steps_both_optimisers(hello):
    guide_gan = guide_module("GanTask")
    torch.manual_seed(0)
    info = DataInfo(input_shape=(2,), input_kind="points")
    gan = guide_gan.build_point_gan({"latent": 8, "hidden": 32}, info)
    task = guide_gan.GanTask(_context(gan, info, params={"beta1": 0.5}, lr=0.002, grad_clip=1.0))
    assert len(task.optimizers) == 2 and task.stepper.grad_clip == 1.0
    generator = [p.detach().clone() for p in gan.generator.parameters()]
    discriminator = [p.detach().clone() for p in gan.discriminator.parameters()]
    x, y = hello.data.make_spirals(256, 0.05, 1.5, seed=0)
    batches = [(x[i : i + 64], y[i : i + 64]) for i in range(0, 256, 64)]
    metrics = _train(task, batches, batches[:1], epochs=2)
    assert {"train_loss", "train_d_loss", "train_g_loss", "valid_loss", "valid_d_real", "valid_d_fake", "lr",
            "lr_discriminator"} <= set(metrics[-1])
    assert all(not torch.equal(a, b) for a, b in zip(generator, gan.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(discriminator, gan.discriminator.parameters()))
    assert set(task.state_dict()) == {"optimizer0", "optimizer1"}


def test_the_guides_gan_registers_and_trains_through_a_run(hello, make_studio):
    guide_gan = guide_module("GanTask")
    studio = make_studio(("gan", guide_gan), ("points", _Points(hello.data.make_spirals)))
    assert [(r.name, r.status, r.warnings) for r in studio.plugins][1:] == [("gan", "loaded", []),
                                                                          ("points", "loaded", [])]
    spec = {"run": {"task": "gan", "device": "cpu"}, "model": {"id": "points.gan"}, "data": {"id": "test.points"},
            "task": {"params": {"beta1": 0.6}},
            "train": {"epochs": 3, "batch_size": 64, "lr": 0.004, "scheduler": "step", "step_size": 1, "gamma": 0.5}}
    records = _drive(studio, spec)
    epochs = [r for r in records if isinstance(r, EpochEnd)]
    # A schedule for each optimiser: the discriminator's rate halves each epoch like the generator's.
    assert [e.metrics["lr"] for e in epochs] == pytest.approx([0.004, 0.002, 0.001])
    assert [e.metrics["lr_discriminator"] for e in epochs] == pytest.approx([0.004, 0.002, 0.001])
    assert not any(e.is_best for e in epochs)  # monitor = "": no epoch is called the best
    declared = next(r for r in records if isinstance(r, RunStarted)).metrics
    assert {m["name"]: m["group"] for m in declared} == {"d_loss": "gan", "g_loss": "gan", "d_real": "d",
                                                         "d_fake": "d", "loss": "loss"}
    with pytest.raises(SpecError, match="early stopping cannot be used"):
        _drive(studio, {**spec, "train": {**spec["train"], "early_stopping": 2}})
    with pytest.raises(SpecError, match=r"\[task.params\] beta1: 1.5 is above the maximum 0.999"):
        _drive(studio, {**spec, "task": {"params": {"beta1": 1.5}}})


def _windows(vocab: int = 12, streams: int = 4, bptt: int = 6) -> list[torch.Tensor]:
    text = torch.arange(streams * 61) % vocab  # a repeating sequence: easy to learn
    return list(guide_module("LanguageModelTask").Windows(text, streams, bptt))


def test_the_guides_language_model_carries_its_state_and_learns():
    guide_lm = guide_module("LanguageModelTask")
    torch.manual_seed(0)
    windows = _windows()
    assert all(w.shape == (4, 7) for w in windows[:-1])
    assert torch.equal(windows[1][:, 0], windows[0][:, -1])  # row i of each window continues row i of the last
    model = guide_lm.WordLstm(12, embed=8, hidden=32, layers=1)
    info = DataInfo(input_shape=(6,), input_kind="tokens")
    task = guide_lm.LanguageModelTask(_context(model, info, optimizer="adam", lr=0.02))
    task.start_epoch(1, "train")
    assert task.state["train"] is None
    task.train_step(windows[0])
    assert task.state["train"] is not None and not task.state["train"][0].requires_grad
    task.train_step(windows[1][:2])  # other rows start afresh
    assert task.state["train"][0].shape[1] == 2
    task.start_epoch(1, "valid")  # validation starts afresh, and leaves training's state alone
    assert task.state["valid"] is None and task.state["train"][0].shape[1] == 2

    metrics = _train(task, windows, windows[:3], epochs=6)
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"] * 0.7
    assert metrics[-1]["valid_perplexity"] == pytest.approx(math.exp(metrics[-1]["valid_loss"]), rel=1e-4)


def test_the_guides_language_model_trains_on_a_text_file_through_a_run(make_studio, tmp_path):
    guide_lm = guide_module("LanguageModelTask")
    text = tmp_path / "story.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log . " * 40, encoding="utf-8")
    studio = make_studio(("text", guide_lm))
    spec = {"run": {"task": "language-model", "device": "cpu"},
            "model": {"id": "text.lstm", "params": {"embed": 16, "hidden": 32, "layers": 1}},
            "data": {"id": "text.words", "params": {"path": str(text)}},
            "task": {"params": {"bptt": 5}}, "train": {"epochs": 4, "batch_size": 4, "lr": 0.02}}
    records = _drive(studio, spec)
    assert next(r for r in records if isinstance(r, FitStarted)).train_batches == 0  # a stream: nothing calls len()
    epochs = [r.metrics for r in records if isinstance(r, EpochEnd)]
    assert epochs[-1]["valid_loss"] < epochs[0]["valid_loss"] * 0.7
    assert epochs[-1]["valid_perplexity"] == pytest.approx(math.exp(epochs[-1]["valid_loss"]), rel=1e-4)
    with pytest.raises(RunError, match="too few to validate with batch_size 64"):
        _drive(studio, {**spec, "train": {"epochs": 1, "batch_size": 64}})


class _Paint(nn.Module):
    """A toy style-transfer model: the image is the only trainable parameter."""

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.zeros(1, 3, size, size))
        self.features = nn.Conv2d(3, 4, 3).requires_grad_(False)

    def forward(self, content, style):
        def gram(f):
            flat = f.flatten(2)
            return flat @ flat.transpose(1, 2) / flat.shape[-1]

        mine = self.features(self.image)
        return (nn.functional.mse_loss(mine, self.features(content))
                + nn.functional.mse_loss(gram(mine), gram(self.features(style))))


class _Canvas:
    """A test plugin: the toy model and one (content, style) pair, for the guide's style-transfer task."""

    @hookimpl
    def dlstudio_register_models(self, register):
        register(ModelSpec(id="test.paint", title="Paint", build=lambda p, info: _Paint(), tasks=("style-transfer",)))

    @hookimpl
    def dlstudio_register_datasets(self, register):
        def load(params, ctx):
            g = torch.Generator().manual_seed(ctx.seed)
            pair = TensorDataset(torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 8, 8, generator=g))
            return DataBundle(pair, None, DataInfo(input_shape=(3, 8, 8)), shuffle=False)

        register(DatasetSpec(id="test.pair", title="Pair", load=load, tasks=("style-transfer",)))


def test_the_guides_lbfgs_task_paints_the_image():
    guide_style = guide_module("StyleTransferTask")
    torch.manual_seed(0)
    model = _Paint()
    frozen = model.features.weight.detach().clone()
    task = guide_style.StyleTransferTask(_context(model, DataInfo(input_shape=(3, 8, 8)), params={"max_iter": 20},
                                                  lr=1.0))
    assert isinstance(task.optimizers[0], torch.optim.LBFGS)
    batch = (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    metrics = _train(task, [batch], None, epochs=4)
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"] * 0.5
    assert metrics[-1]["lr"] == 1.0
    assert torch.equal(model.features.weight, frozen) and model.image.abs().sum() > 0


def test_the_guides_style_transfer_runs_in_steps_without_validation(make_studio):
    studio = make_studio(("style", guide_module("StyleTransferTask")), ("canvas", _Canvas()))
    records = _drive(studio, {"run": {"task": "style-transfer", "device": "cpu"}, "model": {"id": "test.paint"},
                              "data": {"id": "test.pair"}, "task": {"params": {"max_iter": 5}},
                              "train": {"steps": 6, "eval_every": 3, "lr": 1.0, "batch_size": 1}})
    started = next(r for r in records if isinstance(r, FitStarted))
    assert (started.unit, started.total_steps, started.period_steps, started.epochs) == ("step", 6, 3, 2)
    periods = [r for r in records if isinstance(r, EpochEnd)]
    assert [p.step for p in periods] == [3, 6]
    assert not any(name.startswith("valid_") for p in periods for name in p.metrics)  # no validation phase
    assert periods[-1].metrics["train_loss"] < periods[0].metrics["train_loss"]


def test_the_guides_callback_adds_its_metric_to_every_epoch(hello, make_studio):
    studio = make_studio(("hello", hello.plugin), ("diag", guide_module("GradNorm")))
    spec = studio.recipe_spec("hello-spirals", ["train.epochs=3", 'run.device="cpu"',
                                                'run.callbacks=["diag.grad-norm"]'])
    run = Run(studio, spec)
    records = list(run.records())
    assert records[-1].status == "completed"
    # 480 training points in batches of 32: 15 steps an epoch, so steps 10 | 20, 30 | 40 are measured.
    norms = [m["grad_norm"] for m in runs.read_metrics(studio, run.run_id)]
    assert len(norms) == 3 and all(math.isfinite(n) and n > 0 for n in norms)


def test_the_guides_runs_api_example_classifies_with_a_finished_runs_model(hello, make_studio):
    studio = make_studio(("hello", hello.plugin))
    run = Run(studio, studio.recipe_spec("hello-spirals", ["train.epochs=10", 'run.device="cpu"']))
    assert list(run.records())[-1].status == "completed"
    points, arms = hello.data.make_spirals(300, 0.05, 1.5, seed=777)  # points the run never saw, labelled
    names = guide_module("classify").classify(studio, run.run_id, points)
    assert set(names) <= set(hello.data.CLASSES)
    right = sum(name == hello.data.CLASSES[arm] for name, arm in zip(names, arms.tolist(), strict=True))
    assert right / len(names) > 0.9
