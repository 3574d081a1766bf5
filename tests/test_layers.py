"""The code's layers, as import-linter checks them (the contracts are in pyproject.toml's [tool.importlinter])."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import dlstudio

ROOT = Path(__file__).resolve().parents[1]


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and f"{len(contracts())} kept" in result.stdout, result.stdout


def test_every_core_module_is_held_to_the_no_qt_contract():
    """A new module of dlstudio (outside dlstudio.gui) is covered as soon as it is written, or this fails."""
    core = {f"dlstudio.{info.name}" for info in pkgutil.iter_modules(dlstudio.__path__) if info.name != "gui"}
    assert set(contracts()["core-without-qt"]["source_modules"]) == core
