"""The core runs with Qt absent: engine, runner, store, CLI and plugins load and train without PySide6."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import importlib.abc
    import json
    import sys

    BLOCKED = ("PySide6", "pyqtgraph", "superqt", "shiboken6")


    class NoQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: this interpreter has no Qt")
            return None


    sys.meta_path.insert(0, NoQt())
    try:
        import PySide6  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker does not work")

    import dlstudio.checkpoints
    import dlstudio.cli
    import dlstudio.engine
    import dlstudio.modelio
    import dlstudio.runner
    import dlstudio.store
    import dlstudio.studio
    from dlstudio.plugins import entry_point_candidates, module_candidate
    from tests.fixture_plugins import demo_plugin

    installed = entry_point_candidates()
    dlstudio.studio.entry_point_candidates = lambda: [*installed, module_candidate("demo", demo_plugin)]
    codes = {
        "train": dlstudio.cli.main(["train", "--recipe", "demo-blobs", "--set", "train.epochs=1",
                                    "--set", "data.params.samples=64", "--json"]),
        "plugins": dlstudio.cli.main(["plugins", "-v"]),
        "recipes": dlstudio.cli.main(["recipes"]),
        "runs": dlstudio.cli.main(["runs"]),
    }
    studio = dlstudio.studio.Studio.open()
    print(json.dumps({
        "codes": codes,
        "runs": [(r.status, r.epochs_done) for r in studio.store.list_runs()],
        "plugins": {r.name: r.status for r in studio.plugins},
        "failed_for_qt": [r.name for r in studio.plugins if "no Qt" in r.error + r.traceback],
        "qt_modules": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
    }))
""")


def test_the_core_trains_and_the_cli_works_without_qt(studio_home):
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["codes"] == {"train": 0, "plugins": 0, "recipes": 0, "runs": 0}, result.stdout
    assert report["runs"] == [["completed", 1]]
    assert report["plugins"]["core"] == report["plugins"]["demo"] == "loaded"
    assert report["failed_for_qt"] == [], "plugins must import Qt lazily (only in panel factories)"
    assert report["qt_modules"] == []
    assert '"event": "summary"' in result.stdout and "demo-blobs" in result.stdout
