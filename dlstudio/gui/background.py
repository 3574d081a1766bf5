"""Work off the GUI thread: a worker object moved to a QThread (Qt's standard wiring), plain values out."""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from dlstudio.gui.torch_threads import use_compute_threads


class _Worker(QObject):
    progress = Signal(object)
    result = Signal(object)
    error = Signal(object, str)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], args: tuple, cancel: threading.Event) -> None:
        super().__init__()
        self.fn, self.args, self.cancel = fn, args, cancel

    @Slot()
    def run(self) -> None:
        use_compute_threads()
        try:
            if inspect.isgeneratorfunction(self.fn):
                gen = self.fn(*self.args)
                try:
                    while True:
                        value = next(gen)
                        if self.cancel.is_set():
                            gen.close()
                            break
                        self.progress.emit(value)
                except StopIteration as stop:
                    self.result.emit(stop.value)
            else:
                self.result.emit(self.fn(*self.args))
        except Exception as exc:
            self.error.emit(_without_frames(exc), traceback.format_exc())
        finally:
            self.finished.emit()


def _without_frames(exc: BaseException) -> BaseException:
    """``exc`` (and the exceptions chained to it) without tracebacks.

    A traceback keeps its frames' locals alive: a panel's widgets, when the job is one of its methods. The
    error is handled on the GUI thread while this thread still holds the exception; if the GUI thread let
    go first, the last reference to those widgets would be dropped here, destroying Qt objects off their
    thread (see :mod:`dlstudio.gui.gc_policy`). The text of the traceback travels beside it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return exc


class BackgroundJob(QObject):
    """One function call in its own QThread. Signals arrive on the thread that created the job."""

    progress = Signal(object)
    result = Signal(object)
    error = Signal(object, str)
    done = Signal()

    def __init__(self, fn: Callable[..., Any], args: tuple = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread = QThread()
        self._worker = _Worker(fn, args, self._cancel)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self.progress)
        self._worker.result.connect(self.result)
        self._worker.error.connect(self.error)
        self._worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self.done)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self._thread.wait(timeout_ms)
