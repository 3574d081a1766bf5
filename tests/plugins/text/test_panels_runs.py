"""The pages that use a finished run (pytest-qt): Try it (probabilities and word shading as you type),
Generate (a language model writes) and Embeddings (neighbours, analogies, the map). Small runs are trained
through the real runner first."""

import numpy as np
import pytest

from dlstudio.runner import Run, run_to_end
from dlstudio.spec import RunSpec
from dlstudio_text import explore
from tests.plugins.text.test_panels import context, corpus_file, host  # noqa: F401 - fixtures

TIMEOUT = 60_000

CLASSIFIER = {
    "run": {"name": "tiny lstm", "task": "text-classification", "seed": 0, "device": "cpu"},
    "model": {"id": "text.imdb_rnn", "params": {"embedding_dim": 16, "hidden": 16, "layers": 1}},
    "data": {"id": "text.sentiment", "params": {"train_size": 300, "valid_size": 60}},
    "train": {"epochs": 1, "batch_size": 32, "lr": 0.01, "optimizer": "adam"},
}
LANGUAGE_MODEL = {
    "run": {"name": "tiny lm", "task": "language-model", "seed": 0, "device": "cpu"},
    "model": {"id": "text.rnn_lm", "params": {"embedding_dim": 16, "hidden": 16, "layers": 1}},
    "data": {"id": "text.corpus", "params": {"source": "file", "path": "", "min_freq": 1}},
    "task": {"params": {"bptt": 8}},
    "train": {"epochs": 1, "batch_size": 4, "lr": 0.01, "optimizer": "adam"},
}


def train(studio, raw):
    run = Run(studio, RunSpec.from_dict(raw))
    run_to_end(run)
    return run.run_id


def _fit_model_params(studio, raw):
    """Keep only the parameters the registered model declares (the catalog may name them otherwise)."""
    declared = studio.registry.models.get(raw["model"]["id"]).defaults
    return {**raw, "model": {"id": raw["model"]["id"],
                             "params": {k: v for k, v in raw["model"]["params"].items() if k in declared}}}


@pytest.fixture
def classifier_run(context):  # noqa: F811 - the imported fixture
    return train(context.studio, _fit_model_params(context.studio, CLASSIFIER))


def lm_spec(path):
    return {**LANGUAGE_MODEL, "data": {"id": "text.corpus", "params": {**LANGUAGE_MODEL["data"]["params"],
                                                                        "path": str(path)}}}


@pytest.fixture
def lm_run(context, corpus_file):  # noqa: F811
    return train(context.studio, _fit_model_params(context.studio, lm_spec(corpus_file)))


def test_try_it_shading_is_the_occlusion_of_each_word(qtbot, context, classifier_run):  # noqa: F811
    from dlstudio_text.panels.try_page import TryPage

    page = TryPage(context)
    qtbot.addWidget(page)
    assert page.runs.currentData() == classifier_run
    qtbot.waitUntil(lambda: page.result is not None, timeout=TIMEOUT)
    page.result = None
    sentence = "the plot was not good but the ending was wonderful zyzzyva"
    page.editor.setPlainText(sentence)
    qtbot.waitUntil(lambda: page.result is not None and not page._busy and not page.timer.isActive(),
                    timeout=TIMEOUT)
    result = page.result
    # the page's numbers are the occlusion computed independently on the same model
    loaded = page.loaded
    ids = loaded.encoder.encode(sentence)
    predict = explore.classifier_predictor(loaded.model, pad_id=loaded.encoder.pad_id)
    probs, contrib = explore.occlusion(predict, ids, loaded.encoder.unk_id)
    assert result.probabilities == pytest.approx(probs.tolist(), abs=1e-6)
    assert result.contributions == pytest.approx(contrib.tolist(), abs=1e-6)
    # hand check of one word: replace "good" by <unk> and see the predicted class's probability drop
    k = sentence.split().index("good")
    swapped = list(ids)
    swapped[k] = loaded.encoder.unk_id
    drop = probs[result.predicted] - predict([swapped])[0][result.predicted]
    assert result.contributions[k] == pytest.approx(drop, abs=1e-6)
    # the shading: each word's background is the colour of its contribution, unknown words marked
    shown = page.shaded.toHtml()
    assert "zyzzyva" in shown and result.known[-1] is False
    from dlstudio_text.panels.widgets import contribution_colour

    scale = max(abs(c) for c in result.contributions)
    for index in (k, 0):
        assert contribution_colour(result.contributions[index], scale).name() in shown
    # the contribution chart: one bar per word, in reading order, the heights the contributions
    bars = [item for item in page.words_chart.plotItem.items if type(item).__name__ == "BarGraphItem"]
    assert len(bars) == 1 and list(bars[0].opts["height"]) == pytest.approx(result.contributions)
    assert result.classes[result.predicted] in page.verdict.text()


