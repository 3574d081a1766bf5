"""The text models: shapes, padding that never changes a prediction, the book's constraints (EmbNet's fixed
length, tied weights), parameter counts, and frozen embeddings."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio.params import param_defaults
from dlstudio_text.models import catalog, classifiers, lm
from dlstudio_text.models.common import parameter_count

VOCAB = 50


def info(fix_length: int = 0, classes=("neg", "pos")) -> DataInfo:
    return DataInfo((fix_length or 12,), tuple(classes), "tokens",
                    {"vocab_size": VOCAB, "pad_id": 0, "fix_length": fix_length})


def build(model_id: str, data: DataInfo | None = None, **params) -> nn.Module:
    spec = {s.id: s for s in catalog.model_specs()}[model_id]
    torch.manual_seed(0)
    model = spec.build({**param_defaults(spec.defaults), **params}, data or info())
    return model.eval()


def padded(texts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, texts))
    tokens = torch.zeros(len(texts), width, dtype=torch.long)
    for row, ids in enumerate(texts):
        tokens[row, : len(ids)] = torch.tensor(ids)
    return tokens, torch.tensor([len(ids) for ids in texts])


TEXTS = [[5, 9, 13, 7, 22, 31, 4, 8, 17, 3], [11, 6, 40], [7, 7, 9, 21, 30, 12]]


@pytest.mark.parametrize("model_id,params", [
    ("text.imdb_rnn", {}),
    ("text.rnn", {"cell": "lstm", "bidirectional": True, "layers": 2}),
    ("text.rnn", {"cell": "gru", "bidirectional": True}),
    ("text.rnn", {"cell": "gru", "bidirectional": False}),
    ("text.imdb_cnn", {"kernel_size": 5, "bins": 4}),
    ("text.transformer", {"embedding_dim": 16, "heads": 2, "feedforward": 32}),
])
def test_a_padded_text_gets_the_logits_it_gets_alone(model_id, params):
    model = build(model_id, **params)
    tokens, lengths = padded(TEXTS)
    with torch.no_grad():
        batch = model(tokens, lengths)
        for row, ids in enumerate(TEXTS):
            alone = model(torch.tensor([ids]), torch.tensor([len(ids)]))
            assert torch.allclose(batch[row], alone[0], atol=1e-5), (row, batch[row], alone[0])
    assert batch.shape == (3, 2)


def test_the_convolution_pools_each_text_as_torch_pools_it_alone():
    # The independent reference: nn.AdaptiveAvgPool1d on each text's own features, unpadded.
    features = torch.randn(3, 4, 11)
    lengths = torch.tensor([11, 3, 7])
    pooled = classifiers.pool_lengths(features, lengths, 5)
    for row, n in enumerate(lengths.tolist()):
        assert torch.allclose(pooled[row], nn.AdaptiveAvgPool1d(5)(features[row : row + 1, :, :n])[0], atol=1e-6)


def test_the_book_lstm_without_packing_reads_the_padding():
    packed, book = build("text.imdb_rnn", pack=True), build("text.imdb_rnn", pack=False)
    tokens, lengths = padded(TEXTS)
    with torch.no_grad():
        short_alone = packed(torch.tensor([TEXTS[1]]), None)[0]
        assert torch.allclose(packed(tokens, lengths)[1], short_alone, atol=1e-5)
        assert not torch.allclose(book(tokens, lengths)[1], short_alone, atol=1e-3)


def test_embnet_needs_a_fixed_length_and_refuses_longer_texts():
    with pytest.raises(ValueError, match=r"EmbNet .* needs fixed-length texts: set the dataset's fix_length"):
        build("text.embnet", info(fix_length=0))
    model = build("text.embnet", info(fix_length=8))
    assert model.fc.in_features == 8 * 10  # fix_length × embedding_dim, flattened as in the book
    with pytest.raises(ValueError, match="10 tokens, longer than the 8 this model was built for"):
        model(torch.ones(2, 10, dtype=torch.long))
    short = torch.tensor([[4, 5, 6]])
    with torch.no_grad():  # a shorter text is padded as the dataset pads it
        assert torch.equal(model(short), model(torch.tensor([[4, 5, 6, 0, 0, 0, 0, 0]])))


def test_the_transformer_refuses_texts_longer_than_its_positions():
    model = build("text.transformer", embedding_dim=8, heads=2, max_length=6)
    with pytest.raises(ValueError, match="7 tokens, longer than the 6 this model was built for"):
        model(torch.ones(1, 7, dtype=torch.long), torch.tensor([7]))
    with pytest.raises(ValueError, match="do not split into 3 attention heads"):
        build("text.transformer", embedding_dim=8, heads=3)


def test_a_classifier_needs_two_classes():
    with pytest.raises(ValueError, match="at least two classes; the data has 1 \\('pos'\\)"):
        build("text.imdb_rnn", info(classes=("pos",)))


@pytest.mark.parametrize("spec", catalog.model_specs(), ids=lambda s: s.id)
def test_the_parameter_counts_shown_are_the_built_models(spec):
    model = spec.build(param_defaults(spec.defaults), spec.default_data)
    count = parameter_count(model)
    assert count == sum(p.numel() for p in set(model.parameters()))  # torch's own count, tied weights once
    assert f"{count:,} parameters" in spec.description


@pytest.mark.parametrize("model_id,params", [
    ("text.rnn", {"cell": "gru", "layers": 3, "bidirectional": True}),
    ("text.rnn_lm", {"tie_weights": False, "hidden": 30, "cell": "gru"}),
    ("text.transformer_lm", {"tie_weights": False, "embedding_dim": 16, "heads": 4, "context": 9}),
    ("text.imdb_cnn", {"kernel_size": 7, "channels": 9, "bins": 3}),
])
def test_the_counting_formula_matches_other_settings(model_id, params):
    data = info()
    model = build(model_id, data, **params)
    assert catalog.count_parameters(model_id, params, data) == sum(p.numel() for p in set(model.parameters()))


def test_registering_the_models_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys; from dlstudio_text.models.catalog import model_specs; model_specs(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- language models ---------------------------------------------------------------------------------------
def test_rnn_lm_ties_its_weights_to_one_storage_through_training_and_loading():
    model = lm.RNNModel(VOCAB, 16, 16, 2, dropout=0.0, tie_weights=True)
    assert model.decoder.weight.data_ptr() == model.encoder.weight.data_ptr()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    tokens = torch.randint(0, VOCAB, (4, 9))
    logits, _ = model(tokens[:, :-1])
    nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten()).backward()
    optimizer.step()
    assert torch.equal(model.decoder.weight, model.encoder.weight)
    # A checkpoint holds both names as independent copies (safetensors refuses shared storage); loading them
    # must keep the model tied.
    state = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = lm.RNNModel(VOCAB, 16, 16, 2, tie_weights=True)
    fresh.load_state_dict(state)
    assert fresh.decoder.weight is fresh.encoder.weight and torch.equal(fresh.encoder.weight, model.encoder.weight)


def test_rnn_lm_refuses_tied_weights_of_two_sizes_and_starts_uniform():
    with pytest.raises(ValueError, match="tied weights need embedding_dim equal to hidden \\(got 200 and 650\\)"):
        lm.RNNModel(VOCAB, 200, 650, 2, tie_weights=True)
    model = lm.RNNModel(1000, 32, 64, 2, tie_weights=False)
    for weight in (model.encoder.weight, model.decoder.weight):
        assert weight.abs().max() <= 0.1 and weight.abs().max() > 0.09  # uniform(-0.1, 0.1), the book's
    assert torch.count_nonzero(model.decoder.bias) == 0


@pytest.mark.parametrize("model_id", ["text.rnn_lm", "text.transformer_lm"])
def test_language_models_return_logits_per_position_and_carry_state(model_id):
    model = build(model_id, DataInfo((8,), (), "tokens", {"vocab_size": VOCAB, "pad_id": 0}),
                  embedding_dim=16, **({"hidden": 16} if model_id == "text.rnn_lm" else {"heads": 2, "context": 8}))
    tokens = torch.randint(0, VOCAB, (3, 8))
    with torch.no_grad():
        logits, _ = model(tokens, None)
        assert logits.shape == (3, 8, VOCAB)
        # Reading in two halves with the state carried equals reading the whole (the RNN); a Transformer
        # is causal: the first half's logits do not depend on the second half.
        first, carried = model(tokens[:, :4], None)
        if model_id == "text.rnn_lm":
            second, _ = model(tokens[:, 4:], carried)
            assert torch.allclose(torch.cat([first, second], 1), logits, atol=1e-5)
        else:
            assert carried is None and torch.allclose(first, logits[:, :4], atol=1e-5)
            with pytest.raises(ValueError, match="longer than the 8 this model was built for \\(context\\)"):
                model(torch.ones(1, 9, dtype=torch.long))


# -- pretrained vectors ------------------------------------------------------------------------------------------
def test_pretrained_vectors_fill_the_embedding_and_frozen_stay_out_of_training(tmp_path):
    from dlstudio_text.tokens import Encoder

    encoder = Encoder.fit(["good film", "bad film", "good plot"], tokenizer="words")
    vectors = tmp_path / "tiny.vec"
    vectors.write_text("2 3\ngood 1 2 3\nfilm 0.5 0.25 -1\n", encoding="utf-8")  # word2vec header: 2 words, 3 dims
    data = DataInfo((0,), ("neg", "pos"), "tokens", {"vocab_size": encoder.vocab_size, "pad_id": 0,
                                                    "fix_length": 0, "encoder": encoder.to_json()})
    model = build("text.imdb_rnn", data, vectors=str(vectors), freeze_embeddings=True, embedding_dim=99)
    weight = model.embedding.weight
    assert weight.shape == (encoder.vocab_size, 3)  # the file's dimension, not embedding_dim
    assert weight[encoder.stoi["good"]].tolist() == [1.0, 2.0, 3.0]
    assert weight[encoder.stoi["film"]].tolist() == [0.5, 0.25, -1.0]
    assert torch.count_nonzero(weight[0]) == 0 and not weight.requires_grad
    assert model.embedding.coverage == pytest.approx(2 / (encoder.vocab_size - 3))
    with pytest.raises(ValueError, match=r"vectors file .*missing.vec not found: .*glove.6B.zip"):
        build("text.imdb_rnn", data, vectors=str(tmp_path / "missing.vec"))
