"""The CLI's quick commands do not import torch, torchvision or Qt (seconds and a gigabyte each time).

Each command runs in a fresh interpreter that records the first import of a heavy package, with the stack
that asked for it. How long the commands take is measured by ``bench/bench_cli.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import contextlib, io, json, sys, traceback

    HEAVY = ("torch", "torchvision", "PySide6")
    first = {}

    class Watch:  # finds nothing: it only notes who imports a heavy package first
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in HEAVY and top not in first:
                first[top] = "".join(traceback.format_stack()[:-1])
            return None

    sys.meta_path.insert(0, Watch())
    from dlstudio.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(sys.argv[1:])
        except SystemExit as exc:
            code = exc.code
    print(json.dumps({"code": code, "out": out.getvalue(), "first": first,
                      "plugins_looked_for": "dlstudio.studio" in sys.modules,
                      "heavy": sorted(m for m in sys.modules if m.partition(".")[0] in HEAVY)}))
""")


def run_cli(argv: list[str], home: Path, disabled: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DLSTUDIO_DISABLED_PLUGINS", "PYTHONPATH")}
    env.update(DLSTUDIO_HOME=str(home), DLSTUDIO_DISABLED_PLUGINS=disabled)
    result = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def assert_light(report: dict) -> None:
    stacks = "\n".join(f"{name} was first imported from:\n{stack}" for name, stack in report["first"].items())
    assert report["heavy"] == [], stacks


# With the built-in plugins installed and enabled: what a user runs. --help and plugins call every plugin's
# registration hooks, which describe their models and datasets without importing torch.
@pytest.mark.parametrize("argv", [
    ["--version"],
    ["runs"],
    ["--help"],
    ["plugins"],
], ids=" ".join)
def test_quick_commands_import_no_torch_with_the_built_in_plugins(argv, studio_home):
    report = run_cli(argv, studio_home)
    assert report["code"] == 0, report["out"]
    assert_light(report)


@pytest.mark.parametrize("disabled", ["images,inspector", "images"], ids=["host", "host+inspector"])
@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["runs"], ["plugins"], ["plugins", "-v"]], ids=" ".join)
def test_the_cli_itself_imports_no_torch(argv, disabled, studio_home):
    """The host's part, alone and with the inspector: the same commands with the other plugins disabled
    (a disabled plugin is not even imported)."""
    report = run_cli(argv, studio_home, disabled=disabled)
    assert report["code"] == 0, report["out"]
    assert_light(report)
    if argv[0] == "plugins":
        assert "images           0.1.0     disabled" in report["out"]
    if argv == ["--help"] and disabled == "images":
        assert "inspect " in report["out"] and "export " in report["out"]  # its commands are listed


def test_version_does_not_look_for_plugins(studio_home):
    report = run_cli(["--version"], studio_home)
    assert report["out"].startswith("dlstudio ") and not report["plugins_looked_for"]
    assert not studio_home.exists()  # nor at the data folder


def test_the_watch_sees_torch(studio_home):
    """The check above can fail: a command that trains does import torch, and the child says so."""
    report = run_cli(["train", "--resume", "no-such-run"], studio_home, disabled="images,inspector")
    assert report["code"] == 2  # no such run: refused, after the runner (and torch) were imported
    assert "torch" in report["heavy"] and "torch" in report["first"]
