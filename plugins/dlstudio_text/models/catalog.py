"""The text models' ModelSpecs: the book's classifiers (EmbNet, IMDBRnn, IMDBCnn) and language model
(RNNModel), a bidirectional LSTM/GRU, and small Transformers.

Describing them imports no torch: builders import their module when called, and the parameter counts shown
in each description come from :func:`count_parameters` (arithmetic on the parameters; a test checks it
against the built models).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dlstudio.contract import DataInfo, ModelSpec
from dlstudio.params import Param, param_defaults

if TYPE_CHECKING:
    from torch import nn

CLASSIFY = ("text-classification",)
LANGUAGE_MODEL = ("language-model",)
VOCAB = 10_000

VECTORS_FILTER = "Word vectors (*.txt *.vec);;All files (*)"


def _embedding(dim: int) -> dict[str, Param]:
    return {
        "embedding_dim": Param(dim, minimum=1, maximum=4096, unit="dims",
                               help="Size of each token's vector. Ignored when a vectors file is given: "
                                    "its dimension is used."),
        "vectors": Param("", kind="file", file_filter=VECTORS_FILTER,
                         help="Pretrained vectors (GloVe, word2vec text or fastText .vec) to start the "
                              "embedding from; empty: learned from scratch."),
        "freeze_embeddings": Param(False, help="Keep the embedding fixed (left out of the optimiser, as the "
                                               "book does with GloVe)."),
    }


def _dropout(value: float) -> Param:
    return Param(value, minimum=0.0, maximum=0.9, help="Share of the units dropped while training.")


CLASSIFIER_PARAMS: dict[str, dict[str, Any]] = {
    "text.embnet": _embedding(10),
    "text.imdb_rnn": {
        **_embedding(100),
        "hidden": Param(100, minimum=1, maximum=4096, help="Units in each LSTM layer."),
        "layers": Param(2, minimum=1, maximum=8, help="Stacked LSTM layers."),
        "dropout": _dropout(0.3),
        "pack": Param(True, help="Read each text to its own length (packed sequences); off: read the padded "
                                 "length and take the last position, as the book did."),
    },
    "text.imdb_cnn": {
        **_embedding(100),
        "channels": Param(100, minimum=1, maximum=4096, help="Filters of the convolution."),
        "kernel_size": Param(3, choices=[3, 5, 7], unit="tokens", help="Tokens each filter sees at once."),
        "bins": Param(10, minimum=1, maximum=100, help="Output length of the adaptive average pool (book: 10)."),
        "dropout": _dropout(0.2),
    },
    "text.rnn": {
        **_embedding(100),
        "cell": Param("lstm", choices=["lstm", "gru"], help="Recurrent cell."),
        "hidden": Param(128, minimum=1, maximum=4096, help="Units in each layer and direction."),
        "layers": Param(1, minimum=1, maximum=8, help="Stacked recurrent layers."),
        "bidirectional": Param(True, help="Read the text both ways and join both final states."),
        "dropout": _dropout(0.3),
    },
    "text.transformer": {
        **_embedding(128),
        "heads": Param(4, minimum=1, maximum=64, help="Attention heads; must divide the embedding size."),
        "layers": Param(2, minimum=1, maximum=24, help="Encoder layers."),
        "feedforward": Param(256, minimum=1, maximum=16384, help="Width of each layer's feed-forward block."),
        "dropout": _dropout(0.1),
        "max_length": Param(512, minimum=1, maximum=8192, unit="tokens",
                            help="Longest text the position embedding covers."),
    },
}

LM_PARAMS: dict[str, dict[str, Any]] = {
    "text.rnn_lm": {
        "embedding_dim": Param(200, minimum=1, maximum=4096, unit="dims", help="Size of each token's vector."),
        "hidden": Param(200, minimum=1, maximum=4096, help="Units in each layer (equal to embedding_dim when "
                                                           "the weights are tied)."),
        "layers": Param(2, minimum=1, maximum=8, help="Stacked recurrent layers."),
        "dropout": _dropout(0.2),
        "tie_weights": Param(True, help="Share one matrix between the embedding and the output layer (Press "
                                        "& Wolf 2016): fewer parameters, lower perplexity."),
        "cell": Param("lstm", choices=["lstm", "gru"], help="Recurrent cell."),
    },
    "text.transformer_lm": {
        "embedding_dim": Param(256, minimum=1, maximum=4096, unit="dims", help="Width of the model."),
        "heads": Param(4, minimum=1, maximum=64, help="Attention heads; must divide the embedding size."),
        "layers": Param(2, minimum=1, maximum=24, help="Transformer layers."),
        "feedforward": Param(512, minimum=1, maximum=16384, help="Width of each layer's feed-forward block."),
        "dropout": _dropout(0.1),
        "context": Param(128, minimum=2, maximum=8192, unit="tokens",
                         help="Longest window the model reads; the task's bptt must not exceed it."),
        "tie_weights": Param(True, help="Share one matrix between the embedding and the output layer."),
    },
}


# -- parameter counts without torch -----------------------------------------------------------------------
def _rnn(cell: str, inputs: int, hidden: int, layers: int, directions: int = 1) -> int:
    gates = 4 if cell == "lstm" else 3
    total = 0
    for layer in range(layers):
        width = inputs if layer == 0 else hidden * directions
        total += directions * gates * (width * hidden + hidden * hidden + 2 * hidden)
    return total


def _encoder_layer(width: int, feedforward: int) -> int:
    attention = 3 * width * width + 3 * width + width * width + width
    return attention + 2 * width * feedforward + feedforward + width + 4 * width


def count_parameters(model_id: str, params: Mapping[str, Any], info: DataInfo) -> int:
    """The parameter count of ``model_id`` built with ``params`` for ``info``, without building it (tied
    weights counted once; a vectors file's dimension is not known here: ``embedding_dim`` is used)."""
    p = {**param_defaults({**CLASSIFIER_PARAMS, **LM_PARAMS}[model_id]), **params}
    vocab, classes, emb = int(info.extra.get("vocab_size", VOCAB)), len(info.classes), p["embedding_dim"]
    embedding = vocab * emb
    if model_id == "text.embnet":
        fix = int(info.extra.get("fix_length", 0) or info.input_shape[0])
        return embedding + fix * emb * classes + classes
    if model_id == "text.imdb_rnn":
        return embedding + _rnn("lstm", emb, p["hidden"], p["layers"]) + p["hidden"] * classes + classes
    if model_id == "text.imdb_cnn":
        ch = p["channels"]
        return embedding + emb * ch * p["kernel_size"] + ch + ch * p["bins"] * classes + classes
    if model_id == "text.rnn":
        dirs = 2 if p["bidirectional"] else 1
        return (embedding + _rnn(p["cell"], emb, p["hidden"], p["layers"], dirs)
                + p["hidden"] * dirs * classes + classes)
    if model_id == "text.transformer":
        return (embedding + p["max_length"] * emb + p["layers"] * _encoder_layer(emb, p["feedforward"])
                + 2 * emb + emb * classes + classes)
    if model_id == "text.rnn_lm":
        decoder = (0 if p["tie_weights"] else p["hidden"] * vocab) + vocab
        return embedding + _rnn(p["cell"], emb, p["hidden"], p["layers"]) + decoder
    if model_id == "text.transformer_lm":
        decoder = (0 if p["tie_weights"] else emb * vocab) + vocab
        return (embedding + p["context"] * emb + p["layers"] * _encoder_layer(emb, p["feedforward"])
                + 2 * emb + decoder)
    raise KeyError(model_id)


# -- builders: the heavy modules are imported when a model is built --------------------------------------
def _build(name: str, params: Mapping[str, Any], info: DataInfo) -> nn.Module:
    if name in {"build_rnn_lm", "build_transformer_lm"}:
        from dlstudio_text.models import lm as module
    else:
        from dlstudio_text.models import classifiers as module
    return getattr(module, name)(params, info)


def _builder(name: str):
    def build(params: Mapping[str, Any], info: DataInfo) -> nn.Module:
        return _build(name, params, info)

    build.__name__ = name
    return build


def _classifier_data(fix_length: int) -> DataInfo:
    return DataInfo((fix_length or 200,), ("neg", "pos"), "tokens",
                    {"vocab_size": VOCAB, "pad_id": 0, "fix_length": fix_length})


LM_DATA = DataInfo((35,), (), "tokens", {"vocab_size": VOCAB, "pad_id": 0, "bptt": 35})


def _described(model_id: str, text: str, data: DataInfo) -> str:
    count = count_parameters(model_id, {}, data)
    vocab = data.extra["vocab_size"]
    where = (f"{vocab:,} words, {len(data.classes)} classes" if data.classes else f"{vocab:,} words")
    return f"{text} {count:,} parameters with the defaults ({where})."


def model_specs() -> list[ModelSpec]:
    fixed, variable = _classifier_data(20), _classifier_data(0)
    rows = [
        ("text.embnet", "EmbNet: bag of embeddings (book)", "build_embnet", fixed,
         "Chapter 6's EmbNet: the embeddings of fix_length positions, flattened, into one linear layer. Needs "
         "the dataset's fix_length; blind to how words combine ('not bad')."),
        ("text.imdb_rnn", "IMDBRnn: LSTM (book)", "build_imdb_rnn", variable,
         "Chapter 6's IMDBRnn: a 2-layer LSTM, its state after each text's last real token (packed "
         "sequences), dropout, a linear layer."),
        ("text.imdb_cnn", "IMDBCnn: Conv1d (book)", "build_imdb_cnn", variable,
         "Chapter 6's IMDBCnn with the convolution sliding along the text (embedding dimensions as channels, "
         "not the book's positions), ReLU, adaptive average pool to 10, a linear layer."),
        ("text.rnn", "Bidirectional LSTM/GRU", "build_recurrent", variable,
         "An LSTM or GRU reading the text both ways; both final states into a linear layer."),
        ("text.transformer", "Transformer encoder", "build_transformer", variable,
         "A small Transformer encoder with learned positions, padding masked; the mean of the tokens' "
         "outputs into a linear layer."),
    ]
    specs = [ModelSpec(id=model_id, title=title, build=_builder(builder), family="text", tasks=CLASSIFY,
                       defaults=CLASSIFIER_PARAMS[model_id], description=_described(model_id, text, data),
                       default_data=data)
             for model_id, title, builder, data, text in rows]
    lms = [
        ("text.rnn_lm", "RNNModel: LSTM language model (book)", "build_rnn_lm",
         "Chapter 7's RNNModel: embedding, dropout, a 2-layer LSTM, dropout, a linear decoder tied to the "
         "embedding; uniform(-0.1, 0.1) initialisation."),
        ("text.transformer_lm", "Transformer language model", "build_transformer_lm",
         "A small causal Transformer (GPT-style, pre-norm) reading up to 'context' tokens; decoder tied to "
         "the embedding."),
    ]
    specs += [ModelSpec(id=model_id, title=title, build=_builder(builder), family="text", tasks=LANGUAGE_MODEL,
                        defaults=LM_PARAMS[model_id], description=_described(model_id, text, LM_DATA),
                        default_data=LM_DATA)
              for model_id, title, builder, text in lms]
    return specs
