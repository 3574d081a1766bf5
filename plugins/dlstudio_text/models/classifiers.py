"""Text classifiers: ``model(tokens, lengths) -> logits``, tokens a LongTensor (batch, steps) padded with the
vocabulary's pad id and lengths each text's real token count (``None``: every row is all real tokens).

The book's three (chapter 6): EmbNet, IMDBRnn, IMDBCnn; then a bidirectional LSTM/GRU and a small Transformer
encoder. Padding never changes a prediction of the order-aware models: a padded text gives the logits it gives
alone (recurrent models are packed, the convolution pools each text over its own length, attention masks pads).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio_text.models.common import (
    check_length,
    make_embedding,
    num_classes,
    padding_mask,
    top_final_state,
)


class EmbNet(nn.Module):
    """The book's EmbNet: the embeddings of a fixed number of positions, flattened, into one linear layer.

    A sum of one contribution per (position, word): no word can change what another means ("not bad"), which
    is why it trails the order-aware models. It needs fixed-length texts (the dataset's ``fix_length``)."""

    def __init__(self, embedding: nn.Embedding, fix_length: int, classes: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.fix_length = fix_length
        self.fc = nn.Linear(fix_length * embedding.embedding_dim, classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        steps = tokens.shape[1]
        check_length(steps, self.fix_length, "fix_length")
        if steps < self.fix_length:  # a shorter text (the try-it box) is padded as the dataset pads
            tokens = F.pad(tokens, (0, self.fix_length - steps), value=self.embedding.padding_idx or 0)
        return self.fc(self.embedding(tokens).flatten(1))


class IMDBRnn(nn.Module):
    """The book's IMDBRnn: an LSTM's state after each text's last real token → dropout → linear.

    With ``pack`` (the default) the LSTM reads each text to its own length (packed sequences), so padding
    never reaches the state; without it, it reads the padded length and takes the last position, as the book
    did with fix_length 200 (a short review's state is then mostly padding)."""

    def __init__(self, embedding: nn.Embedding, hidden: int, layers: int, classes: int, dropout: float,
                 pack: bool = True) -> None:
        super().__init__()
        self.embedding = embedding
        self.lstm = nn.LSTM(embedding.embedding_dim, hidden, layers, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, classes)
        self.pack = pack

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = top_final_state(self.lstm, self.embedding(tokens), lengths if self.pack else None)
        return self.fc(self.dropout(h[-1]))


class RecurrentClassifier(nn.Module):
    """A (bidirectional) LSTM or GRU over each text's real tokens; the top layer's final states of both
    directions, concatenated → dropout → linear."""

    def __init__(self, embedding: nn.Embedding, cell: str, hidden: int, layers: int, bidirectional: bool,
                 classes: int, dropout: float) -> None:
        super().__init__()
        self.embedding = embedding
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(embedding.embedding_dim, hidden, layers, batch_first=True, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)
        self.directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden * self.directions, classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = top_final_state(self.rnn, self.embedding(tokens), lengths)
        top = torch.cat(list(h), dim=1)  # forward's end, then backward's (its start)
        return self.fc(self.dropout(top))


class IMDBCnn(nn.Module):
    """The book's IMDBCnn, its convolution turned to slide along the text.

    The book's ``Conv1d(in_channels=fix_length)`` took the 200 positions as channels and slid over the
    embedding's 100 dimensions, which ties the model to one length and mixes unrelated dimensions. Here the
    embedding's dimensions are the channels and the filter slides over positions (n-gram detectors, as
    Kim 2014): it takes any length. A ReLU follows (the book's conv → average → linear is linear in the
    embeddings, so it could not learn that "not" changes "bad"); then ``AdaptiveAvgPool1d(bins)`` — over each
    text's own length when lengths are given — and the book's linear layer on ``channels × bins``."""

    def __init__(self, embedding: nn.Embedding, channels: int, kernel: int, bins: int, classes: int,
                 dropout: float) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel_size must be odd (3, 5, 7), not {kernel}: the text keeps its length")
        self.embedding = embedding
        self.conv = nn.Conv1d(embedding.embedding_dim, channels, kernel, padding=kernel // 2)
        self.bins = bins
        self.pool = nn.AdaptiveAvgPool1d(bins)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels * bins, classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        steps = tokens.shape[1]
        features = F.relu(self.conv(self.embedding(tokens).transpose(1, 2)))  # (batch, channels, steps)
        if lengths is not None and bool((lengths.to("cpu") < steps).any()):
            pooled = pool_lengths(features, lengths, self.bins)
        else:
            pooled = self.pool(features)
        return self.fc(self.dropout(pooled.flatten(1)))


def pool_lengths(features: torch.Tensor, lengths: torch.Tensor, bins: int) -> torch.Tensor:
    """``AdaptiveAvgPool1d(bins)`` of each row over its first ``lengths[i]`` positions only: bin j of a text of
    length L averages positions ⌊jL/bins⌋ to ⌈(j+1)L/bins⌉ − 1, as the pool does on the text alone."""
    steps = features.shape[2]
    length = lengths.to(features.device).clamp(1, steps)[:, None]  # (batch, 1)
    j = torch.arange(bins, device=features.device)[None, :]
    start = (j * length) // bins  # (batch, bins)
    end = ((j + 1) * length + bins - 1) // bins
    t = torch.arange(steps, device=features.device)[None, :, None]  # (1, steps, 1)
    inside = (t >= start[:, None, :]) & (t < end[:, None, :])  # (batch, steps, bins)
    weights = inside.to(features.dtype) / (end - start)[:, None, :].to(features.dtype)
    return torch.bmm(features, weights)


class TransformerClassifier(nn.Module):
    """A small Transformer encoder: token and learned position embeddings, pre-norm encoder layers with the
    padding masked, the mean of the real tokens' outputs → layer norm → linear."""

    def __init__(self, embedding: nn.Embedding, heads: int, layers: int, feedforward: int, dropout: float,
                 max_length: int, classes: int) -> None:
        super().__init__()
        width = embedding.embedding_dim
        if width % heads:
            raise ValueError(f"the embedding's {width} dimensions do not split into {heads} attention heads: "
                             "choose an embedding_dim divisible by heads")
        self.embedding = embedding
        self.max_length = max_length
        self.scale = math.sqrt(width)
        self.position = nn.Embedding(max_length, width)
        layer = nn.TransformerEncoderLayer(width, heads, feedforward, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        steps = tokens.shape[1]
        check_length(steps, self.max_length, "max_length")
        positions = torch.arange(steps, device=tokens.device)
        x = self.embedding(tokens) * self.scale + self.position(positions)[None]
        if lengths is None:
            return self.fc(self.norm(self.encoder(x).mean(1)))
        pad = padding_mask(lengths, steps, tokens.device)
        h = self.encoder(x, src_key_padding_mask=pad)
        real = (~pad).unsqueeze(-1).to(h.dtype)
        return self.fc(self.norm((h * real).sum(1) / real.sum(1)))


# -- builders (ModelSpec.build) ---------------------------------------------------------------------------
def build_embnet(params: Mapping[str, Any], info: DataInfo) -> EmbNet:
    fix_length = int(info.extra.get("fix_length", 0) or 0)
    if fix_length <= 0:
        raise ValueError("EmbNet flattens a fixed number of positions into its linear layer, so it needs "
                         "fixed-length texts: set the dataset's fix_length (the book used 20); variable "
                         "length suits the LSTM, Conv1d and Transformer models")
    return EmbNet(make_embedding(params, info), fix_length, num_classes(info))


def build_imdb_rnn(params: Mapping[str, Any], info: DataInfo) -> IMDBRnn:
    return IMDBRnn(make_embedding(params, info), params["hidden"], params["layers"], num_classes(info),
                   params["dropout"], params["pack"])


def build_imdb_cnn(params: Mapping[str, Any], info: DataInfo) -> IMDBCnn:
    return IMDBCnn(make_embedding(params, info), params["channels"], params["kernel_size"], params["bins"],
                   num_classes(info), params["dropout"])


def build_recurrent(params: Mapping[str, Any], info: DataInfo) -> RecurrentClassifier:
    return RecurrentClassifier(make_embedding(params, info), params["cell"], params["hidden"], params["layers"],
                               params["bidirectional"], num_classes(info), params["dropout"])


def build_transformer(params: Mapping[str, Any], info: DataInfo) -> TransformerClassifier:
    return TransformerClassifier(make_embedding(params, info), params["heads"], params["layers"],
                                 params["feedforward"], params["dropout"], params["max_length"], num_classes(info))
