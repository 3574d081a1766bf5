"""Errors that are the user's to fix: shown as a message (CLI) or a dialog (GUI), never as a traceback.

Importing this module imports neither torch nor Qt: the CLI needs these classes before it knows whether
the command it runs will train anything.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from dlstudio.home import HomeError
from dlstudio.spec import SpecError


class RunError(RuntimeError):
    """A run that cannot start; the message says what to change."""


class CheckpointError(RuntimeError):
    """A checkpoint or weights file that cannot be used; the message says why."""


class DiskFullError(OSError):
    """No space left (or the quota used up) where dlstudio had to write. What was saved before is intact:
    files are replaced atomically and the run store keeps its last good state."""

    def __init__(self, path: str | Path, what: str = "", advice: str = "free some space, then try again") -> None:
        super().__init__(errno.ENOSPC, "No space left on device", str(path))
        self.path, self.what, self.advice = Path(path), what, advice

    def __str__(self) -> str:
        what = f" ({self.what} could not be written)" if self.what else ""
        return f"the disk is full at {self.path}{what}; {self.advice}"


#: errno values that mean "no space": the disk is full, or the user's quota is used up.
NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
#: SQLite's primary result codes for "database or disk is full" and "disk I/O error".
_SQLITE_FULL, _SQLITE_IOERR = 13, 10
#: Below this much free space, SQLite's "disk I/O error" is taken for a full disk (it reports a full
#: disk so when it cannot grow its shared-memory or journal file).
_NEARLY_FULL = 1 << 20


def as_disk_full(exc: BaseException, path: str | Path, what: str = "") -> DiskFullError | None:
    """``exc`` as a :class:`DiskFullError` when it means the disk at ``path`` is full, else None.

    An ``OSError`` with ENOSPC or EDQUOT (named after its file when it has one), SQLite's "database or disk
    is full", and SQLite's "disk I/O error" while the disk at ``path`` has (almost) no free space.
    """
    if isinstance(exc, DiskFullError):
        return exc
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return DiskFullError(Path(exc.filename).parent if exc.filename else path, what)
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    if code & 0xFF == _SQLITE_FULL or (code & 0xFF == _SQLITE_IOERR and _free_space(path) < _NEARLY_FULL):
        return DiskFullError(path, what)
    return None


def _free_space(path: str | Path) -> int:
    for folder in (Path(path), *Path(path).parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return _NEARLY_FULL


USER_ERRORS: tuple[type[Exception], ...] = (SpecError, RunError, CheckpointError, HomeError, DiskFullError,
                                            KeyError)

__all__ = ["NO_SPACE", "USER_ERRORS", "CheckpointError", "DiskFullError", "HomeError", "RunError", "SpecError",
           "as_disk_full"]
