import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import classification_report, confusion_matrix

from dlstudio_images.evaluate import Evaluation, evaluate_checkpoint, preprocess, top_k
from tests.plugins.images.factory import best_checkpoint, train

DIGITS_FAST = {"model": {"id": "images.mnist_net", "params": {"dropout": 0.1}},
               "data": {"id": "images.digits", "params": {"size": 16}},
               "train": {"epochs": 2, "batch_size": 64, "optimizer": "adam", "lr": 0.01}}


def _random_evaluation(n=200, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g)
    logits[torch.arange(n), labels] += 1.0  # better than chance, not perfect
    return Evaluation(torch.softmax(logits, 1), labels, tuple("abcd"))


def test_confusion_matrix_agrees_with_scikit_learn_and_a_hand_count():
    ev = _random_evaluation()
    cm = ev.confusion()
    assert np.array_equal(cm, confusion_matrix(ev.labels.numpy(), ev.probs.argmax(1).numpy()))
    by_hand = np.zeros((4, 4), dtype=int)
    for t, p in zip(ev.labels.tolist(), ev.preds.tolist()):
        by_hand[t, p] += 1
    assert np.array_equal(cm, by_hand)
    assert cm.trace() / cm.sum() == pytest.approx(ev.accuracy)
    # a cell's images are exactly the samples counted in it
    cell = ev.cell(1, 2)
    assert len(cell) == cm[1, 2] and all(ev.labels[i] == 1 and ev.preds[i] == 2 for i in cell)


def test_per_class_report_matches_scikit_learn():
    ev = _random_evaluation()
    rows = ev.report()
    ref = classification_report(ev.labels.numpy(), ev.preds.numpy(), target_names=list("abcd"), output_dict=True)
    for row in rows[:4]:
        for key, ref_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert row[key] == pytest.approx(ref[row["class"]][ref_key])
    assert rows[-1]["class"] == "macro average"
    assert rows[-1]["f1"] == pytest.approx(ref["macro avg"]["f1-score"])


def test_worst_mistakes_are_the_highest_losses_among_the_errors():
    ev = _random_evaluation()
    worst = ev.worst(5)
    assert len(worst) == 5
    losses = [w["loss"] for w in worst]
    assert losses == sorted(losses, reverse=True)
    wrong = ev.preds != ev.labels
    assert losses[0] == pytest.approx(float(ev.losses[wrong].max()))
    assert all(w["true"] != w["pred"] for w in worst)
    assert all(0 < w["confidence"] <= 1 for w in worst)


def test_a_trained_checkpoint_is_evaluated_on_its_validation_split(studio, tmp_path):
    run_id, ended = train(studio, DIGITS_FAST)
    path = best_checkpoint(studio, run_id)
    result = evaluate_checkpoint(studio, path)
    ev = result.evaluation
    assert len(ev.labels) == 359 and ev.classes == tuple("0123456789")
    assert ev.accuracy == pytest.approx(ended.best_value)
    assert result.extra["size"] == [16, 16]

    assert ev.accuracy > 0.8  # trained: the "try it" check below is about a digit the model knows

    # "try it": a picture of a digit, prepared as the training data was; the first digit the evaluation got right
    # with confidence, so that a wrong answer from the picture is a bug in preparing it, not the model's error
    i = int(((ev.preds == ev.labels) & (ev.confidence > 0.9)).nonzero()[0])
    digit = result.valid[i][0]
    label = int(result.valid[i][1])
    from dlstudio_images.data.common import to_display

    picture = tmp_path / "digit.png"
    Image.fromarray(to_display(digit, result.extra)[:, :, 0].numpy(), "L").save(picture)
    x = preprocess(picture, result.extra)
    assert x.shape == (1, 1, 16, 16)
    assert torch.allclose(x[0], digit, atol=0.05)
    ranked = top_k(result.model, x, ev.classes, k=3)
    assert ranked[0][0] == ev.classes[label]  # the picture is read as the digit it shows
    # the probabilities are the model's softmax, computed here independently
    with torch.no_grad():
        probs = torch.softmax(result.model.eval()(x), 1)[0]
    expected = [(ev.classes[int(c)], float(probs[c])) for c in probs.argsort(descending=True)[:3]]
    assert [c for c, _ in ranked] == [c for c, _ in expected]
    assert [p for _, p in ranked] == pytest.approx([p for _, p in expected], abs=1e-6)
    # and the validation tensor itself gets the evaluation's probabilities
    assert top_k(result.model, digit[None], ev.classes, k=1)[0][1] == pytest.approx(float(ev.confidence[i]), abs=1e-5)
