"""Text from a language model: a prompt, then tokens sampled one at a time (temperature, top-k).

``generate`` works on any model of the ``language-model`` task (``(tokens, state) -> (logits, state)``);
``generate_from_run`` on a finished run, with the encoder its checkpoint recorded.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def generate(model: nn.Module, encoder: Any, prompt: str, *, length: int, temperature: float = 1.0,
             top_k: int = 0, seed: int | None = None) -> str:
    """The ``length`` tokens the model writes after ``prompt``, as text (the prompt itself left out).

    An empty prompt starts a new line (after ``<eos>``). ``temperature`` divides the logits: below 1 the
    likely tokens get likelier, above 1 the choice flattens. ``top_k > 0`` samples among the k likeliest
    tokens only (1: always the likeliest). With ``seed`` the same call gives the same text; the sampling uses
    a generator of its own and leaves torch's global random state alone. Padding is never written.
    """
    if length < 1:
        raise ValueError(f"length must be 1 or more tokens, got {length}")
    if not (isinstance(temperature, int | float) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be above 0, got {temperature}: 1 samples as the model learnt, "
                         "lower is safer (0.5), higher more surprising (1.5); for the likeliest token every "
                         "time use top_k 1")
    if top_k < 0:
        raise ValueError(f"top_k must be 0 (every token) or more, got {top_k}")
    ids = _prompt_ids(encoder, prompt)
    device = next(model.parameters()).device
    generator = torch.Generator()
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    written: list[int] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if getattr(model, "stateful", True):
                logits, state = model(torch.tensor([ids], device=device), None)
                for step in range(length):
                    token = _sample(logits[0, -1], temperature, top_k, generator, encoder.pad_id)
                    written.append(token)
                    if step + 1 < length:
                        logits, state = model(torch.tensor([[token]], device=device), state)
            else:  # reads a window each time: the last `context` tokens
                context = getattr(model, "context", None) or len(ids) + length
                sequence = list(ids)
                for _ in range(length):
                    logits, _ = model(torch.tensor([sequence[-context:]], device=device), None)
                    token = _sample(logits[0, -1], temperature, top_k, generator, encoder.pad_id)
                    written.append(token)
                    sequence.append(token)
    finally:
        model.train(was_training)
    return encoder.decode(written)


def _prompt_ids(encoder: Any, prompt: str) -> list[int]:
    if not prompt.strip():
        return [encoder.eos_id]
    ids = encoder.encode(prompt)
    if not ids or all(i == encoder.unk_id for i in ids):
        known = [t for t in encoder.itos[3:] if " " not in t][:8]
        raise ValueError(f"the prompt {prompt!r} holds no token the model knows (its vocabulary has "
                         f"{encoder.vocab_size:,}); use words from its training text, such as "
                         f"{', '.join(repr(t) for t in known)}, or an empty prompt")
    return ids


def _sample(logits: torch.Tensor, temperature: float, top_k: int, generator: torch.Generator,
            pad_id: int | None) -> int:
    """One token drawn from ``softmax(logits / temperature)``, restricted to the ``top_k`` likeliest."""
    logits = logits.detach().float().cpu() / temperature
    if pad_id is not None and 0 <= pad_id < logits.numel():
        logits[pad_id] = -math.inf
    if 0 < top_k < logits.numel():
        threshold = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < threshold, -math.inf)
    probabilities = torch.softmax(logits, dim=0)
    return int(torch.multinomial(probabilities, 1, generator=generator))


def generate_from_run(studio: Any, run_id: str, prompt: str, *, length: int, temperature: float = 1.0,
                      top_k: int = 0, seed: int | None = None, weights: str = "best") -> str:
    """:func:`generate` with a finished language-model run's model (its ``weights``) and encoder.

    Raises ``RunError`` (a message for the user) when the run is not a text language model, and ``ValueError``
    for a prompt or setting it cannot use.
    """
    from dlstudio import runs
    from dlstudio.errors import RunError
    from dlstudio_text.tasks import LANGUAGE_MODEL
    from dlstudio_text.tokens import Encoder

    info = runs.get_run(studio, run_id)
    if info.task != LANGUAGE_MODEL:
        raise RunError(f"run {run_id} trained a {info.task!r} task: generating text needs a "
                       f"{LANGUAGE_MODEL!r} run")
    loaded = runs.load_model(studio, run_id, weights)
    encoded = loaded.data.extra.get("encoder") if loaded.data is not None else None
    if not encoded:
        raise RunError(f"run {run_id}'s checkpoint holds no text encoder (DataInfo.extra['encoder']): it was "
                       "not trained on a text plugin dataset, so its token ids cannot be turned into words")
    return generate(loaded.model, Encoder.from_json(encoded), prompt, length=length, temperature=temperature,
                    top_k=top_k, seed=seed)
