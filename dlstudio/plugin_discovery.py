"""Finding plugins: the ``dlstudio.plugins`` entry points of the installed distributions, or modules handed in.

The built-in plugins are the entry points of dlstudio's own distribution: what another distribution's
metadata says about itself makes nothing built-in. (Loading them: :mod:`dlstudio.plugins`.)
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from dlstudio import ENTRY_POINT_GROUP, PROJECT_NAME


@dataclass
class Candidate:
    """A plugin about to be loaded: its name, how to get its module, and where it comes from."""

    name: str
    load: Any  # () -> module or object holding hook implementations
    source: str = ""
    version: str = ""
    builtin: bool = False
    #: Why it cannot even be tried (its distribution's metadata is unreadable), or "".
    problem: str = ""
    distribution: str = ""


def entry_point_candidates(group: str = ENTRY_POINT_GROUP) -> list[Candidate]:
    """Plugins declared in the installed distributions' entry points; dlstudio's own ones are the built-ins."""
    own = _own_entry_points(group)
    try:
        found, unreadable = list(importlib.metadata.entry_points(group=group)), []
    except Exception:  # one distribution's garbled metadata must not hide every plugin: look at each alone
        found, unreadable = _entry_points_one_by_one(group)
    candidates = []
    for ep in sorted(found, key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = _dist_name(dist)
        builtin = (ep.name, ep.value) in own
        source = f"{dist_name} (entry point {ep.value})"
        if not builtin and dist_name.lower() == PROJECT_NAME:  # says it is dlstudio, and is not
            source = f"{dist_name} (entry point {ep.value}; not dlstudio's own distribution)"
        version = str(getattr(dist, "version", "") or "") if dist is not None else ""
        candidates.append(Candidate(name=ep.name, load=ep.load, source=source, version=version, builtin=builtin,
                                    distribution=dist_name))
    return candidates + unreadable


def _own_entry_points(group: str) -> set[tuple[str, str]]:
    """(name, module) of the entry points dlstudio's own distribution declares: the built-in plugins.

    Looked up by the distribution's installed name, as ``importlib.metadata`` finds dlstudio itself, so
    another distribution calling itself "dlstudio" in its metadata declares no built-in plugin.
    """
    try:
        dist = importlib.metadata.distribution(PROJECT_NAME)
        return {(ep.name, ep.value) for ep in dist.entry_points if ep.group == group}
    except Exception:  # not installed (run from a source tree) or unreadable: then nothing is built in
        return set()


def _entry_points_one_by_one(group: str) -> tuple[list[Any], list[Candidate]]:
    """Entry points of the readable distributions, and a failed candidate for each unreadable one."""
    found, unreadable, seen = [], [], set()
    for dist in importlib.metadata.distributions():
        # importlib.metadata's own rule: the first distribution of a name on sys.path hides the others.
        key = getattr(dist, "_normalized_name", None) or re.sub(r"[-_.]+", "_", _dist_name(dist)).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            found.extend(ep for ep in dist.entry_points if ep.group == group)
        except Exception as exc:
            name = _dist_name(dist)
            unreadable.append(Candidate(
                name=name, load=None, source=f"{name} (unreadable entry_points.txt)", distribution=name,
                problem=f"the entry_points.txt of distribution {name!r} cannot be read ({type(exc).__name__}: {exc}): "
                        f"reinstall or uninstall {name}"))
    return found, unreadable


def _dist_name(dist: Any) -> str:
    try:
        return str(dist.name or "?") if dist is not None else "?"
    except Exception:  # metadata without a Name, or unreadable
        return "?"


def module_candidate(name: str, module: ModuleType | object, *, builtin: bool = False) -> Candidate:
    """A plugin handed in directly (tests, embedding)."""
    return Candidate(name=name, load=lambda: module, source="given directly", builtin=builtin)


