"""Fixtures for the window tests."""

import pytest

from tests.runs import finished_run


@pytest.fixture
def window_with_runs(make_window, demo_studio):
    """A window over a store of three finished runs (made before the window, as if from an earlier session)."""
    ids = {
        "alpha": finished_run(demo_studio, 'run.name="Alpha run"', "train.epochs=2", "train.lr=0.2"),
        "beta": finished_run(demo_studio, 'run.name="beta run"', "train.epochs=10", "train.batch_size=8"),
        "gamma": finished_run(demo_studio, 'run.name="Gamma"', "train.epochs=1"),
    }
    window = make_window(demo_studio)
    return window, ids
