import math

import pytest

from dlstudio.spec import RunSpec
from dlstudio_images.lr_finder import find_lr_for_spec, run_to_result, suggest
from tests.plugins.images.test_evaluate import DIGITS_FAST


def test_suggestion_is_where_the_loss_falls_fastest():
    lrs = [10 ** (-6 + i * 0.1) for i in range(60)]
    # a sigmoid-shaped fall centred at 1e-3, then divergence
    losses = [2 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 4)) for lr in lrs[:50]]
    losses += [losses[-1] + 0.5 * i for i in range(1, 11)]
    lr = suggest(lrs, losses)
    assert 10**-3.3 < lr < 10**-2.7


def test_sweep_on_digits_suggests_a_sane_rate_and_stops_on_divergence(studio):
    spec = RunSpec.from_dict({**DIGITS_FAST, "train": {**DIGITS_FAST["train"], "optimizer": "sgd"}})
    progress = []
    gen = find_lr_for_spec(studio, spec, steps=120, start_lr=1e-4, end_lr=100.0)
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            result = stop.value
            break
    assert result.diverged and len(result.lrs) < 120
    assert [p[0] for p in progress] == list(range(1, len(progress) + 1))
    assert result.lrs == sorted(result.lrs) and result.lrs[0] == pytest.approx(1e-4)
    assert min(result.losses) < result.losses[0] - 0.15  # it learned something along the way
    assert 1e-4 < result.suggestion < 10


def test_bad_sweeps_are_refused(studio):
    spec = RunSpec.from_dict(DIGITS_FAST)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        run_to_result(find_lr_for_spec(studio, spec, start_lr=1.0, end_lr=0.1))
