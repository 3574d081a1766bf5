"""A generated sentiment set where word order decides the label: the offline stand-in for IMDB.

Every review has one opinion sentence (and a few neutral ones around it). The opinion is one clause, or two
clauses of opposite polarity joined so that only one counts:

- a clause's polarity is its adjective's (or verb's), flipped by a negator before it: "the plot was not
  good" is negative, "the acting was hardly bad" positive; intensifiers ("very", "truly") change nothing;
- "A , but B" and "A , yet B": the later clause wins ("good , but boring" is negative);
- "although A , B" and "B , although A": the clause without "although" wins, first or last.

Both classes use the same words about equally often, so a bag of words (or of embeddings) sees little
difference between them, while a model that reads in order (an LSTM, a convolution over neighbours) can
learn the rules. Labels follow from the rules exactly; the same seed gives the same reviews.
"""

from __future__ import annotations

import random

CLASSES = ("negative", "positive")

POSITIVE_ADJECTIVES = ("good", "great", "excellent", "wonderful", "brilliant", "charming", "moving", "funny",
                       "gripping", "beautiful", "clever", "delightful", "superb", "enjoyable", "fresh")
NEGATIVE_ADJECTIVES = ("bad", "boring", "awful", "dull", "terrible", "clumsy", "tedious", "weak", "bland",
                       "silly", "predictable", "messy", "lifeless", "painful", "forgettable")
#: Verbs in the past ("i loved it") and after "did not" ("i did not love it").
POSITIVE_VERBS = (("loved", "love"), ("liked", "like"), ("enjoyed", "enjoy"), ("adored", "adore"),
                  ("admired", "admire"))
NEGATIVE_VERBS = (("hated", "hate"), ("disliked", "dislike"), ("resented", "resent"), ("loathed", "loathe"),
                  ("regretted", "regret"))
SUBJECTS = ("the movie", "the film", "the acting", "the plot", "the script", "the ending", "the cast",
            "the dialogue", "the soundtrack", "the direction", "the pacing", "the story", "the camera work",
            "the lead", "the second half")
COPULAS = ("was", "is", "felt", "seemed")
INTENSIFIERS = ("very", "really", "truly", "quite", "remarkably", "incredibly", "so", "rather")
#: Negators before an adjective; a verb is negated by "did not" or "never".
NEGATORS = ("not", "never", "hardly", "far from")
CONTRASTS = ("but", "yet")
CONCESSIONS = ("although", "though", "even though")
FILLERS = (
    "i watched it on a sunday afternoon .", "it runs for about two hours .", "my sister picked it .",
    "the story follows a young teacher in a small town .", "it came out last year .",
    "i saw it in a half empty cinema .", "the director made two films before this one .",
    "it is based on a novel .", "we rented it for the weekend .", "there are three main characters .",
    "the trailer shows most of the first act .", "it was filmed in the north of the country .",
)
#: Every word that carries polarity, with its sign (+1 positive, -1 negative).
POLARITY: dict[str, int] = {
    **{w: 1 for w in POSITIVE_ADJECTIVES}, **{w: -1 for w in NEGATIVE_ADJECTIVES},
    **{w: 1 for pair in POSITIVE_VERBS for w in pair}, **{w: -1 for pair in NEGATIVE_VERBS for w in pair},
}


def _clause(rng: random.Random, polarity: int, *, elliptic: bool = False) -> str:
    """A clause of the given polarity (+1/-1); ``elliptic`` leaves out the subject ("not very good")."""
    negate = rng.random() < 0.4
    sign = -polarity if negate else polarity
    if not elliptic and rng.random() < 0.2:
        verb_past, verb_base = rng.choice(POSITIVE_VERBS if sign > 0 else NEGATIVE_VERBS)
        if not negate:
            return f"i {rng.choice(('', 'really ', 'truly '))}{verb_past} it"
        return f"i did not {verb_base} it" if rng.random() < 0.6 else f"i never {verb_past} it"
    adjective = rng.choice(POSITIVE_ADJECTIVES if sign > 0 else NEGATIVE_ADJECTIVES)
    words = [rng.choice(NEGATORS)] if negate else []
    if rng.random() < 0.35:
        words.append(rng.choice(INTENSIFIERS))
    words.append(adjective)
    if elliptic:
        return " ".join(words)
    copula = rng.choice(COPULAS[:2] if negate and words[0] != "far from" else COPULAS)
    return f"{rng.choice(SUBJECTS)} {copula} {' '.join(words)}"


def _opinion(rng: random.Random, polarity: int) -> str:
    """The opinion sentence: one clause, or two where the rules say which counts."""
    kind = rng.random()
    other = -polarity if rng.random() < 0.85 else polarity
    if kind < 0.35:
        return f"{_clause(rng, polarity)} ."
    if kind < 0.7:
        elliptic = rng.random() < 0.3
        return f"{_clause(rng, other)} , {rng.choice(CONTRASTS)} {_clause(rng, polarity, elliptic=elliptic)} ."
    if kind < 0.85:
        return f"{rng.choice(CONCESSIONS)} {_clause(rng, other)} , {_clause(rng, polarity)} ."
    return f"{_clause(rng, polarity)} , {rng.choice(CONCESSIONS)} {_clause(rng, other)} ."


def review(rng: random.Random, label: int) -> str:
    """One review of class ``label`` (0 negative, 1 positive): the opinion among 0–2 neutral sentences."""
    sentences = [_opinion(rng, 1 if label else -1)]
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        filler = rng.choice(FILLERS)
        sentences.insert(rng.randrange(len(sentences) + 1), filler)
    return " ".join(sentences)


def _labels(rng: random.Random, n: int) -> list[int]:
    labels = [i % 2 for i in range(n)]
    rng.shuffle(labels)
    return labels


def generate(train_size: int = 5000, valid_size: int = 1000, seed: int = 0
             ) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[str], list[str]]:
    """``(train, valid, classes, messages)``: balanced (text, label) pairs; no validation text is also a
    training text, so validation accuracy measures the rules learnt, not reviews remembered."""
    if train_size < 2:
        raise ValueError(f"train_size must be at least 2 (one review per class), got {train_size}")
    if valid_size < 0:
        raise ValueError(f"valid_size must not be negative, got {valid_size}")
    rng = random.Random(f"dlstudio-text-sentiment-{seed}")
    train = [(review(rng, label), label) for label in _labels(rng, train_size)]
    seen = {text for text, _ in train}
    valid = []
    for label in _labels(rng, valid_size):
        for _ in range(100):
            text = review(rng, label)
            if text not in seen:
                break
        seen.add(text)
        valid.append((text, label))
    messages = [f"generated {len(train):,} training and {len(valid):,} validation reviews (seed {seed}), "
                f"half of them positive; no validation review appears in the training set"]
    return train, valid, list(CLASSES), messages
