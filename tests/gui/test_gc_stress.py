"""Issue 8: Python's garbage collector must never destroy Qt objects on the run thread.

The child process (``gc_stress_child.py``) trains many short runs while the GUI thread makes and drops
cycles of widgets, menus and actions, with the collector's threshold tiny. Without the window's
collection policy it deadlocks or crashes within a few runs (seen: 3 crashes in 4 tries of 40 runs);
with it, every run ends and the process exits cleanly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 40


def test_many_runs_while_widgets_are_collected_never_deadlock_or_crash():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-m", "tests.gui.gc_stress_child", str(RUNS)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=240)
    # On a hang the child's faulthandler prints every thread's stack and exits 1; a crash is a signal.
    assert child.returncode == 0, f"exit {child.returncode}\n{child.stdout}\n{child.stderr[-6000:]}"
    assert child.stdout.strip().splitlines()[-1] == f"ok {RUNS}"


def test_the_window_collects_garbage_on_the_gui_thread_only(qapp):
    import gc

    from dlstudio.gui import gc_policy
    from dlstudio.gui.app import configure_application

    was_enabled = gc.isenabled()
    gc.enable()  # as in a fresh process (the test session itself collects between tests)
    try:
        configure_application(qapp)
        assert not gc.isenabled(), "automatic collection would run on whichever thread allocates"
        timer = gc_policy.collect_on_gui_thread().timer
        assert timer.isActive() and timer.thread() is qapp.thread()  # collection happens, on the GUI thread
    finally:
        if not was_enabled:
            gc.disable()
