"""The text pages (pytest-qt): Train, Data & vocabulary. Each builds over a real studio with the text plugin;
long work runs in the background and is waited for."""

import pytest

import dlstudio_text.plugin as text_plugin
from dlstudio.gui.context import RecordingHost, StudioContext
from dlstudio.plugins import module_candidate
from dlstudio.studio import Studio
from dlstudio_text.tokens import Encoder

TIMEOUT = 60_000
SMALL = {"train_size": 400, "valid_size": 100}


@pytest.fixture
def corpus_file(tmp_path):
    """A small corpus: 300 short lines, the last tenth for validation."""
    words = ["cat", "hat", "bat", "dog", "log", "frog"]
    lines = [f"the {words[i % 6]} sat on the mat and the {words[(i * 5) % 6]} ran to the {words[(i + 2) % 6]} ."
             for i in range(300)]
    lines[-1] += " zebra"  # a word only the validation lines hold
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def context(qtbot, studio_home):
    studio = Studio.open(studio_home, [module_candidate("text", text_plugin)])
    ctx = StudioContext(studio, RecordingHost())
    yield ctx
    ctx.shutdown()


@pytest.fixture
def host(context):
    return context._host


# -- registration ---------------------------------------------------------------------------------------------


def test_panels_register_without_qt_and_train_comes_first():
    import subprocess
    import sys

    code = ("import sys; from dlstudio_text.panels import panel_specs; s = panel_specs(); "
            "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules), 'Qt imported'; "
            "print(','.join(p.id for p in sorted(s, key=lambda p: p.order)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().split(",")[0] == "text.train"
    assert {"text.data", "text.try", "text.generate", "text.embeddings"} <= set(out.stdout.strip().split(","))


def test_every_panel_builds_in_the_window_context(qtbot, context):
    from dlstudio_text.panels import panel_specs

    for spec in panel_specs():
        widget = spec.factory(context)
        qtbot.addWidget(widget)
        widget.resize(1280, 800)
        assert widget.minimumSizeHint().width() <= 1280, spec.id
    assert not context._host.errors


def test_train_panel_offers_the_text_models_and_the_two_tasks(qtbot, context):
    from dlstudio_text.panels import panel_specs

    train = next(s for s in panel_specs() if s.id == "text.train").factory(context)
    qtbot.addWidget(train)
    models = [train.model_box.combo.itemData(i) for i in range(train.model_box.combo.count())]
    assert "text.imdb_rnn" in models and "text.rnn_lm" in models
    train.model_box.select("text.imdb_rnn", {})
    train.data_box.select("text.sentiment", SMALL)
    assert train.current_spec().run.task == "text-classification"
    train.model_box.select("text.rnn_lm", {})
    train.data_box.select("text.corpus", {"source": "file", "path": "corpus.txt"})
    assert train.current_spec().run.task == "language-model"


# -- the data page --------------------------------------------------------------------------------------------


def _loaded_page(qtbot, context, data_id="text.sentiment", params=None):
    from dlstudio_text.panels.data_page import DataPage

    page = DataPage(context)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.select(data_id, params if params is not None else SMALL)
    page.load()
    qtbot.waitUntil(lambda: page.preview is not None or page.load_button.isEnabled(), timeout=TIMEOUT)
    assert page.preview is not None, context._host.errors
    return page


def test_data_page_shows_samples_per_class_balance_and_lengths(qtbot, context):
    page = _loaded_page(qtbot, context, params={**SMALL, "fix_length": 12})
    p = page.preview
    assert p.classes == ["negative", "positive"]
    assert sum(p.train_counts) == 400 and sum(p.valid_counts) == 100
    assert all(len(texts) == 4 for texts in p.samples.values())
    shown = page.samples.toPlainText()
    for texts in p.samples.values():
        for pieces in texts:
            assert "".join(piece for piece, _ in pieces) in shown
    # lengths are counted before the cut, and the histogram counts every training text
    from dlstudio_text.explore import histogram

    counts, _ = histogram(p.train_lengths, bins=40)
    assert counts.sum() == 400
    assert max(p.train_lengths) > 12  # some reviews are longer than the cut...
    cut = [kind for texts in p.samples.values() for pieces in texts for _, kind in pieces]
    assert (3 in cut) == any(len([k for k in kinds if k >= 0]) > 12
                             for kinds in ([k for _, k in pieces] for texts in p.samples.values()
                                           for pieces in texts))


def test_unknown_tokens_are_marked_in_the_samples(qtbot, context):
    # max_vocab 30 keeps 27 words: the rest of the reviews' words read <unk> and are marked
    page = _loaded_page(qtbot, context, params={**SMALL, "max_vocab": 30})
    p = page.preview
    encoder_known = p.vocabulary.known
    for texts in p.samples.values():
        for pieces in texts:
            for piece, kind in pieces:
                if kind in (0, 1):
                    assert piece.lower() in encoder_known
                elif kind == 2:
                    assert piece.lower() not in encoder_known
    assert any(kind == 2 for texts in p.samples.values() for pieces in texts for _, kind in pieces)
    assert "unk" in page.samples.toHtml() or "f7b3b3" in page.samples.toHtml()


def test_vocabulary_numbers_equal_those_of_fitted_encoders(qtbot, context):
    """The vocabulary view predicts, from the counts, the size each min_freq/max_vocab gives: fitting the
    encoder with those settings must give exactly that size, and the coverage/OOV numbers must agree."""
    from dlstudio_text.data.sentiment import generate

    page = _loaded_page(qtbot, context)
    v = page.preview.vocabulary
    train, valid, _, _ = generate(400, 100, 0)
    train_texts, valid_texts = [t for t, _ in train], [t for t, _ in valid]
    fitted = Encoder.fit(train_texts)
    assert v.size == fitted.vocab_size
    assert v.coverage == pytest.approx(fitted.coverage)
    assert v.valid_oov == pytest.approx(fitted.oov_rate(valid_texts))
    assert v.total == fitted.total and len(v.ranked) == fitted.distinct
    for i, min_freq in enumerate(v.min_freqs):
        for j, max_vocab in enumerate(v.max_vocabs):
            try:
                size = Encoder.fit(train_texts, min_freq=min_freq, max_vocab=max_vocab).vocab_size
            except ValueError:
                size = 0
            assert v.sizes[i][j] == size, (min_freq, max_vocab)
    # the columns are the max_vocab values that matter here: some cut the vocabulary, one keeps it all
    assert v.sizes[0][0] < fitted.vocab_size == v.sizes[0][-1]
    i, j = v.min_freqs.index(3), len(v.max_vocabs) - 1
    # the table widget shows the same numbers
    assert page.sizes.item(i, j).text().startswith(f"{v.sizes[i][j]:,}")
    # the token table: the most frequent token first, with its count
    model = page.token_model
    top_token, top_count = max(fitted.counts.items(), key=lambda tc: tc[1])
    assert model.data(model.index(0, 1)) == top_token
    assert model.data(model.index(0, 2)) == f"{top_count:,}"
    page.top_n.setValue(10)
    assert f"{v.coverage_of_top(10):.2%}" in page.top_n_label.text()


def test_corpus_preview_shows_lines_and_its_vocabulary(qtbot, context, corpus_file):
    page = _loaded_page(qtbot, context, "text.corpus", {"source": "file", "path": str(corpus_file), "min_freq": 1})
    p = page.preview
    assert p.task == "language-model"
    assert sum(p.train_counts) == 270 and sum(p.valid_counts) == 30
    assert all("sat on the mat" in "".join(t for t, _ in pieces) for pieces in p.samples["training text"])
    # 6 animals + the, sat, on, mat, and, ran, to, "." + 3 specials; "zebra" only in validation
    assert p.vocabulary.size == 17
    zebra = 1 / sum(len(line.split()) for line in corpus_file.read_text().splitlines()[270:])
    assert p.vocabulary.valid_oov == pytest.approx(zebra)


def test_a_bad_setting_is_reported_and_the_button_comes_back(qtbot, context, host):
    from dlstudio_text.panels.data_page import DataPage

    page = DataPage(context)
    qtbot.addWidget(page)
    page.select("text.sentiment", {**SMALL, "min_freq": 100000})
    page.load()
    qtbot.waitUntil(lambda: bool(host.errors), timeout=TIMEOUT)
    assert "min_freq 100000 leaves no token" in host.errors[-1][1]
    assert page.load_button.isEnabled() and "min_freq" in page.status.text()
