"""Screenshots of the window as a person sees it: run under Xvfb.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshots.py OUT_DIR
"""

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from dlstudio.gui.app import gui_settings, warm_up_torch
from dlstudio.gui.main_window import MainWindow
from dlstudio.studio import Studio


def wait(app, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    warm_up_torch()
    home = Path(tempfile.mkdtemp(prefix="dlstudio-shots-"))
    studio = Studio.open(home)
    window = MainWindow(gui_settings(home))
    window.resize(1280, 800)
    window.attach_studio(studio)
    window.show()
    wait(app, 1)
    window.grab().save(str(out / "main-window.png"))
    spec = studio.recipe_spec("digits-cnn", ["train.epochs=30"])
    window.start_run(spec, None)
    wait(app, 4)  # mid-run: a few epochs in
    window.grab().save(str(out / "run-in-progress.png"))
    while window.is_running():
        wait(app, 0.2)
    window.start_run(studio.recipe_spec("digits-cnn", ["train.epochs=3", "train.lr=0.05"]), None)
    while window.is_running():
        wait(app, 0.2)
    window.show_runs()
    window.runs_view.select_ids([r.id for r in studio.store.list_runs()])
    wait(app, 1)
    window.grab().save(str(out / "runs-view.png"))
    window.show_plugins()
    wait(app, 0.5)
    window.plugins_dialog.grab().save(str(out / "plugins-dialog.png"))
    window.queue.shutdown()
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
