"""Screenshots of the window as a person sees it: every page of every plugin and the Runs view, at each size.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py OUT_DIR

Options: ``--sizes 1024x640,1920x1080`` (the default), ``--no-run`` (skip the short digits run that gives the Runs
view, the run dock and its curves something to show), ``--pages images.train,runs`` (only these). The window runs
over a fresh DLSTUDIO_HOME in a temporary folder, so nothing of the person's own runs shows or changes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HOME = Path(tempfile.mkdtemp(prefix="dlstudio-shots-"))
os.environ["DLSTUDIO_HOME"] = str(HOME)  # before dlstudio is imported: it must never touch the person's home

from PySide6.QtWidgets import QApplication  # noqa: E402

RUNS = "runs"
#: A short run of the offline digits demo: a few epochs, so the curves have lines.
DEMO_RUN = ("digits-cnn", ["train.epochs=3"])


def wait(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def train_demo(app: QApplication, window, studio) -> None:
    recipe, overrides = DEMO_RUN
    if recipe not in studio.registry.recipes:
        print(f"recipe {recipe!r} is not loaded: no demo run", file=sys.stderr)
        return
    window.start_run(studio.recipe_spec(recipe, overrides), None)
    wait(app, 0.5)
    while window.is_running():
        wait(app, 0.2)
    wait(app, 1.0)  # the curves' last redraw


def shoot(app: QApplication, window, out: Path, size: tuple[int, int], pages: list[str]) -> list[Path]:
    width, height = size
    window.resize(width, height)
    wait(app, 0.8)
    written = []
    for page in pages:
        if page == RUNS:
            window.show_runs()
            runs = [r.id for r in window.studio.store.list_runs()]
            if runs:
                window.runs_view.select_ids(runs[:2])
        elif not window.show_panel(page):
            print(f"no page {page!r}", file=sys.stderr)
            continue
        wait(app, 0.6)
        path = out / f"{width}x{height}-{page.replace('.', '-')}.png"
        window.grab().save(str(path))
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", default="1024x640,1920x1080")
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("--pages", default="", help="comma-separated panel ids (and 'runs'); default: all")
    args = parser.parse_args(argv)
    sizes = [tuple(int(n) for n in text.split("x")) for text in args.sizes.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    from dlstudio.gui.app import gui_settings, warm_up_torch
    from dlstudio.gui.main_window import MainWindow
    from dlstudio.studio import Studio

    app = QApplication(["dlstudio"])
    warm_up_torch()
    studio = Studio.open(HOME)
    window = MainWindow(gui_settings(HOME))
    window.attach_studio(studio)
    window.resize(*sizes[0])
    window.show()
    wait(app, 1.0)
    if not args.no_run:
        train_demo(app, window, studio)
    pages = [p for p in args.pages.split(",") if p] or [*window.panels, RUNS]
    written = []
    for size in sizes:
        written += shoot(app, window, args.out, size, pages)
    window.queue.shutdown()
    window.close()
    print("\n".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
