"""A number for how good a digits GAN's samples are, beyond the book: a digits classifier trained in dlstudio
reads the samples.

- **score**, Inception-Score-like: ``exp(E_x KL(p(y|x) || p(y)))``. Each sample should be one clear digit
  (p(y|x) peaked) and all digits should appear (p(y) flat); it runs from 1 (every sample the same class, or
  every sample a blur) to K (the classes, 10 for digits). It needs no download: the classifier is a run of
  ``generative.digits-scorer`` on ``generative.digits``.
- **confidence**: the mean of the highest class probability (how digit-like the samples are).
- **coverage**: how many classes get at least half their fair share of the samples; few means mode collapse.
- **collapsed**: one class takes half the samples or more (``top_share``): a warning in the run log.

The classifier must read what the generator writes: 32×32, one channel, values in [-1, 1]; a classifier
trained on anything else is refused with a message, not used to produce a number that means nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dlstudio import runs
from dlstudio.engine import Callback

#: What the scorer must read: the generator's samples of the digits.
SCORER_INPUT = (1, 32, 32)
#: A class "is covered" when it gets at least this share of its fair share (1/K) of the samples.
COVERED_SHARE = 0.5
#: The samples "collapsed" when one class takes at least this share of them (and twice its fair share 1/K).
COLLAPSE_SHARE = 0.5
#: Samples scored at each epoch's end during training (their own seed: the run's random numbers stay put).
SCORED_SAMPLES = 512
SCORER_MODEL = "generative.digits-scorer"
#: Steps after which samples that were never varied count as collapsed (before: a generator still learning).
WARN_AFTER_STEPS = 1000


@dataclass(frozen=True)
class SampleScore:
    """How a batch of samples reads to the classifier (see the module's docstring for each number)."""

    score: float
    confidence: float
    coverage: int
    #: The classifier's classes (K) and how many samples it put in each (argmax).
    classes: tuple[str, ...]
    histogram: tuple[int, ...]
    collapsed: bool
    message: str
    #: The share of the samples in the most common class (collapse when it reaches :data:`COLLAPSE_SHARE`).
    top_share: float = 0.0

    @property
    def total_classes(self) -> int:
        return len(self.classes)


@dataclass
class Scorer:
    """A classifier that scores samples, and what it was trained on."""

    model: torch.nn.Module
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]
    source: str = ""


def check_scorer_input(input_shape: Sequence[int], value_range: Sequence[float] | None, classes: Sequence[str],
                       source: str, expected: Sequence[int] = SCORER_INPUT) -> None:
    """Refuse a classifier that does not read the samples' kind of picture, saying what differs."""
    shape, want = tuple(int(v) for v in input_shape), tuple(expected)
    if shape != want:
        raise ValueError(f"{source} reads pictures of {_shape_words(shape)}, but the samples are "
                         f"{_shape_words(want)}: train a {SCORER_MODEL} on generative.digits (size 32) and use "
                         "that run")
    if value_range is not None and [float(v) for v in value_range] != [-1.0, 1.0]:
        raise ValueError(f"{source} was trained on pixels in {list(value_range)}, but the samples are in "
                         "[-1, 1]: train it on generative.digits")
    if len(classes) < 2:
        raise ValueError(f"{source} is not a classifier (it has {len(classes)} class): choose a run of the "
                         "classification task")


def _shape_words(shape: Sequence[int]) -> str:
    if len(shape) != 3:
        return f"shape {tuple(shape)}"
    channels = {1: "greyscale", 3: "RGB"}.get(shape[0], f"{shape[0]}-channel")
    return f"{shape[1]}×{shape[2]} {channels}"


def load_scorer(studio: Any, run_id: str, weights: str = "best",
                expected: Sequence[int] = SCORER_INPUT) -> Scorer:
    """The classifier of run ``run_id`` (a classification run on 32×32 greyscale digits), checked."""
    info = runs.get_run(studio, run_id)
    if info.task != "classification":
        raise ValueError(f"run {run_id} trained a {info.task!r} task: the scorer must be a classification run "
                         f"(a {SCORER_MODEL} on generative.digits)")
    loaded = runs.load_model(studio, run_id, weights)
    source = f"run {run_id} ({loaded.spec.id})"
    check_scorer_input(loaded.data.input_shape, loaded.data.extra.get("value_range"), loaded.data.classes, source,
                       expected)
    return Scorer(loaded.model.eval(), tuple(loaded.data.classes), tuple(loaded.data.input_shape), source)


def load_scorer_file(path: str | Path, expected: Sequence[int] = SCORER_INPUT) -> Scorer:
    """A :data:`SCORER_MODEL` checkpoint, rebuilt from its sidecar without a studio (during training)."""
    from dlstudio_generative.gan.models import DigitsScorer

    weights = runs.load_weights(path)
    meta = weights.meta
    source = f"the classifier in {path}"
    if meta.get("architecture") != SCORER_MODEL:
        raise ValueError(f"{source} is a {meta.get('architecture') or 'model of unknown kind'}; scoring during "
                         f"training needs a {SCORER_MODEL} run")
    classes = tuple(meta.get("classes") or ())
    shape = tuple(meta.get("input_shape") or ())
    check_scorer_input(shape, (meta.get("preprocessing") or {}).get("value_range"), classes, source, expected)
    model = DigitsScorer(shape[0], shape[1], len(classes), int((meta.get("model_params") or {}).get("width", 16)))
    runs.apply_weights(model, weights.state, source=str(path))
    return Scorer(model.eval(), classes, shape, source)


