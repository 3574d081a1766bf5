"""Finding, loading and validating plugins.

Every plugin, the built-in ones included, is found through the ``dlstudio.plugins`` entry-point group
(or handed in explicitly by tests). The core and the built-in plugins load first, so their ids are theirs:
a third-party plugin that registers one of them has that item rejected. Each plugin's hooks are called
through pluggy's hook caller, one plugin at a time: one that fails to import, declares a newer contract,
or raises in a hook is recorded as failed and contributes nothing; the others load. Items that do not
validate, or whose id another plugin already took, are rejected one by one with a warning on the plugin
that registered them.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Generic, TypeVar

import pluggy

from dlstudio import COMPATIBLE_CONTRACTS, CONTRACT_VERSION, ENTRY_POINT_GROUP, PROJECT_NAME, hookspecs
from dlstudio.contract import REGISTRABLE, ContractError

T = TypeVar("T")

LOADED, FAILED, DISABLED = "loaded", "failed", "disabled"


@dataclass
class PluginRecord:
    """What became of one plugin: shown by ``dlstudio plugins`` and the Plugins dialog."""

    name: str
    version: str = ""
    #: Where it came from: the distribution that declares the entry point, or "core".
    source: str = ""
    status: str = LOADED
    #: One-line reason when the plugin failed.
    error: str = ""
    traceback: str = ""
    #: Items of this plugin that were rejected (the plugin itself still loaded).
    warnings: list[str] = field(default_factory=list)
    builtin: bool = False

    def fail(self, error: str, tb: str = "") -> None:
        self.status, self.error, self.traceback = FAILED, error, tb


class Catalog(Generic[T]):
    """Registered items of one kind, by id, with a helpful error for unknown ids."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def __contains__(self, ident: object) -> bool:
        return ident in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def ids(self) -> list[str]:
        return list(self._items)

    def get(self, ident: str) -> T:
        try:
            return self._items[ident]
        except KeyError:
            close = difflib.get_close_matches(ident, self._items, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(
                f"no {self.kind} {ident!r} is registered.{hint} Known {self.kind}s: {known}. "
                "Is the plugin that provides it installed and enabled (dlstudio plugins)?"
            ) from None

    def _add(self, ident: str, item: T) -> None:
        self._items[ident] = item

    def _remove_where(self, predicate) -> None:
        self._items = {k: v for k, v in self._items.items() if not predicate(v)}


class Registry:
    """Everything the loaded plugins registered."""

    def __init__(self) -> None:
        self.families: Catalog = Catalog("family")
        self.panels: Catalog = Catalog("panel")
        self.models: Catalog = Catalog("model")
        self.datasets: Catalog = Catalog("dataset")
        self.tasks: Catalog = Catalog("task")
        self.callbacks: Catalog = Catalog("callback")
        self.recipes: Catalog = Catalog("recipe")
        self.commands: Catalog = Catalog("command")

    def catalog(self, kind: str) -> Catalog:
        return getattr(self, kind)


@dataclass
class Candidate:
    """A plugin about to be loaded: its name, how to get its module, and where it comes from."""

    name: str
    load: Any  # () -> module or object holding hook implementations
    source: str = ""
    version: str = ""
    builtin: bool = False


def entry_point_candidates(group: str = ENTRY_POINT_GROUP) -> list[Candidate]:
    """Plugins declared in the installed distributions' entry points."""
    candidates = []
    for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = dist.name if dist is not None else "?"
        candidates.append(
            Candidate(
                name=ep.name,
                load=ep.load,
                source=f"{dist_name} (entry point {ep.value})",
                version=dist.version if dist is not None else "",
                builtin=dist_name.lower() == PROJECT_NAME,
            )
        )
    return candidates


def module_candidate(name: str, module: ModuleType | object, *, builtin: bool = False) -> Candidate:
    """A plugin handed in directly (tests, embedding)."""
    return Candidate(name=name, load=lambda: module, source="given directly", builtin=builtin)


def _declared_contract(plugin: object) -> int | None:
    value = getattr(plugin, "DLSTUDIO_CONTRACT", None)
    return value if isinstance(value, int) else None


def load_plugins(
    candidates: Iterable[Candidate], disabled: Iterable[str] = ()
) -> tuple[Registry, list[PluginRecord]]:
    """Load the core plugin, then the built-in ``candidates``, then the others, and collect what they register.

    Within each group the candidates keep their order (entry points come sorted by name): when two
    third-party plugins register the same id, the first keeps it.
    """
    from dlstudio import core_plugin  # the host's own defaults are a plugin like any other

    disabled = set(disabled)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    records: list[PluginRecord] = []

    core = Candidate("core", lambda: core_plugin, "dlstudio", CONTRACT_VERSION_STR, True)
    candidates = list(candidates)
    ordered = [core, *(c for c in candidates if c.builtin), *(c for c in candidates if not c.builtin)]
    for cand in ordered:
        record = PluginRecord(cand.name, cand.version, cand.source, builtin=cand.builtin)
        records.append(record)
        if cand.name in disabled and cand is not core:
            record.status = DISABLED
            continue
        if cand.name in {r.name for r in records[:-1]}:
            record.fail(f"another plugin is already called {cand.name!r}")
            continue
        try:
            plugin = cand.load()
            needed = _declared_contract(plugin)
            if needed is not None and needed != CONTRACT_VERSION[0]:
                if needed not in COMPATIBLE_CONTRACTS:
                    record.fail(
                        f"written for plugin contract {needed}, this dlstudio provides {CONTRACT_VERSION_STR}"
                    )
                    continue
                record.warnings.append(
                    f"written for plugin contract {needed}; dlstudio {CONTRACT_VERSION_STR} loads it as it is, but "
                    f"it may need changes: see 'Migrating from contract {needed}' in the plugin guide"
                )
            record.version = record.version or str(getattr(plugin, "__version__", ""))
            pm.register(plugin, name=cand.name)
        except Exception as exc:  # any import-time failure disables just this plugin
            record.fail(f"could not load: {type(exc).__name__}: {exc}", traceback.format_exc())
            continue
        record.warnings.extend(_unused_hook_lookalikes(pm, plugin))
        _collect(pm, plugin, record, registry, {r.name for r in records if r.builtin})
        if record.status == FAILED:
            pm.unregister(plugin)

    _drop_orphan_panels(registry, records)
    return registry, records


CONTRACT_VERSION_STR = ".".join(map(str, CONTRACT_VERSION))


def _collect(
    pm: pluggy.PluginManager, plugin: object, record: PluginRecord, registry: Registry, builtin: set[str]
) -> None:
    """Call ``plugin``'s hooks, stage what it registers, then commit it all or nothing.

    Each hook goes through pluggy's caller limited to this plugin's implementations, so the plugin's
    own ordering (``tryfirst``/``trylast``) and wrappers apply while another plugin's hooks never run,
    nor fail, on its behalf.
    """
    others = [p for p in pm.get_plugins() if p is not plugin]
    staged: list[tuple[str, Any]] = []
    for kind, cls in REGISTRABLE.items():
        name = f"dlstudio_register_{kind}"

        def register(item: Any, _kind: str = kind, _cls: type = cls) -> None:
            staged.append((_kind, item if isinstance(item, _cls) else _Junk(_cls, item)))

        try:
            pm.subset_hook_caller(name, remove_plugins=others)(register=register)
        except Exception as exc:
            record.fail(f"hook {name} raised {type(exc).__name__}: {exc}", traceback.format_exc())
            return

    for kind, item in staged:
        if isinstance(item, _Junk):
            record.warnings.append(
                f"rejected a {_singular(kind)}: expected {item.expected.__name__}, got {type(item.value).__name__}"
            )
            continue
        try:
            item.validate()
        except ContractError as exc:
            record.warnings.append(f"rejected: {exc}")
            continue
        except Exception as exc:  # junk that makes validation itself fail is rejected the same way
            record.warnings.append(f"rejected a {_singular(kind)}: {type(exc).__name__} while validating it: {exc}")
            continue
        catalog = registry.catalog(kind)
        ident = getattr(item, "id", None) or item.name
        if ident in catalog:
            record.warnings.append(_clash(catalog.kind, ident, catalog.get(ident).plugin, record, builtin))
            continue
        catalog._add(ident, replace(item, plugin=record.name))


def _clash(kind: str, ident: str, owner: str, record: PluginRecord, builtin: set[str]) -> str:
    """The warning for an id that ``owner`` holds, recorded against ``record``'s plugin, which loses it."""
    if owner in builtin and not record.builtin:
        return f"rejected {kind} {ident!r}: {ident!r} is a built-in id of plugin {owner!r}; choose another id"
    if owner == record.name:
        return f"rejected {kind} {ident!r}: plugin {owner!r} registers that id twice; the first one is kept"
    return (f"rejected {kind} {ident!r} of plugin {record.name!r}: plugin {owner!r} already registered that id; "
            "one of them must choose another id")


def _unused_hook_lookalikes(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Warn about ``dlstudio_*`` functions pluggy ignores: misspelt hook names or a missing @hookimpl."""
    known = {name for name in dir(hookspecs) if name.startswith(f"{PROJECT_NAME}_")}
    warnings = []
    for name in dir(plugin):
        if not name.startswith(f"{PROJECT_NAME}_") or not callable(getattr(plugin, name, None)):
            continue
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            warnings.append(f"{name} is not a dlstudio hook and is never called{hint}")
        elif pm.parse_hookimpl_opts(plugin, name) is None:
            warnings.append(f"{name} is not marked with @hookimpl and is never called")
    return warnings


@dataclass
class _Junk:
    expected: type
    value: Any


def _drop_orphan_panels(registry: Registry, records: list[PluginRecord]) -> None:
    by_name = {r.name: r for r in reversed(records)}  # a later namesake failed: the first one owns the panel
    for panel in list(registry.panels):
        if panel.family not in registry.families:
            by_name[panel.plugin].warnings.append(
                f"rejected panel {panel.id!r}: no family {panel.family!r} is registered"
            )
    registry.panels._remove_where(lambda p: p.family not in registry.families)


def _singular(kind: str) -> str:
    """"families" → "family", "models" → "model" (the catalogs' names in warnings)."""
    return kind[:-3] + "y" if kind.endswith("ies") else kind[:-1]
