"""What a person feels in the window: does it respond while it starts, and in the first seconds after Start?

(e) start-up: seconds from launch until the event loop first runs (the window responds)   goal ≤ 2.5 s
    and the longest stall from then until a second after the plugins are loaded            goal ≤ 300 ms
(f) the longest event-loop stall in the 3 s after clicking "Start training" (images family,
    the offline digits recipe), each in a freshly started app                             goal ≤ 100 ms
(g) GUI ÷ headless throughput with the window on a real X server (Xvfb), beside the same
    figure offscreen (bench_core's (b), same method)                                      goal ≥ 0.95

Every figure is measured under Qt's offscreen platform and, where ``xvfb-run`` is installed, under a real X
server (an X server shows painting costs that offscreen hides). Stalls come from ``dlstudio.gui.lateness``:
a 10 ms timer, each tick late by however long the GUI thread was kept from running.

Run: ``.venv/bin/python bench/bench_gui_latency.py`` (``make bench`` runs it too).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUNDS = 3
#: How long after the click the event loop is watched.
AFTER_START_S = 3.0
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24"]


def displays() -> dict[str, list[str]]:
    """The platforms to measure on: offscreen always, a real X server when one can be started."""
    found = {"offscreen": []}
    if shutil.which("xvfb-run"):
        found["Xvfb"] = XVFB
    return found


def _env(display: list[str], home: str) -> dict[str, str]:
    return {**os.environ, "DLSTUDIO_HOME": home, "QT_QPA_PLATFORM": "xcb" if display else "offscreen"}


def _probe_line(output: str, prefix: str) -> dict:
    for line in output.splitlines():
        if line.startswith(prefix + " "):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(f"no '{prefix}' line in the app's output:\n{output[-3000:]}")


def startup_once(display: list[str]) -> tuple[float, float]:
    """One launch of the real app: (seconds to the first event-loop turn, longest stall in ms)."""
    home = tempfile.mkdtemp(prefix="dlstudio-bench-")
    launched = time.time()
    done = subprocess.run([*display, sys.executable, "-m", "dlstudio.cli", "gui", "--report-startup",
                           "--quit-after-load"], env=_env(display, home), capture_output=True, text=True,
                          timeout=300)
    probe = _probe_line(done.stdout, "startup-probe")
    return probe["first_tick"] - launched, probe["max_stall_ms"]


def start_once(display: list[str]) -> float:
    """A fresh app, loaded as a person starts it; the longest stall in the seconds after clicking Start (ms)."""
    home = tempfile.mkdtemp(prefix="dlstudio-bench-")
    done = subprocess.run([*display, sys.executable, __file__, "--start-side"], env=_env(display, home),
                          capture_output=True, text=True, timeout=300)
    return _probe_line(done.stdout, "after-start")["max_stall_ms"]


def start_side() -> None:
    """The app started as ``dlstudio`` starts it; once loaded and idle, click the images Train page's Start."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QPushButton

    from dlstudio.gui.app import configure_application, gui_settings, load_in_background, run_event_loop
    from dlstudio.gui.lateness import LatenessProbe
    from dlstudio.gui.main_window import MainWindow
    from dlstudio.home import studio_home

    app = QApplication([])
    configure_application(app)
    window = MainWindow(gui_settings(studio_home()))
    window.home = studio_home()
    window.resize(1280, 800)
    window.show()
    probe = LatenessProbe(window)

    def click() -> None:
        window.show_panel("images.train")
        button = window.panels["images.train"].findChild(QPushButton, "start_training")
        probe.start()
        button.click()
        QTimer.singleShot(int(AFTER_START_S * 1000), report)

    def report() -> None:
        stalls = probe.stop()
        print("after-start " + json.dumps({"max_stall_ms": max(stalls, default=0.0),
                                           "started": window.is_running()}), flush=True)
        window.quit_without_asking()

    # Two idle seconds after loading: the panels are built and the window is at rest, as when a person clicks.
    loader = load_in_background(window, lambda: QTimer.singleShot(2000, click))
    sys.exit(run_event_loop(app, window, loader))


def _summary(values: list[float], unit: str, digits: int = 0) -> str:
    return f"median {statistics.median(values):.{digits}f} {unit}, worst {max(values):.{digits}f} {unit}"


def main() -> None:
    sys.path.insert(0, str(HERE))
    import bench_core

    print("dlstudio window latency (each figure from fresh processes; medians and worst of "
          f"{ROUNDS})", flush=True)
    for name, display in displays().items():
        starts = [startup_once(display) for _ in range(ROUNDS)]
        print(f"[{name}] (e) responds after launch: {_summary([s[0] for s in starts], 's', 2)}   (goal ≤ 2.5 s); "
              f"longest start-up stall: {_summary([s[1] for s in starts], 'ms')}   (goal ≤ 300 ms)", flush=True)
        after = [start_once(display) for _ in range(ROUNDS)]
        print(f"[{name}] (f) longest stall in the {AFTER_START_S:.0f} s after Start: {_summary(after, 'ms')}   "
              "(goal ≤ 100 ms)", flush=True)
        gui = bench_core.bench_gui_vs_headless(display=display)
        q1, ratio, q3 = statistics.quantiles(gui["within"], n=4)
        print(f"[{name}] (g) GUI run throughput ÷ headless (same process): {ratio:.3f}   (goal ≥ 0.95; quartiles "
              f"{q1:.3f}–{q3:.3f}); event-loop lateness while training p99 {gui['p99']:.1f} ms, "
              f"max {gui['max']:.1f} ms", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--start-side"]:
        start_side()
    else:
        main()
