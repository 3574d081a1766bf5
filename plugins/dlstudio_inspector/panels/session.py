"""The inspector's shared state: the current model, the current input, and one background job at a time.

Views never touch the model from two threads at once: every computation goes through :meth:`Session.submit`,
which runs jobs one after another on ``context.run_in_background``. A newer request with the same key
replaces one still waiting (stepping quickly through layers computes only the last one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from PySide6.QtCore import QObject, Signal

from dlstudio.runs import CheckpointError
from dlstudio_inspector.common import InspectorError, format_shape
from dlstudio_inspector.sources import OpenedModel

USER_ERRORS = (InspectorError, CheckpointError, KeyError, FileNotFoundError)


@dataclass
class _Pending:
    key: str
    fn: Callable[..., Any]
    args: tuple
    on_result: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None
    on_progress: Callable[[Any], None] | None


class Session(QObject):
    model_changed = Signal()
    input_changed = Signal()
    busy_changed = Signal(bool)
    #: A one-line status message for the panel ("opened ...", an error...).
    status = Signal(str)

    def __init__(self, context: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.studio = context.studio
        self.opened: OpenedModel | None = None
        self.x: torch.Tensor | None = None
        self.input_label = ""
        #: The true class of the current input, when it came from a dataset.
        self.input_class: int | None = None
        self._pending: list[_Pending] = []
        self._job: Any = None
        self._job_key = ""

    # -- the model and its input --------------------------------------------------------------------
    def set_model(self, opened: OpenedModel) -> None:
        keep_input = (self.opened is not None and self.x is not None
                      and tuple(self.opened.data.input_shape) == tuple(opened.data.input_shape))
        self.opened = opened
        self.model_changed.emit()
        if not keep_input:
            self.set_input(opened.sample(), "random sample")
        else:
            self.input_changed.emit()
        self.status.emit(f"opened {opened.title} ({opened.origin})")

    def set_input(self, x: torch.Tensor, label: str, true_class: int | None = None) -> None:
        self.x = x
        self.input_label = f"{label} — {format_shape(tuple(x.shape))} {str(x.dtype).replace('torch.', '')}"
        self.input_class = true_class
        self.input_changed.emit()

    # -- background work ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._job is not None or bool(self._pending)

    def submit(self, key: str, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, on_progress: Callable[[Any], None] | None = None
               ) -> None:
        """Run ``fn(*args)`` after the jobs before it; a waiting job with the same ``key`` is replaced."""
        self._pending = [p for p in self._pending if p.key != key]
        self._pending.append(_Pending(key, fn, args, on_result, on_error, on_progress))
        self._start_next()

    def cancel(self, key: str) -> None:
        """Drop a waiting job, or ask the running one to stop (a generator stops at its next ``yield``)."""
        self._pending = [p for p in self._pending if p.key != key]
        if self._job is not None and self._job_key == key:
            self._job.cancel()

    def running(self, key: str) -> bool:
        return self._job is not None and self._job_key == key

    def _start_next(self) -> None:
        if self._job is not None or not self._pending:
            self.busy_changed.emit(self.busy)
            return
        p = self._pending.pop(0)
        self._job_key = p.key
        self._job = self.context.run_in_background(
            p.fn, *p.args, on_result=p.on_result, on_progress=p.on_progress,
            on_error=lambda exc, _p=p: self._failed(exc, _p))
        self._job.done.connect(self._finished)
        self.busy_changed.emit(True)

    def _finished(self) -> None:
        self._job = None
        self._job_key = ""
        self._start_next()

    def _failed(self, exc: BaseException, p: _Pending) -> None:
        if isinstance(exc, USER_ERRORS):
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            if p.on_error is not None:
                p.on_error(text)
            self.status.emit(text)
            return
        message = f"{type(exc).__name__}: {exc}"
        if p.on_error is not None:
            p.on_error(message)
        self.context.show_error("Inspector", f"{p.key} failed", message)

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Process events until no job runs or waits (tests and previews)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QThread

        deadline = QDeadlineTimer(timeout_ms)
        while self.busy and not deadline.hasExpired():
            QCoreApplication.processEvents()
            QThread.msleep(5)
        return not self.busy
