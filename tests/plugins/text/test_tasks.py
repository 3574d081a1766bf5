"""The text tasks: classification leaves a frozen embedding alone, the language model carries its state per
phase (detached, afresh each pass), clips through the stepper, and writes a live sample after each epoch."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio.engine import TaskContext
from dlstudio.spec import TrainSection
from dlstudio_text.models.lm import RNNModel, TransformerLM
from dlstudio_text.tasks import callback_specs, task_specs
from dlstudio_text.training import LanguageModelTask, LiveSample, TextClassificationTask
from tests.plugins.text import test_generate
from tests.plugins.text.test_models import build, info, padded

ENCODER = test_generate.ENCODER
text_studio = test_generate.text_studio  # the fixture, shared

VOCAB = 50


def context(model, data, *, params=None, **train) -> TaskContext:
    return TaskContext(model=model, data=data, train=TrainSection(**train), device=torch.device("cpu"),
                       steps_per_epoch=None, params=params or {})


# -- classification ------------------------------------------------------------------------------------------
def test_a_frozen_embedding_stays_as_it_was_while_the_rest_learns():
    model = build("text.imdb_rnn", freeze_embeddings=True).train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    task = TextClassificationTask(context(model, info(), optimizer="adam", lr=0.01))
    trained = {id(p) for group in task.optimizers[0].param_groups for p in group["params"]}
    assert id(model.embedding.weight) not in trained  # left out of the optimiser, as the book does
    tokens, lengths = padded([[5, 6, 7, 8], [9, 10]])
    result = task.train_step((tokens, lengths, torch.tensor([0, 1])))
    assert result.count == 2
    after = dict(model.named_parameters())
    assert torch.equal(after["embedding.weight"], before["embedding.weight"])
    assert not torch.equal(after["fc.weight"], before["fc.weight"])
    assert not torch.equal(after["lstm.weight_hh_l0"], before["lstm.weight_hh_l0"])


def test_classification_reports_loss_and_accuracy_per_text():
    model = build("text.imdb_cnn", bins=2)
    task = TextClassificationTask(context(model, info()))
    tokens, lengths = padded([[5, 6, 7], [9, 10], [11, 12, 13, 14]])
    labels = torch.tensor([0, 1, 1])
    with torch.no_grad():
        result = task.eval_step((tokens, lengths, labels))
        logits = model(tokens, lengths)
    expected_correct = int((logits.argmax(1) == labels).sum())
    metrics = task.summarize({k: float(v) for k, v in result.sums.items()}, result.count)
    assert metrics["accuracy"] == pytest.approx(expected_correct / 3)
    assert metrics["loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, labels)), rel=1e-5)


def test_the_tasks_declare_their_metrics_and_parameters():
    specs = {s.id: s for s in task_specs()}
    lm = specs["language-model"]
    assert lm.defaults["bptt"].default == 35  # the book's
    assert [(m.name, m.direction, m.unit) for m in lm.metrics] == [("loss", "min", "nats"),
                                                                    ("perplexity", "min", "")]
    assert [(m.name, m.direction) for m in specs["text-classification"].metrics] == [("loss", "min"),
                                                                                      ("accuracy", "max")]
    (sample,) = callback_specs()
    assert sample.always and sample.tasks == ("language-model",)


# -- language model --------------------------------------------------------------------------------------------
class Recorder(nn.Module):
    """An RNNModel that remembers the state it was handed at each call."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inner = RNNModel(VOCAB, 8, 8, 1, dropout=0.0)
        self.received: list = []
        self.returned: list = []

    def forward(self, tokens, state=None):
        self.received.append(state)
        logits, state = self.inner(tokens, state)
        self.returned.append(state)
        return logits, state


LM_DATA = DataInfo((6,), (), "tokens", {"vocab_size": VOCAB, "pad_id": 0, "bptt": 6})


def windows(n: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, VOCAB, (3, 7), generator=g) for _ in range(n)]


def test_the_language_model_carries_its_state_per_phase_and_detached():
    model = Recorder()
    task = LanguageModelTask(context(model, LM_DATA, params={"bptt": 6}, lr=0.1))
    train, valid = windows(3, 0), windows(2, 1)
    task.start_epoch(1, "train")
    model.train()
    task.train_step(train[0])
    task.train_step(train[1])
    model.eval()  # a validation in the middle of the pass (a run in steps)
    task.start_epoch(1, "valid")
    with torch.no_grad():
        task.eval_step(valid[0])
        task.eval_step(valid[1])
    model.train()
    task.train_step(train[2])  # training goes on from its own state, not validation's
    task.start_epoch(2, "train")
    task.train_step(train[0])

    received, returned = model.received, model.returned
    assert received[0] is None and received[2] is None and received[5] is None  # fresh at each pass
    for later, earlier in [(1, 0), (3, 2), (4, 1)]:  # each window continues the one before it in its phase
        assert all(torch.equal(a, b) for a, b in zip(received[later], returned[earlier], strict=True))
        assert all(a.grad_fn is None and not a.requires_grad for a in received[later])  # truncated BPTT


def test_gradients_are_clipped_through_the_stepper():
    model = RNNModel(VOCAB, 8, 8, 1, dropout=0.0)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    task = LanguageModelTask(context(model, LM_DATA, params={"bptt": 6}, optimizer="sgd", momentum=0.0, lr=1.0,
                                     grad_clip=1e-3))
    task.train_step(windows(1, 0)[0])
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert 0 < torch.linalg.vector_norm(after - before) <= 1e-3 * 1.0001  # lr × the clipped norm


