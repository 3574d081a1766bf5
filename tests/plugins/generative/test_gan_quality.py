"""The sample score against independent references: hand-computed Inception-Score cases with classifiers of
known outputs, and a digits scorer trained in dlstudio that finds all ten digits in the real digits; during a
GAN run, the score becomes metrics; a classifier that does not read the samples is refused."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import dlstudio_generative.plugin as generative_plugin
from dlstudio.contract import LoadContext
from dlstudio.errors import RunError
from dlstudio.plugins import module_candidate
from dlstudio.runner import Run
from dlstudio.spec import RunSpec
from dlstudio.studio import Studio
from dlstudio_generative.gan.catalog import dataset_specs
from dlstudio_generative.gan.quality import (
    check_scorer_input,
    load_scorer,
    score_probabilities,
    score_samples,
)
from dlstudio_generative.gan.sampling import load_generator
from tests.plugins.generative.test_gan_training import gan_spec
from tests.runs import drive, ended, metrics_by_epoch


class Fixed(nn.Module):
    """A "classifier" whose logits are given: the score's maths with known p(y|x)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits[: len(images)]


def test_a_classifier_that_always_says_three_means_collapse():
    logits = torch.full((64, 10), -20.0)
    logits[:, 3] = 20.0
    score = score_samples(Fixed(logits), torch.zeros(64, 1, 32, 32))
    assert score.score == pytest.approx(1.0, abs=1e-6) and score.coverage == 1
    assert score.collapsed and score.histogram[3] == 64 and "'3'" in score.message and score.top_share == 1.0


def test_confident_and_uniform_over_ten_classes_scores_ten():
    logits = torch.full((100, 10), -30.0)
    logits[torch.arange(100), torch.arange(100) % 10] = 30.0
    score = score_samples(Fixed(logits), torch.zeros(100, 1, 32, 32))
    assert score.score == pytest.approx(10.0, rel=1e-6)
    assert (score.coverage, score.collapsed, score.confidence) == (10, False, pytest.approx(1.0))
    blurry = score_samples(Fixed(torch.zeros(100, 10)), torch.zeros(100, 1, 32, 32))  # every class equally likely
    assert blurry.score == pytest.approx(1.0) and blurry.confidence == pytest.approx(0.1)


def test_the_score_of_a_two_class_case_computed_by_hand():
    probs = torch.tensor([[0.9, 0.1], [0.1, 0.9]])
    # p(y) = (0.5, 0.5); KL of each = 0.9 ln(0.9/0.5) + 0.1 ln(0.1/0.5)
    by_hand = math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    score = score_probabilities(probs, ("a", "b"))
    assert score.score == pytest.approx(by_hand) and score.confidence == pytest.approx(0.9)
    assert score.histogram == (1, 1) and score.coverage == 2 and not score.collapsed


def test_a_classifier_that_reads_other_pictures_is_refused():
    with pytest.raises(ValueError, match=r"32×32 RGB.*samples are 32×32 greyscale"):
        check_scorer_input((3, 32, 32), [-1.0, 1.0], tuple("0123456789"), "run x")
    with pytest.raises(ValueError, match=r"pixels in \[0.0, 1.0\]"):
        check_scorer_input((1, 32, 32), [0.0, 1.0], tuple("0123456789"), "run x")


# -- with a scorer trained in dlstudio ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A studio with a digits scorer trained on generative.digits (3 epochs) and its run id."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    studio = Studio.open(tmp_path_factory.mktemp("home"), [module_candidate("generative", generative_plugin)])
    spec = RunSpec.from_dict({
        "run": {"task": "classification", "device": "cpu", "seed": 0},
        "model": {"id": "generative.digits-scorer", "params": {"width": 8}},
        "data": {"id": "generative.digits"},
        "train": {"epochs": 3, "batch_size": 64, "optimizer": "adam", "lr": 0.003},
    })
    run = Run(studio, spec)
    assert ended(drive(run)).status == "completed"
    yield studio, run.run_id
    torch.set_num_threads(threads)


