"""Quitting while a run trains (issue 12, item 9): SIGTERM (a logout, ``kill``), SIGINT (Ctrl+C in the terminal)
and a quit that bypasses the window (a session manager ending the event loop) each stop the run at its next
batch, keep its checkpoint, leave it resumable and end the process cleanly, with status 0.

The application runs in a child process, through ``dlstudio.gui.app.main`` itself (only the studio it loads is
the demo plugin's, with a long run started):

    python -m tests.faults.test_quit_while_training MODE     (MODE: wait | exit)
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: A run far longer than any test: it only ends by being stopped.
LONG_RUN = ["data.params.samples=2000", "train.batch_size=8", "train.epochs=5000", 'run.device="cpu"']
#: No answer from the child for this long is a hang.
HANG_S = 120


def child(mode: str) -> int:
    """The app with the demo studio; prints ``training RUN_ID`` once the run has saved an epoch's checkpoint.
    ``exit`` then ends the event loop directly, as a session manager's quit does (no window is closed)."""
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    from PySide6.QtCore import QCoreApplication, QTimer

    from dlstudio.gui import app as gui_app
    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio
    from tests.fixture_plugins import demo_plugin

    announced = []

    def announce(run_id: str, _metrics: dict) -> None:
        if announced:
            return
        announced.append(run_id)
        print(f"training {run_id}", flush=True)
        if mode == "exit":
            QTimer.singleShot(0, lambda: QCoreApplication.exit(0))

    attach = gui_app.studio_loaded

    def start_a_run(window, studio) -> None:
        attach(window, studio)
        window.context.run_epoch.connect(announce)
        window.start_run(studio.recipe_spec("demo-blobs", LONG_RUN), None)

    # The app's own start-up (loading thread and all), with the demo plugin instead of the installed ones.
    gui_app.open_studio = lambda home: Studio.open(home, [module_candidate("demo", demo_plugin)])
    gui_app.studio_loaded = start_a_run
    return gui_app.main([])


def quit_while_training(home: Path, mode: str, signum: int | None) -> tuple[str, subprocess.CompletedProcess]:
    env = {**os.environ, "DLSTUDIO_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.faults.test_quit_while_training", mode], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # the child's own hang guard ends it if the run never trains
        assert line.startswith("training "), (line, proc.communicate(timeout=HANG_S))
        if signum is not None:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the application was still running 30 s after being asked to quit:\n{err[-3000:]}")
    return line.split()[1], subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(("mode", "signum"), [("wait", signal.SIGTERM), ("exit", None)],
                         ids=["sigterm", "event-loop-ended"])
def test_quitting_while_a_run_trains_stops_it_resumably_and_exits_cleanly(studio_home, mode, signum):
    run_id, result = quit_while_training(studio_home, mode, signum)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "QThread: Destroyed" not in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]

    from dlstudio.plugins import module_candidate
    from dlstudio.studio import Studio
    from tests.fixture_plugins import demo_plugin

    row = Studio.open(studio_home, [module_candidate("demo", demo_plugin)]).store.get(run_id)
    assert row.status in ("cancelled", "interrupted") and row.resumable, row
    # No complete epoch is lost: the last checkpoint is that of the last epoch the store counts.
    last = json.loads((studio_home / "runs" / run_id / "checkpoints" / "last.json").read_text())
    assert row.epochs_done >= 1 and last["epoch"] == row.epochs_done


def test_ctrl_c_quits_as_sigterm_does_even_while_qt_holds_the_event_loop(qtbot):
    """SIGINT gets the handler SIGTERM has (proven end to end above), and it runs although only Qt's event
    loop is running (without the app's timer, Python would see the signal at the next slot at best)."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from dlstudio.gui.app import quit_on_signals

    class Window:
        quits = 0

        def quit_without_asking(self):
            self.quits += 1
            loop.quit()

    window, previous = Window(), {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    loop = QEventLoop()
    try:
        quit_on_signals(QApplication.instance(), window)
        # From another thread, as from a terminal: the main thread is in Qt's loop, running no Python.
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        QTimer.singleShot(HANG_S * 1000, loop.quit)
        loop.exec()  # C++ only, as app.exec(): Python code runs only if something lets it in
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for timer in QApplication.instance().findChildren(QTimer, "signal_poll"):
            timer.stop()
            timer.deleteLater()
    assert window.quits == 1


# monkeypatch comes first: its patches then outlive the window, which the fixture closes once more at the end.
def test_a_signal_while_the_window_asks_whether_to_stop_the_run_quits_anyway(monkeypatch, demo_window, qtbot):
    from PySide6.QtWidgets import QApplication, QMessageBox

    panel = demo_window.panels["demo.train"]
    panel.data_box.form().set_values({"samples": 2000})
    panel.train_form.set_values({"epochs": 500, "batch_size": 8})
    demo_window.show()
    with qtbot.waitSignal(demo_window.context.run_started, timeout=HANG_S * 1000):
        panel.start()

    def asked_then_signalled(*_args, **_kwargs):
        demo_window.quit_without_asking()  # SIGTERM's handler, run from the question's own event loop
        return QMessageBox.StandardButton.No  # the question, rejected by it

    monkeypatch.setattr(QMessageBox, "question", asked_then_signalled)
    exits = []  # the real exit() would end every event loop of the test process, not only this test's
    monkeypatch.setattr(QApplication, "exit", lambda code=0: exits.append(code))
    demo_window.close()
    assert not demo_window.isVisible() and not demo_window.is_running() and exits == [0]
    row = demo_window.studio.store.list_runs()[0]
    assert row.status in ("cancelled", "interrupted") and row.resumable


if __name__ == "__main__":
    raise SystemExit(child(sys.argv[1]))
