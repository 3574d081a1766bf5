"""Errors that are the user's to fix: shown as a message (CLI) or a dialog (GUI), never as a traceback."""

from dlstudio.checkpoints import CheckpointError
from dlstudio.home import HomeError
from dlstudio.runner import RunError
from dlstudio.spec import SpecError

USER_ERRORS: tuple[type[Exception], ...] = (SpecError, RunError, CheckpointError, HomeError, KeyError)
