"""The window's side of plugin safety: the crash-recovery prompt, safe mode, restarting, and the icons.

:func:`offer_crash_recovery` runs at start-up before any plugin loads: when a previous dlstudio died while
a plugin was loading (:mod:`dlstudio.plugin_safety`), it names the plugin and offers to disable it, to start
in safe mode, or to load it anyway.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget

from dlstudio.home import Settings
from dlstudio.plugin_safety import SAFE_MODE_ENV, SAFE_MODE_FLAG, CrashReport, enter_safe_mode, safe_mode_requested
from dlstudio.plugin_safety import take_crash_reports as _take_crash_reports
from dlstudio.resources import app_icon_path, family_icon_path

SAFE_MODE_TITLE = " — safe mode"


@cache
def app_icon() -> QIcon:
    return QIcon(str(app_icon_path()))


@cache
def family_icon(family_id: str) -> QIcon:
    return QIcon(str(family_icon_path(family_id)))


def set_app_icon(app: QApplication) -> None:
    """The application's icon: every window's title bar, the task bar and the dock."""
    app.setWindowIcon(app_icon())
    if hasattr(app, "setDesktopFileName"):
        app.setDesktopFileName("dlstudio")


def mark_safe_mode(window: QWidget) -> None:
    """Say in the window's title that this session runs in safe mode (the plugins it lacks are not broken)."""
    if safe_mode_requested() and not window.windowTitle().endswith(SAFE_MODE_TITLE):
        window.setWindowTitle(window.windowTitle() + SAFE_MODE_TITLE)


class CrashRecoveryBox(QMessageBox):
    """The question asked when a previous start died loading ``report.plugin``."""

    def __init__(self, report: CrashReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("dlstudio stopped unexpectedly")
        known = report.plugin != "?"
        plugin = f"the plugin “{report.plugin}”" if known else "a plugin"
        where = f" from {report.distribution}" if report.distribution else ""
        self.setText(f"The last time dlstudio ran, it stopped while {report.doing} {plugin}{where}.")
        self.setInformativeText(
            (f"Disable “{report.plugin}” to start without it (enable it again in Plugins…), " if known else "")
            + "start in safe mode with the built-in plugins only, or load every plugin as usual.")
        if report.source:
            self.setDetailedText(f"plugin: {report.plugin}\nsource: {report.source}\nprocess: {report.pid}")
        self.disable_button = (self.addButton(f"Disable {report.plugin}", QMessageBox.ButtonRole.AcceptRole)
                               if known else None)
        self.safe_button = self.addButton("Start in safe mode", QMessageBox.ButtonRole.AcceptRole)
        self.anyway_button = self.addButton("Load it anyway" if known else "Load plugins",
                                            QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.disable_button or self.safe_button)
        self.setEscapeButton(self.anyway_button)


def _ask(box: CrashRecoveryBox) -> QAbstractButton | None:
    box.exec()
    return box.clickedButton()


def offer_crash_recovery(home: Path, parent: QWidget | None = None,
                         ask: Callable[[CrashRecoveryBox], QAbstractButton | None] = _ask) -> list[str]:
    """Ask about each plugin a previous start died loading; what was chosen ("disabled NAME", "safe mode"...)."""
    choices = []
    for report in _take_crash_reports(home):
        box = CrashRecoveryBox(report, parent)
        clicked = ask(box)
        if clicked is not None and clicked is box.disable_button:
            Settings(home).set_plugin_enabled(report.plugin, False)
            choices.append(f"disabled {report.plugin}")
        elif clicked is box.safe_button:
            enter_safe_mode()
            choices.append("safe mode")
        else:
            choices.append(f"loaded {report.plugin}")
        box.deleteLater()
    return choices


def restart_command(safe_mode: bool) -> tuple[str, list[str]]:
    """The program and arguments that start this dlstudio's window again (in safe mode or not)."""
    return sys.executable, ["-m", "dlstudio.cli", *([SAFE_MODE_FLAG] if safe_mode else [])]


def restart_app(window: QWidget, safe_mode: bool = False) -> bool:
    """Close ``window`` (it may ask about a run in progress) and start dlstudio again; False when it stayed."""
    if not window.close():
        return False
    program, args = restart_command(safe_mode)
    process = QProcess()
    process.setProgram(program)
    process.setArguments(args)
    env = QProcessEnvironment.systemEnvironment()
    env.remove(SAFE_MODE_ENV)  # leaving safe mode is a restart too: only the flag decides
    process.setProcessEnvironment(env)
    started, _pid = process.startDetached()
    app = QApplication.instance()
    if app is not None:
        app.quit()
    return bool(started)
