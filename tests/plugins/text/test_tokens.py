"""Tokenisers and vocabularies: what a user relies on when words become ids and back."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from dlstudio.params import param_defaults, param_problem
from dlstudio_text.tokens import KINDS, TOKENIZER_PARAMS, Encoder, count_tokens

REVIEWS = [
    "The film was not bad at all, really!",
    "A good but boring film. I don't recommend it.",
    "Not good, not bad: simply boring.",
    "Really good acting; the plot is bad.",
    "I loved it. Truly good!",
] * 4
NEW = ["An unseen review with Zebras and quokkas, but good.", "Ünïcödé “quotes” — and <unk> written out."]

# An independent statement of how words are cut (the spec's rule), to check the fast path against.
REFERENCE = re.compile(r"<(?:pad|unk|eos)>|\w+(?:'\w+)*|[^\w\s]")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_through_json(kind):
    encoder = Encoder.fit(REVIEWS, tokenizer=kind, ngrams=3, max_vocab=60, min_freq=1)
    saved = encoder.to_json()
    again = Encoder.from_json(saved)
    assert again.to_json() == saved
    assert again.itos == encoder.itos and again.counts == encoder.counts
    for text in REVIEWS[:5] + NEW:
        assert again.tokenize(text) == encoder.tokenize(text)
        assert again.encode(text) == encoder.encode(text)
        assert again.decode(encoder.encode(text)) == encoder.decode(encoder.encode(text))
    assert (again.pad_id, again.unk_id, again.eos_id) == (0, 1, 2)
    assert again.itos[:3] == ["<pad>", "<unk>", "<eos>"]
    assert again.vocab_size <= 60


def test_words_are_cut_at_punctuation_and_keep_contractions():
    encoder = Encoder.fit(REVIEWS)
    assert encoder.tokenize("The film was NOT bad, really! I don't.") == [
        "the", "film", "was", "not", "bad", ",", "really", "!", "i", "don't", "."]
    assert Encoder.fit(REVIEWS, lowercase=False).tokenize("NOT bad") == ["NOT", "bad"]


def test_the_fast_word_path_cuts_exactly_as_the_regex():
    encoder = Encoder.fit([*REVIEWS, "<br /> it's 'quoted' ok"])
    rng = random.Random(0)
    alphabet = [*"abc xyz  ,.!?'\"<>/-()_", "don't", "<unk>", "<eos>", "Ü", "“", "é", "\t", "\n", "film"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    for text in texts:
        expected = [encoder.stoi.get(t, 1) for t in REFERENCE.findall(text.lower())]
        assert encoder.encode(text) == expected, text
    counted = Counter(t for text in texts for t in REFERENCE.findall(text.lower()))
    assert count_tokens(texts) == counted


def test_unknown_words_become_unk_and_the_oov_rate_counts_them():
    encoder = Encoder.fit(["a b a b a"])
    a, b = encoder.stoi["a"], encoder.stoi["b"]
    assert encoder.encode("a c b d") == [a, 1, b, 1]
    assert encoder.oov_rate(["a c", "b d"]) == 0.5
    assert encoder.oov_rate(["a b"]) == 0.0
    assert encoder.decode([a, 1, b, 0, 0]) == "a <unk> b"


def test_min_freq_and_max_vocab_choose_the_most_frequent_tokens():
    texts = ["red red red red green green green blue blue pink"]
    assert Encoder.fit(texts).itos[3:] == ["red", "green", "blue", "pink"]
    at_least_two = Encoder.fit(texts, min_freq=2)
    assert at_least_two.itos[3:] == ["red", "green", "blue"]
    assert at_least_two.encode("pink") == [1]
    assert at_least_two.counts == {"red": 4, "green": 3, "blue": 2}
    assert at_least_two.coverage == pytest.approx(9 / 10)
    five = Encoder.fit(texts, max_vocab=5)  # the three special tokens count
    assert five.vocab_size == 5 and five.itos[3:] == ["red", "green"]


def test_an_empty_vocabulary_says_why():
    texts = ["common " * 12 + "rare"]
    with pytest.raises(ValueError, match=r"min_freq 50 leaves no token: the most frequent \('common'\) appears 12 "
                                         r"times"):
        Encoder.fit(texts, min_freq=50)
    with pytest.raises(ValueError, match="hold no token"):
        Encoder.fit(["", "   "])
    with pytest.raises(ValueError, match="hold no token"):
        Encoder.fit(["  "], tokenizer="bpe")
    with pytest.raises(ValueError, match="unknown tokenizer 'spaces'"):
        Encoder.fit(texts, tokenizer="spaces")


def test_ngrams_give_word_pairs_their_own_ids():
    encoder = Encoder.fit(["not bad at all", "not bad"], tokenizer="ngrams", ngrams=2)
    assert encoder.tokenize("not bad") == ["not", "bad", "not bad"]
    assert encoder.counts["not bad"] == 2
    ids = encoder.encode("not bad")
    assert len(set(ids)) == 3 and 1 not in ids
    assert encoder.encode("bad not")[-1] == 1  # "bad not" was never seen
    assert encoder.decode(ids) == "not bad"
    three = Encoder.fit(["a b c"], tokenizer="ngrams", ngrams=3)
    assert three.tokenize("a b c") == ["a", "b", "a b", "c", "b c", "a b c"]


def test_characters_decode_to_the_text():
    encoder = Encoder.fit(REVIEWS, tokenizer="chars")
    text = "Not bad, really."
    assert encoder.decode(encoder.encode(text)) == text.lower()
    assert encoder.tokenize("Ab") == ["a", "b"]


@pytest.mark.parametrize("kind", ["bpe", "wordpiece"])
def test_sub_words_cover_unseen_words_and_follow_the_limits(kind):
    big = Encoder.fit(REVIEWS, tokenizer=kind, max_vocab=200)
    small = Encoder.fit(REVIEWS, tokenizer=kind, max_vocab=200, min_freq=8)
    assert small.vocab_size < big.vocab_size <= 200
    text = "Boring films, not good."
    assert "".join(big.decode(big.encode(text)).split()) == "".join(text.lower().split())
    unseen = big.tokenize("boringly")  # never seen as a word: cut into known pieces, not <unk>
    assert len(unseen) > 1 and "<unk>" not in unseen
    assert big.oov_rate(["boring film"]) == 0.0
    assert sum(big.counts.values()) == big.total  # every training token is in the vocabulary


def test_spans_locate_each_token_in_the_original_text():
    for kind in ("words", "chars", "bpe"):
        encoder = Encoder.fit(REVIEWS, tokenizer=kind)
        for text in ("Not BAD, it's good", "İ Not BAD, it's good"):  # "İ" lower-cases to two characters
            spans = encoder.spans(text)
            start = 2 if text.startswith("İ") else 0
            found = [text[s:e].lower() for s, e, _ in spans if s >= start][:3]
            assert found == (["not", "bad", ","] if kind != "chars" else ["n", "o", "t"])
        if kind != "bpe":
            assert [i for _, _, i in encoder.spans("Not BAD, it's good")] == encoder.encode("Not BAD, it's good")


def test_tokenizer_params_fit_an_encoder_and_register_cleanly():
    for key, param in TOKENIZER_PARAMS.items():
        assert param_problem(param) == "", key
    encoder = Encoder.fit(REVIEWS, **param_defaults(TOKENIZER_PARAMS))
    assert encoder.tokenizer == "words" and encoder.vocab_size <= TOKENIZER_PARAMS["max_vocab"].default
    assert set(TOKENIZER_PARAMS["tokenizer"].choices) == set(KINDS)


def test_a_damaged_saved_encoder_is_refused():
    with pytest.raises(ValueError, match="not a saved text encoder"):
        Encoder.from_json("{not json")
    with pytest.raises(ValueError, match="format"):
        Encoder.from_json('{"format": 99}')
