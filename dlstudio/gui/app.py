"""``dlstudio`` (no arguments): open the window.

Start-up is two steps so the window appears before PyTorch has finished importing: first the bare
window (Qt only), then, from the event loop, torch + ``torch._dynamo`` (on the main thread: imported by
the first optimizer in a worker it would hold the GIL and freeze the UI) and the plugins.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


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
    collect_on_gui_thread()


def load_studio(window) -> None:
    from dlstudio.gui.gc_policy import freeze_startup_objects
    from dlstudio.gui.torch_threads import keep_gui_thread_serial
    from dlstudio.studio import Studio

    warm_up_torch()
    keep_gui_thread_serial()
    window.attach_studio(Studio.open(window.home))
    freeze_startup_objects()


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="dlstudio gui")
    parser.add_argument("--report-startup", action="store_true",
                        help="print seconds until the window is shown and until plugins are loaded")
    parser.add_argument("--quit-after-load", action="store_true", help="quit once plugins are loaded (benchmarks)")
    args = parser.parse_args(list(argv))
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

    window = MainWindow(gui_settings(home))
    window.home = home
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
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
