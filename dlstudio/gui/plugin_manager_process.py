"""pip in a QProcess for the Plugins dialog: its output line by line as it comes, Cancel, and what it changed.

The command is :func:`dlstudio.plugin_install.pip_command`'s, the one ``dlstudio plugins install`` runs. The
window never waits on it: Qt's event loop reads pip's output. Cancel terminates pip, then kills it if it has
not ended after ``KILL_AFTER_MS`` (pip may be deep in a build).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from dlstudio.plugin_install import Snapshot

KILL_AFTER_MS = 3000

#: Run by another interpreter than this one (a test's throw-away environment) to measure what is installed there.
_SNAPSHOT = ("import json; from dlstudio.plugin_install import installed, plugin_entry_points; "
             "print(json.dumps([installed(), plugin_entry_points()]))")


def snapshot(python: str, env: dict[str, str] | None) -> Snapshot:
    """What is installed for ``python``: measured here when it is this interpreter, else in a child of it."""
    if env is None and Path(python) == Path(sys.executable):
        return Snapshot.take()
    out = subprocess.run([python, "-c", _SNAPSHOT], env=env, capture_output=True, text=True, check=True,
                         timeout=120).stdout
    versions, plugins = json.loads(out.strip().splitlines()[-1])
    return Snapshot(versions, {k: tuple(v) for k, v in plugins.items()})


class PipProcess(QObject):
    """One pip run at a time. ``line`` carries each line of output; ``done`` the :class:`Outcome`."""

    line = Signal(str)
    done = Signal(object)

    def __init__(self, parent: QObject | None = None, env: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        #: The environment pip runs in; None: this process's own.
        self.env = env
        self.process: QProcess | None = None
        self._log: list[str] = []
        self._partial = b""
        self._cancelled = False
        self._cleanup: list[Path] = []
        self._kill_timer = QTimer(self, singleShot=True, interval=KILL_AFTER_MS)
        self._kill_timer.timeout.connect(self._kill)

    def is_running(self) -> bool:
        return self.process is not None

    def start(self, action: str, targets: list[str], command: list[str], remove_after: list[Path] = ()) -> None:
        """Run ``command`` (program first); ``remove_after`` (the constraints file) goes when it ends."""
        if self.process is not None:
            raise RuntimeError("pip is already running")
        python = command[0]
        self._before = snapshot(python, self.env)
        self._action, self._targets = action, list(targets)
        self._log, self._partial, self._cancelled = [], b"", False
        self._cleanup = list(remove_after)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        env = QProcessEnvironment.systemEnvironment()
        if self.env is not None:
            env.clear()
            for key, value in self.env.items():
                env.insert(key, value)
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        self._emit("$ " + " ".join(command))
        process.start(python, command[1:])

    def cancel(self) -> None:
        """Ask pip to stop (SIGTERM), and kill it if it has not within ``KILL_AFTER_MS``."""
        if self.process is None:
            return
        self._cancelled = True
        self._emit("Cancelling…")
        self.process.terminate()
        self._kill_timer.start()

    def _kill(self) -> None:
        if self.process is not None:
            self._emit("pip did not stop: killing it")
            self.process.kill()

    def _read(self) -> None:
        data = self._partial + bytes(self.process.readAllStandardOutput())
        *lines, self._partial = data.split(b"\n")
        for raw in lines:
            self._emit(raw.decode("utf-8", "replace").rstrip("\r"))

    def _emit(self, text: str) -> None:
        self._log.append(text)
        self.line.emit(text)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self._emit(f"ERROR: {self.process.program()} could not be started: {self.process.errorString()}")
            self._finished(-1, QProcess.ExitStatus.CrashExit)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.process is None:
            return
        self._read()
        if self._partial:
            self._emit(self._partial.decode("utf-8", "replace"))
            self._partial = b""
        self._kill_timer.stop()
        process, self.process = self.process, None
        process.deleteLater()
        for path in self._cleanup:
            path.unlink(missing_ok=True)
        if status == QProcess.ExitStatus.CrashExit and code == 0:
            code = -1
        after = snapshot(process.program(), self.env) if self.env is not None else None
        self.done.emit(self._before.outcome(self._action, self._targets, code, self._log, self._cancelled, after))
