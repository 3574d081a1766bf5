"""Text benchmarks, measured side by side in one run (the machine is noisy: compare, don't clock).

(a) language model: training tokens/s, engine ÷ a bare hand-written loop, same model and windows    goal ≤ 1.05
(b) sentiment (IMDBRnn): epoch time, engine ÷ bare loop, same model and batches                     goal ≤ 1.05
(c) variable-length batches, each text read to its own last token, vs fixed-length padding (the book's), epoch time
(d) tokenisation MB/s: our Encoder vs str.split + dict lookup
(e) generated reviews: bag of embeddings vs LSTM vs Conv1d validation accuracy (the offline recipes)
(f) the offline LM recipe (stdlib docstrings): validation perplexity vs the unigram baseline

Ratios are medians over adjacent pairs (who goes first alternates), with the quartiles and best ÷ best.
(e) and (f) train the recipes through the runner as a user does, and take a few minutes on a 2-core CPU.

Run: ``.venv/bin/python bench/bench_text.py`` (``--quick`` skips (e) and (f)).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))  # the plugins of this source tree

import torch
import torch.nn.functional as F

import dlstudio_text.plugin as text_plugin
from dlstudio.contract import LoadContext
from dlstudio.engine import RunControl, TaskContext, fit
from dlstudio.engine.records import EpochEnd
from dlstudio.params import param_defaults
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.spec import TrainSection
from dlstudio.studio import Studio
from dlstudio_text.data.catalog import dataset_specs
from dlstudio_text.models.classifiers import IMDBRnn
from dlstudio_text.models.lm import RNNModel
from dlstudio_text.training import LanguageModelTask, TextClassificationTask

ROUNDS = 6
CPU = torch.device("cpu")


def quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"median {q[1]:.3f} (quartiles {q[0]:.3f}–{q[2]:.3f})"


def interleaved(engine, bare, rounds: int = ROUNDS) -> tuple[list[float], float, float, float]:
    """Times of ``engine()`` and ``bare()`` in adjacent pairs: ratios, best ÷ best, and each side's best."""
    engine(), bare()  # warm-up both
    ratios, e_times, b_times = [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            e, b = engine(), bare()
        else:
            b, e = bare(), engine()
        ratios.append(e / b)
        e_times.append(e)
        b_times.append(b)
    return ratios, min(e_times) / min(b_times), min(e_times), min(b_times)


def load(dataset: str, params: dict, *, task: str, batch_size: int = 64, task_params: dict | None = None):
    spec = next(s for s in dataset_specs() if s.id == dataset)
    cache = Path(tempfile.gettempdir()) / "dlstudio-bench-text" / dataset
    ctx = LoadContext(cache_dir=cache, seed=0, report=lambda text: None, batch_size=batch_size, task=task,
                      task_params=task_params or {})
    return spec.load({**param_defaults(spec.defaults), **params}, ctx)


def engine_epoch(task, batches) -> float:
    started = time.perf_counter()
    for _ in fit(task, batches, None, epochs=1, control=RunControl()):
        pass
    return time.perf_counter() - started


# -- (a) language model --------------------------------------------------------------------------------------------
def bare_lm_epoch(model, optimizer, windows, clip: float) -> float:
    """The book's training loop, modernised: state carried and detached, clipped, loss summed on the device."""
    started = time.perf_counter()
    model.train()
    hidden, total, count = None, torch.zeros(()), 0
    for window in windows:
        tokens, targets = window[:, :-1], window[:, 1:]
        logits, hidden = model(tokens, hidden)
        hidden = tuple(h.detach() for h in hidden)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.detach() * targets.numel()
        count += targets.numel()
    total.item()
    return time.perf_counter() - started


def bench_lm() -> None:
    bundle = load("text.corpus", {"max_chars": 200_000}, task="language-model", batch_size=20,
                  task_params={"bptt": 35})
    windows = list(bundle.train)[:24]
    tokens = sum(w[:, 1:].numel() for w in windows)
    train = TrainSection(optimizer="sgd", lr=20.0, momentum=0.0, grad_clip=0.25)
    torch.manual_seed(0)
    model = RNNModel(bundle.info.extra["vocab_size"], 200, 200, 2, dropout=0.2)
    twin = copy.deepcopy(model)
    twin.decoder.weight = twin.encoder.weight
    task = LanguageModelTask(TaskContext(model, bundle.info, train, CPU, None, {"bptt": 35}))
    optimizer = torch.optim.SGD(twin.parameters(), lr=20.0)
    ratios, best, e, b = interleaved(lambda: engine_epoch(task, windows),
                                     lambda: bare_lm_epoch(twin, optimizer, windows, 0.25))
    print(f"(a) LM, RNNModel 200×2 tied, vocab {bundle.info.extra['vocab_size']:,}, {len(windows)} windows of "
          f"20×35: engine {tokens / e:,.0f} tokens/s, bare {tokens / b:,.0f} tokens/s")
    print(f"    engine ÷ bare: {quartiles(ratios)}, best ÷ best {best:.3f}   goal ≤ 1.05")


# -- (b) sentiment, (c) packed vs fixed ------------------------------------------------------------------------------
def batches_of(bundle, batch_size: int = 64) -> list:
    loader = torch.utils.data.DataLoader(bundle.train, batch_size=batch_size, shuffle=False,
                                         collate_fn=bundle.collate)
    return list(loader)


def bare_classify_epoch(model, optimizer, batches) -> float:
    started = time.perf_counter()
    model.train()
    total, correct, count = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
    for tokens, lengths, labels in batches:
        logits = model(tokens, lengths)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(labels)
        correct += (logits.detach().argmax(1) == labels).sum()
        count += len(labels)
    total.item(), correct.item()
    return time.perf_counter() - started


def rnn_for(bundle, pack: bool) -> IMDBRnn:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(bundle.info.extra["vocab_size"], 32, padding_idx=0)
    return IMDBRnn(embedding, 64, 2, len(bundle.info.classes), 0.2, pack)


def bench_sentiment() -> None:
    variable = load("text.sentiment", {"train_size": 2000, "valid_size": 10, "fix_length": 0},
                    task="text-classification")
    batches = batches_of(variable)
    train = TrainSection(optimizer="adam", lr=0.003)
    model = rnn_for(variable, pack=True)
    twin = copy.deepcopy(model)
    task = TextClassificationTask(TaskContext(model, variable.info, train, CPU, len(batches), {}))
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.003)
    ratios, best, e, b = interleaved(lambda: engine_epoch(task, batches),
                                     lambda: bare_classify_epoch(twin, optimizer, batches))
    print(f"(b) sentiment, IMDBRnn on {len(variable.train):,} generated reviews: engine {e:.2f} s/epoch, "
          f"bare {b:.2f} s/epoch")
    print(f"    engine ÷ bare: {quartiles(ratios)}, best ÷ best {best:.3f}   goal ≤ 1.05")

    longest = variable.info.input_shape[0]
    fixed = load("text.sentiment", {"train_size": 2000, "valid_size": 10, "fix_length": longest},
                 task="text-classification")
    fixed_batches = batches_of(fixed)
    packed_task = TextClassificationTask(TaskContext(rnn_for(variable, True), variable.info, train, CPU, None, {}))
    book_task = TextClassificationTask(TaskContext(rnn_for(fixed, False), fixed.info, train, CPU, None, {}))
    ratios, best, packed, padded = interleaved(lambda: engine_epoch(packed_task, batches),
                                               lambda: engine_epoch(book_task, fixed_batches), rounds=4)
    print(f"(c) variable length {packed:.2f} s/epoch vs fixed length {longest} padded (the book's) "
          f"{padded:.2f} s/epoch: variable ÷ fixed {quartiles(ratios)}")


