"""The plugin guide (docs/plugins.md) and its example plugin (examples/dlstudio-hello-plugin) stay true.

- every hook of dlstudio/hookspecs.py is documented with its exact signature, and no other hook is;
- what the guide quotes from the example is the example's code, and the guide's Python compiles;
- (the guide's custom tasks, callback and runs-API example: tests/test_plugin_guide_tasks.py);
- the example, installed with pip into a folder, loads in ``dlstudio plugins``, lists its recipe and trains
  from the CLI, imports neither Qt nor torch when loaded, and passes its own tests;
- the example passes ruff (its panel: tests/test_plugin_guide_panel.py).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pluggy
import pytest

from dlstudio import PROJECT_NAME, hookspecs
from tests.guide_helpers import ANY_HOOK_DEF, EXAMPLE, GUIDE, SIGNATURE_LINE, blocks


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# Hook signatures
# ---------------------------------------------------------------------------------------------------


class _Annotation:
    """Renders a string annotation as written in the source (inspect would quote it)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _as_written(annotation: object) -> object:
    return _Annotation(annotation) if isinstance(annotation, str) else annotation


def hook_signature(fn: types.FunctionType) -> str:
    """``def name(arg: Annotation, ...) -> Return``, as the hook is written in dlstudio/hookspecs.py."""
    sig = inspect.signature(fn)  # the module uses `from __future__ import annotations`: annotations are strings
    sig = sig.replace(
        parameters=[p.replace(annotation=_as_written(p.annotation)) for p in sig.parameters.values()],
        return_annotation=_as_written(sig.return_annotation),
    )
    return f"def {fn.__name__}{sig}"