def test_try_it_debounces_typing_into_one_reading(qtbot, context, classifier_run):  # noqa: F811
    from dlstudio_text.panels.try_page import TryPage

    page = TryPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.result is not None, timeout=TIMEOUT)
    calls = []
    original = page.classify
    page.timer.timeout.disconnect()
    page.timer.timeout.connect(lambda: (calls.append(page.editor.toPlainText()), original()))
    for text in ("t", "th", "the", "the film", "the film was great"):
        page.editor.setPlainText(text)
    qtbot.waitUntil(lambda: bool(calls) and not page._busy, timeout=TIMEOUT)
    assert calls == ["the film was great"]


def test_generate_writes_the_same_text_for_the_same_seed(qtbot, context, lm_run):  # noqa: F811
    from dlstudio_text.generate import generate_from_run
    from dlstudio_text.panels.generate_page import GeneratePage

    page = GeneratePage(context)
    qtbot.addWidget(page)
    assert page.runs.currentData() == lm_run
    page.prompt.setText("the cat")
    page.length.setValue(12)
    page.seed.setValue(7)
    page.generate()
    qtbot.waitUntil(lambda: len(page.outputs) == 1, timeout=TIMEOUT)
    expected = generate_from_run(context.studio, lm_run, "the cat", length=12, temperature=page.temperature.value(),
                                 top_k=page.top_k.value(), seed=7)
    assert page.outputs[0][1] == expected
    first_line = expected.split("<eos>")[0].strip()
    assert first_line and first_line in page.output.toPlainText()


def test_generate_reports_a_prompt_of_unknown_words(qtbot, context, host, lm_run):  # noqa: F811
    from dlstudio_text.panels.generate_page import GeneratePage

    page = GeneratePage(context)
    qtbot.addWidget(page)
    page.prompt.setText("qwxz zzyzx")
    page.generate()
    qtbot.waitUntil(lambda: bool(host.errors), timeout=TIMEOUT)
    assert "holds no token the model knows" in host.errors[-1][1]
    assert page.generate_button.isEnabled()


def test_run_lists_follow_finished_runs(qtbot, context, classifier_run, corpus_file):  # noqa: F811
    from dlstudio_text.panels.generate_page import GeneratePage

    page = GeneratePage(context)
    qtbot.addWidget(page)
    assert page.runs.count() == 0  # a classifier run is not offered for generation
    lm = train(context.studio, _fit_model_params(context.studio, lm_spec(corpus_file)))
    context.run_finished.emit(lm, "completed", "")
    assert page.runs.currentData() == lm


def test_embeddings_neighbours_and_projection_use_the_runs_layer(qtbot, context, classifier_run):  # noqa: F811
    from dlstudio_text.panels.embeddings_page import EmbeddingsPage

    page = EmbeddingsPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.points is not None, timeout=TIMEOUT)
    emb = page.embeddings
    loaded = explore.load_run(context.studio, classifier_run)
    weights = explore.embedding_matrix(loaded.model)
    assert np.allclose(emb.weights, weights[: len(loaded.encoder.itos)])
    page.word.setText("good")
    page.find_neighbours()
    unit = weights / np.linalg.norm(weights, axis=1, keepdims=True).clip(1e-12)
    good = loaded.encoder.stoi["good"]
    sims = unit @ unit[good]
    best = max((i for i in range(3, len(sims)) if i != good), key=lambda i: sims[i])
    assert page.table.item(0, 0).text() == loaded.encoder.itos[best]
    words, xy = page.points
    assert len(words) == min(200, len(loaded.encoder.itos) - 3) and xy.shape == (len(words), 2)
    page.word.setText("notaword")
    page.find_neighbours()
    assert "'notaword' is not in the vocabulary" in context._host.errors[-1][1]
