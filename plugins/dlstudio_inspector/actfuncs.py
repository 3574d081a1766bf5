"""Activation functions and their derivatives (via autograd), for the interactive plot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from dlstudio_inspector.common import InspectorError


@dataclass(frozen=True)
class Activation:
    name: str
    title: str
    fn: Callable[..., torch.Tensor]
    #: Adjustable parameters and their defaults (leaky slope, ELU alpha...).
    params: dict[str, float] = field(default_factory=dict)
    formula: str = ""


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("sigmoid", "Sigmoid", lambda x: torch.sigmoid(x), formula="1 / (1 + e^-x)"),
    Activation("tanh", "Tanh", lambda x: torch.tanh(x), formula="(e^x - e^-x) / (e^x + e^-x)"),
    Activation("relu", "ReLU", lambda x: F.relu(x), formula="max(0, x)"),
    Activation("leaky_relu", "Leaky ReLU", lambda x, slope: F.leaky_relu(x, slope), {"slope": 0.01},
               "x if x > 0 else slope·x"),
    Activation("elu", "ELU", lambda x, alpha: F.elu(x, alpha), {"alpha": 1.0}, "x if x > 0 else alpha·(e^x - 1)"),
    Activation("selu", "SELU", lambda x: F.selu(x), formula="scale·ELU(x, 1.6733)"),
    Activation("gelu", "GELU", lambda x: F.gelu(x), formula="x·Φ(x)"),
    Activation("silu", "SiLU / Swish", lambda x: F.silu(x), formula="x·sigmoid(x)"),
    Activation("mish", "Mish", lambda x: F.mish(x), formula="x·tanh(softplus(x))"),
    Activation("softplus", "Softplus", lambda x, beta: F.softplus(x, beta), {"beta": 1.0},
               "log(1 + e^(beta·x)) / beta"),
    Activation("hardtanh", "Hard tanh", lambda x: F.hardtanh(x), formula="clip(x, -1, 1)"),
    Activation("relu6", "ReLU6", lambda x: F.relu6(x), formula="min(max(0, x), 6)"),
)}


def curve(name: str, lo: float = -5.0, hi: float = 5.0, points: int = 401, **params: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x``, ``f(x)`` and ``f'(x)`` (autograd) for activation ``name``."""
    if name not in ACTIVATIONS:
        raise InspectorError(f"no activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    act = ACTIVATIONS[name]
    unknown = set(params) - set(act.params)
    if unknown:
        raise InspectorError(f"{act.title} has no parameter {', '.join(sorted(unknown))}")
    values = {**act.params, **params}
    x = torch.linspace(lo, hi, points, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        y = act.fn(x, **values)
        (dy,) = torch.autograd.grad(y.sum(), x)
    return x.detach().numpy(), y.detach().numpy(), dy.numpy()
