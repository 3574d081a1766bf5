"""Evaluating finished text runs: the classifier's confusion matrix and mistakes on its validation split, and
how a language model reads a text (perplexity, the most surprising tokens)."""

import itertools
import math

import numpy as np
import pytest
import torch

from dlstudio import runs
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio
from dlstudio_text import evaluate, explore
from dlstudio_text import plugin as text_plugin
from tests.plugins.text.test_panels import corpus_file  # noqa: F401 - fixture
from tests.plugins.text.test_panels_runs import CLASSIFIER, _fit_model_params, lm_spec, train


@pytest.fixture
def studio(studio_home):
    return Studio.open(studio_home, [module_candidate("text", text_plugin)])


def test_the_confusion_matrix_agrees_with_the_accuracy_the_run_recorded(studio):
    run_id = train(studio, _fit_model_params(studio, CLASSIFIER))
    result = evaluate.evaluate_classifier(studio, run_id)
    info = runs.get_run(studio, run_id)
    # An independent path: the training loop's own validation accuracy of the epoch whose weights were kept.
    assert result.accuracy == pytest.approx(info.best_value, abs=1e-6)
    assert result.confusion.sum() == 60 and np.trace(result.confusion) / 60 == pytest.approx(result.accuracy)
    assert set(result.per_class) == {"negative", "positive"}
    assert all(m.true != m.predicted for m in result.mistakes)
    confidences = [m.confidence for m in result.mistakes]
    assert confidences == sorted(confidences, reverse=True) and len(result.mistakes) == 60 - np.trace(result.confusion)


def test_a_language_model_reads_a_text_token_by_token_as_one_pass_says(studio, corpus_file):  # noqa: F811
    run_id = train(studio, _fit_model_params(studio, lm_spec(corpus_file)))
    text = "the cat sat on the mat and the dog ran to the frog ."
    read = evaluate.surprise(studio, run_id, text)
    # Reference: feed the tokens one at a time, carrying the state by hand.
    run = explore.load_run(studio, run_id)
    ids = [*run.encoder.encode(text), run.encoder.eos_id]
    state, nats = None, []
    with torch.no_grad():
        for here, after in itertools.pairwise(ids):
            logits, state = run.model(torch.tensor([[here]]), state)
            nats.append(-torch.log_softmax(logits[0, -1].float(), -1)[after].item())
    assert [v for _, v in read.tokens] == pytest.approx(nats, rel=1e-4, abs=1e-5)
    assert read.perplexity == pytest.approx(math.exp(sum(nats) / len(nats)), rel=1e-4)
    assert read.most_surprising(1)[0][1] == pytest.approx(max(nats), rel=1e-4)


def test_evaluation_refuses_the_wrong_kind_of_run_and_unknown_text(studio, corpus_file):  # noqa: F811
    lm = train(studio, _fit_model_params(studio, lm_spec(corpus_file)))
    with pytest.raises(ValueError, match="not a text classifier"):
        evaluate.evaluate_classifier(studio, lm)
    with pytest.raises(ValueError, match="unknown to this model's vocabulary"):
        evaluate.surprise(studio, lm, "xylophone quasar")


def test_the_evaluate_page_shows_the_matrix_and_the_shaded_reading(qtbot, studio, corpus_file):  # noqa: F811
    from dlstudio.gui.context import RecordingHost, StudioContext
    from dlstudio_text.panels.evaluate_page import EvaluatePage

    classifier = train(studio, _fit_model_params(studio, CLASSIFIER))
    lm = train(studio, _fit_model_params(studio, lm_spec(corpus_file)))
    context = StudioContext(studio, RecordingHost())
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    page.classifier_runs.setCurrentIndex(page.classifier_runs.findData(classifier))
    page.evaluate()
    qtbot.waitUntil(lambda: page.evaluation is not None, timeout=60_000)
    expected = evaluate.evaluate_classifier(studio, classifier)
    shown = [[int(page.confusion.item(i, j).text()) for j in range(2)] for i in range(2)]
    assert shown == expected.confusion.tolist()
    assert page.mistakes.rowCount() == len(expected.mistakes)

    page.kind.setCurrentIndex(page.kind.findData("language-model"))
    page.lm_runs.setCurrentIndex(page.lm_runs.findData(lm))
    page.text.setPlainText("the cat sat on the mat .")
    page.evaluate()
    qtbot.waitUntil(lambda: page.reading is not None, timeout=60_000)
    assert f"{page.reading.perplexity:.1f}" in page.status.text()
    assert page.shaded.toPlainText().split() == ["the", "cat", "sat", "on", "the", "mat", "."][1:]
    context.shutdown()
