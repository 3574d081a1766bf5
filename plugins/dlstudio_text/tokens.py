"""Tokenisers and vocabularies: text → tokens → ids and back, fitted on the training texts (the book's chapter 6).

:class:`Encoder` is one fitted tokeniser with its vocabulary: characters, words, word n-grams (plain Python; words
by one compiled regex and one dict lookup per token, so encoding runs close to ``str.split`` + dict lookup), or
sub-word BPE/WordPiece trained with Hugging Face ``tokenizers`` (Rust). Every vocabulary starts with the same three
special tokens, ``<pad>`` = 0, ``<unk>`` = 1, ``<eos>`` = 2, and ``max_vocab`` counts them: ``vocab_size`` never
exceeds it. An encoder serialises to JSON (``to_json``/``from_json``, exactly round-tripped) so that a finished
run's model can encode new text with the vocabulary it was trained on.

No torch here: the data preview and the vocabulary view use this module without it.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dlstudio.params import Param

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
SPECIALS = (PAD, UNK, EOS)
PAD_ID, UNK_ID, EOS_ID = 0, 1, 2
KINDS = ("chars", "words", "ngrams", "bpe", "wordpiece")
#: The kinds trained with Hugging Face ``tokenizers``.
SUBWORD_KINDS = ("bpe", "wordpiece")
FORMAT = 1

#: A word: letters/digits with inner apostrophes ("don't" is one word), or one punctuation mark; the special
#: tokens written out in a text (WikiText writes ``<unk>``) stay whole.
WORD_PATTERN = r"<(?:pad|unk|eos)>|\w+(?:'\w+)*|[^\w\s]"
_WORDS = re.compile(WORD_PATTERN)
_SPECIAL = re.compile(r"<(?:pad|unk|eos)>")
# The fast path of words: ASCII punctuation is always a token of its own (the apostrophe and, when a special
# token is written out, "<" and ">" excepted), so spacing it out and splitting on white space cuts a text as the
# regex does; pieces that are still several tokens go through the regex.
_SPACED = str.maketrans({c: f" {c} " for c in string.punctuation if c not in "'_"})
_SPACED_NO_ANGLES = str.maketrans({c: f" {c} " for c in string.punctuation if c not in "'_<>"})
#: The most white-space pieces an encoder remembers the ids of.
PIECE_CACHE = 500_000
_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")

TOKENIZER_PARAMS: dict[str, Param] = {
    "tokenizer": Param(
        "words", choices=list(KINDS), title="Tokeniser",
        help="How a text is cut into tokens: characters; words (and punctuation marks); words plus word n-grams "
             "(the book's bigrams and trigrams); or sub-words learnt from the training texts (BPE, WordPiece).",
    ),
    "lowercase": Param(True, help="Lower-case every text before cutting it (\"The\" and \"the\" are one token)."),
    "ngrams": Param(
        2, minimum=1, maximum=5, title="Word n-grams up to",
        help="With the n-grams tokeniser: besides each word, the runs of 2 … n consecutive words are tokens too "
             "(\"not bad\"). Ignored by the other tokenisers.",
    ),
    "max_vocab": Param(
        10000, minimum=10, maximum=2_000_000, unit="tokens", title="Maximum vocabulary size",
        help="The most frequent tokens are kept, up to this many (counting <pad>, <unk> and <eos>); the others "
             "become <unk>. For BPE/WordPiece: the size of the learnt vocabulary.",
    ),
    "min_freq": Param(
        1, minimum=1, maximum=1_000_000, title="Minimum frequency",
        help="A token seen fewer times than this in the training texts becomes <unk> (for BPE/WordPiece: the "
             "fewest occurrences of a pair to merge).",
    ),
}


def tokenizer_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :meth:`Encoder.fit` among a dataset's parameters."""
    return {key: params[key] for key in TOKENIZER_PARAMS if key in params}


def _spacing(text: str) -> dict[int, str]:
    """The table that spaces out ``text``'s punctuation (keeping a written-out special token whole)."""
    return _SPACED_NO_ANGLES if "<" in text and _SPECIAL.search(text) else _SPACED


# -- plain tokenisers ------------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return _WORDS.findall(text)