def contract_hooks() -> dict[str, str]:
    """Every hook of the contract, by name, with its signature."""
    marker = f"{PROJECT_NAME}_spec"
    return {
        name: hook_signature(fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith(f"{PROJECT_NAME}_") and hasattr(fn, marker)
    }


def signature_problems(text: str, hooks: dict[str, str]) -> list[str]:
    """What is wrong with the hook signatures the guide ``text`` documents, given the real ``hooks``."""
    documented: dict[str, list[str]] = {}
    for block in blocks(text):
        if block.lang == "python" and block.is_signature():
            line = block.code.strip()
            documented.setdefault(SIGNATURE_LINE.match(line)[1], []).append(line)
    problems = []
    for name, expected in hooks.items():
        lines = documented.get(name, [])
        if not lines:
            problems.append(f"{name} is not documented; add a ```python block holding exactly: {expected}")
        elif len(lines) > 1:
            problems.append(f"{name} is documented {len(lines)} times")
        elif lines[0] != expected:
            problems.append(f"{name} is documented as\n    {lines[0]}\nbut the hook is\n    {expected}")
    for name in sorted(set(documented) - set(hooks)):
        problems.append(f"the guide documents {name}, which is not a hook of dlstudio/hookspecs.py")
    for name in sorted(set(ANY_HOOK_DEF.findall(text)) - set(hooks)):
        problems.append(f"the guide shows a function {name}(), which is not a hook of dlstudio/hookspecs.py")
    return problems


def test_the_contract_hooks_are_what_pluggy_sees():
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    seen = {name for name in vars(pm.hook) if name.startswith(f"{PROJECT_NAME}_")}
    hooks = contract_hooks()
    assert len(hooks) >= 7
    assert set(hooks) == seen
    assert hooks["dlstudio_register_models"] == (
        "def dlstudio_register_models(register: Callable[[ModelSpec], None]) -> None"
    )


def test_every_hook_is_documented_with_its_exact_signature(guide):
    problems = signature_problems(guide, contract_hooks())
    assert not problems, "docs/plugins.md is out of step with dlstudio/hookspecs.py:\n" + "\n".join(problems)


def test_the_signature_check_catches_a_missing_a_changed_and_a_stale_hook(guide):
    hooks = contract_hooks()
    name = "dlstudio_register_datasets"
    line = hooks[name]
    assert line in guide
    missing = guide.replace(line, "")
    changed = guide.replace(line, line.replace("register:", "register_dataset:"))
    stale = guide + f"\n```python\n{line.replace('datasets', 'sources')}\n```\n"
    assert any(f"{name} is not documented" in p for p in signature_problems(missing, hooks))
    assert any(f"{name} is documented as" in p for p in signature_problems(changed, hooks))
    assert any("dlstudio_register_sources, which is not a hook" in p for p in signature_problems(stale, hooks))
    grown = {**hooks, "dlstudio_register_exporters": "def dlstudio_register_exporters(register) -> None"}
    assert any("dlstudio_register_exporters is not documented" in p for p in signature_problems(guide, grown))


# ---------------------------------------------------------------------------------------------------
# The guide's code
# ---------------------------------------------------------------------------------------------------


def test_what_the_guide_quotes_is_the_examples_code(guide):
    quoted = [b for b in blocks(guide) if b.quote]
    assert len(quoted) >= 10
    stale = []
    for block in quoted:
        source = EXAMPLE / block.quote
        assert source.is_file(), f"docs/plugins.md:{block.line} quotes {block.quote}, which the example lacks"
        if block.raw not in source.read_text(encoding="utf-8"):
            stale.append(f"docs/plugins.md:{block.line} no longer matches {block.quote}")
    assert not stale, "\n".join(stale)
    files = {b.quote for b in quoted}
    for name in ("pyproject.toml", "dlstudio_hello/plugin.py", "dlstudio_hello/data.py", "dlstudio_hello/model.py",
                 "dlstudio_hello/panel.py", "tests/test_hello.py", "tests/test_panel.py"):
        assert name in files, f"the guide no longer walks through {name}"


def test_the_guides_python_compiles(guide):
    python = [b for b in blocks(guide) if b.lang == "python" and not b.is_signature()]
    assert len(python) >= 20
    for block in python:
        compile(block.code, f"docs/plugins.md:{block.line}", "exec")


# ---------------------------------------------------------------------------------------------------
# The example package
# ---------------------------------------------------------------------------------------------------


def test_the_example_declares_its_entry_point():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "dlstudio-hello-plugin"
    assert "dlstudio" in project["project"]["dependencies"]
    assert project["project"]["entry-points"]["dlstudio.plugins"] == {"hello": "dlstudio_hello.plugin"}
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    assert (EXAMPLE / "README.md").is_file()


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args[1:])} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_the_example_installs_with_pip_and_trains_from_the_cli(tmp_path):
    pytest.importorskip("setuptools", reason="building the example offline needs setuptools in this environment")
    source, site, home = tmp_path / "source", tmp_path / "site", tmp_path / "home"
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*_cache"))
    env = {k: v for k, v in os.environ.items() if k not in ("DLSTUDIO_DISABLED_PLUGINS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), DLSTUDIO_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    python = sys.executable
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "--target", str(site), str(source)], env, tmp_path)
    assert (site / "dlstudio_hello" / "plugin.py").is_file()

    plugins = _run([python, "-m", "dlstudio.cli", "plugins"], env, tmp_path).stdout
    assert re.search(r"^hello\s+0\.1\.0\s+loaded\s+dlstudio-hello-plugin \(entry point dlstudio_hello\.plugin\)$",
                     plugins, re.MULTILINE), plugins
    assert "error:" not in plugins and "warning:" not in plugins, plugins

    recipes = _run([python, "-m", "dlstudio.cli", "recipes"], env, tmp_path).stdout
    assert re.search(r"^hello-spirals\s+MLP on two spirals\b.*\(hello\)$", recipes, re.MULTILINE), recipes

    train = _run([python, "-m", "dlstudio.cli", "train", "--recipe", "hello-spirals", "--set", "train.epochs=2",
                  "--device", "cpu", "--json"], env, tmp_path)
    events = [json.loads(line) for line in train.stdout.splitlines() if line.strip()]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2], train.stdout
    assert all(0.0 <= e["valid_accuracy"] <= 1.0 and math.isfinite(e["train_loss"]) for e in epochs)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["status"] == "completed", train.stdout
    assert summary["monitor"] == "valid_accuracy"

    runs = json.loads(_run([python, "-m", "dlstudio.cli", "runs", "--json"], env, tmp_path).stdout)
    assert [(r["id"], r["status"], r["model"], r["plugin"]) for r in runs] == [
        (summary["run_id"], "completed", "hello.mlp", "hello")
    ]

    # The module the entry point names is loaded by every command, `dlstudio --help` too: no Qt until a panel
    # factory is called, no torch until a run builds the model or loads the data.
    probe = ("import sys, dlstudio_hello.plugin; "
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph', "
             "'torch'}); print(heavy); sys.exit(1 if heavy else 0)")
    _run([python, "-c", probe], env, tmp_path)

    # The example's own tests, run against the installed copy: the working folder is not the source folder.
    tests = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")], env, tmp_path,
                 timeout=300)
    assert re.search(r"\b\d+ passed\b", tests.stdout), tests.stdout


def test_the_example_passes_ruff():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    proc = subprocess.run([ruff, "check", "--no-cache", str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
