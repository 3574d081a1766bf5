import numpy as np
import pytest

from dlstudio_inspector.actfuncs import ACTIVATIONS, curve
from dlstudio_inspector.common import InspectorError


def test_every_activation_has_a_curve_and_derivative():
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu"} <= set(ACTIVATIONS)
    for name in ACTIVATIONS:
        x, y, dy = curve(name, points=101)
        assert x.shape == y.shape == dy.shape == (101,)
        assert np.isfinite(y).all() and np.isfinite(dy).all()


def test_derivatives_match_the_formulas():
    _, y, dy = curve("sigmoid")
    assert np.allclose(dy, y * (1 - y))
    _, y, dy = curve("tanh")
    assert np.allclose(dy, 1 - y**2)
    _, y, dy = curve("relu", lo=-1, hi=1, points=5)
    assert dy.tolist() == [0, 0, 0, 1, 1]


def test_parameters_change_the_curve():
    x, y, dy = curve("leaky_relu", slope=0.2, lo=-2, hi=-1, points=3)
    assert np.allclose(dy, 0.2) and np.allclose(y, 0.2 * x)
    _, y1, _ = curve("elu", alpha=1.0)
    _, y2, _ = curve("elu", alpha=2.0)
    assert y2.min() == pytest.approx(2 * y1.min())
    with pytest.raises(InspectorError, match="no parameter"):
        curve("relu", slope=2)
    with pytest.raises(InspectorError, match="no activation"):
        curve("swishy")
