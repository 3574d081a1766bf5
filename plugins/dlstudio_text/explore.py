"""What the text pages show, computed without Qt: a vocabulary's numbers (frequencies, coverage, the size that
min_freq and max_vocab would give), tokens marked known or unknown, a classifier's probabilities and each
token's contribution (occlusion), and an embedding layer's neighbours, analogies and 2-D projection.

Plain functions over plain values (lists, dicts, NumPy arrays), so each is tested against a hand computation;
torch is imported inside the functions that run a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The special tokens every vocabulary starts with (pad, unk, eos), counted in its size.
SPECIALS = ("<pad>", "<unk>", "<eos>")


# -- vocabulary -----------------------------------------------------------------------------------------


def ranked(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Tokens by falling frequency, ties in first-seen order (the order a vocabulary keeps them in)."""
    return sorted(((t, int(c)) for t, c in counts.items() if t not in SPECIALS), key=lambda tc: -tc[1])


def coverage(counts: Mapping[str, int], top: int) -> float:
    """The share of all token occurrences that the ``top`` most frequent tokens account for."""
    values = sorted((int(c) for t, c in counts.items() if t not in SPECIALS), reverse=True)
    total = sum(values)
    return sum(values[:top]) / total if total else 0.0


def vocab_size(counts: Mapping[str, int], *, min_freq: int = 1, max_vocab: int = 10000) -> int:
    """The vocabulary size that fitting with ``min_freq`` and ``max_vocab`` gives, computed from the training
    counts: the tokens seen at least ``min_freq`` times, as many as fit beside the special tokens (``max_vocab``
    counts them, as the Encoder does), plus the special tokens. 0 when no token is left."""
    kept = sum(1 for t, c in counts.items() if c >= min_freq and t not in SPECIALS)
    kept = min(kept, max(0, max_vocab - len(SPECIALS)))
    return kept + len(SPECIALS) if kept else 0


def size_table(counts: Mapping[str, int], min_freqs: Sequence[int] = (1, 2, 3, 5, 10, 20),
               max_vocabs: Sequence[int] = (1000, 5000, 10000, 25000, 50000)) -> list[list[int]]:
    """``table[i][j]``: the vocabulary size for ``min_freqs[i]`` and ``max_vocabs[j]``."""
    return [[vocab_size(counts, min_freq=m, max_vocab=v) for v in max_vocabs] for m in min_freqs]


#: The max_vocab values the size table may show.
LADDER = (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)


def size_ladder(distinct: int, current: int, columns: int = 6) -> list[int]:
    """The max_vocab values worth a column for ``distinct`` different tokens: those that cut the vocabulary,
    the first that keeps every token, and the ``current`` setting; at most ``columns`` of them."""
    room = distinct + len(SPECIALS)
    cutting = [v for v in LADDER if v < room]
    keeps_all = next((v for v in LADDER if v >= room), LADDER[-1])
    picked = [*cutting[-(columns - 2):], keeps_all] if columns > 2 else [keeps_all]
    return sorted({*picked, int(current)})


@dataclass
class VocabularyView:
    """The numbers of the vocabulary view."""

    #: (token, training count), most frequent first: every distinct token, kept or not (for sub-word
    #: tokenisers: the learnt sub-words).
    ranked: list[tuple[str, int]]
    #: Token occurrences in the training texts.
    total: int
    #: The fitted vocabulary's size (specials included).
    size: int
    #: Share of the training tokens the fitted vocabulary covers.
    coverage: float
    #: Share of the validation tokens that are unknown to the vocabulary (None without validation texts).
    valid_oov: float | None
    min_freqs: list[int] = field(default_factory=list)
    max_vocabs: list[int] = field(default_factory=list)
    #: ``sizes[i][j]``: the vocabulary size with ``min_freqs[i]`` and ``max_vocabs[j]`` (empty for sub-words,
    #: whose vocabulary is learnt to its size).
    sizes: list[list[int]] = field(default_factory=list)
    #: Training-token coverage of each fitted size in ``sizes`` (same shape).
    coverages: list[list[float]] = field(default_factory=list)
    #: The tokens the fitted vocabulary holds (specials left out), and the settings it was fitted with.
    known: frozenset[str] = frozenset()
    min_freq: int = 1
    max_vocab: int = 0

    def coverage_of_top(self, n: int) -> float:
        return sum(c for _, c in self.ranked[:n]) / self.total if self.total else 0.0