def class_probabilities(classifier: torch.nn.Module, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """p(y|x) for each image (N, K), in eval mode, the classifier's mode given back after."""
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.inference_mode():  # scores only: no graph (and no grad warnings) for a trained model
            device = next(classifier.parameters()).device
            parts = [torch.softmax(classifier(images[i:i + batch].to(device)).float(), dim=1).cpu()
                     for i in range(0, len(images), batch)]
    finally:
        classifier.train(was_training)
    return torch.cat(parts)


def score_probabilities(probs: torch.Tensor, classes: Sequence[str] | None = None) -> SampleScore:
    """The score of samples whose class probabilities are ``probs`` (N, K)."""
    n, k = probs.shape
    names = tuple(classes) if classes is not None else tuple(str(i) for i in range(k))
    probs = probs.double().clamp_min(1e-12)
    marginal = probs.mean(0)
    kl = (probs * (probs.log() - marginal.log())).sum(1)
    score = float(kl.mean().exp())
    confidence = float(probs.max(1).values.mean())
    histogram = torch.bincount(probs.argmax(1), minlength=k)
    coverage = int((histogram >= COVERED_SHARE * n / k).sum())
    top = int(histogram.argmax())
    top_share = float(histogram[top]) / n
    # With few classes a large share is fair (half of two classes): collapse is also twice the fair share.
    collapsed = top_share >= max(COLLAPSE_SHARE, min(1.0, 2.0 / k))
    if collapsed:
        message = (f"mode collapse: {top_share:.0%} of the samples look like {names[top]!r} (only {coverage} of "
                   f"{k} classes covered); lower the learning rate or restart with another seed")
    else:
        message = (f"score {score:.2f} of {k}, confidence {confidence:.0%}, {coverage} of {k} classes covered")
    return SampleScore(score if math.isfinite(score) else 1.0, confidence, coverage, names,
                       tuple(int(c) for c in histogram), collapsed, message, top_share)


def score_samples(classifier: torch.nn.Module | Scorer, images: torch.Tensor) -> SampleScore:
    """Score generated ``images`` (N, C, S, S in [-1, 1]) with a classifier (a :class:`Scorer` or a module)."""
    if images.dim() != 4 or len(images) == 0:
        raise ValueError(f"score_samples needs a batch of images (N, C, H, W), got shape {tuple(images.shape)}")
    if isinstance(classifier, Scorer):
        if tuple(images.shape[1:]) != tuple(classifier.input_shape):
            raise ValueError(f"the samples are {_shape_words(images.shape[1:])} and {classifier.source} reads "
                             f"{_shape_words(classifier.input_shape)}")
        return score_probabilities(class_probabilities(classifier.model, images), classifier.classes)
    return score_probabilities(class_probabilities(classifier, images))


class ScoreSamples(Callback):
    """At each epoch's end, scores samples of the generator: the metrics ``sample_score``, ``sample_coverage``,
    ``sample_top_share`` and ``sample_collapsed`` (1 when the run warns of mode collapse), so runs compare in
    the Runs view, and a warning in the log on mode collapse."""

    def __init__(self, scorer: Scorer, seed: int, samples: int = SCORED_SAMPLES) -> None:
        self.scorer: Scorer | None = scorer
        self.seed, self.samples = int(seed), samples
        self.last: SampleScore | None = None
        self.healthy_seen = self._told_early = False

    def on_fit_start(self, state: Any) -> None:
        model, scorer = state.task.model, self.scorer
        shape = (int(model.channels), int(model.image_size), int(model.image_size))
        if scorer is not None and shape != tuple(scorer.input_shape):
            # The GAN trains on all the same; only the number would be meaningless.
            state.log(f"samples are not scored: the generator makes {_shape_words(shape)} pictures and "
                      f"{scorer.source} reads {_shape_words(scorer.input_shape)} (scoring is for the digits "
                      "at 32 px)", "warning")
            self.scorer = None
        elif scorer is not None:
            scorer.model.to(next(model.parameters()).device)

    def on_evaluate(self, state: Any, metrics: dict[str, float]) -> None:
        from dlstudio_generative.gan.sampling import latent_vectors, run_eval

        if self.scorer is None:
            return
        model = state.task.model
        # A seed apart from the grid's: the score is not tuned to the 64 pictures a person watches.
        images = run_eval(model.generator, latent_vectors(int(model.latent), self.samples, self.seed + 1))
        self.last = score = score_samples(self.scorer, images)
        # A generator's first samples are all alike (grey blobs that the classifier reads as one digit):
        # that is not mode collapse. Collapse is losing the variety once there was some, or never getting
        # any in a long run.
        self.healthy_seen = self.healthy_seen or not score.collapsed
        alarm = score.collapsed and (self.healthy_seen or state.step >= WARN_AFTER_STEPS)
        metrics["sample_score"] = score.score
        metrics["sample_coverage"] = float(score.coverage)
        metrics["sample_top_share"] = score.top_share
        metrics["sample_collapsed"] = 1.0 if alarm else 0.0
        if alarm:
            state.log(f"epoch {state.epoch}: {score.message}", "warning")
        elif score.collapsed and not self._told_early:
            self._told_early = True
            state.log(f"epoch {state.epoch}: the samples do not look like different digits yet ({score.top_share:.0%} "
                      f"read as {score.classes[score.histogram.index(max(score.histogram))]!r}); usual in the first "
                      "epochs, a warning follows if it lasts")