def test_real_digits_through_the_trained_scorer_cover_every_digit(trained):
    studio, scorer_id = trained
    scorer = load_scorer(studio, scorer_id)
    digits = next(s for s in dataset_specs() if s.id == "generative.digits")
    bundle = digits.load({"size": 32, "valid_fraction": 0.15, "split_seed": 0},
                         LoadContext(cache_dir="/nonexistent", task="classification"))
    images = bundle.valid.tensors[0]  # digits the scorer never trained on
    score = score_samples(scorer, images)
    assert score.coverage == 10 and not score.collapsed
    assert score.score > 7 and score.confidence > 0.8
    only_sevens = images[bundle.valid.tensors[1] == 7]
    assert score_samples(scorer, only_sevens).collapsed  # one digit only: what mode collapse looks like


def test_a_gan_run_scores_its_samples_each_epoch(trained):
    studio, scorer_id = trained
    run = Run(studio, gan_spec(epochs=1, scorer_run=scorer_id))
    assert ended(drive(run)).status == "completed"
    metrics = metrics_by_epoch(studio, run.run_id)[1]
    assert 1.0 <= metrics["sample_score"] <= 10.0
    assert 1 <= metrics["sample_coverage"] <= 10 and 0.1 <= metrics["sample_top_share"] <= 1.0
    with pytest.raises(ValueError, match="not a GAN"):
        load_generator(studio, scorer_id)
    with pytest.raises(ValueError, match="must be a classification run"):
        load_scorer(studio, run.run_id)


def test_a_gan_run_with_an_unknown_scorer_says_so_before_training(trained):
    studio, _ = trained
    with pytest.raises(RunError, match="scorer_run 'nope': there is no such run"):
        drive(Run(studio, gan_spec(epochs=1, scorer_run="nope")))


class Scripted(nn.Module):
    """Reads every sample as digit 3 (``alike``) or spreads them over the ten digits, as told before each call."""

    def __init__(self) -> None:
        super().__init__()
        self.alike = True
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = torch.full((len(images), 10), -20.0)
        logits[torch.arange(len(images)), 3 if self.alike else torch.arange(len(images)) % 10] = 20.0
        return logits


def test_alike_first_samples_are_not_called_collapse_but_losing_variety_is():
    from dlstudio.engine import FitState, Task
    from dlstudio_generative.gan.models import DCGAN
    from dlstudio_generative.gan.quality import WARN_AFTER_STEPS, Scorer, ScoreSamples

    classifier = Scripted()
    callback = ScoreSamples(Scorer(classifier, tuple("0123456789"), (1, 32, 32)), seed=0, samples=20)
    state = FitState(task=Task(DCGAN(8, 4, 1, 32)), epochs=9)
    callback.on_fit_start(state)

    def epoch(alike: bool, step: int) -> dict:
        classifier.alike, state.step, metrics = alike, step, {}
        state.epoch += 1
        callback.on_evaluate(state, metrics)
        return metrics

    assert epoch(True, 30)["sample_collapsed"] == 0.0  # a generator still learning: an info line, no warning
    assert [m.level for m in state.messages] == ["info"] and "yet" in state.messages[0].text
    assert epoch(False, 60)["sample_collapsed"] == 0.0 and len(state.messages) == 1
    assert epoch(True, 90)["sample_collapsed"] == 1.0  # it had variety and lost it
    assert state.messages[-1].level == "warning" and "mode collapse" in state.messages[-1].text
    fresh = ScoreSamples(Scorer(classifier, tuple("0123456789"), (1, 32, 32)), seed=0, samples=20)
    fresh.on_fit_start(state)
    classifier.alike, state.step, metrics = True, WARN_AFTER_STEPS, {}
    fresh.on_evaluate(state, metrics)
    assert metrics["sample_collapsed"] == 1.0  # never varied in a long run: collapse too
