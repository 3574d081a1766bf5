"""Errors that are the user's to fix: shown as a message (CLI) or a dialog (GUI), never as a traceback.

Importing this module imports neither torch nor Qt: the CLI needs these classes before it knows whether
the command it runs will train anything.
"""

from __future__ import annotations

from dlstudio.home import HomeError
from dlstudio.spec import SpecError


class RunError(RuntimeError):
    """A run that cannot start; the message says what to change."""


class CheckpointError(RuntimeError):
    """A checkpoint or weights file that cannot be used; the message says why."""


USER_ERRORS: tuple[type[Exception], ...] = (SpecError, RunError, CheckpointError, HomeError, KeyError)

__all__ = ["USER_ERRORS", "CheckpointError", "HomeError", "RunError", "SpecError"]
