"""Installing, updating and uninstalling third-party plugins with pip, for the CLI and the Plugins dialog alike.

Both front-ends run the command :func:`pip_command` builds (the CLI with ``subprocess``, the window in a
QProcess), for the interpreter dlstudio runs on. An install or an update always carries a constraints file
that pins dlstudio and everything it runs on (its requirements and theirs, at the installed versions): pip
may add a plugin and what the plugin needs, but never replace the torch or the Qt under the running app. A
plugin that needs other versions fails in pip's resolver, with pip's own reason, before anything changes.

What changed is measured, not assumed: the installed distributions before and after (:func:`installed`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dlstudio import ENTRY_POINT_GROUP, PROJECT_NAME

INSTALL, UPDATE, UNINSTALL = "install", "update", "uninstall"
#: What a local file must end with for pip to install it.
ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class PluginInstallError(ValueError):
    """An install, update or uninstall refused before pip runs; the message says what to give instead."""


# ---------------------------------------------------------------------------------------------------
# What is pinned
# ---------------------------------------------------------------------------------------------------


def core_pins() -> dict[str, str]:
    """dlstudio and everything it runs on, by canonical name, at the installed versions.

    The closure of dlstudio's requirements (extras left out), read from the installed metadata: pinning
    only the direct ones would let a plugin replace, say, the shiboken6 under PySide6.
    """
    importlib.invalidate_caches()
    try:
        importlib.metadata.distribution(PROJECT_NAME)
    except importlib.metadata.PackageNotFoundError:
        raise PluginInstallError(
            "dlstudio is not installed in this environment (it runs from a source folder), so what it runs on "
            f"cannot be pinned: install it first (pip install -e {_source_hint()})") from None
    pins: dict[str, str] = {}
    todo = [PROJECT_NAME]
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in pins:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:  # a requirement for another platform: nothing runs on it
            continue
        pins[key] = dist.version
        for text in dist.requires or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return pins


def _source_hint() -> str:
    return str(Path(__file__).resolve().parents[1])


def constraints_text(pins: dict[str, str]) -> str:
    header = "# Written by dlstudio for one pip run: what dlstudio runs on stays at the installed versions.\n"
    return header + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


@contextmanager
def constraints_file(pins: dict[str, str] | None = None) -> Iterator[Path]:
    """A temporary constraints file pinning ``pins`` (default :func:`core_pins`), removed afterwards."""
    path = write_constraints(pins)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def write_constraints(pins: dict[str, str] | None = None) -> Path:
    """A new constraints file, for one pip run; the caller removes it (the dialog does, when pip ends)."""
    pins = core_pins() if pins is None else pins
    fd, name = tempfile.mkstemp(prefix="dlstudio-constraints-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(constraints_text(pins))
    return Path(name)


# ---------------------------------------------------------------------------------------------------
# What to install
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One thing to install: ``kind`` is "package", "file", "folder" or "url"; ``value`` is what pip is given."""

    kind: str
    value: str
    #: The canonical project name when the target is a requirement ("package"), else "".
    name: str = ""


def parse_target(text: str, pins: dict[str, str] | None = None) -> Target:
    """What the user typed (a name with an optional version, a wheel or sdist, a project folder, a VCS URL)."""
    text = text.strip()
    if not text:
        raise PluginInstallError("nothing to install: give a package name, a wheel or sdist file, a project "
                                 "folder or a VCS URL")
    if text.startswith(VCS_PREFIXES) or "://" in text:
        if not text.startswith((*VCS_PREFIXES, "http://", "https://", "file://")):
            raise PluginInstallError(f"{text!r}: only http(s), file and git+/hg+/svn+/bzr+ URLs can be installed")
        return Target("url", text)
    path = Path(text).expanduser()
    if path.exists() or _looks_like_a_path(text):
        return _path_target(path, text)
    try:
        req = Requirement(text)
    except InvalidRequirement:
        raise PluginInstallError(
            f"{text!r} is neither a package name (optionally with a version, e.g. name==1.2), an existing file "
            "or folder, nor a URL") from None
    name = canonicalize_name(req.name)
    pinned = core_pins() if pins is None else pins
    if name in pinned:
        raise PluginInstallError(
            f"{req.name} is what dlstudio runs on (pinned at {pinned[name]}), not a plugin: installing it here "
            "would change the app under the plugins")
    return Target("package", text, name)


def _looks_like_a_path(text: str) -> bool:
    return (os.sep in text or (os.altsep or os.sep) in text or text.startswith((".", "~"))
            or text.lower().endswith(ARCHIVES))