def _with_ngrams(words: list[str], n: int) -> list[str]:
    """Each word followed by the n-grams that end on it (bigram, trigram, ...): order stays local."""
    if n < 2:
        return words
    out = []
    for i, word in enumerate(words):
        out.append(word)
        for k in range(2, min(n, i + 1) + 1):
            out.append(" ".join(words[i - k + 1 : i + 1]))
    return out


def count_tokens(texts: Iterable[str], *, tokenizer: str = "words", lowercase: bool = True,
                 ngrams: int = 1) -> Counter:
    """How often each token occurs in ``texts`` (chars, words, ngrams): what a vocabulary is chosen from."""
    if tokenizer not in ("chars", "words", "ngrams"):
        raise ValueError(f"count_tokens counts chars, words or ngrams, not {tokenizer!r}")
    counts: Counter = Counter()
    for text in texts:
        if lowercase:
            text = text.lower()
        if tokenizer == "chars":
            counts.update(text)
        elif tokenizer == "words":  # white-space pieces, as the fast path of encode; split further below
            counts.update(text.translate(_spacing(text)).split())
        else:
            counts.update(_with_ngrams(_WORDS.findall(text), ngrams))
    if tokenizer == "words":
        for piece, count in list(counts.items()):
            tokens = _WORDS.findall(piece)
            if tokens != [piece]:
                del counts[piece]
                for token in tokens:
                    counts[token] += count
    return counts


def choose_vocabulary(counts: Mapping[str, int], *, max_vocab: int, min_freq: int) -> list[str]:
    """The tokens kept: the most frequent (ties in first-seen order) seen ``min_freq`` times or more, as many as
    fit beside the three special tokens. Raises ValueError when none is left."""
    if max_vocab < len(SPECIALS) + 1:
        raise ValueError(f"max_vocab {max_vocab} leaves no room for a token beside {', '.join(SPECIALS)}")
    ordered = [(t, c) for t, c in Counter(counts).most_common() if t not in SPECIALS]
    if not ordered:
        raise ValueError("the training texts hold no token: the vocabulary would be empty")
    kept = [t for t, c in ordered if c >= min_freq][: max_vocab - len(SPECIALS)]
    if not kept:
        top, most = ordered[0]
        raise ValueError(f"min_freq {min_freq} leaves no token: the most frequent ({top!r}) appears {most} "
                         f"time{'s' if most != 1 else ''}")
    return kept


# -- sub-word tokenisers ---------------------------------------------------------------------------------
def _train_subwords(texts: Sequence[str], kind: str, lowercase: bool, max_vocab: int, min_freq: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind == "bpe":
        hf = Tokenizer(models.BPE(unk_token=UNK, end_of_word_suffix="</w>"))
        hf.decoder = decoders.BPEDecoder(suffix="</w>")
        trainer = trainers.BpeTrainer(vocab_size=max_vocab, min_frequency=min_freq, special_tokens=list(SPECIALS),
                                      end_of_word_suffix="</w>", show_progress=False)
    else:
        hf = Tokenizer(models.WordPiece(unk_token=UNK))
        hf.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=max_vocab, min_frequency=min_freq,
                                            special_tokens=list(SPECIALS), show_progress=False)
    if lowercase:
        hf.normalizer = normalizers.Lowercase()
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    hf.train_from_iterator(texts, trainer, length=len(texts))
    return hf


class _PieceIds(dict):
    """White-space piece → its id when it is one token (``<unk>``'s when unknown), -1 when it is several."""

    def __init__(self, stoi: dict[str, int]) -> None:
        super().__init__()
        self.stoi = stoi

    def __missing__(self, piece: str) -> int:
        tokens = _WORDS.findall(piece)
        value = self.stoi.get(tokens[0], UNK_ID) if len(tokens) == 1 else -1
        if len(self) < PIECE_CACHE:
            self[piece] = value
        return value


