"""Attribution over tokens: how much each token of a text moves a class score, by Captum's Integrated Gradients.

Token ids are integers, so gradients cannot reach them; Integrated Gradients is taken at the model's embedding
layer instead (Captum's ``LayerIntegratedGradients``): the path runs from the padding token's embedding at every
position (the "no text" baseline) to the text's embeddings, and each position's attribution is summed over the
embedding dimension, giving one signed score per token (positive: for the class, negative: against it). The
scores add up to ``score(text) - score(all padding)`` (IG's completeness); Captum's convergence delta is how far
the numerical path integral is from that, and is reported with the result.

Any model taking a (batch, steps) LongTensor of token ids as its first argument works: the embedding is found as
the first ``nn.Embedding`` module, never by importing the plugin that built the model.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio.contract import DataInfo
from dlstudio_inspector.common import InspectorError, first_tensor


@dataclass
class TokenAttribution:
    #: The token ids of the text, in order.
    ids: list[int]
    #: What each token reads as (from the data's vocabulary; "#id" when there is none).
    tokens: list[str]
    #: One signed score per token: the token's share of ``score - baseline_score``.
    scores: np.ndarray
    target: int
    #: The target's score for the text and for the all-padding baseline.
    score: float
    baseline_score: float
    #: Softmax probability of ``target``.
    probability: float
    #: Captum's convergence delta: sum(scores) - (score - baseline_score); near 0 when the integral converged.
    delta: float
    pad_id: int
    layer: str
    #: Why all scores are zero ("" when they are not).
    empty: str = ""


def embedding_layer(model: nn.Module) -> tuple[str, nn.Embedding]:
    """The model's first ``nn.Embedding`` (by name): where token attribution is taken."""
    if isinstance(model, torch.jit.ScriptModule):
        raise InspectorError("token attribution needs hooks, which TorchScript models do not support")
    for name, module in model.named_modules():
        if isinstance(module, nn.Embedding):
            return name, module
    raise InspectorError("token attribution needs a model with an nn.Embedding layer for its token ids; "
                         "this model has none")


def pad_id(embedding: nn.Embedding, data: DataInfo | None = None) -> int:
    """The padding token: the data's ``pad_id``, else the embedding's ``padding_idx``, else 0."""
    extra = data.extra if data is not None else {}
    if extra.get("pad_id") is not None:
        return int(extra["pad_id"])
    return int(embedding.padding_idx) if embedding.padding_idx is not None else 0


def vocabulary(data: DataInfo | None) -> list[str]:
    """The token strings of the data's vocabulary (the saved encoder's ``itos``), or [] when it has none."""
    extra = data.extra if data is not None else {}
    if isinstance(extra.get("itos"), (list, tuple)):
        return [str(t) for t in extra["itos"]]
    saved = extra.get("encoder")
    if isinstance(saved, str):
        try:
            itos = json.loads(saved).get("itos")
        except (ValueError, AttributeError):
            return []
        if isinstance(itos, list):
            return [str(t) for t in itos]
    return []


def token_names(ids: list[int], data: DataInfo | None) -> list[str]:
    itos = vocabulary(data)
    return [itos[i] if 0 <= i < len(itos) else f"#{i}" for i in ids]


def _scores(output: Any) -> torch.Tensor:
    out = first_tensor(output)
    if out is None or out.dim() != 2:
        raise InspectorError("attribution needs a model that outputs class scores (batch, classes); "
                             f"this one outputs {None if out is None else tuple(out.shape)}")
    return out


def attribute_tokens(model: nn.Module, tokens: torch.Tensor, target: int | None = None,
                     data: DataInfo | None = None, *, n_steps: int = 64,
                     internal_batch_size: int | None = None) -> TokenAttribution:
    """Integrated Gradients of ``target``'s score (default: the predicted class) over the tokens of the first
    text in ``tokens`` ((batch, steps) or (steps,) integer ids), from the all-padding baseline.

    The model is called as ``model(tokens)``: a text given alone has no padding, so no lengths are needed.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.is_floating_point() or tokens.is_complex():
        raise InspectorError("token attribution needs integer token ids; got "
                             f"{getattr(tokens, 'dtype', type(tokens).__name__)}")
    if tokens.dim() == 1:
        tokens = tokens[None]
    if tokens.dim() != 2 or tokens.shape[1] == 0:
        raise InspectorError(f"token attribution needs token ids of shape (batch, steps); got {tuple(tokens.shape)}")
    layer, embedding = embedding_layer(model)
    tokens = tokens[:1].detach().long()
    vocab = embedding.num_embeddings
    if int(tokens.min()) < 0 or int(tokens.max()) >= vocab:
        raise InspectorError(f"token ids must lie in [0, {vocab}) for this model's embedding; got ids from "
                             f"{int(tokens.min())} to {int(tokens.max())}")
    pad = pad_id(embedding, data)
    if not 0 <= pad < vocab:
        raise InspectorError(f"the padding id {pad} is outside the embedding's vocabulary of {vocab}")
    baseline = torch.full_like(tokens, pad)
    with torch.no_grad():
        scores = _scores(model(tokens))
        base_scores = _scores(model(baseline))
    if target is None:
        target = int(scores[0].argmax())
    if not 0 <= target < scores.shape[1]:
        raise InspectorError(f"class {target} does not exist: the model has {scores.shape[1]} classes")

    from captum.attr import LayerIntegratedGradients

    def forward(ids: torch.Tensor) -> torch.Tensor:
        return _scores(model(ids))

    with torch.enable_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        lig = LayerIntegratedGradients(forward, embedding)
        attr, delta = lig.attribute(tokens, baselines=baseline, target=target, n_steps=n_steps,
                                    internal_batch_size=internal_batch_size, return_convergence_delta=True)
    per_token = attr.detach().sum(-1)[0].double().numpy()
    ids = tokens[0].tolist()
    empty = ""
    if not np.any(per_token):
        empty = (f"every token's attribution to class {target} is zero: the score is the same for this text and "
                 "for all padding along the whole path (saturated or dead units, or an embedding that is not used)")
    return TokenAttribution(ids, token_names(ids, data), per_token, target, float(scores[0, target]),
                            float(base_scores[0, target]), float(torch.softmax(scores[0].float(), 0)[target]),
                            float(delta.detach().reshape(-1)[0]), pad, layer, empty)


def shaded_html(att: TokenAttribution) -> str:
    """The text as HTML, each token on a background shaded by its score: green for the class, red against,
    the strongest token at full strength (a scale shared by both signs, so colours compare)."""
    from html import escape

    peak = float(np.abs(att.scores).max()) if len(att.scores) else 0.0
    parts = []
    for token, s in zip(att.tokens, att.scores):
        strength = abs(float(s)) / peak if peak > 0 else 0.0
        hue = (40, 160, 60) if s > 0 else (210, 50, 50)
        # Blended with white by hand: Qt's rich text has no alpha in background colours.
        r, g, b = (round(255 + (c - 255) * 0.85 * strength) for c in hue)
        parts.append(f"<span style='background-color: #{r:02x}{g:02x}{b:02x}' "
                     f"title='{float(s):+.4g}'>{escape(token)}</span>")
    return " ".join(parts)
