"""Language models: ``model(tokens, state) -> (logits, state)``, tokens a LongTensor (batch, steps), logits
(batch, steps, vocabulary). The task carries ``state`` from window to window (truncated BPTT).

``RNNModel`` is the book's (chapter 7, after PyTorch's word-language-model example); ``TransformerLM`` a
small causal Transformer, which carries nothing: each window is read on its own (``stateful = False``), and
generation feeds it the last ``context`` tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio_text.models.common import check_length, vocab_size


class RNNModel(nn.Module):
    """Embedding → dropout → LSTM (or GRU) → dropout → linear, the decoder's weights tied to the embedding's
    (Press & Wolf 2016; Inan et al. 2016), initialised uniform(−0.1, 0.1) as in the book."""

    stateful = True

    def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float = 0.2,
                 tie_weights: bool = True, cell: str = "lstm") -> None:
        super().__init__()
        if tie_weights and ninp != nhid:
            raise ValueError(f"tied weights need embedding_dim equal to hidden (got {ninp} and {nhid}): the "
                             "decoder reuses the embedding matrix; set them equal or turn tie_weights off")
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(ninp, nhid, nlayers, dropout=dropout if nlayers > 1 else 0.0, batch_first=True)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight  # one tensor: embedding and output share storage
        self.init_weights()

    def init_weights(self) -> None:
        init_range = 0.1
        nn.init.uniform_(self.encoder.weight, -init_range, init_range)
        nn.init.zeros_(self.decoder.bias)
        if self.decoder.weight is not self.encoder.weight:
            nn.init.uniform_(self.decoder.weight, -init_range, init_range)

    def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        output, state = self.rnn(self.drop(self.encoder(tokens)), state)
        return self.decoder(self.drop(output)), state


class TransformerLM(nn.Module):
    """Token and learned position embeddings, pre-norm Transformer layers under a causal mask, layer norm and
    a linear decoder (tied to the embedding when asked). Reads at most ``context`` tokens at once."""

    stateful = False

    def __init__(self, ntoken: int, width: int, heads: int, layers: int, feedforward: int, dropout: float,
                 context: int, tie_weights: bool = True) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"embedding_dim {width} does not split into {heads} attention heads: choose an "
                             "embedding_dim divisible by heads")
        self.context = context
        self.scale = math.sqrt(width)
        self.encoder = nn.Embedding(ntoken, width)
        self.position = nn.Embedding(context, width)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(width, heads, feedforward, dropout, batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.decoder = nn.Linear(width, ntoken)
        nn.init.normal_(self.encoder.weight, std=width ** -0.5)
        if tie_weights:
            self.decoder.weight = self.encoder.weight

    def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, None]:
        steps = tokens.shape[1]
        check_length(steps, self.context, "context")
        positions = torch.arange(steps, device=tokens.device)
        x = self.drop(self.encoder(tokens) * self.scale + self.position(positions)[None])
        mask = nn.Transformer.generate_square_subsequent_mask(steps, device=tokens.device, dtype=x.dtype)
        h = self.layers(x, mask=mask, is_causal=True)
        return self.decoder(self.norm(h)), None


def build_rnn_lm(params: Mapping[str, Any], info: DataInfo) -> RNNModel:
    return RNNModel(vocab_size(info), params["embedding_dim"], params["hidden"], params["layers"],
                    params["dropout"], params["tie_weights"], params["cell"])


def build_transformer_lm(params: Mapping[str, Any], info: DataInfo) -> TransformerLM:
    return TransformerLM(vocab_size(info), params["embedding_dim"], params["heads"], params["layers"],
                         params["feedforward"], params["dropout"], params["context"], params["tie_weights"])
