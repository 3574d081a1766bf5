"""Finding, loading and validating plugins.

Every plugin, the built-in ones included, is found through the ``dlstudio.plugins`` entry-point group
(or handed in explicitly by tests). The built-in plugins are the entry points of dlstudio's own distribution:
what another distribution's metadata says about itself makes nothing built-in. The core and the built-in
plugins load first, whatever order the entry points come in, so their names and ids are theirs: a third
party named like a built-in plugin is refused, and one that registers a built-in id has that item rejected,
with the warning on its own record.

A plugin is imported and its hooks are called through a pluggy manager of its own, so another plugin's hooks
never run, nor fail, on its behalf. A third party does this on a thread of its own, under a time limit: one
that fails to import, declares a newer contract, raises in a hook (``SystemExit`` and ``KeyboardInterrupt``
included) or does not finish in time is recorded as failed and contributes nothing; the others load. The
built-in plugins are trusted and load on the calling thread. Items that do not validate, or whose id another
plugin already took, are rejected one by one with a warning on the plugin that registered them.
"""

from __future__ import annotations

import difflib
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import pluggy

from dlstudio import COMPATIBLE_CONTRACTS, CONTRACT_VERSION, PROJECT_NAME, hookspecs
from dlstudio.contract import REGISTRABLE, ContractError

# Finding plugins is dlstudio/plugin_discovery.py; its names stay importable from here.
from dlstudio.plugin_discovery import Candidate, entry_point_candidates, module_candidate

__all__ = ["Candidate", "PluginRecord", "Registry", "add_plugins", "entry_point_candidates", "load_plugins",
           "module_candidate"]

T = TypeVar("T")

LOADED, FAILED, DISABLED = "loaded", "failed", "disabled"

