"""TensorBoard on the run store: started as a subprocess (its own program, not imported), found again when
this process already started one, and addressed at one run through TensorBoard's ``runFilter`` deep link."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

FIRST_PORT = 6006
#: Seconds TensorBoard may take to answer its first request.
START_TIMEOUT = 60.0


class TensorBoardError(RuntimeError):
    """TensorBoard is not installed, or did not start."""


@dataclass
class TensorBoardServer:
    logdir: Path
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/"

    def url_for(self, run_id: str) -> str:
        """The page that shows ``run_id``'s charts (its events are the TensorBoard run named by its folder)."""
        pattern = urllib.parse.quote(f"^{run_id}$", safe="")
        return f"{self.url}?runFilter={pattern}#timeseries"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


#: Servers this process started, by log folder: the Runs view's "Open in TensorBoard" reuses them.
_STARTED: dict[Path, TensorBoardServer] = {}


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def free_port(first: int = FIRST_PORT) -> int:
    for port in range(first, first + 100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("localhost", port))
            except OSError:
                continue
            return port
    raise TensorBoardError(f"no free port from {first} to {first + 99}; give one with --port")


def start_tensorboard(logdir: Path, *, port: int = 0, timeout: float = START_TIMEOUT) -> TensorBoardServer:
    """TensorBoard serving ``logdir``, answering on localhost (the one this process started, if still up)."""
    logdir = Path(logdir).resolve()
    known = _STARTED.get(logdir)
    if known is not None and known.running() and port in (0, known.port):
        return known
    if not tensorboard_installed():
        raise TensorBoardError("TensorBoard is not installed: pip install tensorboard")
    port = port or free_port()
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
               "--host", "localhost", "--reload_interval", "5"]
    # Its messages go to a file (a pipe nobody reads would fill up and stall it), read back if it fails.
    log_path = logdir.parent / "tensorboard.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    server = TensorBoardServer(logdir, port, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            raise TensorBoardError(f"TensorBoard stopped at start (exit status {process.returncode}): "
                                   f"{error[-1] if error else 'no message'}")
        with contextlib.suppress(OSError, urllib.error.URLError), \
                urllib.request.urlopen(f"{server.url}data/environment", timeout=2):
            _STARTED[logdir] = server
            return server
        time.sleep(0.3)
    server.stop()
    raise TensorBoardError(f"TensorBoard did not answer on port {port} within {timeout:.0f} s")