def test_a_window_longer_than_the_transformer_reads_is_refused():
    model = TransformerLM(VOCAB, 8, 2, 1, 16, 0.0, context=10)
    with pytest.raises(ValueError, match="bptt 35 is longer than the 10 tokens the model reads at once"):
        LanguageModelTask(context(model, LM_DATA, params={"bptt": 35}))


def test_perplexity_is_the_exponent_of_the_loss():
    task = LanguageModelTask(context(RNNModel(VOCAB, 8, 8, 1), LM_DATA, params={"bptt": 6}))
    metrics = task.summarize({"loss": 2.0 * 10}, 10)
    assert metrics == {"loss": 2.0, "perplexity": pytest.approx(7.389056, rel=1e-6)}


def test_the_live_sample_logs_a_text_each_epoch_and_keeps_the_random_state(tmp_path):
    torch.manual_seed(0)
    model = RNNModel(ENCODER.vocab_size, 8, 8, 1)
    task = types.SimpleNamespace(model=model, plain_model=model, encoder=ENCODER)
    logged: list[str] = []
    state = types.SimpleNamespace(task=task, log=lambda text, level="info": logged.append(text))
    callback = LiveSample(tmp_path, length=6)
    rng = torch.get_rng_state()
    for epoch in (1, 2):
        callback.on_epoch_end(state, types.SimpleNamespace(epoch=epoch))
    assert torch.equal(torch.get_rng_state(), rng)  # a resumed run must draw the same numbers
    assert [line.split(": ")[0] for line in logged] == ["sample after epoch 1", "sample after epoch 2"]
    assert all(len(line.split(": ", 1)[1].split()) == 6 for line in logged)
    assert all(set(line.split(": ", 1)[1].split()) <= set(ENCODER.itos) for line in logged)
    assert (tmp_path / "samples.txt").read_text(encoding="utf-8").splitlines()[1].startswith("epoch 2: ")
    callback.on_epoch_end(types.SimpleNamespace(task=types.SimpleNamespace(model=model, encoder=None),
                                                log=logged.append), types.SimpleNamespace(epoch=3))
    assert len(logged) == 2  # no encoder (another plugin's data): nothing to write with



# -- end to end, through the runner ------------------------------------------------------------------------------
def run_recipe(studio, recipe: str, *overrides: str) -> list:
    from dlstudio.runner import Run

    return list(Run(studio, studio.recipe_spec(recipe, ["run.device=cpu", *overrides])).records())


def epochs_of(records) -> list:
    from dlstudio.engine import EpochEnd, FitEnded

    assert isinstance(records[-1], FitEnded) and records[-1].status == "completed", records[-1]
    return [r for r in records if isinstance(r, EpochEnd)]


SMALL_SENTIMENT = ["data.params.train_size=1000", "data.params.valid_size=300", "train.epochs=10", "train.lr=0.01"]


def test_the_lstm_reads_word_order_that_the_bag_of_embeddings_cannot(text_studio, one_thread):
    bag = epochs_of(run_recipe(text_studio, "sentiment-bag", *SMALL_SENTIMENT))
    lstm = epochs_of(run_recipe(text_studio, "sentiment-lstm", *SMALL_SENTIMENT))
    assert lstm[-1].metrics["valid_accuracy"] > 0.8  # the generated reviews' rules are learnt
    assert max(e.metrics["valid_accuracy"] for e in bag) < 0.62  # "not good" and "good" look alike to a bag
    assert {"train_loss", "train_accuracy", "valid_loss", "valid_accuracy"} <= lstm[0].metrics.keys()


def lm_corpus(path) -> str:
    import random

    rng = random.Random(0)
    subjects, verbs, objects = ["the cat", "a dog", "the bird", "my friend"], ["sat on", "looked at", "ran to"], [
        "the mat", "a tree", "the house", "the park"]
    lines = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} ." for _ in range(1500)]
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


def lm_overrides(corpus: str) -> list[str]:
    return ["data.params.source=file", f"data.params.path={corpus!r}", "data.params.max_chars=0",
            "data.params.min_freq=1", "model.params.embedding_dim=32", "model.params.hidden=32",
            "task.params.bptt=10", "train.batch_size=8", "train.epochs=2"]


def test_the_language_model_trains_below_the_unigram_baseline_and_writes_a_sample_each_epoch(
        text_studio, one_thread, tmp_path):
    from dlstudio import runs
    from dlstudio.engine import LogMessage

    records = run_recipe(text_studio, "corpus-lstm-lm", *lm_overrides(lm_corpus(tmp_path / "tiny.txt")))
    epochs = epochs_of(records)
    run_id = next(r.run_id for r in records if hasattr(r, "run_id"))
    loaded = runs.load_model(text_studio, run_id, "best")
    baseline = loaded.data.extra["unigram_perplexity"]
    assert epochs[-1].metrics["valid_perplexity"] < 0.6 * baseline  # order learnt, not just word frequencies
    samples = [r.text for r in records if isinstance(r, LogMessage) and r.text.startswith("sample after epoch")]
    assert [s.split(":")[0] for s in samples] == ["sample after epoch 1", "sample after epoch 2"]
    written = (runs.get_run(text_studio, run_id).run_dir / "samples.txt").read_text(encoding="utf-8")
    assert written.splitlines()[0].startswith("epoch 1: ")
    vocabulary = {"the", "cat", "a", "dog", "bird", "my", "friend", "sat", "on", "looked", "at", "ran", "to",
                  "mat", "tree", "house", "park", "."}
    words = samples[-1].split(": ", 1)[1].replace(".", " . ").split()
    assert len(words) >= 20 and set(words) <= vocabulary | {"<eos>", "<unk>"}
