"""Cooperative pause and cancel, checked by the loop between batches."""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised inside the loop when the run was cancelled; the loop turns it into a "cancelled" end."""


class RunControl:
    """Thread-safe flags another thread (the GUI) sets and the training loop honours."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused loop so it can see the cancel

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        """Block while paused (a distributed run's rank 0 pauses here; the others wait for it in the next
        collective)."""
        if not self._running.is_set():
            self._running.wait()

    def check(self) -> None:
        """Block while paused; raise :class:`Cancelled` once cancelled."""
        if not self._running.is_set():
            self._running.wait()
        if self._cancel.is_set():
            raise Cancelled
