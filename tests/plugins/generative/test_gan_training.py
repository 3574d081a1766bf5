"""The GAN through the runner as a user runs it: digits, a tiny DCGAN (width 8), two epochs of batch 64. Both
networks learn, D(x) and D(G(z)) are probabilities, grids are written per epoch and every N batches without
changing the training, and a resumed run equals an uninterrupted one, grids included."""

from __future__ import annotations

import pytest
import torch

import dlstudio_generative.plugin as generative_plugin
from dlstudio.engine import EpochEnd, FitEnded
from dlstudio.runner import Run
from dlstudio.spec import RunSpec
from dlstudio_generative.gan.grids import list_grids
from tests.runs import drive, ended, metrics_by_epoch

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/helpers.py


@pytest.fixture
def studio(make_studio):
    return make_studio(("generative", generative_plugin))


def gan_spec(*, epochs=2, grid_every=0, seed=3, **task):
    return RunSpec.from_dict({
        "run": {"task": "gan", "device": "cpu", "seed": seed},
        "model": {"id": "generative.dcgan", "params": {"width": 8, "latent": 16}},
        "data": {"id": "generative.digits"},
        "train": {"epochs": epochs, "batch_size": 64, "optimizer": "adam", "lr": 0.0002},
        "task": {"params": {"grid_every": grid_every, **task}},
    })


def weights(studio, run_id):
    from dlstudio.runs import load_model

    return load_model(studio, run_id, "last").model.state_dict()


def interrupt_after(studio, spec, epoch):
    run = Run(studio, spec)
    records = run.records()
    for record in records:
        if isinstance(record, EpochEnd) and record.epoch == epoch:
            break
    records.close()
    return run.run_id


def test_both_networks_learn_and_d_reports_probabilities(studio):
    broken = interrupt_after(studio, gan_spec(), 1)
    after_one = weights(studio, broken)
    records = drive(Run.resume(studio, broken))
    assert ended(records).status == "completed"
    after_two = weights(studio, broken)
    for part in ("generator", "discriminator"):
        moved = [k for k in after_one if k.startswith(part) and k.endswith("weight")
                 and not torch.equal(after_one[k], after_two[k])]
        assert len(moved) == len([k for k in after_one if k.startswith(part) and k.endswith("weight")])
    for metrics in metrics_by_epoch(studio, broken).values():
        assert 0 <= metrics["train_d_real"] <= 1 and 0 <= metrics["train_d_fake"] <= 1
        assert metrics["train_d_real"] > metrics["train_d_fake"]  # D tells the digits from the early samples
        assert metrics["train_loss"] == pytest.approx(metrics["train_d_loss"] + metrics["train_g_loss"])
        assert metrics["lr"] == metrics["lr_generator"] == 0.0002


def test_the_book_betas_are_used_with_the_specs_adam(studio):
    from dlstudio.contract import DataInfo
    from dlstudio.engine import TaskContext
    from dlstudio.spec import TrainSection
    from dlstudio_generative.gan.models import DCGAN
    from dlstudio_generative.gan.task import GanTask

    ctx = TaskContext(DCGAN(16, 8, 1, 32), DataInfo((1, 32, 32)), TrainSection(optimizer="adam", lr=0.0002),
                      torch.device("cpu"), 10, {"beta1": 0.5, "grid_every": 0, "scorer_run": ""})
    d_opt, g_opt = GanTask(ctx).optimizers
    assert [type(o) for o in (d_opt, g_opt)] == [torch.optim.Adam] * 2
    assert d_opt.param_groups[0]["betas"] == g_opt.param_groups[0]["betas"] == (0.5, 0.999)
    ids = lambda opt: {id(p) for p in opt.param_groups[0]["params"]}  # noqa: E731
    assert ids(d_opt) == {id(p) for p in ctx.model.discriminator.parameters()}
    assert ids(g_opt) == {id(p) for p in ctx.model.generator.parameters()}


def test_grids_are_written_each_epoch_and_every_n_batches_in_training_order(studio):
    run = Run(studio, gan_spec(grid_every=10))
    drive(run)
    run_dir = studio.store.run_dir(run.run_id)
    timeline = [(kind, number) for kind, number, _ in list_grids(run_dir)]
    # 1,797 digits in batches of 64: 29 batches an epoch, so grids at steps 10, 20 | 30, 40, 50 | and epochs.
    assert timeline == [("step", 10), ("step", 20), ("epoch", 1), ("step", 30), ("step", 40), ("step", 50),
                        ("epoch", 2)]
    from PIL import Image

    grid = Image.open(run_dir / "samples" / "epoch_0002.png")
    assert grid.size == (8 * 34 + 2, 8 * 34 + 2)  # 64 samples of 32 px, 8 to a row, 2 px apart


def test_drawing_grids_leaves_training_exactly_as_it_would_be(studio):
    quiet, busy = Run(studio, gan_spec(epochs=1)), Run(studio, gan_spec(epochs=1, grid_every=3))
    drive(quiet), drive(busy)
    assert len(list_grids(studio.store.run_dir(busy.run_id))) == 9 + 1
    a, b = weights(studio, quiet.run_id), weights(studio, busy.run_id)
    assert all(torch.equal(a[k], b[k]) for k in a)  # BatchNorm's running statistics too
    assert metrics_by_epoch(studio, quiet.run_id) == metrics_by_epoch(studio, busy.run_id)


@pytest.mark.slow
def test_a_resumed_run_equals_the_uninterrupted_one_grids_included(studio):
    whole = Run(studio, gan_spec())
    assert ended(drive(whole)).status == "completed"
    broken = interrupt_after(studio, gan_spec(), 1)
    assert isinstance(drive(Run.resume(studio, broken))[-1], FitEnded)
    assert metrics_by_epoch(studio, broken) == metrics_by_epoch(studio, whole.run_id)
    a, b = weights(studio, whole.run_id), weights(studio, broken)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for name in ("epoch_0001.png", "epoch_0002.png"):  # the same fixed noise before and after the resume
        first = (studio.store.run_dir(whole.run_id) / "samples" / name).read_bytes()
        assert first == (studio.store.run_dir(broken) / "samples" / name).read_bytes()
