"""The computations behind the text pages (dlstudio_text.explore), checked against hand computations."""

import math

import numpy as np
import pytest

from dlstudio_text import explore
from dlstudio_text.tokens import Encoder

TEXTS = ["the film was good", "the film was not good", "good good fun", "boring"]


def test_ranked_counts_coverage_and_sizes_by_hand():
    counts = {"the": 2, "film": 2, "was": 2, "good": 4, "not": 1, "fun": 1, "boring": 1}
    # 13 tokens, 7 distinct; ties keep their first-seen order
    assert explore.ranked(counts) == [("good", 4), ("the", 2), ("film", 2), ("was", 2), ("not", 1), ("fun", 1),
                                      ("boring", 1)]
    assert explore.coverage(counts, 1) == pytest.approx(4 / 13)
    assert explore.coverage(counts, 4) == pytest.approx(10 / 13)
    # max_vocab counts the 3 special tokens, as the Encoder does
    assert explore.vocab_size(counts, min_freq=1, max_vocab=100) == 7 + 3
    assert explore.vocab_size(counts, min_freq=2, max_vocab=100) == 4 + 3
    assert explore.vocab_size(counts, min_freq=1, max_vocab=5) == 2 + 3
    assert explore.vocab_size(counts, min_freq=5, max_vocab=100) == 0  # nothing left: fitting refuses


def test_marked_pieces_rebuild_the_text_and_mark_unknown_and_cut_tokens():
    encoder = Encoder.fit(TEXTS, max_vocab=6)  # keeps good, the, film
    text = "The film was GOOD, truly."
    pieces = explore.marked(encoder, text, fix_length=4)
    assert "".join(p for p, _ in pieces) == text
    tokens = [(p, k) for p, k in pieces if k >= 0]
    assert tokens == [("The", 0), ("film", 1), ("was", 2), ("GOOD", 1), (",", 3), ("truly", 3), (".", 3)]


def test_vocabulary_view_by_hand():
    encoder = Encoder.fit(TEXTS, max_vocab=6, min_freq=1)  # good, the, film (first seen of the 2s)
    view = explore.vocabulary_view(encoder, TEXTS, ["the plot was good"])
    assert view.size == 6 and view.total == 13 and len(view.ranked) == 7
    assert view.known == {"good", "the", "film"}
    assert view.coverage == pytest.approx(8 / 13) == pytest.approx(encoder.coverage)
    assert view.valid_oov == pytest.approx(2 / 4)  # plot, was
    assert view.coverage_of_top(1) == pytest.approx(4 / 13)
    row = view.min_freqs.index(2)
    col = view.max_vocabs.index(6)
    assert view.sizes[row][col] == 3 + 3 and view.coverages[row][col] == pytest.approx(8 / 13)
    assert view.sizes[view.min_freqs.index(1)][-1] == 7 + 3


def test_histogram_counts_every_value_once():
    values = [1, 2, 2, 3, 10, 40]
    counts, edges = explore.histogram(values, bins=5)
    assert counts.sum() == len(values)
    assert edges[0] <= 1 and edges[-1] > 40


class BagOfWeights:
    """logits = sum of each token's row of W: a model whose probabilities are easy to compute by hand."""

    def __init__(self, table):
        import torch

        self.w = torch.tensor(table, dtype=torch.float)

    def __call__(self, tokens, lengths):
        mask = (tokens != 0).float().unsqueeze(-1)
        return (self.w[tokens] * mask).sum(1)


def softmax(logits):
    e = [math.exp(v) for v in logits]
    return [v / sum(e) for v in e]


def test_occlusion_is_the_drop_of_the_predicted_class_by_hand():
    # ids: 0 pad, 1 unk, 2 "good", 3 "not", 4 "film"; classes (neg, pos)
    table = [[0, 0], [0, 0], [0, 2.0], [1.5, 0], [0.1, 0.2]]
    predict = explore.classifier_predictor(BagOfWeights(table))
    probs, contrib = explore.occlusion(predict, [3, 2, 4], unk_id=1)
    full = softmax([1.5 + 0.1, 2.0 + 0.2])  # pos wins
    assert probs == pytest.approx(full, abs=1e-6)
    without_not = softmax([0.1, 2.2])[1]
    without_good = softmax([1.6, 0.2])[1]
    without_film = softmax([1.5, 2.0])[1]
    assert contrib == pytest.approx([full[1] - without_not, full[1] - without_good, full[1] - without_film], abs=1e-6)
    assert contrib[1] > 0 > contrib[0]  # "good" speaks for pos, "not" against it


def test_fixed_length_predictor_pads_and_cuts():
    table = [[0, 0], [0, 0], [0, 2.0], [1.5, 0], [0.1, 0.2]]
    predict = explore.classifier_predictor(BagOfWeights(table), fix_length=2)
    # the third token is cut: only "not good" is read
    assert predict([[3, 2, 4]])[0] == pytest.approx(softmax([1.5, 2.0]), abs=1e-6)


def test_neighbours_and_analogy_by_cosine():
    itos = ["<pad>", "<unk>", "<eos>", "king", "queen", "man", "woman", "apple"]
    w = np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0],
                  [1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1], [-1, 0, 0]], dtype=float)
    near = explore.neighbours(w, itos, "king", k=2)
    assert [t for t, _ in near] == ["man", "queen"]
    assert near[0][1] == pytest.approx(1 / math.sqrt(2))
    assert explore.analogy(w, itos, "king", "man", "woman", k=1)[0][0] == "queen"
    with pytest.raises(KeyError, match="'pear' is not in the vocabulary"):
        explore.neighbours(w, itos, "pear")


def test_pca_projection_keeps_the_most_frequent_words():
    rng = np.random.default_rng(0)
    itos = ["<pad>", "<unk>", "<eos>"] + [f"w{i}" for i in range(20)]
    w = rng.normal(size=(len(itos), 8))
    counts = {f"w{i}": 100 - i for i in range(20)}
    words, points = explore.projection(w, itos, counts, top=5)
    assert words == ["w0", "w1", "w2", "w3", "w4"]
    assert points.shape == (5, 2)
    # PCA keeps the pairwise distances' largest share: the first axis has the largest spread
    assert points[:, 0].var() >= points[:, 1].var()


def test_size_ladder_shows_the_sizes_that_matter():
    # 146 distinct tokens: 50 and 100 cut the vocabulary, 200 keeps it all; the current setting stays
    assert explore.size_ladder(146, 10000) == [50, 100, 200, 10000]
    many = explore.size_ladder(80_000, 10000, columns=6)
    assert many[-1] == 100_000 and 10000 in many and len(many) <= 6
