"""The generated sentiment set: labels follow the stated rules exactly, yet a bag of words cannot find them."""

from __future__ import annotations

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from dlstudio_text.data.sentiment import POLARITY, generate

NEGATORS = {"not", "never", "hardly", "far"}


def _clause_polarity(words: list[str]) -> int:
    signs = [POLARITY[w] for w in words if w in POLARITY]
    assert len(signs) == 1, words
    return -signs[0] if NEGATORS & set(words) else signs[0]


def rule_label(text: str) -> int:
    """The label as the module's docstring states the rules, worked out from the text alone."""
    sentences = [s.split() for s in text.split(" . ") if s]
    opinion = [s for s in sentences if any(w in POLARITY for w in s)]
    assert len(opinion) == 1, text
    words = [w for w in opinion[0] if w != "."]
    for contrast in ("but", "yet"):
        if contrast in words:
            return _clause_polarity(words[words.index(contrast) + 1:]) > 0
    comma = words.index(",") if "," in words else None
    if words[0] in ("although", "though", "even"):
        return _clause_polarity(words[comma + 1:]) > 0
    if comma is not None:
        return _clause_polarity(words[:comma]) > 0
    return _clause_polarity(words) > 0


def test_labels_follow_the_rules_exactly_and_classes_are_balanced():
    train, valid, classes, messages = generate(2000, 500, seed=3)
    assert classes == ["negative", "positive"]
    assert (len(train), len(valid)) == (2000, 500)
    for text, label in train + valid:
        assert int(rule_label(text)) == label, text
    assert sum(label for _, label in train) == 1000
    assert not {t for t, _ in valid} & {t for t, _ in train}
    assert "2,000 training" in messages[0]


def test_word_order_carries_the_label_a_bag_of_words_misses_it():
    train, valid, _, _ = generate(3000, 1000, seed=0)

    def score(ngrams: int) -> float:
        vectorizer = CountVectorizer(ngram_range=(1, ngrams), token_pattern=r"\S+")
        x = vectorizer.fit_transform([t for t, _ in train])
        model = LogisticRegression(max_iter=2000).fit(x, [y for _, y in train])
        return model.score(vectorizer.transform([t for t, _ in valid]), [y for _, y in valid])

    bag = score(1)
    assert bag < 0.7, f"a bag of words reaches {bag:.0%}: word order would not matter"
    # Both classes use the same words: which words appear says little, their order says it all.
    assert score(3) > bag + 0.05


def test_the_same_seed_gives_the_same_reviews():
    assert generate(300, 100, seed=7) == generate(300, 100, seed=7)
    assert generate(300, 100, seed=7)[0] != generate(300, 100, seed=8)[0]
