"""The Runs view's "Open in TensorBoard": TensorBoard started on the run store (once; it takes seconds, so off
the GUI thread), then the browser opened at the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from dlstudio.tensorboard_server import TensorBoardServer, start_tensorboard

if TYPE_CHECKING:
    from dlstudio.gui.context import StudioContext


def open_run_in_tensorboard(context: StudioContext, run_id: str) -> None:
    """Start TensorBoard if needed and open the browser at ``run_id``; a clear error if it cannot start."""
    context.notify("starting TensorBoard…")

    def opened(server: TensorBoardServer) -> None:
        url = server.url_for(run_id)
        if not QDesktopServices.openUrl(QUrl(url)):
            context.show_error("Cannot open the browser", f"TensorBoard runs at {url}; open it in a browser")
            return
        context.notify(f"TensorBoard: {url}")

    context.run_in_background(start_tensorboard, context.studio.store.runs_dir, on_result=opened,
                              on_error=lambda exc: context.show_error("Cannot start TensorBoard", str(exc)))