def _path_target(path: Path, text: str) -> Target:
    if not path.exists():
        raise PluginInstallError(f"no such file or folder: {text}")
    path = path.resolve()
    if path.is_dir():
        if not any((path / name).is_file() for name in PROJECT_FILES):
            raise PluginInstallError(f"{path} is a folder without pyproject.toml, setup.py or setup.cfg: not a "
                                     "Python project pip can install")
        return Target("folder", str(path))
    if not path.name.lower().endswith(ARCHIVES):
        raise PluginInstallError(f"{path} is neither a wheel (.whl) nor a source archive (.tar.gz, .zip)")
    return Target("file", str(path))


# ---------------------------------------------------------------------------------------------------
# Installed plugins
# ---------------------------------------------------------------------------------------------------


def installed() -> dict[str, str]:
    """Every installed distribution's version by canonical name, read afresh (pip may just have run)."""
    importlib.invalidate_caches()
    versions: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        try:
            name = canonicalize_name(dist.metadata["Name"] or "")
        except Exception:  # unreadable metadata: not ours to judge here
            continue
        if name:
            versions.setdefault(name, dist.version)  # the first one on sys.path is the one imported
    return versions


def plugin_entry_points() -> dict[str, tuple[str, str]]:
    """Every installed plugin by entry-point name: (its distribution's canonical name, the module it names)."""
    importlib.invalidate_caches()
    out: dict[str, tuple[str, str]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        out.setdefault(ep.name, (canonicalize_name(dist.name) if dist is not None else "", ep.value))
    return out


def plugin_distribution(name: str) -> importlib.metadata.Distribution:
    """The installed third-party distribution that ``name`` (a plugin's or a distribution's name) means.

    Refused, saying why: dlstudio itself (its built-in plugins can only be disabled), a distribution that
    declares no plugin (uninstalling torch through dlstudio would break it), and unknown names.
    """
    plugins = plugin_entry_points()
    dist_name = plugins[name][0] if name in plugins else canonicalize_name(name)
    if dist_name == PROJECT_NAME:
        raise PluginInstallError(f"{name!r} comes with dlstudio: a built-in plugin cannot be uninstalled or "
                                 f"updated on its own, only disabled (dlstudio plugins disable {name})")
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        known = ", ".join(sorted(f"{p} ({d})" for p, (d, _) in plugins.items() if d != PROJECT_NAME)) or "none"
        raise PluginInstallError(f"no installed plugin or distribution is called {name!r}; third-party plugins "
                                 f"installed: {known}") from None
    if not any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points):
        raise PluginInstallError(f"{dist.metadata['Name']} declares no dlstudio plugin: dlstudio installs and "
                                 "removes plugins only (use pip itself for anything else)")
    return dist


def removal_summary(dist: importlib.metadata.Distribution) -> list[str]:
    """What uninstalling ``dist`` removes: its top-level folders and files, with how many files each holds."""
    counts: dict[str, int] = {}
    for file in dist.files or []:
        top = file.parts[0] if len(file.parts) > 1 else str(file)
        if top.startswith(".."):  # a console script in bin/: named by its own path
            top = str(file)
        counts[top] = counts.get(top, 0) + 1
    return [f"{top}{'/' if n > 1 or '.' not in top else ''} ({n} file{'s' if n != 1 else ''})"
            for top, n in sorted(counts.items())]


# ---------------------------------------------------------------------------------------------------
# The pip command, and what it did
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipOptions:
    """Where pip looks: its own configuration unless told here (offline installs, a private index)."""

    no_index: bool = False
    find_links: tuple[str, ...] = ()
    index_url: str = ""
    no_build_isolation: bool = False
    pre: bool = False

    def args(self) -> list[str]:
        out = ["--no-index"] if self.no_index else []
        for link in self.find_links:
            out += ["--find-links", link]
        out += ["--index-url", self.index_url] if self.index_url else []
        out += ["--no-build-isolation"] if self.no_build_isolation else []
        return out + (["--pre"] if self.pre else [])


def pip_command(action: str, targets: list[str], constraints: Path | None = None,
                options: PipOptions = PipOptions(), python: str = sys.executable) -> list[str]:
    """The whole command line: ``python -m pip install ... -c constraints TARGET...`` (or ``uninstall --yes``)."""
    if not targets:
        raise PluginInstallError(f"nothing to {action}")
    base = [python, "-m", "pip"]
    if action == UNINSTALL:
        return [*base, "uninstall", "--yes", *targets]
    if action not in (INSTALL, UPDATE):
        raise ValueError(f"unknown action {action!r}")
    if constraints is None:
        raise ValueError("an install or an update always runs with the constraints file")
    upgrade = ["--upgrade", "--upgrade-strategy", "only-if-needed"] if action == UPDATE else []
    return [*base, "install", "--no-input", "--disable-pip-version-check", "--progress-bar", "off", *upgrade,
            *options.args(), "--constraint", str(constraints), *targets]


