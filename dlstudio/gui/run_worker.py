"""Training off the GUI thread: a worker object, moved to a QThread, drives a headless Run.

Signals carry plain dicts (never tensors or widgets). The engine already throttles batch records to a
few per second, so signal traffic stays small whatever the batch rate.
"""

from __future__ import annotations

import dataclasses
import traceback
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from dlstudio.engine import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage, RunControl

if TYPE_CHECKING:
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio


class RunWorker(QObject):
    run_started = Signal(dict)  # run_id, run_dir, device
    fit_started = Signal(dict)
    batch_ended = Signal(dict)
    epoch_ended = Signal(dict)
    log = Signal(str, str)  # text, level
    fit_ended = Signal(dict)
    #: The run could not start or broke: (message, traceback or "" for the user's own errors).
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, studio: Studio, spec: RunSpec | None, resume_id: str | None, control: RunControl) -> None:
        super().__init__()
        self.studio, self.spec, self.resume_id, self.control = studio, spec, resume_id, control

    @Slot()
    def run(self) -> None:
        from dlstudio.distributed import DistributedRun, lists_gpus
        from dlstudio.errors import USER_ERRORS
        from dlstudio.gui.torch_threads import use_compute_threads
        from dlstudio.runner import Run, RunStarted

        use_compute_threads()
        try:
            if lists_gpus(self.studio, self.spec, self.resume_id, None):  # one process per GPU, through torchrun
                run = DistributedRun(self.studio, self.spec, resume_id=self.resume_id, control=self.control)
            elif self.resume_id is not None:
                run = Run.resume(self.studio, self.resume_id, control=self.control)
            else:
                run = Run(self.studio, self.spec, control=self.control)
            for record in run.records():
                if isinstance(record, BatchEnd):
                    self.batch_ended.emit(dataclasses.asdict(record))
                elif isinstance(record, EpochEnd):
                    self.epoch_ended.emit(dataclasses.asdict(record))
                elif isinstance(record, LogMessage):
                    self.log.emit(record.text, record.level)
                elif isinstance(record, FitStarted):
                    self.fit_started.emit(dataclasses.asdict(record))
                elif isinstance(record, FitEnded):
                    self.fit_ended.emit(dataclasses.asdict(record))
                elif isinstance(record, RunStarted):
                    self.run_started.emit(dataclasses.asdict(record))
        except USER_ERRORS as exc:
            self.failed.emit(str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc), "")
        except Exception as exc:
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            self.finished.emit()


def start_worker(worker: RunWorker) -> QThread:
    """Move ``worker`` to a new thread, wire the standard start/quit/cleanup, and start it."""
    thread = QThread()
    thread.setObjectName("dlstudio-run")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: quit() is thread-safe, and a queued call would wait for the GUI thread, which may itself
    # be blocked in thread.wait() (closing the window during a run).
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread
