"""Attribution over tokens (Captum's LayerIntegratedGradients at the embedding) on a classifier trained here on
the text plugin's generated sentiment reviews: the words that decide the label outweigh filler words, and IG's
completeness holds against the model's own scores for the text and for all padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlstudio.params import param_defaults
from dlstudio_inspector.common import InspectorError
from dlstudio_inspector.sources import OpenedModel
from dlstudio_inspector.token_attribution import attribute_tokens, embedding_layer, shaded_html
from dlstudio_text.batching import classification_bundle
from dlstudio_text.data import sentiment
from dlstudio_text.models import catalog
from dlstudio_text.tokens import Encoder
from tests.plugins.inspector.test_panels import idle, panel  # noqa: F401  (the fixture, shared)

#: Words of the generator's neutral sentences that never occur in an opinion sentence.
_OPINION_WORDS = {w for group in (sentiment.SUBJECTS, sentiment.COPULAS, sentiment.INTENSIFIERS, sentiment.NEGATORS,
                                  sentiment.CONTRASTS, sentiment.CONCESSIONS) for phrase in group
                  for w in phrase.split()} | set(sentiment.POLARITY) | {"i", "it", "did", ".", ","}
FILLER_WORDS = {w for sentence in sentiment.FILLERS for w in sentence.split()} - _OPINION_WORDS


@pytest.fixture(scope="module")
def trained():
    """A small bidirectional GRU trained for a few epochs on 1,500 generated reviews (~2 s)."""
    train, valid, classes, _ = sentiment.generate(1500, 200, 0)
    encoder = Encoder.fit([text for text, _ in train])
    bundle = classification_bundle(train, valid, classes, encoder)
    spec = {s.id: s for s in catalog.model_specs()}["text.rnn"]
    torch.manual_seed(0)
    model = spec.build({**param_defaults(spec.defaults), "cell": "gru", "bidirectional": True, "hidden": 32,
                        "embedding_dim": 32}, bundle.info)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    gen = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(bundle.train, batch_size=64, shuffle=True, collate_fn=bundle.collate,
                                         generator=gen)
    for _ in range(8):
        model.train()
        for tokens, lengths, labels in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(tokens, lengths), labels).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        right = sum(int(model(torch.tensor([encoder.encode(t)])).argmax()) == y for t, y in valid)
    assert right / len(valid) > 0.85, f"the classifier did not learn: {right / len(valid):.0%}"
    return model, encoder, bundle.info, valid


def test_sentiment_words_outweigh_filler_words(trained):
    model, encoder, info, valid = trained
    decisive, filler = [], []
    for text, _ in valid[:16]:
        att = attribute_tokens(model, torch.tensor([encoder.encode(text)]), data=info, n_steps=32)
        assert att.tokens == text.split()  # names read from the data's saved vocabulary
        for token, score in zip(att.tokens, att.scores):
            if token in sentiment.POLARITY:
                decisive.append(abs(score))
            elif token in FILLER_WORDS:
                filler.append(abs(score))
    assert len(decisive) >= 16 and len(filler) >= 10
    assert np.mean(decisive) > 2 * np.mean(filler), (np.mean(decisive), np.mean(filler))


def test_completeness_against_the_models_own_scores(trained):
    model, encoder, info, valid = trained
    for text, label in valid[:4]:
        ids = torch.tensor([encoder.encode(text)])
        att = attribute_tokens(model, ids, target=label, data=info, n_steps=128)
        with torch.no_grad():  # the reference: the model's scores for the text and for all padding
            gap = float(model(ids)[0, label] - model(torch.full_like(ids, info.extra["pad_id"]))[0, label])
        assert att.score - att.baseline_score == pytest.approx(gap, abs=1e-5)
        assert float(att.scores.sum()) == pytest.approx(gap, abs=0.06 * max(1.0, abs(gap)))
        assert att.delta == pytest.approx(float(att.scores.sum()) - gap, abs=1e-3)
        assert abs(att.delta) < 0.06 * max(1.0, abs(gap))
        assert att.layer == "embedding" and att.pad_id == 0 and att.target == label
    assert not any(m._forward_hooks for m in model.modules())  # Captum's hooks are removed


def test_bad_inputs_are_refused_with_a_reason(trained):
    model, *_ = trained
    with pytest.raises(InspectorError, match="integer token ids"):
        attribute_tokens(model, torch.zeros(1, 5))
    with pytest.raises(InspectorError, match=r"token ids must lie in \[0, "):
        attribute_tokens(model, torch.tensor([[1, 2, 10_000]]))
    with pytest.raises(InspectorError, match="class 7 does not exist"):
        attribute_tokens(model, torch.tensor([[4, 5, 6]]), target=7)
    with pytest.raises(InspectorError, match=r"with an nn\.Embedding layer"):
        embedding_layer(nn.Sequential(nn.Linear(3, 2)))


def test_shading_is_green_for_and_red_against(trained):
    model, encoder, info, _ = trained
    att = attribute_tokens(model, torch.tensor([encoder.encode("the plot was awful .")]), target=0, data=info)
    html = shaded_html(att)
    assert html.count("<span") == 5 and ">awful</span>" in html
    strongest = int(np.argmax(np.abs(att.scores)))
    colour = "#48ae59" if att.scores[strongest] > 0 else "#d95151"  # full strength (0.85 of the hue)
    assert html.split("<span")[strongest + 1].startswith(f" style='background-color: {colour}'")


def test_the_attribution_view_shades_a_token_model(panel, qtbot, trained):  # noqa: F811
    model, encoder, info, _ = trained
    view = panel.attribution
    panel.session.set_model(OpenedModel(model, "sentiment gru", info, "registered"))
    panel.session.set_input(torch.tensor([encoder.encode("the plot was truly wonderful .")]), "a review")
    panel.tabs.setCurrentWidget(view)
    idle(panel)
    assert view.token_result is not None and view.token_result.tokens[-2] == "wonderful"
    assert view.stack.currentWidget() is view.text_view
    assert "wonderful" in view.text_view.toPlainText() and "convergence delta" in view.info.text()
