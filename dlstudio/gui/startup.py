"""Start-up off the GUI thread: PyTorch, torchvision, scikit-learn and the plugins load in a background
thread while the window is shown, responsive, with what is loading and how far it got.

A thread alone is not enough, because two things hold Python's GIL for long stretches while libraries
load, and the GUI thread then cannot run at all (measured here: stalls of 220–540 ms, ~3.5 s frozen in all):

- CPython's import of an extension module calls ``dlopen`` with the GIL held; ``torch._C`` maps
  libtorch and the CUDA libraries (gigabytes) that way. A ``dlopen`` made through ctypes' foreign call
  releases the GIL, and the import that follows finds the libraries already mapped
  (:func:`preload_native_libraries`).
- Automatic garbage collection in the loading thread scans every object the imports made so far (a
  full collection late in torch's import: ~200 ms). The window's policy turns automatic collection off
  (``gc_policy``), and the GUI thread's collector starts only once loading is done, after
  ``gc.freeze()`` has put everything loaded out of the collector's sight.

What remains are short stalls (≤ ~80 ms here) while numpy's and triton's extensions initialise.
The loading thread creates no Qt object; it hands results to the GUI thread through a queue polled by a
timer (``bench/bench_gui_latency.py`` measures the event loop's lateness during start-up).
"""

from __future__ import annotations

import ctypes
import glob
import importlib
import importlib.util
import os
import pkgutil
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

#: How often the GUI thread looks for the loading thread's news.
POLL_MS = 30


def _dlopen_without_the_gil(path: str, flags: int) -> bool:
    """``dlopen`` through ctypes' foreign call, which releases the GIL while the library maps (``ctypes.CDLL``
    itself would hold it)."""
    libc = ctypes.CDLL(None)
    dlopen = libc.dlopen
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return bool(dlopen(os.fsencode(path), flags))


def preload_native_libraries() -> None:
    """Map torch's native libraries without holding the GIL, in the order torch loads them itself (its global
    dependencies first, RTLD_GLOBAL, then ``torch._C`` with the flags of an import). Linux only; elsewhere, or
    when a file is not where expected, torch's own import simply does the work."""
    if not sys.platform.startswith("linux"):
        return
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return
    root = os.path.dirname(spec.origin)
    global_deps = os.path.join(root, "lib", "libtorch_global_deps.so")
    if os.path.exists(global_deps):
        _dlopen_without_the_gil(global_deps, os.RTLD_NOW | os.RTLD_GLOBAL)
    for extension in glob.glob(os.path.join(root, "_C.*.so")):
        _dlopen_without_the_gil(extension, sys.getdlopenflags())


def _import(name: str) -> Callable[[], Any]:
    return lambda: importlib.import_module(name)


#: What loads before the plugins, in order: (what the window says, what it does). ``torch._dynamo`` is
#: imported by the first optimizer step; imported there, in the run's thread, it would take the GIL from
#: the window for seconds. scikit-learn serves the offline digits demo and TensorBoard's writer logs every run;
#: imported by the first run, they would leave ~100,000 objects after the ``gc.freeze`` for every full collection
#: to scan (a 100 ms stall).
LIBRARIES: tuple[tuple[str, Callable[[], Any]], ...] = (
    ("PyTorch's native libraries", preload_native_libraries),
    ("PyTorch", _import("torch")),
    ("PyTorch's compiler front end", _import("torch._dynamo")),
    ("torchvision", _import("torchvision")),
    ("scikit-learn", _import("sklearn.datasets")),
    ("TensorBoard's writer", _import("torch.utils.tensorboard")),  # every run's events (dlstudio.tensorboard_log)
)


def import_panel_modules(studio: Any) -> None:
    """Import the modules of every panel package (a factory in a package's ``__init__``, as a plugin's
    ``panels`` package has it, usually imports its page's module only when called, on the GUI thread: ~300 ms
    for the inspector's). Only imports, and only within such packages: plugins' modules already load off the
    GUI thread (``dlstudio.plugins``). A module that fails is left for the panel's build to report."""
    packages = {sys.modules.get(getattr(panel.factory, "__module__", "") or "") for panel in studio.registry.panels}
    for package in packages:
        if package is None or not hasattr(package, "__path__"):
            continue  # a factory in a plain module: that module is all it needs, and it is imported
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            try:
                importlib.import_module(info.name)
            except Exception:  # reported where it matters: when the panel is built
                continue


class StartupLoader(QObject):
    """Runs ``LIBRARIES``, then ``open_studio()`` and imports its panels' modules, in a background thread.

    ``progress(text, done, total)`` before each step, then ``loaded(studio)`` or ``failed(message, details)``,
    all on the GUI thread."""

    progress = Signal(str, int, int)
    loaded = Signal(object)
    failed = Signal(str, str)

    def __init__(self, open_studio: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_studio = open_studio
        self._news: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="dlstudio-startup", daemon=True)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._deliver)

    def start(self) -> None:
        self._poll.start()
        self._thread.start()

    def is_loading(self) -> bool:
        return self._thread.is_alive()

    def _work(self) -> None:
        studio: list[Any] = []
        steps = [*LIBRARIES, ("plugins", lambda: studio.append(self._open_studio())),
                 ("the plugins' panels", lambda: import_panel_modules(studio[0]))]
        for done, (what, step) in enumerate(steps):
            self._news.put(("progress", (f"Loading {what}…", done, len(steps))))
            try:
                step()
            except BaseException as exc:  # a broken install: the window says so instead of dying silently
                self._news.put(("failed", (f"loading {what} failed: {type(exc).__name__}: {exc}",
                                           traceback.format_exc())))
                return
        self._news.put(("loaded", (studio[0],)))

    def _deliver(self) -> None:
        while True:
            try:
                kind, args = self._news.get_nowait()
            except queue.Empty:
                return
            if kind != "progress":
                self._poll.stop()
            getattr(self, kind).emit(*args)


class LoadingPage(QWidget):
    """What the window shows while it loads: the step and a progress bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loading_page")
        self.label = QLabel("Loading PyTorch and plugins…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(420)
        self.bar.setTextVisible(False)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def show_progress(self, text: str, done: int, total: int) -> None:
        self.label.setText(text)
        self.bar.setRange(0, total)
        self.bar.setValue(done)