# -- (d) tokenisation ------------------------------------------------------------------------------------------------
def bench_tokens() -> None:
    from dlstudio_text.data.catalog import read_corpus
    from dlstudio_text.tokens import Encoder

    spec = next(s for s in dataset_specs() if s.id == "text.corpus")
    ctx = LoadContext(cache_dir=Path(tempfile.gettempdir()) / "dlstudio-bench-text" / "text.corpus", seed=0,
                      report=lambda text: None)
    train, valid, _ = read_corpus(param_defaults(spec.defaults), ctx)
    lines = (train + "\n" + valid).splitlines()
    megabytes = sum(len(line.encode("utf-8")) + 1 for line in lines) / 1e6
    encoder = Encoder.fit(train.splitlines(), tokenizer="words", max_vocab=10000)
    stoi = {word: i for i, word in enumerate(encoder.itos)}

    def ours() -> float:
        started = time.perf_counter()
        encoder.encode_batch(lines)
        return time.perf_counter() - started

    def plain() -> float:
        started = time.perf_counter()
        get = stoi.get
        [[get(word, 1) for word in line.lower().split()] for line in lines]
        return time.perf_counter() - started

    ours_best, plain_best = min(ours() for _ in range(3)), min(plain() for _ in range(3))
    print(f"(d) tokenisation of {megabytes:.2f} MB (stdlib docstrings): Encoder (words) "
          f"{megabytes / ours_best:.1f} MB/s, str.split + dict {megabytes / plain_best:.1f} MB/s "
          f"(ours ÷ plain time {ours_best / plain_best:.2f}; ours also splits punctuation off)")


# -- (e), (f): the recipes, as a user runs them --------------------------------------------------------------------
def train_recipe(studio: Studio, recipe: str, *overrides: str) -> tuple[list[EpochEnd], str, float]:
    started = time.perf_counter()
    run = Run(studio, studio.recipe_spec(recipe, ["run.device=cpu", *overrides]))
    epochs = [r for r in run.records() if isinstance(r, EpochEnd)]
    return epochs, run.run_id, time.perf_counter() - started


def bench_recipes(studio: Studio) -> None:
    from dlstudio import runs

    print("(e) generated reviews, the offline recipes (best validation accuracy):")
    for recipe in ("sentiment-bag", "sentiment-lstm", "sentiment-conv1d"):
        epochs, _, seconds = train_recipe(studio, recipe)
        best = max(e.metrics["valid_accuracy"] for e in epochs)
        print(f"    {recipe:18} {best:6.1%}   ({len(epochs)} epochs, {seconds:.0f} s)")
    epochs, run_id, seconds = train_recipe(studio, "corpus-lstm-lm")
    baseline = runs.load_model(studio, run_id, "best").data.extra["unigram_perplexity"]
    best = min(e.metrics["valid_perplexity"] for e in epochs)
    print(f"(f) corpus-lstm-lm: validation perplexity {best:.1f} vs unigram baseline {baseline:.1f} "
          f"({len(epochs)} epochs, {seconds:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip (e) and (f), the recipes")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    bench_lm()
    bench_sentiment()
    bench_tokens()
    if not args.quick:
        with tempfile.TemporaryDirectory() as home:
            bench_recipes(Studio.open(Path(home), [module_candidate("text", text_plugin)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
