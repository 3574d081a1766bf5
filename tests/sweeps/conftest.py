import pytest


@pytest.fixture(autouse=True)
def no_tensorboard_events(monkeypatch):
    """Sweeps' tests train many tiny runs; their TensorBoard events are tested in tests/tensorboard."""
    monkeypatch.setenv("DLSTUDIO_TENSORBOARD", "0")