#: Seconds a third-party plugin may take to be imported and register its items. Past it the plugin is failed
#: and left running on its thread, whatever it registers later ignored: start-up must not hang on it.
LOAD_TIMEOUT_S = 20.0
#: A plugin that takes longer than this to load is reported as slowing down every start (CLI and dialog).
SLOW_LOAD_S = 1.0
#: Why a third-party plugin is disabled in safe mode (its record's ``note``).
SAFE_MODE_NOTE = "safe mode: only the built-in plugins are loaded in this session"


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
    #: Refused because its name belongs to a plugin loaded before it (a built-in one, or a namesake):
    #: disabling it by that name would disable the other one.
    name_taken: bool = False
    #: The installed distribution that declares it ("" when handed in directly): what uninstall removes.
    distribution: str = ""
    #: Seconds its import and registration hooks took (0 when it was not loaded).
    load_seconds: float = 0.0
    #: The major contract version the plugin declares (``DLSTUDIO_CONTRACT``), or None.
    contract: int | None = None
    #: Why it is disabled when that is not the user's setting (safe mode).
    note: str = ""

    @property
    def slow(self) -> bool:
        return self.load_seconds > SLOW_LOAD_S

    def fail(self, error: str, tb: str = "") -> None:
        self.status, self.error, self.traceback = FAILED, _one_line(error), tb


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
        #: (plugin object, name) of every loaded plugin: one module cannot be two plugins.
        self.plugin_objects: list[tuple[object, str]] = []

    def catalog(self, kind: str) -> Catalog:
        return getattr(self, kind)

    def items_of(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registered, by kind ("families", "models"...): the ids a spec or a panel may name."""
        out = {}
        for kind in REGISTRABLE:
            ids = sorted(getattr(item, "id", None) or item.name for item in self.catalog(kind) if item.plugin == plugin)
            if ids:
                out[kind] = ids
        return out


def _declared_contract(plugin: object) -> int | None:
    value = getattr(plugin, "DLSTUDIO_CONTRACT", None)
    return value if isinstance(value, int) else None


#: Called around each plugin's load: a context manager (the crash-recovery marker, :mod:`dlstudio.plugin_safety`).
Watch = Callable[[Candidate], AbstractContextManager]


def load_plugins(
    candidates: Iterable[Candidate], disabled: Iterable[str] = (), *, timeout: float = LOAD_TIMEOUT_S,
    safe_mode: bool = False, watch: Watch | None = None,
) -> tuple[Registry, list[PluginRecord]]:
    """Load the core plugin, then the built-in ``candidates``, then the others, and collect what they register.

    Within each group the candidates keep their order (entry points come sorted by name): when two
    third-party plugins register the same id, the first keeps it. Each third-party plugin has ``timeout``
    seconds to be imported and register its items. In ``safe_mode`` only the built-in ones load.
    """
    from dlstudio import core_plugin  # the host's own defaults are a plugin like any other

    registry = Registry()
    records: list[PluginRecord] = []
    core = Candidate("core", lambda: core_plugin, "dlstudio", CONTRACT_VERSION_STR, True)
    candidates = list(candidates)
    ordered = [core, *(c for c in candidates if c.builtin), *(c for c in candidates if not c.builtin)]
    add_plugins(registry, records, ordered, disabled, timeout=timeout, safe_mode=safe_mode, watch=watch)
    return registry, records


def add_plugins(
    registry: Registry, records: list[PluginRecord], candidates: Iterable[Candidate], disabled: Iterable[str] = (),
    *, timeout: float = LOAD_TIMEOUT_S, safe_mode: bool = False, watch: Watch | None = None,
) -> list[PluginRecord]:
    """Load ``candidates`` into ``registry``, appending their records to ``records``; the new records.

    ``load_plugins`` starts with it; a plugin installed while the window runs joins the running studio
    through it, under the same rules: the names and ids already taken stay their owners'.
    """
    disabled = set(disabled)
    candidates = list(candidates)
    builtin_names = {r.name for r in records if r.builtin} | {c.name for c in candidates if c.builtin}
    loaded = registry.plugin_objects
    first_new = len(records)
    for cand in candidates:
        record = PluginRecord(cand.name, cand.version, cand.source, builtin=cand.builtin,
                              distribution=cand.distribution)
        records.append(record)
        if cand.name in builtin_names and not cand.builtin:
            record.name_taken = True
            record.fail(f"refused: {cand.name!r} is the name of a built-in dlstudio plugin; uninstall the one "
                        f"from {cand.source}, or ask its author to rename its entry point")
            continue
        if cand.name in disabled and not (cand.builtin and cand.name == "core"):
            record.status = DISABLED
            continue
        if safe_mode and not cand.builtin:
            record.status, record.note = DISABLED, SAFE_MODE_NOTE
            continue
        if cand.name in {r.name for r in records[:-1]}:
            record.name_taken = True
            record.fail(f"another plugin is already called {cand.name!r}")
            continue
        if cand.problem:
            record.fail(cand.problem)
            continue
        started = time.perf_counter()
        with watch(cand) if watch is not None else nullcontext():
            outcome = _load(cand, (Exception, SystemExit)) if cand.builtin else _load_on_a_thread(cand, timeout)
        record.load_seconds = time.perf_counter() - started
        record.contract = outcome.contract
        if outcome.error:
            record.fail(outcome.error, outcome.traceback)
            continue
        twin = next((name for plugin, name in loaded if plugin is outcome.plugin), None)
        if twin is not None:
            record.fail(f"it is the same module as plugin {twin!r}, which is already loaded")
            continue
        loaded.append((outcome.plugin, cand.name))
        record.version = record.version or outcome.version
        record.warnings.extend(outcome.warnings)
        _commit(outcome.staged, record, registry, {r.name for r in records if r.builtin})

    _drop_orphan_panels(registry, records)
    return records[first_new:]


CONTRACT_VERSION_STR = ".".join(map(str, CONTRACT_VERSION))


@dataclass
class _Outcome:
    """What loading one plugin gave: its object and staged items, or why it failed."""

    plugin: object = None
    version: str = ""
    contract: int | None = None
    warnings: list[str] = field(default_factory=list)
    staged: list[tuple[str, Any]] = field(default_factory=list)
    error: str = ""
    traceback: str = ""


def _load_on_a_thread(cand: Candidate, timeout: float) -> _Outcome:
    """``_load`` on a daemon thread, waited for at most ``timeout`` seconds.

    Python cannot stop a thread: one that does not finish is left running, and its outcome (whatever it
    registers from then on) is never read. Everything it touches is its own: its pluggy manager, its staged
    items. Ctrl+C stays the user's: it interrupts the wait here, on the main thread, while a
    ``KeyboardInterrupt`` the plugin raises on its own thread only fails the plugin.
    """
    box: list[_Outcome] = []
    thread = threading.Thread(target=lambda: box.append(_load(cand, BaseException)),
                              name=f"dlstudio-plugin-{cand.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if box:
        return box[0]
    frame = sys._current_frames().get(thread.ident)
    where = "".join(traceback.format_stack(frame)) if frame is not None else ""
    return _Outcome(
        error=f"did not finish loading within {timeout:g} s and was left behind: nothing it registers is used "
              "(disable it if this happens again)",
        traceback=f"Where it was after {timeout:g} s (most recent call last):\n{where}")


def _load(cand: Candidate, catch: type[BaseException] | tuple[type[BaseException], ...]) -> _Outcome:
    """Import ``cand``, check its contract and call its hooks, staging what it registers; never raises ``catch``."""
    out = _Outcome()
    try:
        plugin = cand.load()
    except catch as exc:  # any import-time failure disables just this plugin
        out.error, out.traceback = _could_not_load(exc), traceback.format_exc()
        return out
    try:
        needed = out.contract = _declared_contract(plugin)
        if needed is not None and needed != CONTRACT_VERSION[0]:
            if needed not in COMPATIBLE_CONTRACTS:
                out.error = f"written for plugin contract {needed}, this dlstudio provides {CONTRACT_VERSION_STR}"
                return out
            out.warnings.append(
                f"written for plugin contract {needed}; dlstudio {CONTRACT_VERSION_STR} loads it as it is, but "
                f"it may need changes: see 'Migrating from contract {needed}' in the plugin guide")
        out.version = str(getattr(plugin, "__version__", "") or "")
        pm = pluggy.PluginManager(PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        pm.register(plugin, name=cand.name)
        out.warnings.extend(_unused_hook_lookalikes(pm, plugin))
    except catch as exc:
        out.error, out.traceback = _could_not_load(exc), traceback.format_exc()
        return out
    out.plugin = plugin
    _call_hooks(pm, out, catch)
    return out


def _call_hooks(pm: pluggy.PluginManager, out: _Outcome, catch: Any) -> None:
    """Call every registration hook of the one plugin ``pm`` holds, with its own ordering and wrappers."""
    for kind, cls in REGISTRABLE.items():
        name = f"dlstudio_register_{kind}"

        def register(item: Any, _kind: str = kind, _cls: type = cls) -> None:
            out.staged.append((_kind, item if isinstance(item, _cls) else _Junk(_cls, item)))

        try:
            getattr(pm.hook, name)(register=register)
        except catch as exc:
            verb = "called" if isinstance(exc, SystemExit) else "raised"
            out.error, out.traceback = f"hook {name} {verb} {_describe(exc)}", traceback.format_exc()
            out.staged.clear()
            return


def _describe(exc: BaseException) -> str:
    """``RuntimeError: kaput``; ``sys.exit('bye')`` for a SystemExit (its message is the plugin's, not an error's)."""
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r})"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _could_not_load(exc: BaseException) -> str:
    return f"could not load: {'it called ' if isinstance(exc, SystemExit) else ''}{_describe(exc)}"


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


def _commit(staged: list[tuple[str, Any]], record: PluginRecord, registry: Registry, builtin: set[str]) -> None:
    """Validate what ``record``'s plugin registered and add it, item by item, tagged with the plugin's name."""
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
