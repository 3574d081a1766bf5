"""The text datasets' DatasetSpecs: sources (torch-free) composed with the tokeniser and the batching.

Registering imports no torch: ``params`` describes what each takes, and a loader imports the batching (torch)
when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlstudio.contract import DataBundle, DatasetSpec, LoadContext
from dlstudio_text.data import params as p

FAMILY = "text"
#: The language model's BPTT window when the task gives none (the book's 35).
DEFAULT_BPTT = 35


def _encoder(texts: list[str], params: Mapping[str, Any]):
    from dlstudio_text.tokens import Encoder, tokenizer_params

    return Encoder.fit(texts, **tokenizer_params(params))


def _classification(train, valid, classes, messages, params: Mapping[str, Any]) -> DataBundle:
    from dlstudio_text.batching import classification_bundle

    encoder = _encoder([text for text, _ in train], params)
    return classification_bundle(train, valid, classes, encoder, fix_length=int(params["fix_length"]),
                                 messages=messages)


def load_sentiment(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    from dlstudio_text.data.sentiment import generate

    train, valid, classes, messages = generate(int(params["train_size"]), int(params["valid_size"]),
                                               int(params["generator_seed"]))
    return _classification(train, valid, classes, messages, params)


def load_folder(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    from dlstudio_text.data.folder import ensure_imdb, read_folder

    root = str(params["root"]).strip()
    if root:
        folder = Path(root).expanduser()
    else:
        folder = ensure_imdb(Path(ctx.cache_dir), allow_download=bool(params["download"]), report=ctx.report)
    train, valid, classes, messages = read_folder(
        folder, valid_fraction=float(params["valid_fraction"]), seed=int(params["split_seed"]),
        limit_train=int(params["limit_train"]), limit_valid=int(params["limit_valid"]))
    return _classification(train, valid, classes, messages, params)


def load_table(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    from dlstudio_text.data.table import read_table

    if not str(params["path"]).strip():
        raise ValueError("choose a .csv, .tsv or .jsonl file in 'path'")
    train, valid, classes, messages = read_table(
        Path(str(params["path"])), text_column=str(params["text_column"]), label_column=str(params["label_column"]),
        valid_fraction=float(params["valid_fraction"]), seed=int(params["split_seed"]))
    return _classification(train, valid, classes, messages, params)


def read_corpus(params: Mapping[str, Any], ctx: LoadContext) -> tuple[str, str, list[str]]:
    """``(train_text, valid_text, messages)`` of the chosen corpus (no tokens, no torch)."""
    from dlstudio_text.data import corpus

    source = params["source"]
    max_chars = int(params["max_chars"])
    fraction = float(params["valid_fraction"])
    if source == "python-docs":
        return corpus.stdlib_corpus(Path(ctx.cache_dir), max_chars=max_chars, valid_fraction=fraction,
                                    report=ctx.report)
    if source == "wikitext-2":
        return corpus.wikitext2(Path(ctx.cache_dir), allow_download=bool(params["download"]), max_chars=max_chars,
                                report=ctx.report)
    key, what = ("path", "a .txt file in 'path'") if source == "file" else ("folder", "a folder in 'folder'")
    if not str(params[key]).strip():
        raise ValueError(f"the corpus source is {source!r}: choose {what}")
    return corpus.from_path(Path(str(params[key])), valid_fraction=fraction, max_chars=max_chars)


def load_corpus(params: Mapping[str, Any], ctx: LoadContext) -> DataBundle:
    from dlstudio_text.batching import language_model_bundle

    train, valid, messages = read_corpus(params, ctx)
    encoder = _encoder(train.splitlines(), params)
    bptt = int(ctx.task_params.get("bptt", DEFAULT_BPTT))
    return language_model_bundle(train, valid, encoder, batch_size=int(ctx.batch_size), bptt=bptt,
                                 messages=messages)


def dataset_specs() -> list[DatasetSpec]:
    return [
        DatasetSpec(id="text.sentiment", title="Generated movie reviews (offline)", load=load_sentiment,
                    family=FAMILY, tasks=(p.TASK_CLASSIFY,), defaults=dict(p.SENTIMENT_DEFAULTS),
                    description=p.SENTIMENT_DESCRIPTION),
        DatasetSpec(id="text.folder", title="IMDB reviews or a folder of text files", load=load_folder,
                    family=FAMILY, tasks=(p.TASK_CLASSIFY,), defaults=dict(p.FOLDER_DEFAULTS),
                    description=p.FOLDER_DESCRIPTION),
        DatasetSpec(id="text.table", title="Texts in a CSV/TSV/JSONL table", load=load_table, family=FAMILY,
                    tasks=(p.TASK_CLASSIFY,), defaults=dict(p.TABLE_DEFAULTS), description=p.TABLE_DESCRIPTION),
        DatasetSpec(id="text.corpus", title="Text corpus for a language model", load=load_corpus, family=FAMILY,
                    tasks=(p.TASK_LM,), defaults=dict(p.CORPUS_DEFAULTS), description=p.CORPUS_DESCRIPTION),
    ]
