"""Evaluating a finished text run, without Qt: a classifier's confusion matrix, per-class metrics and its most
confident mistakes on the validation split; a language model's perplexity on any text and the tokens that
surprised it most.

The validation texts are read again as the run read them (its dataset and parameters, from its spec) and
encoded with the run's own encoder (saved with its weights), so the numbers are the model's on the data it was
validated on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlstudio_text.explore import classifier_predictor, load_run


@dataclass
class Mistake:
    text: str
    true: str
    predicted: str
    #: The predicted class's probability (how sure the model was of its mistake).
    confidence: float


@dataclass
class ClassifierEvaluation:
    run_id: str
    classes: list[str]
    #: ``confusion[i][j]``: validation texts of class i predicted as class j.
    confusion: np.ndarray
    #: Per class: precision, recall, f1 and support (scikit-learn's classification report).
    per_class: dict[str, dict[str, float]]
    accuracy: float
    #: The most confident mistakes first.
    mistakes: list[Mistake] = field(default_factory=list)
    weights: str = ""


def validation_texts(studio: Any, run_id: str) -> tuple[list[str], list[int]]:
    """The run's validation texts and labels, read again from its dataset with its parameters and seed."""
    from dlstudio import runs
    from dlstudio_text.preview import load_bundle

    spec = runs.read_spec(studio, run_id)
    bundle = load_bundle(studio, spec["data"]["id"], spec["data"].get("params", {}),
                         seed=int(spec.get("run", {}).get("seed", 0)), report=lambda _: None)[0]
    valid = bundle.valid
    if valid is None or not len(valid):
        raise ValueError(f"run {run_id}'s data has no validation split to evaluate on")
    return list(valid.texts), [int(y) for y in valid.labels]


def evaluate_classifier(studio: Any, run_id: str, *, mistakes: int = 50) -> ClassifierEvaluation:
    """The run's classifier (its best weights) on its validation split."""
    from sklearn.metrics import classification_report, confusion_matrix

    run = load_run(studio, run_id)
    if run.task != "text-classification":
        raise ValueError(f"run {run_id} is a {run.task or 'non-text'} run, not a text classifier")
    texts, labels = validation_texts(studio, run_id)
    predict = classifier_predictor(run.model, pad_id=run.encoder.pad_id, fix_length=run.fix_length)
    probabilities = predict([run.encoder.encode(text) for text in texts])
    predicted = probabilities.argmax(1)
    indices = list(range(len(run.classes)))
    confusion = confusion_matrix(labels, predicted, labels=indices)
    report = classification_report(labels, predicted, labels=indices, target_names=run.classes, output_dict=True,
                                   zero_division=0)
    per_class = {name: {k: float(v) for k, v in report[name].items()} for name in run.classes}
    wrong = [i for i, (y, p) in enumerate(zip(labels, predicted, strict=True)) if y != p]
    wrong.sort(key=lambda i: -probabilities[i, predicted[i]])
    listed = [Mistake(texts[i], run.classes[labels[i]], run.classes[predicted[i]],
                      float(probabilities[i, predicted[i]])) for i in wrong[:mistakes]]
    accuracy = float((predicted == np.asarray(labels)).mean())
    return ClassifierEvaluation(run_id, run.classes, confusion, per_class, accuracy, listed, run.weights)


@dataclass
class Surprise:
    """A language model reading a text: its perplexity, and each token with how surprised the model was."""

    perplexity: float
    #: Mean cross-entropy per predicted token, in nats.
    loss: float
    #: ``(token, -log p(token | what came before))`` for every token after the first.
    tokens: list[tuple[str, float]]

    def most_surprising(self, k: int = 10) -> list[tuple[str, float]]:
        return sorted(self.tokens, key=lambda t: -t[1])[:k]


def surprise(studio: Any, run_id: str, text: str) -> Surprise:
    """How a finished language-model run reads ``text``: one pass with its hidden state carried, each token
    predicted from those before it."""
    import torch

    run = load_run(studio, run_id)
    if run.task != "language-model":
        raise ValueError(f"run {run_id} is a {run.task or 'non-text'} run, not a language model")
    ids = _stream_ids(run.encoder, text)
    if len(ids) < 2:
        raise ValueError("the text needs at least two tokens: the model predicts each from those before it")
    known = [i for i in ids if i not in (run.encoder.unk_id, run.encoder.eos_id)]
    if not known:
        raise ValueError("every word of the text is unknown to this model's vocabulary")
    tokens = torch.tensor(ids, dtype=torch.long)[None]
    with torch.no_grad():
        logits, _ = run.model(tokens[:, :-1], None)
        nats = torch.nn.functional.cross_entropy(logits[0].float(), tokens[0, 1:], reduction="none")
    values = nats.tolist()
    loss = sum(values) / len(values)
    return Surprise(math.exp(min(loss, 50.0)), loss,
                    [(run.encoder.itos[i], v) for i, v in zip(ids[1:], values, strict=True)])


def _stream_ids(encoder: Any, text: str) -> list[int]:
    """The text as the language model's stream: each line's tokens, then end-of-line (as in training)."""
    ids: list[int] = []
    for line in text.splitlines():
        ids.extend(encoder.encode(line))
        ids.append(encoder.eos_id)
    return ids


def per_token_table(evaluation: ClassifierEvaluation) -> list[Sequence[Any]]:
    """Rows ``(class, precision, recall, f1, support)`` for a table."""
    return [(name, m["precision"], m["recall"], m["f1-score"], int(m["support"]))
            for name, m in evaluation.per_class.items()]
