"""Which TorchScript files the user allowed to run, for this session.

A TorchScript file holds compiled code that runs when it is loaded (``__setstate__``) and on every forward
pass; PyTorch does not consider TorchScript from untrusted sources safe. The inspector loads one only when
the user allowed that file: the permission names the file's path *and* the SHA-256 of its bytes, so a file
replaced after the user said yes is asked about again, and the bytes hashed are the bytes loaded.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

_allowed: set[tuple[str, str]] = set()
_lock = threading.Lock()  # the window asks on the GUI thread and loads on a background one


def _key(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def allow(path: str | Path, sha256: str) -> None:
    """Allow the file at ``path`` with content ``sha256`` to run, until the application quits."""
    with _lock:
        _allowed.add((_key(path), sha256))


def is_allowed(path: str | Path, sha256: str) -> bool:
    with _lock:
        return (_key(path), sha256) in _allowed


def forget_all() -> None:
    """Withdraw every permission (tests; a new session starts with none)."""
    with _lock:
        _allowed.clear()
