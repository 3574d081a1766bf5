"""Child process of ``test_gc_stress.py``: many short runs while the GUI thread churns widgets.

Widgets with menus and actions are made and dropped in reference cycles, so only Python's cyclic
garbage collector can free them; the collector is made to run often (a tiny threshold), and the run
thread allocates at every step. Without the window's collection policy the collector sooner or later
runs on the run thread, destroys a Qt object there and deadlocks against the GUI thread (issue 8).

    python -m tests.gui.gc_stress_child RUNS [--no-policy]

Prints ``ok N`` with the number of runs that trained to their end; when no run ends for a minute (a hang:
a run takes well under a second), ``faulthandler`` dumps every thread and exits 1.
"""

from __future__ import annotations

import faulthandler
import gc
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: No run ending for this long is a hang (the clock restarts at each run's end, so a loaded machine that is
#: merely slow is not taken for one).
HANG_AFTER_S = 60


def main(argv: list[str]) -> int:
    runs = int(argv[0])
    use_policy = "--no-policy" not in argv
    faulthandler.dump_traceback_later(HANG_AFTER_S, exit=True)

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication, QMenu, QPushButton, QWidget

    gc.set_threshold(20, 2, 2)  # collect very often, wherever the allocation happens
    app = QApplication([])
    if use_policy:
        from dlstudio.gui.app import configure_application

        configure_application(app)

    from dlstudio.gui.app import warm_up_torch
    from dlstudio.gui.run_queue import RunQueue
    from dlstudio.plugins import module_candidate
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio
    from tests.fixture_plugins import demo_plugin

    warm_up_torch()
    home = Path(tempfile.mkdtemp(prefix="dlstudio-gc-stress-"))
    studio = Studio.open(home, [module_candidate("demo", demo_plugin)])
    queue = RunQueue(studio)
    spec = RunSpec.from_dict({
        "run": {"device": "cpu"},
        "model": {"id": "demo.mlp"},
        "data": {"id": "demo.blobs", "params": {"samples": 200}},
        "train": {"epochs": 2, "batch_size": 4, "lr": 0.05, "checkpoint_every": 2},
    })

    def churn() -> None:
        # Cycles of widgets, menus and actions, unreachable at once: only the cyclic collector frees them.
        for _ in range(5):
            widget = QWidget()
            menu = QMenu(widget)
            for i in range(4):
                action = QAction(f"action {i}")  # no parent: freed by its own wrapper, on whichever thread collects
                action.triggered.connect(menu.close)
                menu.aboutToShow.connect(action.toggle)
                menu.addAction(action)
            button = QPushButton("x", widget)
            button.setMenu(menu)
            button.clicked.connect(menu.show)
            widget.cycle = [widget, menu, button, *menu.actions()]

    finished, completed = [], []

    def run_done(ticket: str) -> None:
        finished.append(ticket)
        faulthandler.dump_traceback_later(HANG_AFTER_S, exit=True)
        if len(finished) == runs:
            app.quit()

    # Only runs that trained to their end count: a run that failed at once would never have raced anything.
    queue.fit_ended.connect(lambda info: completed.append(info) if info["status"] == "completed" else None)
    queue.run_done.connect(run_done)
    for _ in range(runs):
        queue.submit(spec)
    timer = QTimer()
    timer.timeout.connect(churn)
    timer.start(1)
    app.exec()
    timer.stop()
    faulthandler.cancel_dump_traceback_later()
    print(f"ok {len(completed)}", flush=True)
    os._exit(0)  # skip tearing down thousands of leftover widgets at exit


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