def vocabulary_view(encoder: Any, train_texts: Sequence[str], valid_texts: Sequence[str] = ()) -> VocabularyView:
    """The vocabulary view of a fitted :class:`~dlstudio_text.tokens.Encoder` over its training texts:
    frequencies of every token (kept or not), coverage, the validation OOV rate, and the vocabulary size
    each min_freq/max_vocab pair would give (before anything is trained)."""
    from dlstudio_text.tokens import SUBWORD_KINDS, count_tokens

    valid_oov = encoder.oov_rate(valid_texts) if len(valid_texts) else None
    min_freqs = sorted({1, 2, 3, 5, 10, 20, int(encoder.min_freq)})
    known = frozenset(encoder.itos) - frozenset(SPECIALS)
    settings = {"known": known, "min_freq": int(encoder.min_freq), "max_vocab": int(encoder.max_vocab)}
    if encoder.tokenizer in SUBWORD_KINDS:
        return VocabularyView(ranked(encoder.counts), encoder.total, encoder.vocab_size, encoder.coverage,
                              valid_oov, min_freqs, **settings)
    counts = count_tokens(train_texts, tokenizer=encoder.tokenizer, lowercase=encoder.lowercase,
                          ngrams=encoder.ngrams)
    max_vocabs = size_ladder(len(counts), int(encoder.max_vocab))
    order = ranked(counts)
    total = sum(c for _, c in order)
    sizes = size_table(counts, min_freqs, max_vocabs)
    cumulative = np.cumsum([0] + [c for _, c in order])
    coverages = []
    for m in min_freqs:
        row = []
        eligible = sum(1 for _, c in order if c >= m)  # ranked by count: the eligible ones are a prefix
        for v in max_vocabs:
            row.append(float(cumulative[min(eligible, max(0, v - len(SPECIALS)))] / total) if total else 0.0)
        coverages.append(row)
    covered = sum(c for t, c in order if t in known)
    return VocabularyView(order, total, encoder.vocab_size, covered / total if total else 0.0, valid_oov,
                          min_freqs, max_vocabs, sizes, coverages, **settings)


def marked(encoder: Any, text: str, fix_length: int = 0) -> list[tuple[str, int]]:
    """``text`` cut into pieces for showing it as coloured tokens: ``(piece, kind)`` with kind -1 for the text
    between tokens (spaces), 0/1 for known tokens (alternating, so neighbours differ), 2 for an unknown one
    (it becomes <unk>) and 3 for a token past ``fix_length`` (cut off, the model never reads it)."""
    out: list[tuple[str, int]] = []
    at = 0
    for n, (start, end, ident) in enumerate(encoder.spans(text)):
        if start < at:  # overlapping pieces (a sub-word tokeniser's): show each character once
            start = at
        if start >= end:
            continue
        if start > at:
            out.append((text[at:start], -1))
        kind = 3 if fix_length and n >= fix_length else 2 if ident == encoder.unk_id else n % 2
        out.append((text[start:end], kind))
        at = end
    if at < len(text):
        out.append((text[at:], -1))
    return out


