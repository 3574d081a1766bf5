"""Python's cyclic garbage collector runs on the GUI thread only.

Left automatic, the collector runs on whichever thread happens to allocate past its threshold, which is
usually the run thread, and frees the PySide wrappers of abandoned widgets there. A Qt object destroyed
off the GUI thread deadlocks against it (a lock-order inversion between the GIL and Qt's per-object
mutexes: the run thread holds a mutex and waits for the GIL, the GUI thread holds the GIL and waits for
the mutex) or crashes it (issue 8; ``tests/gui/test_gc_stress.py`` shows both). pyqtgraph's
``GarbageCollector`` is the known remedy: automatic collection off, and collection from a timer on the
GUI thread. The headless CLI never calls this: without Qt objects, automatic collection is safe.

Corollaries for code in a worker thread (the run thread, ``run_in_background`` jobs): never call
``gc.collect()`` there, and never create or hold the last reference to a Qt object there.
"""

from __future__ import annotations

import gc
import threading

#: How often the GUI thread looks at the collector's counts (it collects only past the thresholds).
INTERVAL_S = 0.5

_collector = None


def stop_automatic_collection() -> None:
    """Turn automatic collection off (first thing at start-up: the libraries then load in a background
    thread, and a collection there would both break this policy and stall the window)."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the garbage collection policy must be installed from the GUI (main) thread")
    gc.disable()


def collect_on_gui_thread() -> object:
    """Turn automatic collection off and collect from a GUI-thread timer; idempotent.

    Call on the GUI thread, once a QApplication exists.
    """
    global _collector
    stop_automatic_collection()
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=INTERVAL_S)
    gc.disable()  # again: something may have turned it back on since
    return _collector


def freeze_loaded_objects() -> None:
    """Move everything alive after start-up out of the collector's sight, without collecting first: a full
    collection of ~360,000 objects would stall the window for ~350 ms, to free a few start-up cycles."""
    gc.freeze()
