"""Batches of text: padded classification batches and the language model's stream of windows."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import DataLoader

from dlstudio_text.batching import classification_bundle, encode_stream, language_model_bundle, unigram_perplexity
from dlstudio_text.tokens import Encoder
from tests.fixture_plugins.kinds_plugin import WindowStream as ReferenceWindows

TRAIN = [("good film", 1), ("not a good film at all , sadly", 0), ("bad", 0), ("a really really good one", 1)]
VALID = [("good but boring film", 0), ("zebra", 1)]
CLASSES = ("neg", "pos")


@pytest.fixture
def encoder():
    return Encoder.fit([text for text, _ in TRAIN])


def _batch(bundle, indices):
    return bundle.collate([bundle.train[i] for i in indices])


def test_variable_length_pads_each_batch_to_its_longest_text(encoder):
    bundle = classification_bundle(TRAIN, VALID, CLASSES, encoder)
    tokens, lengths, labels = _batch(bundle, [0, 1, 2])
    assert tokens.shape == (3, 8) and tokens.dtype == torch.long
    assert lengths.tolist() == [2, 8, 1]
    assert labels.tolist() == [1, 0, 0]
    for row, (text, _) in enumerate(TRAIN[:3]):  # in the given order: nothing is sorted
        ids = encoder.encode(text)
        assert tokens[row, : len(ids)].tolist() == ids
        assert (tokens[row, len(ids):] == encoder.pad_id).all()
    tokens, lengths, _ = _batch(bundle, [2, 0])
    assert tokens.shape == (2, 2) and lengths.tolist() == [1, 2]
    assert bundle.info.input_shape == (8,)  # the longest training text
    assert bundle.info.input_kind == "tokens" and bundle.info.classes == CLASSES


def test_fix_length_pads_and_truncates_every_text(encoder):
    bundle = classification_bundle(TRAIN, VALID, CLASSES, encoder, fix_length=4)
    tokens, lengths, _ = _batch(bundle, [0, 1, 2])
    assert tokens.shape == (3, 4)
    assert lengths.tolist() == [2, 4, 1]
    assert tokens[1].tolist() == encoder.encode(TRAIN[1][0])[:4]
    assert tokens[0].tolist() == [*encoder.encode("good film"), 0, 0]
    assert bundle.info.input_shape == (4,) and bundle.info.extra["fix_length"] == 4
    assert any("reach fix_length 4" in m for m in bundle.messages)


def test_a_loader_yields_the_three_tensors(encoder):
    bundle = classification_bundle(TRAIN, VALID, CLASSES, encoder)
    loader = DataLoader(bundle.valid, batch_size=2, collate_fn=bundle.collate)
    tokens, lengths, labels = next(iter(loader))
    assert tokens.tolist() == [encoder.encode("good but boring film"), [1, 0, 0, 0]]  # "zebra" is unknown
    assert lengths.tolist() == [4, 1] and labels.tolist() == [0, 1]
    packed = torch.nn.utils.rnn.pack_padded_sequence(tokens, lengths, batch_first=True, enforce_sorted=False)
    assert packed.data.numel() == 5


def test_the_bundle_carries_an_encoder_that_encodes_new_text_alike(encoder):
    bundle = classification_bundle(TRAIN, VALID, CLASSES, encoder)
    saved = Encoder.from_json(bundle.info.extra["encoder"])
    assert saved.encode("a good zebra") == encoder.encode("a good zebra")
    assert bundle.info.extra["vocab_size"] == encoder.vocab_size and bundle.info.extra["pad_id"] == 0
    assert bundle.valid.texts == ["good but boring film", "zebra"]
    # validation: "good but boring film" + "zebra": but, boring, zebra unknown of 5 tokens
    assert "out of vocabulary: 60.0% of the validation tokens (3 of 5)" in " ".join(bundle.messages)


def test_an_empty_text_is_one_padding_token(encoder):
    bundle = classification_bundle([*TRAIN, ("   ", 1)], VALID, CLASSES, encoder)
    tokens, lengths, _ = _batch(bundle, [4, 2])
    assert lengths.tolist() == [1, 1] and tokens[0].tolist() == [0]
    assert any("1 training text has no token" in m for m in bundle.messages)


def test_bad_labels_and_classes_are_refused(encoder):
    with pytest.raises(ValueError, match=r"training text 2: label 2 is not a class index from 0 to 1"):
        classification_bundle([("good", 0), ("bad", 2)], VALID, CLASSES, encoder)
    with pytest.raises(ValueError, match="two classes or more"):
        classification_bundle(TRAIN, VALID, ("pos",), encoder)


# -- language model --------------------------------------------------------------------------------------
CORPUS = "\n".join(f"line {i} says word{i % 7} and word{i % 5} ." for i in range(60))


def test_the_stream_puts_eos_after_every_line():
    encoder = Encoder.fit(["a b c"])
    a, b, c = (encoder.stoi[t] for t in "abc")
    assert encode_stream("a b\n\nc", encoder).tolist() == [a, b, 2, 2, c, 2]


def test_windows_continue_each_other_row_by_row():
    encoder = Encoder.fit([CORPUS])
    batch, bptt = 4, 6
    bundle = language_model_bundle(CORPUS, CORPUS[:400], encoder, batch_size=batch, bptt=bptt)
    assert bundle.batched and not bundle.shuffle
    windows = list(bundle.train)
    stream = encode_stream(CORPUS, encoder)
    columns = stream.numel() // batch
    rows = stream[: columns * batch].view(batch, columns)  # the book's batchify, written out
    assert all(w.shape == (batch, bptt + 1) for w in windows[:-1])
    for before, after in itertools.pairwise(windows):
        assert torch.equal(before[:, -1], after[:, 0])  # the last target is the next window's first input
    joined = torch.cat([windows[0]] + [w[:, 1:] for w in windows[1:]], dim=1)
    assert torch.equal(joined, rows)
    reference = list(ReferenceWindows(stream, batch, bptt))
    assert len(windows) == len(reference) == len(bundle.train)
    assert all(torch.equal(x, y) for x, y in zip(windows, reference, strict=True))
    assert bundle.info.input_shape == (bptt,) and bundle.info.extra["bptt"] == bptt
    assert len(list(bundle.valid)) == len(bundle.valid)


def test_a_stream_too_short_for_the_batch_says_so():
    encoder = Encoder.fit([CORPUS])
    with pytest.raises(ValueError, match="the validation text has 3 tokens: too few for 20 columns"):
        language_model_bundle(CORPUS, "line 1", encoder, batch_size=20, bptt=5)
    bundle = language_model_bundle(CORPUS, "", encoder, batch_size=4, bptt=5)
    assert bundle.valid is None


def test_the_unigram_baseline():
    # counts 2, 2, 0, 0 + 1 each: p = 3/8 for ids 0 and 1, so perplexity 8/3 on a stream of them
    assert unigram_perplexity(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1]), 4) == pytest.approx(8 / 3)
    encoder = Encoder.fit([CORPUS])
    bundle = language_model_bundle(CORPUS, CORPUS, encoder, batch_size=2, bptt=5)
    assert 1 < bundle.info.extra["unigram_perplexity"] < encoder.vocab_size