def histogram(values: Sequence[int], bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of ``values`` in at most ``bins`` integer-aligned bins."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return np.zeros(0), np.zeros(1)
    lo, hi = float(arr.min()), float(arr.max())
    width = max(1.0, np.ceil((hi - lo + 1) / bins))
    edges = np.arange(lo, hi + width + 1, width)
    counts, edges = np.histogram(arr, bins=edges)
    return counts, edges


# -- a classifier on new text -----------------------------------------------------------------------------


def occlusion(predict: Callable[[list[list[int]]], np.ndarray], ids: Sequence[int], unk_id: int,
              target: int | None = None,
              groups: Sequence[Sequence[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each token's contribution to a prediction: the drop in the predicted class's probability when that
    token alone is replaced by ``unk_id``.

    ``predict`` maps a list of equally long id sequences to their class probabilities ``[n, classes]``.
    Returns ``(probabilities of ids, contributions)``; ``target`` is the class looked at (default: the
    predicted one). A positive contribution means the token spoke for that class. ``groups`` replaces several
    positions at once per contribution (a word and the n-grams that hold it); default: each position alone.
    """
    ids = list(ids)
    groups = [[i] for i in range(len(ids))] if groups is None else [list(g) for g in groups]
    variants = [ids]
    for group in groups:
        variant = list(ids)
        for i in group:
            variant[i] = unk_id
        variants.append(variant)
    probs = np.asarray(predict(variants), dtype=float)
    base = probs[0]
    cls = int(np.argmax(base)) if target is None else int(target)
    return base, base[cls] - probs[1:, cls]


def ngram_groups(words: int, n: int) -> list[list[int]]:
    """For the n-grams tokeniser's sequence of ``words`` words (each word followed by the 2…n-grams ending on
    it): per word, the positions of the tokens that contain it."""
    groups: list[list[int]] = [[] for _ in range(words)]
    pos = 0
    for i in range(words):
        for k in range(1, min(n, i + 1) + 1):
            for j in range(i - k + 1, i + 1):
                groups[j].append(pos)
            pos += 1
    return groups


def classifier_predictor(model: Any, *, pad_id: int = 0, fix_length: int = 0,
                         batch: int = 256) -> Callable[[list[list[int]]], np.ndarray]:
    """A ``predict`` for :func:`occlusion`: id sequences → softmax probabilities of a model that takes
    ``(tokens [B, T], lengths [B])``. With ``fix_length`` sequences are padded or cut to it, as in training."""

    def predict(seqs: list[list[int]]) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for start in range(0, len(seqs), batch):
                chunk = [list(s[:fix_length]) if fix_length else list(s) for s in seqs[start:start + batch]]
                chunk = [s or [pad_id] for s in chunk]
                width = fix_length or max(len(s) for s in chunk)
                tokens = torch.full((len(chunk), width), pad_id, dtype=torch.long)
                for i, s in enumerate(chunk):
                    tokens[i, :len(s)] = torch.tensor(s, dtype=torch.long)
                lengths = torch.tensor([len(s) for s in chunk], dtype=torch.long)
                logits = model(tokens, lengths)
                out.append(torch.softmax(logits.float(), dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 0))

    return predict


@dataclass
class Explained:
    """A sentence as a classifier sees it: its words (or tokens), the class probabilities, each one's
    contribution to the predicted class."""

    #: ``(piece of the text, index into contributions or -1 for the text between tokens)``.
    pieces: list[tuple[str, int]]
    known: list[bool]
    classes: list[str]
    probabilities: list[float]
    predicted: int
    contributions: list[float]
    #: Set when the sentence was cut to the model's fixed length, or is empty.
    note: str = ""


def explain(model: Any, encoder: Any, classes: Sequence[str], text: str, *, fix_length: int = 0) -> Explained:
    """Probabilities and per-token occlusion contributions of ``text`` (per word for the n-grams tokeniser:
    a word and the n-grams that hold it are replaced together). Tokens past the model's fixed length are
    cut, as in training."""
    ids = list(encoder.encode(text))
    spans = [(s, e) for s, e, _ in encoder.spans(text)]
    groups = None
    if encoder.tokenizer == "ngrams":
        groups = ngram_groups(len(spans), encoder.ngrams)
    note = ""
    if fix_length and len(ids) > fix_length:
        note = f"only the first {fix_length} of {len(ids)} tokens are read (the model's fixed length)"
        ids = ids[:fix_length]
        groups = ([g for g in ([p for p in g if p < fix_length] for g in groups) if g] if groups is not None
                  else None)
        spans = spans[:len(groups) if groups is not None else fix_length]
    n_classes = len(classes)
    if not ids:
        return Explained([(text, -1)] if text else [], [], list(classes),
                         [1.0 / n_classes] * n_classes if n_classes else [], -1, [], "type a few words")
    predict = classifier_predictor(model, pad_id=encoder.pad_id, fix_length=fix_length)
    probs, contrib = occlusion(predict, ids, encoder.unk_id, groups=groups)
    unk = encoder.unk_id
    known = [i != unk for i in ids] if groups is None else [ids[g[0]] != unk for g in groups]
    if len(spans) != len(contrib):  # a tokeniser whose pieces do not map onto the text: show the pieces
        pieces = [(encoder.itos[i], n) for n, i in enumerate(ids)]
        pieces = [p for n, (t, k) in enumerate(pieces) for p in ([(" ", -1)] if n else []) + [(t, k)]]
    else:
        pieces, at = [], 0
        for n, (start, end) in enumerate(spans):
            start = max(start, at)
            if start > at:
                pieces.append((text[at:start], -1))
            if end > start:
                pieces.append((text[start:end], n))
            at = max(at, end)
        if at < len(text):
            pieces.append((text[at:], -1))
    return Explained(pieces, known, list(classes), probs.tolist(), int(np.argmax(probs)), contrib.tolist(), note)


# -- embeddings --------------------------------------------------------------------------------------------


def _unit(weights: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    return weights / np.where(norms == 0, 1.0, norms)


def nearest(weights: np.ndarray, itos: Sequence[str], query: np.ndarray, k: int = 10,
            exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
    """The ``k`` tokens whose rows are closest to ``query`` by cosine similarity (specials and ``exclude``
    left out), most similar first."""
    unit = _unit(np.asarray(weights, dtype=float))
    q = np.asarray(query, dtype=float)
    q = q / (np.linalg.norm(q) or 1.0)
    sims = unit @ q
    skip = set(exclude) | set(SPECIALS)
    out = []
    for i in np.argsort(-sims, kind="stable"):
        if itos[i] not in skip:
            out.append((itos[i], float(sims[i])))
            if len(out) == k:
                break
    return out


def _row(stoi: Mapping[str, int], word: str) -> int:
    if word not in stoi:
        raise KeyError(f"{word!r} is not in the vocabulary")
    return stoi[word]


def neighbours(weights: np.ndarray, itos: Sequence[str], word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` nearest tokens to ``word`` (cosine), the word itself left out."""
    stoi = {t: i for i, t in enumerate(itos)}
    return nearest(weights, itos, np.asarray(weights)[_row(stoi, word)], k, exclude=[word])


def analogy(weights: np.ndarray, itos: Sequence[str], a: str, b: str, c: str,
            k: int = 5) -> list[tuple[str, float]]:
    """``a − b + c``: e.g. king − man + woman; the three words themselves are left out."""
    stoi = {t: i for i, t in enumerate(itos)}
    unit = _unit(np.asarray(weights, dtype=float))
    query = unit[_row(stoi, a)] - unit[_row(stoi, b)] + unit[_row(stoi, c)]
    return nearest(weights, itos, query, k, exclude=[a, b, c])


def projection(weights: np.ndarray, itos: Sequence[str], counts: Mapping[str, int] | None = None,
               top: int = 300, method: str = "pca", seed: int = 0) -> tuple[list[str], np.ndarray]:
    """A 2-D projection (``"pca"`` or ``"tsne"``, scikit-learn) of the rows of the ``top`` most frequent
    tokens (by ``counts``; by vocabulary order without them). Returns (tokens, points ``[n, 2]``)."""
    rows = [i for i, t in enumerate(itos) if t not in SPECIALS]
    if counts:
        rows.sort(key=lambda i: (-counts.get(itos[i], 0), i))
    rows = rows[:top]
    if len(rows) < 3:
        raise ValueError(f"a projection needs at least 3 words; the vocabulary has {len(rows)}")
    x = np.asarray(weights, dtype=float)[rows]
    if method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, perplexity=min(30.0, (len(rows) - 1) / 3), init="pca",
                      random_state=seed).fit_transform(x)
    else:
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(x)
    return [itos[i] for i in rows], np.asarray(points)


def embedding_matrix(model: Any) -> np.ndarray:
    """The weights of the model's first ``nn.Embedding`` (its input embedding) as a NumPy array."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.Embedding):
            return module.weight.detach().cpu().float().numpy()
    raise ValueError(f"{type(model).__name__} has no embedding layer")


# -- a finished run -------------------------------------------------------------------------------------------


@dataclass
class RunModel:
    """A finished run's model with what it needs to read new text."""

    run_id: str
    model: Any
    encoder: Any
    classes: list[str]
    fix_length: int
    #: The weights loaded ("best", "final" or "last") and the epoch they are from.
    weights: str
    epoch: int | None
    task: str = ""


def load_run(studio: Any, run_id: str) -> RunModel:
    """The run's model (its best weights, else its final or last ones, in eval mode on the CPU) and the
    encoder its data was tokenised with."""
    from dlstudio import runs
    from dlstudio_text.tokens import Encoder

    saved = runs.artifacts(studio, run_id)
    kind = next((k for k in ("best", "final", "last") if k in saved), None)
    if kind is None:
        raise ValueError(f"run {run_id} saved no weights yet (a run saves them at the end of each epoch)")
    loaded = runs.load_model(studio, run_id, kind)
    extra = dict(loaded.data.extra)
    if "encoder" not in extra:
        raise ValueError(f"run {run_id} was not trained on text tokenised by the text plugin (no encoder saved)")
    return RunModel(run_id, loaded.model.eval(), Encoder.from_json(extra["encoder"]), list(loaded.data.classes),
                    int(extra.get("fix_length", 0) or 0), kind, loaded.epoch, runs.get_run(studio, run_id).task)
