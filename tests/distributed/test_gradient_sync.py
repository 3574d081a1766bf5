"""How a distributed run's gradients are synchronised, in this process (a one-process gloo group, no torchrun):
a task whose step is one forward and one backward trains in DistributedDataParallel and hands out the plain
model wherever weights are saved or read; a GAN, which DDP cannot express, keeps the Stepper's all-reduce."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from dlstudio.engine.distributed import Ranks
from dlstudio.engine.step import SYNC_BY_DDP, SYNC_BY_HAND, Stepper
from dlstudio.runner import Run, run_to_end


@pytest.fixture
def ranks(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        yield Ranks(0, 1)
    finally:
        dist.destroy_process_group()


@pytest.fixture
def averaged(monkeypatch):
    """The parameter lists the Stepper averaged by hand, one per call."""
    calls: list[list[torch.nn.Parameter]] = []
    original = Ranks.average_gradients
    monkeypatch.setattr(Ranks, "average_gradients", lambda self, params: (calls.append(list(params)),
                                                                           original(self, params)))
    return calls


def test_a_classification_run_trains_in_ddp_and_saves_the_plain_models_weights(demo_studio, ranks, averaged,
                                                                                monkeypatch):
    from dlstudio import runs

    prepared = []
    prepare = Stepper.prepare_model
    monkeypatch.setattr(Stepper, "prepare_model", lambda self, model, **kw: prepared.append(
        (prepare(self, model, **kw), self)) or prepared[-1][0])
    spec = demo_studio.recipe_spec("demo-blobs", ["data.params.samples=60", "train.batch_size=16",
                                                  "train.epochs=2", "run.device='cpu'"])
    run = Run(demo_studio, spec, ranks=ranks)
    assert run_to_end(run).status == "completed"

    (model, stepper), = prepared
    assert isinstance(model, DistributedDataParallel) and stepper.gradient_sync == SYNC_BY_DDP
    assert averaged == []  # DDP averaged every gradient during backward: nothing is all-reduced twice
    # Every checkpoint loads, strictly, into the plain model the plugin builds; the weight norms name its layers.
    plain_names = set(model.module.state_dict())
    for kind in ("best", "last", "final"):
        loaded = runs.load_model(demo_studio, run.run_id, kind)
        assert set(loaded.model.state_dict()) == plain_names
    assert set(runs.weight_norms(demo_studio, run.run_id)[2]) <= {name.rsplit(".", 1)[0] for name in plain_names}
    # ... and a resumed distributed run reads them back into the wrapped model.
    resumed = Run.resume(demo_studio, run.run_id, overrides=["train.epochs=3"], ranks=ranks)
    assert run_to_end(resumed).status == "completed"
    assert runs.get_run(demo_studio, run.run_id).epochs_done == 3


def test_a_gan_keeps_the_steppers_all_reduce_one_per_optimiser(ranks, averaged):
    from dlstudio.contract import DataInfo
    from dlstudio.engine import TaskContext
    from dlstudio.spec import TrainSection
    from dlstudio_generative.gan.models import DCGAN
    from dlstudio_generative.gan.task import GanTask

    model = DCGAN(16, 8, 1, 32)
    ctx = TaskContext(model, DataInfo((1, 32, 32)), TrainSection(optimizer="adam", lr=0.0002), torch.device("cpu"),
                      10, {"beta1": 0.5, "grid_every": 0, "scorer_run": ""}, extra={"ranks": ranks})
    task = GanTask(ctx)
    assert task.model is model and task.plain_model is model
    assert task.stepper.gradient_sync == SYNC_BY_HAND
    task.train_step((torch.rand(4, 1, 32, 32) * 2 - 1,))
    ids = [{id(p) for p in params} for params in averaged]
    assert ids == [{id(p) for p in model.discriminator.parameters()}, {id(p) for p in model.generator.parameters()}]


def test_a_model_with_a_layer_the_loss_never_reaches_is_refused_at_its_first_step(ranks):
    from dlstudio.contract import DataInfo
    from dlstudio.engine import TaskContext
    from dlstudio.engine.classification import ClassificationTask
    from dlstudio.engine.distributed import NotDistributable
    from dlstudio.spec import TrainSection

    class Unused(torch.nn.Module):  # DDP would leave the bucket of `spare` unaveraged and fail at step 2
        def __init__(self):
            super().__init__()
            self.head, self.spare = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.head(x)

    ctx = TaskContext(Unused(), DataInfo((3,), classes=("a", "b")), TrainSection(optimizer="sgd", lr=0.1),
                      torch.device("cpu"), 10, extra={"ranks": ranks})
    task = ClassificationTask(ctx)
    with pytest.raises(NotDistributable, match=r"parameters spare\.weight, spare\.bias took no part"):
        task.train_step((torch.randn(4, 3), torch.tensor([0, 1, 0, 1])))


def test_a_language_model_trains_in_ddp_carrying_its_state_and_validates_unwrapped(ranks, averaged):
    from dlstudio_text.models.lm import RNNModel, TransformerLM
    from dlstudio_text.training import LanguageModelTask
    from tests.plugins.text.test_tasks import LM_DATA, VOCAB, context, windows

    model = RNNModel(VOCAB, 8, 8, 1, dropout=0.0)
    ctx = context(model, LM_DATA, params={"bptt": 6}, lr=0.1)
    ctx.extra["ranks"] = ranks
    task = LanguageModelTask(ctx)
    assert isinstance(task.model, DistributedDataParallel) and task.plain_model is model
    task.model.train()
    task.start_epoch(1, "train")
    for window in windows(2, 0):
        task.train_step(window)
    assert task.state["train"] is not None and averaged == []  # state carried through the wrapper; DDP synced
    task.model.eval()
    task.start_epoch(1, "valid")
    with torch.no_grad():
        task.eval_step(windows(1, 1)[0])
    assert task.state["valid"] is not None

    # The model's own limits are read through the wrapper: a window longer than a transformer reads is refused.
    ctx = context(TransformerLM(VOCAB, 8, 2, 1, 16, 0.0, context=10), LM_DATA, params={"bptt": 35})
    ctx.extra["ranks"] = ranks
    with pytest.raises(ValueError, match="bptt 35 is longer than the 10 tokens the model reads at once"):
        LanguageModelTask(ctx)