@dataclass
class Outcome:
    """What one pip run did, measured on the installed distributions."""

    action: str
    targets: list[str]
    returncode: int
    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    #: name → (before, after)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Plugins (entry-point names) that appeared or disappeared.
    new_plugins: list[str] = field(default_factory=list)
    gone_plugins: list[str] = field(default_factory=list)
    #: pip's own error lines when it failed (the resolver's reason, for one).
    error: str = ""
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.cancelled

    @property
    def nothing_changed(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        if self.cancelled:
            head = f"{self.action} cancelled"
        elif not self.ok:
            head = f"{self.action} failed (pip exited with status {self.returncode})"
        else:
            head = f"{self.action} done"
        parts = [f"added {', '.join(f'{n} {v}' for n, v in sorted(self.added.items()))}" if self.added else "",
                 f"removed {', '.join(f'{n} {v}' for n, v in sorted(self.removed.items()))}" if self.removed else "",
                 "changed " + ", ".join(f"{n} {a} → {b}" for n, (a, b) in sorted(self.changed.items()))
                 if self.changed else ""]
        said = "; ".join(p for p in parts if p) or "nothing changed"
        return f"{head}: {said}"

    @property
    def hint(self) -> str:
        """What pip's failure means here, when it is the pins that refused it (pip's own advice does not apply)."""
        if "(constraint)" in self.error:
            return ("dlstudio keeps what it runs on at the installed versions (pip's '(constraint)' lines): this "
                    "plugin needs other versions of them, so it cannot be installed into this dlstudio; ask its "
                    "author for a release that works with these versions")
        return ""

    def to_json(self) -> dict:
        return {"action": self.action, "targets": self.targets, "ok": self.ok, "returncode": self.returncode,
                "cancelled": self.cancelled, "added": self.added, "removed": self.removed,
                "changed": {n: list(v) for n, v in self.changed.items()}, "new_plugins": self.new_plugins,
                "gone_plugins": self.gone_plugins, "error": self.error, "hint": self.hint, "summary": self.summary()}


@dataclass
class Snapshot:
    """The installed distributions and plugins before pip runs, to compare with afterwards."""

    versions: dict[str, str]
    plugins: dict[str, tuple[str, str]]

    @classmethod
    def take(cls) -> Snapshot:
        return cls(installed(), plugin_entry_points())

    def outcome(self, action: str, targets: list[str], returncode: int, log: list[str],
                cancelled: bool = False, after: Snapshot | None = None) -> Outcome:
        """What changed between this snapshot and ``after`` (default: what is installed now)."""
        after = Snapshot.take() if after is None else after
        before = self.versions
        out = Outcome(action, list(targets), returncode, cancelled=cancelled)
        out.added = {n: v for n, v in after.versions.items() if n not in before}
        out.removed = {n: v for n, v in before.items() if n not in after.versions}
        out.changed = {n: (before[n], v) for n, v in after.versions.items() if n in before and before[n] != v}
        out.new_plugins = sorted(set(after.plugins) - set(self.plugins))
        out.gone_plugins = sorted(set(self.plugins) - set(after.plugins))
        out.error = pip_errors(log) if returncode != 0 else ""
        return out


def pip_errors(log: list[str], limit: int = 40) -> str:
    """pip's reason for failing: its output from the first ``ERROR:`` line on (the resolver's explanation)."""
    start = next((i for i, line in enumerate(log) if line.startswith("ERROR:")), None)
    lines = log[start:] if start is not None else log[-10:]
    return "\n".join(lines[:limit]).strip()


def run_pip(command: list[str], on_line: Callable[[str], None] = lambda line: None) -> tuple[int, list[str]]:
    """Run pip, handing each line of its output (stdout and stderr) to ``on_line`` as it comes; (status, lines)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          text=True, errors="replace", env=env) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            on_line(line)
        return proc.wait(), lines


def new_plugins_need_restart(names: list[str]) -> list[str]:
    """Those of the new plugins ``names`` this process cannot import (an editable install's .pth is read at start)."""
    from importlib.util import find_spec

    plugins = plugin_entry_points()
    missing = []
    for name in names:
        module = plugins.get(name, ("", ""))[1].split(":")[0]
        try:
            found = bool(module) and find_spec(module.split(".")[0]) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def load_into(studio, names: list[str]) -> list:
    """Load the newly installed plugins ``names`` into the running ``studio`` (a :class:`dlstudio.studio.Studio`).

    Under the start-up rules (their names and ids may not take what is loaded; disabled, safe mode, the
    crash marker); their records are appended to ``studio.plugins`` and returned.
    """
    from dlstudio.plugin_safety import LoadingMarker, safe_mode_requested
    from dlstudio.plugins import add_plugins, entry_point_candidates

    fresh = [c for c in entry_point_candidates() if c.name in names and studio.plugin_record(c.name) is None]
    return add_plugins(studio.registry, studio.plugins, fresh, studio.settings.disabled_plugins(),
                       safe_mode=safe_mode_requested(), watch=LoadingMarker(studio.home).watch)
