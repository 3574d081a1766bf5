"""What the text models share: the vocabulary read from ``DataInfo.extra``, the embedding layer (trained, or
pretrained vectors frozen or fine-tuned), final RNN states over each text's real tokens (packed sequences),
masks from lengths, and parameter counts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from dlstudio.contract import DataInfo


def vocab_size(info: DataInfo) -> int:
    """The vocabulary's size the dataset's encoder was fitted to (``extra["vocab_size"]``)."""
    try:
        return int(info.extra["vocab_size"])
    except KeyError:
        raise ValueError("this model needs a text dataset: the data gives no vocabulary size "
                         "(DataInfo.extra['vocab_size']); choose one of the text datasets") from None


def pad_id(info: DataInfo) -> int:
    return int(info.extra.get("pad_id", 0))


def num_classes(info: DataInfo) -> int:
    if len(info.classes) < 2:
        raise ValueError(f"a classifier needs at least two classes; the data has {len(info.classes)}"
                         + (f" ({info.classes[0]!r})" if info.classes else ""))
    return len(info.classes)


def make_embedding(params: Mapping[str, Any], info: DataInfo) -> nn.Embedding:
    """``nn.Embedding(vocab, dim)`` with the pad row zero (and kept zero); from ``params["vectors"]`` (a
    GloVe/word2vec/fastText ``.vec`` file, its dimension then used) when one is named, frozen when
    ``params["freeze_embeddings"]``: a frozen embedding is left out of the optimiser, as in the book."""
    n, pad = vocab_size(info), pad_id(info)
    path = str(params.get("vectors", "") or "")
    if path:
        weights, coverage = pretrained_weights(path, info)
        embedding = nn.Embedding(n, weights.shape[1], padding_idx=pad)
        with torch.no_grad():
            embedding.weight.copy_(weights)
            embedding.weight[pad].zero_()
        embedding.coverage = coverage  # share of the vocabulary the file had a vector for
    else:
        embedding = nn.Embedding(n, int(params["embedding_dim"]), padding_idx=pad)
    if params.get("freeze_embeddings", False):
        embedding.weight.requires_grad_(False)
    return embedding


def pretrained_weights(path: str, info: DataInfo) -> tuple[torch.Tensor, float]:
    """The rows of a vectors file for the dataset's vocabulary, and the share of it that was found."""
    from dlstudio_text.embeddings import read_vectors
    from dlstudio_text.tokens import Encoder

    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"vectors file {file} not found: put a GloVe/word2vec/fastText text file there "
                         "(glove.6B.zip from https://nlp.stanford.edu/projects/glove/, unzipped), or leave "
                         "'vectors' empty to train the embedding from scratch")
    if "encoder" not in info.extra:
        raise ValueError("pretrained vectors need the dataset's vocabulary (DataInfo.extra['encoder'])")
    vectors = read_vectors(file, Encoder.from_json(info.extra["encoder"]))
    weights = torch.as_tensor(vectors.weights, dtype=torch.float32)
    if weights.shape[0] != vocab_size(info):
        raise ValueError(f"{file}: {weights.shape[0]} rows read for a vocabulary of {vocab_size(info)} tokens")
    return weights, float(vectors.coverage)


def final_states(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """``h_n`` (layers × directions, batch, hidden) of ``rnn`` over ``x`` (batch-first), each sequence read to
    its own length: packed when some are shorter than the padded batch, so padding never reaches the state."""
    steps = x.shape[1]
    if lengths is not None:
        lengths = lengths.to("cpu").clamp(1, steps)  # packing wants the lengths on the CPU
        if bool((lengths < steps).any()):
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, state = rnn(packed)  # with enforce_sorted=False, states come back in the batch's own order
            return state[0] if isinstance(state, tuple) else state
    _, state = rnn(x)
    return state[0] if isinstance(state, tuple) else state


def top_final_state(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """The top layer's final state of each direction, ``(directions, batch, hidden)``, each sequence read to its
    own length.

    A one-directional RNN is causal: its output at a text's last real token does not depend on the padding
    after it. So it runs once over the padded batch and that output is picked out: the same numbers as
    packing, without its cost (packed batches took 2.7× a padded batch's time on this 2-core CPU). The
    backward direction of a bidirectional RNN starts at the end, so padding would reach it: that case is packed.
    """
    if rnn.bidirectional or lengths is None:
        return final_states(rnn, x, lengths)[-(2 if rnn.bidirectional else 1):]
    output, _ = rnn(x)
    last = lengths.to(output.device).clamp(1, x.shape[1]) - 1
    return output[torch.arange(output.shape[0], device=output.device), last][None]


def padding_mask(lengths: torch.Tensor, steps: int, device: torch.device) -> torch.Tensor:
    """``True`` at the padding positions of each row (what attention must ignore)."""
    lengths = lengths.to(device).clamp(1, steps)
    return torch.arange(steps, device=device)[None, :] >= lengths[:, None]


def check_length(steps: int, limit: int, what: str) -> None:
    if steps > limit:
        raise ValueError(f"the text has {steps} tokens, longer than the {limit} this model was built for "
                         f"({what}); cut the text, or train a model with a longer {what}")


def parameter_count(model: nn.Module, *, trainable: bool = False) -> int:
    """Parameters of ``model`` (tied weights counted once); with ``trainable``, those the optimiser updates."""
    seen: set[int] = set()
    total = 0
    for parameter in model.parameters():  # .parameters() already yields a shared tensor once
        if id(parameter) in seen or (trainable and not parameter.requires_grad):
            continue
        seen.add(id(parameter))
        total += parameter.numel()
    return total
