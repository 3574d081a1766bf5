"""Screenshots of the plugin manager: installing the example plugin, the installed list, the crash prompt.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshots_plugins.py OUT_DIR

pip installs into a throw-away environment made in a temporary folder (as the tests do), never into the
one running this script.
"""

import importlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

from PySide6.QtWidgets import QApplication

from dlstudio.gui.app import configure_application, gui_settings, warm_up_torch
from dlstudio.gui.main_window import MainWindow
from dlstudio.gui.plugin_manager_recovery import CrashRecoveryBox
from dlstudio.gui.plugins_dialog import PluginsDialog
from dlstudio.plugin_install import PipOptions
from dlstudio.plugin_safety import CrashReport
from dlstudio.studio import Studio

ROOT = Path(__file__).resolve().parents[1]


def wait(app, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def throwaway_env(root: Path) -> tuple[Path, Path, dict]:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    base = sysconfig.get_paths()["purelib"]
    (site / "base-environment.pth").write_text(f"import site; site.addsitedir({base!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'plugins'}", PIP_CONFIG_FILE=os.devnull)
    return python, site, env


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    configure_application(app)
    warm_up_torch()
    work = Path(tempfile.mkdtemp(prefix="dlstudio-plugin-shots-"))
    python, site, env = throwaway_env(work)
    sys.path.insert(0, str(site))  # this process sees what pip installs there, as dlstudio sees its own environment
    source = work / "dlstudio-hello-plugin"
    shutil.copytree(ROOT / "examples" / "dlstudio-hello-plugin", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*_cache"))
    home = work / "home"
    home.mkdir()
    studio = Studio.open(home)
    window = MainWindow(gui_settings(home))
    window.resize(1280, 800)
    window.attach_studio(studio)
    window.show()
    wait(app, 0.5)

    dialog = PluginsDialog(studio.plugins, studio.settings, window, python=str(python), env=env,
                           pip_options=PipOptions(no_index=True, no_build_isolation=True))
    dialog.resize(1100, 720)
    dialog.show()
    dialog.target.setText(str(source))
    dialog.install()
    lines = []
    dialog.pip.line.connect(lines.append)
    deadline = time.monotonic() + 120
    while not any("Requirement already satisfied" in line for line in lines) and time.monotonic() < deadline:
        wait(app, 0.05)
    dialog.grab().save(str(out / "plugins-installing.png"))
    while dialog.pip.is_running():
        wait(app, 0.1)
    importlib.invalidate_caches()
    dialog.table.setCurrentCell(next(r for r in range(dialog.table.rowCount())
                                     if dialog.table.item(r, 1).text() == "hello"), 1)
    wait(app, 0.3)
    dialog.grab().save(str(out / "plugins-installed.png"))
    dialog.close()
    window.grab().save(str(out / "plugins-window-after-install.png"))

    report = CrashReport(plugin="hello", distribution="dlstudio-hello-plugin",
                         source="dlstudio-hello-plugin (entry point dlstudio_hello.plugin)", started=time.time() - 90)
    box = CrashRecoveryBox(report, window)
    box.show()
    wait(app, 0.5)
    box.grab().save(str(out / "plugins-crash-recovery.png"))
    box.close()
    window.queue.shutdown()
    window.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
