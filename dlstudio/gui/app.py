"""``dlstudio`` (no arguments): open the window.

Start-up is two steps so the window appears before PyTorch has finished importing: first the bare
window (Qt only), then, from the event loop, torch + ``torch._dynamo`` (on the main thread: imported by
the first optimizer in a worker it would hold the GIL and freeze the UI) and the plugins.

However it is asked to quit (the window, SIGTERM, SIGINT, a session manager), a run in progress stops at its
next batch, keeps its checkpoint and stays resumable, and the process ends only once the run's thread has.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from dlstudio.gui.plugin_manager_recovery import mark_safe_mode, offer_crash_recovery, set_app_icon
from dlstudio.plugin_safety import enter_safe_mode


def gui_settings(home) -> QSettings:
    """Window state lives beside the run store (so DLSTUDIO_HOME isolates it too)."""
    return QSettings(str(home / "gui.ini"), QSettings.Format.IniFormat)


def warm_up_torch() -> None:
    import torch._dynamo  # noqa: F401  (see module docstring)


def configure_application(app: QApplication) -> None:
    """Process-wide settings the window needs, made on the GUI thread before any worker thread starts."""
    from dlstudio.gui.gc_policy import collect_on_gui_thread

    app.setApplicationName("dlstudio")
    app.setOrganizationName("dlstudio")
    set_app_icon(app)  # resources/: dlstudio/gui/plugin_manager_recovery.py
    collect_on_gui_thread()


def load_studio(window) -> None:
    from dlstudio.gui.gc_policy import freeze_startup_objects
    from dlstudio.gui.torch_threads import keep_gui_thread_serial
    from dlstudio.studio import Studio

    warm_up_torch()
    keep_gui_thread_serial()
    window.attach_studio(Studio.open(window.home))
    freeze_startup_objects()


#: How often Python gets control back from Qt's event loop, so that a signal's handler runs promptly.
SIGNAL_POLL_MS = 200


def quit_on_signals(app: QApplication, window) -> None:
    """SIGTERM (a logout, ``kill``) and SIGINT (Ctrl+C in a terminal) quit as the window's Quit does, without
    asking: a run in progress stops at its next batch and keeps its checkpoint.

    Python runs a signal handler only when the interpreter gets control, which Qt's event loop does not give
    it on its own: a timer that does nothing lets it in every ``SIGNAL_POLL_MS``."""
    def handle(signum: int, _frame) -> None:
        QTimer.singleShot(0, window.quit_without_asking)  # out of the handler, from the event loop

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
    poll = QTimer(app)
    poll.setObjectName("signal_poll")
    poll.timeout.connect(lambda: None)
    poll.start(SIGNAL_POLL_MS)


def run_event_loop(app: QApplication, window) -> int:
    """``app.exec()``, ended cleanly however the application is asked to quit: by the window, a signal, or a
    session manager that ends the event loop without closing the window (then ``aboutToQuit`` stops the run)."""
    quit_on_signals(app, window)
    app.aboutToQuit.connect(window.stop_work)
    code = app.exec()
    if window.is_running():
        # The run's thread would not stop: Python must not tear down objects it still uses (a crash, or a
        # process left burning CPU). The store shows a run whose process is gone as interrupted.
        print("dlstudio: the run did not stop in time; it will show as interrupted and can be resumed",
              file=sys.stderr, flush=True)
        os._exit(code)
    return code


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="dlstudio gui")
    parser.add_argument("--report-startup", action="store_true",
                        help="print seconds until the window is shown and until plugins are loaded")
    parser.add_argument("--quit-after-load", action="store_true", help="quit once plugins are loaded (benchmarks)")
    parser.add_argument("--safe-mode", action="store_true", help="load the built-in plugins only")
    args = parser.parse_args(list(argv))
    if args.safe_mode:
        enter_safe_mode()
    started = time.perf_counter()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    from dlstudio.home import HomeError, studio_home

    try:
        home = studio_home()
    except HomeError as exc:
        QMessageBox.critical(None, "dlstudio cannot start", str(exc))
        print(f"dlstudio: {exc}", file=sys.stderr)
        return 2
    from dlstudio.gui.main_window import MainWindow

    offer_crash_recovery(home)  # a plugin that killed the last start: disable it, safe mode, or load it anyway
    window = MainWindow(gui_settings(home))
    window.home = home
    mark_safe_mode(window)
    window.show()
    if args.report_startup:
        print(f"window-shown {time.perf_counter() - started:.3f}", flush=True)

    def second_step() -> None:
        app.processEvents()  # paint the window before the long import
        try:
            load_studio(window)
        except Exception as exc:  # a broken install: say so instead of dying silently
            import traceback

            window.show_error("dlstudio could not load its plugins", str(exc), traceback.format_exc())
            return
        if args.report_startup:
            print(f"plugins-loaded {time.perf_counter() - started:.3f}", flush=True)
        if args.quit_after_load:
            QTimer.singleShot(0, window.close)

    QTimer.singleShot(0, second_step)
    return run_event_loop(app, window)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
