"""Shared bits of the inspector: its error type, number formatting and the hook-removal guarantee."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn


class InspectorError(ValueError):
    """Something the user can fix (a wrong file, shape or choice); the message says what and how."""


def human_count(n: float) -> str:
    """11,689,512 → "11.69 M"."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)}"


def human_bytes(n: float) -> str:
    """46,758,048 → "44.6 MiB": binary units, labelled as such (44.6 MiB is 46.8 MB)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def human_flops(n: float) -> str:
    for unit, size in (("TFLOPs", 1e12), ("GFLOPs", 1e9), ("MFLOPs", 1e6), ("kFLOPs", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} FLOPs"


def shape_of(obj: Any) -> Any:
    """The shape of a tensor, or nested tuples of shapes for tuple/list/dict outputs (LSTM: out, (h, c))."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return tuple(obj.shape)
    if isinstance(obj, (tuple, list)):
        return tuple(shape_of(o) for o in obj)
    if isinstance(obj, dict):
        return {k: shape_of(v) for k, v in obj.items()}
    return None


def format_shape(shape: Any) -> str:
    """``(1, 64, 56, 56)`` → "1×64×56×56"; nested shapes keep their brackets."""
    if shape is None:
        return ""
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {format_shape(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape):
        return "×".join(map(str, shape)) if shape else "scalar"
    return "(" + ", ".join(format_shape(s) for s in shape) + ")"


def first_tensor(obj: Any) -> Any:
    """The first tensor in a (possibly nested) output, or None."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return obj
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        for item in obj:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def flat_tensors(obj: Any) -> list:
    """Every tensor of a nested output, in order."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in flat_tensors(item)]
    return []


def module_named(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)`` with the inspector's error message."""
    if not name:
        return model
    try:
        if _scripted(model):  # TorchScript has no get_submodule; named_modules() has the same names
            return dict(model.named_modules())[name]
        return model.get_submodule(name)
    except (AttributeError, KeyError):
        known = [n for n, _ in model.named_modules() if n][:8]
        raise InspectorError(f"the model has no layer {name!r} (layers look like: {', '.join(known)}...)") from None


def _scripted(model: nn.Module) -> bool:
    import torch

    return isinstance(model, torch.jit.ScriptModule)


@contextmanager
def forward_hooks(modules: Iterable[tuple[str, nn.Module]], hook: Callable[[str, nn.Module, Any, Any], Any]
                  ) -> Iterator[None]:
    """Call ``hook(name, module, inputs, output)`` after each module's forward; every hook is removed on exit.

    Removal happens in ``finally``, so an exception in the forward pass (or a generator closed early)
    never leaves a hook behind.
    """
    handles = []
    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(
                lambda mod, inputs, output, _n=name: hook(_n, mod, inputs, output)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def quiet_torch() -> Iterator[list[str]]:
    """Collect (instead of raising) torch's deprecation and tracer warnings during a call; yields the messages."""
    collected: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield collected
    seen = set()
    for w in caught:
        text = str(w.message).splitlines()[0]
        if text not in seen:
            seen.add(text)
            collected.append(text)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
