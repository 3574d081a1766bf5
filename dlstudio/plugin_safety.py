"""Safe mode and crash recovery for plugins: what lets a user start dlstudio again after a plugin broke it.

- **Safe mode** (``dlstudio --safe-mode``, the Plugins dialog's button, ``DLSTUDIO_SAFE_MODE=1``) loads the
  built-in plugins only: every third-party plugin is disabled for that session.
- **Crash recovery**: while a plugin is imported and registers its items, a marker file in the data folder
  names it. A process that dies there (a native crash, ``os._exit``, an out-of-memory kill) cannot remove
  it, so the next start finds it and says which plugin was loading, and offers to disable it.

Each process writes a marker of its own (its pid in the name), so a window starting while a command loads its
plugins does not take the other's marker for a crash. Qt-free: the CLI and the window both use it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAFE_MODE_ENV = "DLSTUDIO_SAFE_MODE"
SAFE_MODE_FLAG = "--safe-mode"
MARKER_PREFIX = "plugin-loading-"


def safe_mode_requested() -> bool:
    """True when this process (or the one that started it) asked for safe mode."""
    return os.environ.get(SAFE_MODE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def enter_safe_mode() -> None:
    """Safe mode for this process and every process it starts (a run's worker, a restart)."""
    os.environ[SAFE_MODE_ENV] = "1"


@dataclass(frozen=True)
class CrashReport:
    """A plugin that was loading when a dlstudio process died."""

    plugin: str
    #: What the plugin's code was doing: "loading", or building a panel ("building panel 'x.y' of").
    doing: str = "loading"
    distribution: str = ""
    source: str = ""
    #: When it started loading (seconds since the epoch).
    started: float = 0.0
    pid: int = 0

    def message(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)) if self.started else "at some point"
        where = f" (from {self.distribution})" if self.distribution else ""
        return (f"the last dlstudio stopped unexpectedly while {self.doing} plugin {self.plugin!r}{where}, "
                f"started {when}. "
                f"If it happens again, disable it (`dlstudio plugins disable {self.plugin}`, or the Plugins "
                "dialog), or start with --safe-mode to load the built-in plugins only.")


class LoadingMarker:
    """Writes, around each plugin's load, the marker naming it; removes it when the load returns."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / f"{MARKER_PREFIX}{os.getpid()}.json"

    def watch(self, candidate: Any) -> AbstractContextManager[None]:
        """Mark ``candidate`` (a :class:`dlstudio.plugins.Candidate`) as loading while the ``with`` body runs."""
        return self.running(candidate.name, "loading", getattr(candidate, "distribution", ""),
                            getattr(candidate, "source", ""))

    @contextmanager
    def running(self, plugin: str, doing: str, distribution: str = "", source: str = "") -> Iterator[None]:
        """Mark ``plugin``'s code as running (``doing``: "loading", "building panel 'x' of") in the ``with`` body."""
        data = {"plugin": plugin, "doing": doing, "distribution": distribution, "source": source,
                "started": time.time(), "pid": os.getpid()}
        try:
            self.path.write_text(json.dumps(data), encoding="utf-8")
        except OSError:  # a read-only or full data folder must not stop the plugins from loading
            yield
            return
        try:
            yield
        finally:
            self.path.unlink(missing_ok=True)


def take_crash_reports(home: Path) -> list[CrashReport]:
    """The markers that dead processes left in ``home``, removed as they are read (each is reported once).

    A marker whose process still runs is another dlstudio loading its plugins right now: it is left alone.
    """
    reports = []
    for path in sorted(Path(home).glob(f"{MARKER_PREFIX}*.json")):
        pid = _pid_of(path)
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
            report = CrashReport(plugin=str(data.get("plugin") or "?"), doing=str(data.get("doing") or "loading"),
                                 distribution=str(data.get("distribution", "")),
                                 source=str(data.get("source", "")), started=float(data.get("started", 0.0)),
                                 pid=int(data.get("pid", 0)))
        except (OSError, ValueError, TypeError):  # cut short as it was written: the plugin is unknown
            report = CrashReport(plugin="?", pid=pid or 0)
        path.unlink(missing_ok=True)
        reports.append(report)
    return reports


def _pid_of(path: Path) -> int | None:
    try:
        return int(path.stem.removeprefix(MARKER_PREFIX))
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would end the process there
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True
