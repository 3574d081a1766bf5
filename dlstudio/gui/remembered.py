"""What of a form's remembered values still applies on the next start: a model or dataset that is no longer
registered, a parameter it no longer takes, a file or folder that is gone — each is dropped with a note (the
form keeps its default there) instead of being shown as if it were still true. No Qt: plain dicts."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlstudio.params import describe


def _missing_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and not Path(value).expanduser().exists()


def _section(name: str, saved: Mapping[str, Any], items: Mapping[str, Any], notes: list[str],
             gone: list[tuple[str, str]]) -> dict | None:
    """``saved``'s model or data section with what no longer applies dropped, or None when its item is gone.
    A path that is gone stays in the section (a spec is shown whole or not at all) and is listed in ``gone``
    as (section, key), for the form to empty once the spec is shown."""
    ident = saved.get("id")
    item = items.get(ident) if isinstance(ident, str) else None
    if item is None:
        notes.append(f"{name} {ident!r} is no longer available: the remembered {name} settings were dropped")
        return None
    params = describe(item.defaults, item.choices)
    kept: dict[str, Any] = {}
    for key, value in dict(saved.get("params") or {}).items():
        param = params.get(key)
        if param is None:
            notes.append(f"{item.title} no longer takes {key!r}: the remembered value was dropped")
        else:
            kept[key] = value
            if param.kind and _missing_path(value):
                notes.append(f"the remembered {key} {value} no longer exists: it was dropped")
                gone.append((name, key))
    out = {"id": ident, "params": kept}
    if name == "model":  # a weights file that is gone is dropped once the spec is shown (PanelMemory)
        out["weights"] = saved.get("weights", "")
    return out


def applicable(saved: Any, base: Mapping[str, Any], models: Mapping[str, Any], datasets: Mapping[str, Any],
               train_keys: set[str]) -> tuple[dict[str, Any], list[str], list[tuple[str, str]]]:
    """``base`` (the spec dict the form shows by default) with the remembered spec ``saved`` laid over it as
    far as it still applies (``models``/``datasets``: the ids the form offers, to their specs); a note for
    each remembered value that was dropped; and the (section, key) of paths that are gone, to be emptied."""
    notes: list[str] = []
    gone: list[tuple[str, str]] = []
    out = copy.deepcopy(dict(base))
    if not isinstance(saved, Mapping):
        return out, ["the remembered settings could not be read: they were dropped"] if saved is not None else [], []
    model = _section("model", saved.get("model") or {}, models, notes, gone)
    data = _section("data", saved.get("data") or {}, datasets, notes, gone)
    if model is not None:
        out["model"] = model
    if data is not None:
        out["data"] = data
    if model is not None and data is not None:
        out["task"] = copy.deepcopy(dict(saved.get("task") or {"params": {}}))
        run = dict(saved.get("run") or {})
        out["run"] = {**out.get("run", {}), **{k: v for k, v in run.items() if k != "name"}}
    else:
        out.setdefault("run", {})["task"] = base.get("run", {}).get("task", "")
    if isinstance(saved.get("run"), Mapping) and "name" in saved["run"]:
        out.setdefault("run", {})["name"] = saved["run"]["name"]
    train = dict(saved.get("train") or {})
    dropped = sorted(set(train) - train_keys)
    if dropped:
        notes.append(f"[train] no longer takes {', '.join(dropped)}: the remembered values were dropped")
    out["train"] = {**out.get("train", {}), **{k: v for k, v in train.items() if k in train_keys}}
    return out, notes, gone
