"""``dlstudio`` (no arguments): open the window.

Start-up is two steps so the window appears, and responds, before PyTorch has finished importing: first
the bare window (Qt only), then torch, torchvision, scikit-learn and the plugins load in a background
thread (``startup.StartupLoader``; why a thread alone is not enough is said there) while the window shows
what is loading. Once they are, the GUI thread attaches the plugins' panels, one per event-loop turn.

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
    from dlstudio.gui.gc_policy import stop_automatic_collection

    app.setApplicationName("dlstudio")
    app.setOrganizationName("dlstudio")
    stop_automatic_collection()
    set_app_icon(app)  # resources/: dlstudio/gui/plugin_manager_recovery.py


def open_studio(home):
    """The run store and the plugins (called on the loading thread: no Qt here)."""
    from dlstudio.studio import Studio

    studio = Studio.open(home)
    studio.store  # noqa: B018 - opened here, not on the GUI thread (an SQLite file to create or check)
    return studio


def studio_loaded(window, studio) -> None:
    """On the GUI thread, once everything has loaded: the window gets its panels (built one per event-loop
    turn), and the garbage collection policy starts over a frozen start-up."""
    from dlstudio.gui.gc_policy import collect_on_gui_thread, freeze_loaded_objects
    from dlstudio.gui.torch_threads import keep_gui_thread_serial

    keep_gui_thread_serial()
    window.attach_studio(studio, build_panels_later=True)
    freeze_loaded_objects()
    collect_on_gui_thread()


def load_in_background(window, on_done=None):
    """Show the window's loading page and load everything in a background thread (see the module's docstring);
    ``on_done()`` runs on the GUI thread once the panels are attached. Returns the loader."""
    from dlstudio.gui.startup import LoadingPage, StartupLoader

    page = LoadingPage()
    window.pages.insertWidget(0, page)
    window.pages.setCurrentWidget(page)
    loader = StartupLoader(lambda: open_studio(window.home), window)
    loader.progress.connect(page.show_progress)

    def loaded(studio) -> None:
        page.show_progress("Building the panels…", 1, 1)
        studio_loaded(window, studio)
        window.pages.removeWidget(page)
        page.deleteLater()
        if on_done is not None:
            on_done()

    def failed(message: str, details: str) -> None:
        page.show_progress("dlstudio could not load its plugins (see the message)", 0, 1)
        window.show_error("dlstudio could not load its plugins", message, details)

    loader.loaded.connect(loaded)
    loader.failed.connect(failed)
    loader.start()
    return loader


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


def run_event_loop(app: QApplication, window, loader=None) -> int:
    """``app.exec()``, ended cleanly however the application is asked to quit: by the window, a signal, or a
    session manager that ends the event loop without closing the window (then ``aboutToQuit`` stops the run)."""
    quit_on_signals(app, window)
    app.aboutToQuit.connect(window.stop_work)
    code = app.exec()
    if loader is not None and loader.is_loading():
        # Closed while the libraries were still loading: the loading thread cannot be stopped, and an
        # interpreter shutting down under an import can abort; nothing is open yet that needs closing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
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
    probe = None
    if args.report_startup:
        from dlstudio.gui.lateness import StartupProbe

        probe = StartupProbe(window)
        print(f"window-shown {time.perf_counter() - started:.3f}", flush=True)

    def done() -> None:
        if args.report_startup:
            print(f"plugins-loaded {time.perf_counter() - started:.3f}", flush=True)
        if probe is not None:
            probe.report_after(QUIT_AFTER_LOAD_MS if args.quit_after_load else 0)
        if args.quit_after_load:
            QTimer.singleShot(QUIT_AFTER_LOAD_MS, window.close)

    loader = load_in_background(window, done)
    return run_event_loop(app, window, loader)


#: With --quit-after-load, how long the loaded window stays up (its first second is part of start-up).
QUIT_AFTER_LOAD_MS = 1000


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
