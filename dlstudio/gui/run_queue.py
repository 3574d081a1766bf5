"""Runs train one at a time: a queue of specs, one worker thread for the current run, pause/cancel (the current
run, one queued run, or all of them)."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal

from dlstudio.engine import RunControl
from dlstudio.gui.run_worker import RunWorker, start_worker

if TYPE_CHECKING:
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio


@dataclass(frozen=True)
class QueuedRun:
    """A run waiting for its turn, as the run dock lists it."""

    ticket: str
    name: str
    model: str
    data: str

    def describe(self) -> str:
        return " · ".join(part for part in (self.name, self.model, self.data) if part)


class RunQueue(QObject):
    #: Re-emitted from the current worker (see RunWorker for payloads).
    run_started = Signal(dict)
    fit_started = Signal(dict)
    batch_ended = Signal(dict)
    epoch_ended = Signal(dict)
    log = Signal(str, str)
    fit_ended = Signal(dict)
    failed = Signal(str, str)
    #: A run is about to begin: (ticket, title).
    starting = Signal(str, str)
    #: The current run's thread ended (after fit_ended or failed).
    run_done = Signal(str)
    paused_changed = Signal(bool)
    #: A queued run was removed before it started: its ticket.
    dropped = Signal(str)
    #: The waiting runs changed: a list of :class:`QueuedRun`, next first.
    queue_changed = Signal(list)

    def __init__(self, studio: Studio, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self._pending: deque[tuple[str, RunSpec | None, str | None]] = deque()
        self._tickets = itertools.count(1)
        self._thread: QThread | None = None
        self._worker: RunWorker | None = None
        self._control: RunControl | None = None
        self.current_ticket = ""
        self.current_run_id = ""
        #: Whether the current run started training (a refused resume has an id but never starts).
        self.current_started = False

    # -- queue -------------------------------------------------------------------------------------
    def submit(self, spec: RunSpec | None, resume_id: str | None = None) -> str:
        ticket = f"run-{next(self._tickets)}"
        self._pending.append((ticket, spec, resume_id))
        self._queue_changed()
        if self._thread is None:
            self._start_next()
        return ticket

    def pending(self) -> int:
        return len(self._pending)

    def queued(self) -> list[QueuedRun]:
        """The waiting runs, next first."""
        return [self._describe(ticket, spec, resume_id) for ticket, spec, resume_id in self._pending]

    def _describe(self, ticket: str, spec: RunSpec | None, resume_id: str | None) -> QueuedRun:
        if spec is not None:
            return QueuedRun(ticket, spec.run.name or "unnamed run", spec.model.id, spec.data.id)
        try:
            row = self.studio.store.get(resume_id)
        except KeyError:
            return QueuedRun(ticket, f"resume {resume_id}", "", "")
        return QueuedRun(ticket, f"resume {row.name or resume_id}", row.model, row.dataset)

    def _queue_changed(self) -> None:
        self.queue_changed.emit(self.queued())

    def has_resume(self, run_id: str) -> bool:
        """Whether ``run_id`` is being resumed now or waits to be."""
        current = self._thread is not None and self.current_run_id == run_id
        return current or any(resume_id == run_id for _, _, resume_id in self._pending)

    def is_running(self) -> bool:
        return self._thread is not None and not self._thread.isFinished()

    def _start_next(self) -> None:
        if not self._pending:
            return
        ticket, spec, resume_id = self._pending.popleft()
        self._queue_changed()
        self.current_ticket, self.current_run_id = ticket, resume_id or ""
        self.current_started = False
        self._control = RunControl()
        worker = RunWorker(self.studio, spec, resume_id, self._control)
        for name in ("fit_started", "batch_ended", "epoch_ended", "log", "fit_ended", "failed"):
            getattr(worker, name).connect(getattr(self, name))
        worker.run_started.connect(self._on_run_started)
        self._worker = worker
        title = f"resume {resume_id}" if resume_id else (spec.run.name or spec.model.id)
        self.starting.emit(ticket, title)
        self._thread = start_worker(worker)
        self._thread.finished.connect(self._on_thread_finished)

    def _on_run_started(self, info: dict) -> None:
        self.current_run_id = info["run_id"]
        self.current_started = True
        self.run_started.emit(info)

    def _on_thread_finished(self) -> None:
        ticket = self.current_ticket
        if self._thread is not None:
            self._thread.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._thread = self._worker = self._control = None
        self.paused_changed.emit(False)
        self.run_done.emit(ticket)
        self._start_next()

    # -- control -----------------------------------------------------------------------------------
    def pause(self) -> None:
        if self._control is not None:
            self._control.pause()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._control is not None:
            self._control.resume()
            self.paused_changed.emit(False)

    @property
    def paused(self) -> bool:
        return self._control is not None and self._control.paused

    def cancel(self) -> None:
        """Cancel the current run (within one batch); queued runs still start afterwards."""
        if self._control is not None:
            self._control.cancel()

    def cancel_all(self) -> None:
        """Drop every queued run and cancel the current one (within one batch)."""
        dropped = [ticket for ticket, _, _ in self._pending]
        self._pending.clear()
        if dropped:
            self._queue_changed()
        for ticket in dropped:
            self.dropped.emit(ticket)
        self.cancel()

    def cancel_one(self, key: str) -> bool:
        """Cancel the run ``key`` names (its queue ticket or its run id): the current one within one batch, a
        queued one before it starts. False when no such run is current or queued."""
        if self._thread is not None and key in (self.current_ticket, self.current_run_id) and key:
            self.cancel()
            return True
        for entry in list(self._pending):
            if key in (entry[0], entry[2]):
                self._pending.remove(entry)
                self._queue_changed()
                self.dropped.emit(entry[0])
                return True
        return False

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Drop queued runs, cancel the current one and wait for its thread; True if it ended in time."""
        self.cancel_all()
        return self._thread is None or self._thread.wait(timeout_ms)