# -- the encoder -----------------------------------------------------------------------------------------
class Encoder:
    """A fitted tokeniser plus its vocabulary (``itos``/``stoi``) and the training frequencies (``counts``).

    Build one with :meth:`fit` or :meth:`from_json`. ``counts`` holds the kept tokens' training frequencies
    (most frequent first); ``total`` is the number of training tokens and ``distinct`` the number of
    different ones before ``min_freq``/``max_vocab`` cut them, so ``coverage`` (the share of training tokens
    the vocabulary holds) needs no second pass.
    """

    pad_id = PAD_ID
    unk_id = UNK_ID
    eos_id = EOS_ID

    def __init__(self, *, tokenizer: str, lowercase: bool, ngrams: int, max_vocab: int, min_freq: int,
                 itos: list[str], counts: dict[str, int], total: int, distinct: int, subword: str = "") -> None:
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.ngrams = ngrams
        self.max_vocab = max_vocab
        self.min_freq = min_freq
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        self.counts = counts
        self.total = total
        self.distinct = distinct
        self._subword = subword  # the Hugging Face tokenizer's JSON, for bpe/wordpiece
        self._pieces = _PieceIds(self.stoi)
        self._hf = None
        if tokenizer in SUBWORD_KINDS:
            from tokenizers import Tokenizer

            self._hf = Tokenizer.from_str(subword)

    # -- fitting ---------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Sequence[str], *, tokenizer: str = "words", lowercase: bool = True, ngrams: int = 1,
            max_vocab: int = 10000, min_freq: int = 1) -> Encoder:
        """Learn the vocabulary (and for bpe/wordpiece the sub-words) of the training ``texts``."""
        if tokenizer not in KINDS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}: choose one of {', '.join(KINDS)}")
        if int(ngrams) < 1:
            raise ValueError(f"ngrams must be 1 or more, got {ngrams}")
        if int(min_freq) < 1:
            raise ValueError(f"min_freq must be 1 or more, got {min_freq}")
        texts = texts if isinstance(texts, Sequence) else list(texts)
        options = {"tokenizer": tokenizer, "lowercase": bool(lowercase), "ngrams": int(ngrams),
                   "max_vocab": int(max_vocab), "min_freq": int(min_freq)}
        if tokenizer in SUBWORD_KINDS:
            return cls._fit_subwords(texts, options)
        counts = count_tokens(texts, tokenizer=tokenizer, lowercase=lowercase, ngrams=int(ngrams))
        kept = choose_vocabulary(counts, max_vocab=int(max_vocab), min_freq=int(min_freq))
        return cls(**options, itos=[*SPECIALS, *kept], counts={t: counts[t] for t in kept},
                   total=sum(counts.values()), distinct=len(counts))

    @classmethod
    def _fit_subwords(cls, texts: Sequence[str], options: dict[str, Any]) -> Encoder:
        if options["max_vocab"] < len(SPECIALS) + 1:
            raise ValueError(f"max_vocab {options['max_vocab']} leaves no room for a token beside "
                             f"{', '.join(SPECIALS)}")
        hf = _train_subwords(texts, options["tokenizer"], options["lowercase"], options["max_vocab"],
                             options["min_freq"])
        vocab = hf.get_vocab()
        itos = [""] * len(vocab)
        for token, i in vocab.items():
            itos[i] = token
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:  # pragma: no cover - the trainer puts them first
            raise RuntimeError(f"the {options['tokenizer']} trainer did not put {SPECIALS} first")
        if len(itos) == len(SPECIALS):
            raise ValueError("the training texts hold no token: the vocabulary would be empty")
        ids: Counter = Counter()
        for encoding in hf.encode_batch(list(texts), add_special_tokens=False):
            ids.update(encoding.ids)
        counts = {itos[i]: c for i, c in sorted(ids.items(), key=lambda item: (-item[1], item[0]))}
        total = sum(ids.values())
        unknown = ids.get(UNK_ID, 0)
        counts.pop(UNK, None)
        return cls(**options, itos=itos, counts=counts, total=total,
                   distinct=len(counts) + (1 if unknown else 0), subword=hf.to_str())

    # -- using it --------------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def coverage(self) -> float:
        """The share of the training tokens that the vocabulary holds (the rest became <unk>)."""
        return sum(self.counts.values()) / self.total if self.total else 0.0

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text``, before they are looked up (a token not in the vocabulary stays as it is)."""
        if self._hf is not None:
            return self._hf.encode(text, add_special_tokens=False).tokens
        if self.lowercase:
            text = text.lower()
        if self.tokenizer == "words":
            return _WORDS.findall(text)
        if self.tokenizer == "chars":
            return list(text)
        return _with_ngrams(_WORDS.findall(text), self.ngrams)

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``'s tokens; a token not in the vocabulary is ``unk_id``."""
        if self._hf is not None:
            return self._hf.encode(text, add_special_tokens=False).ids
        if self.tokenizer == "words":
            return self._encode_words(text.lower() if self.lowercase else text)
        get, unk = self.stoi.get, UNK_ID
        return [get(t, unk) for t in self.tokenize(text)]

    def _encode_words(self, text: str) -> list[int]:
        """Words as the regex cuts them, at nearly ``str.split`` speed: punctuation spaced out, one dict
        lookup per white-space piece (remembered), the regex only for the rare piece that is several tokens."""
        pieces = text.translate(_spacing(text)).split()
        ids = list(map(self._pieces.__getitem__, pieces))
        if -1 not in ids:
            return ids
        get, out = self.stoi.get, []
        for piece, i in zip(pieces, ids, strict=True):
            if i >= 0:
                out.append(i)
            else:
                out.extend([get(t, UNK_ID) for t in _WORDS.findall(piece)])
        return out

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode` of each text (sub-word tokenisers encode them in parallel)."""
        if self._hf is not None:
            return [e.ids for e in self._hf.encode_batch(list(texts), add_special_tokens=False)]
        return [self.encode(text) for text in texts]

    def spans(self, text: str) -> list[tuple[int, int, int]]:
        """``(start, end, id)`` of each token in ``text``, for showing a text as coloured tokens (n-grams
        beyond single words are left out: they overlap their words)."""
        if self._hf is not None:
            encoding = self._hf.encode(text, add_special_tokens=False)
            return [(s, e, i) for (s, e), i in zip(encoding.offsets, encoding.ids, strict=True)]
        lowered = text.lower() if self.lowercase else text
        if len(lowered) != len(text):  # a few characters lower-case to two ("İ"): find tokens in the original
            lowered = "".join(c.lower()[:1] for c in text) if self.lowercase else text
        get, unk = self.stoi.get, UNK_ID
        if self.tokenizer == "chars":
            return [(i, i + 1, get(c, unk)) for i, c in enumerate(lowered)]
        return [(m.start(), m.end(), get(m.group(), unk)) for m in _WORDS.finditer(lowered)]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (padding left out; n-gram tokens left out, their words are there)."""
        ids = [int(i) for i in ids if int(i) != PAD_ID]
        if self._hf is not None:
            text = self._hf.decode(ids, skip_special_tokens=False)
            return _NO_SPACE_BEFORE.sub(r"\1", text) if self.tokenizer == "bpe" else text
        itos = self.itos
        tokens = [itos[i] if 0 <= i < len(itos) else UNK for i in ids]
        if self.tokenizer == "chars":
            return "".join(tokens)
        if self.tokenizer == "ngrams":
            tokens = [t for t in tokens if " " not in t]
        text = " ".join(tokens)
        return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))

    def oov_rate(self, texts: Iterable[str]) -> float:
        """The share of the tokens of ``texts`` that are not in the vocabulary (encoded as <unk>)."""
        unknown = total = 0
        texts = list(texts)
        for ids in self.encode_batch(texts):
            total += len(ids)
            unknown += ids.count(UNK_ID)
        return unknown / total if total else 0.0

    # -- saving ----------------------------------------------------------------------------------------
    def to_json(self) -> str:
        """Everything needed to encode and decode as this encoder does, as JSON text."""
        return json.dumps({
            "format": FORMAT, "tokenizer": self.tokenizer, "lowercase": self.lowercase, "ngrams": self.ngrams,
            "max_vocab": self.max_vocab, "min_freq": self.min_freq, "total": self.total,
            "distinct": self.distinct, "itos": self.itos, "counts": self.counts, "subword": self._subword,
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Encoder:
        """The encoder :meth:`to_json` wrote."""
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a saved text encoder: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise ValueError(f"not a saved text encoder of format {FORMAT} (found format {found!r})")
        data.pop("format")
        return cls(**data)

    def __repr__(self) -> str:
        extra = f", ngrams={self.ngrams}" if self.tokenizer == "ngrams" else ""
        return (f"Encoder({self.tokenizer}{extra}, lowercase={self.lowercase}, vocab_size={self.vocab_size}, "
                f"coverage={self.coverage:.1%})")
