"""What the Data page shows, computed without Qt: sample texts per class as coloured tokens, the label balance,
the texts' lengths and the vocabulary view — from a dataset loaded exactly as a run loads it (its registered
``load``), so the preview shows the tokens and the vocabulary the model will get.

Runs in a background job: takes and returns plain values only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.contract import LoadContext
from dlstudio_text.explore import VocabularyView, marked, vocabulary_view

#: Tasks whose data the page knows how to show.
CLASSIFY, LANGUAGE_MODEL = "text-classification", "language-model"


@dataclass
class DataPreview:
    data_id: str
    #: "text-classification" or "language-model".
    task: str
    #: Class names; for a corpus one pseudo-class, "training text".
    classes: list[str]
    #: Per class, a few training texts as ``(piece, kind)`` lists (see :func:`dlstudio_text.explore.marked`).
    samples: dict[str, list[list[tuple[str, int]]]]
    train_counts: list[int]
    valid_counts: list[int]
    #: Tokens per text (per line for a corpus) before any fix_length cut.
    train_lengths: list[int]
    valid_lengths: list[int]
    fix_length: int
    tokenizer: str
    vocabulary: VocabularyView
    messages: list[str] = field(default_factory=list)


def _task_of(studio: Any, data_id: str) -> str:
    tasks = studio.registry.datasets.get(data_id).tasks
    return LANGUAGE_MODEL if LANGUAGE_MODEL in tasks and CLASSIFY not in tasks else CLASSIFY


def load_bundle(studio: Any, data_id: str, params: Mapping[str, Any], *, seed: int = 0,
                report: Callable[[str], None] = print) -> tuple[Any, str, dict[str, Any]]:
    """The dataset's bundle as a run would load it (params checked, the task's defaults given to a corpus);
    returns ``(bundle, task, merged params)``."""
    from dlstudio.params import param_defaults
    from dlstudio.spec import check_params

    spec = studio.registry.datasets.get(data_id)
    merged = check_params("data.params", f"dataset {data_id!r}", params, spec.defaults, spec.choices)
    task = _task_of(studio, data_id)
    task_params: dict[str, Any] = {}
    if task in studio.registry.tasks.ids():
        task_params = param_defaults(studio.registry.tasks.get(task).defaults)
    ctx = LoadContext(cache_dir=Path(studio.cache_dir) / data_id, seed=seed, report=report, device="cpu",
                      batch_size=1, task=task, task_params=task_params)
    return spec.load(merged, ctx), task, ctx, merged


def _split_lines(ids: list[int], eos: int) -> list[list[int]]:
    lines, line = [], []
    for i in ids:
        if i == eos:
            lines.append(line)
            line = []
        else:
            line.append(i)
    if line:
        lines.append(line)
    return lines


def _texts_of(dataset: Any, encoder: Any) -> list[str]:
    """A split's texts: kept by a classification split, rebuilt line by line from a corpus's token stream
    (unknown words then read <unk>) unless the stream keeps its text."""
    if dataset is None:
        return []
    if hasattr(dataset, "texts"):
        return list(dataset.texts)
    if hasattr(dataset, "data"):  # a WindowStream: batch_size 1 keeps the whole stream in one row
        ids = [int(i) for i in dataset.data.flatten().tolist()]
        return [encoder.decode(line) for line in _split_lines(ids, encoder.eos_id)]
    raise ValueError(f"cannot read the texts of a {type(dataset).__name__}")


def _corpus_text(studio: Any, data_id: str, params: Mapping[str, Any], ctx: LoadContext) -> tuple[str, str] | None:
    """The raw (train, valid) text of one of this plugin's corpora (None for another plugin's dataset)."""
    from dlstudio_text.data import catalog

    if studio.registry.datasets.get(data_id).load is not catalog.load_corpus:
        return None
    train, valid, _ = catalog.read_corpus(params, ctx)
    return train, valid


def make_preview(studio: Any, data_id: str, params: Mapping[str, Any], *, per_class: int = 4, seed: int = 0,
                 report: Callable[[str], None] = print) -> DataPreview:
    from dlstudio_text.tokens import Encoder

    bundle, task, ctx, merged = load_bundle(studio, data_id, params, seed=seed, report=report)
    encoder = Encoder.from_json(bundle.info.extra["encoder"])
    fix_length = int(bundle.info.extra.get("fix_length", 0) or 0)
    raw = _corpus_text(studio, data_id, merged, ctx) if task == LANGUAGE_MODEL else None
    if raw is not None:  # the corpus as written, so that words outside the vocabulary are seen as they are
        train_texts, valid_texts = raw[0].splitlines(), raw[1].splitlines()
    else:
        train_texts = _texts_of(bundle.train, encoder)
        valid_texts = _texts_of(bundle.valid, encoder)
    rng = random.Random(seed)
    if task == CLASSIFY:
        classes = list(bundle.info.classes)
        train_labels = [int(v) for v in bundle.train.labels.tolist()]
        valid_labels = [int(v) for v in bundle.valid.labels.tolist()] if bundle.valid is not None else []
        by_class: dict[int, list[int]] = {}
        for i, label in enumerate(train_labels):
            by_class.setdefault(label, []).append(i)
        samples = {}
        for k, name in enumerate(classes):
            chosen = rng.sample(by_class.get(k, []), min(per_class, len(by_class.get(k, []))))
            samples[name] = [marked(encoder, train_texts[i], fix_length) for i in sorted(chosen)]
        train_counts = [train_labels.count(k) for k in range(len(classes))]
        valid_counts = [valid_labels.count(k) for k in range(len(classes))]
    else:
        classes = ["training text"]
        lines = [i for i, t in enumerate(train_texts) if t.strip()]
        start = rng.randrange(max(1, len(lines) - per_class * 2))
        samples = {"training text": [marked(encoder, train_texts[i]) for i in lines[start:start + per_class * 2]]}
        train_counts = [len(lines)]
        valid_counts = [sum(1 for t in valid_texts if t.strip())]
    lengths = encoder.encode_batch(train_texts)
    valid_lengths = encoder.encode_batch(valid_texts) if valid_texts else []
    return DataPreview(
        data_id=data_id, task=task, classes=classes, samples=samples, train_counts=train_counts,
        valid_counts=valid_counts, train_lengths=[len(x) for x in lengths],
        valid_lengths=[len(x) for x in valid_lengths], fix_length=fix_length, tokenizer=encoder.tokenizer,
        vocabulary=vocabulary_view(encoder, train_texts, valid_texts),
        messages=[_without_windows(m) for m in bundle.messages] if task == LANGUAGE_MODEL else list(bundle.messages))


def _without_windows(message: str) -> str:
    """A stream's message without the columns and windows of the preview's own batch size of 1 (a run cuts
    the stream by its batch size and bptt)."""
    message = re.sub(r" in 1 columns?, [\d,]+ windows of \d+", "", message)
    return re.sub(r", [\d,]+ windows", "", message)
