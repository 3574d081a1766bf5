"""Throw-away environments for the plugin manager's tests: nothing is ever installed where the tests run.

A virtual environment made in ``tmp_path`` without pip (a tenth of a second) sees the test interpreter's
site-packages through a ``.pth`` file (torch, PySide6, pip and dlstudio's metadata), and this source tree
first on ``PYTHONPATH``; pip installs into the new environment's own site-packages. pip reads no
configuration file and no ``PIP_*`` variable of the machine, and no index: the tests are offline and the same
everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

import dlstudio

ROOT = Path(dlstudio.__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "dlstudio-hello-plugin"


@dataclass
class ThrowAwayEnv:
    root: Path
    python: Path
    site: Path
    home: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: int = 240, check: bool = False) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.python), *args], env=self.env, cwd=self.root, capture_output=True,
                              text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def dlstudio(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("-m", "dlstudio.cli", *args, **kwargs)

    def freeze(self) -> list[str]:
        """``pip freeze`` of the environment: the independent record of what is installed."""
        return self.run("-m", "pip", "freeze", "--all", check=True).stdout.splitlines()


def make_env(root: Path) -> ThrowAwayEnv:
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root / "venv")
    bindir = "Scripts" if os.name == "nt" else "bin"
    python = root / "venv" / bindir / Path(sys.executable).name
    if not python.exists():
        python = root / "venv" / bindir / ("python.exe" if os.name == "nt" else "python")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # addsitedir, not a bare path: the base's own .pth files (an editable dlstudio's finder) must run too.
    base = sysconfig.get_paths()["purelib"]
    (site / "base-environment.pth").write_text(f"import site; site.addsitedir({base!r})\n", encoding="utf-8")
    home = root / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "DLSTUDIO_DISABLED_PLUGINS", "DLSTUDIO_SAFE_MODE")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]), DLSTUDIO_HOME=str(home),
               PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", QT_QPA_PLATFORM="offscreen")
    return ThrowAwayEnv(root, python, site, home, env)


@pytest.fixture
def throwaway(tmp_path) -> ThrowAwayEnv:
    """A fresh environment for one test (cheap: no pip inside it)."""
    return make_env(tmp_path)


def copy_example(dest: Path) -> Path:
    """The example plugin's sources, copied: building writes build/ and *.egg-info beside them."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*_cache"))
    return dest


@pytest.fixture(scope="session")
def example_wheel(tmp_path_factory) -> Path:
    """The example plugin built once into a wheel, as its author would publish it."""
    pytest.importorskip("setuptools", reason="building the example offline needs setuptools")
    work = tmp_path_factory.mktemp("wheel")
    env = make_env(work)
    source = copy_example(work / "source")
    env.run("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(work / "dist"),
            str(source), check=True)
    (wheel,) = (work / "dist").glob("dlstudio_hello_plugin-*.whl")
    return wheel


def write_project(folder: Path, name: str, entry_points: dict[str, str], dependencies: list[str],
                  modules: dict[str, str]) -> Path:
    """A small plugin project (pyproject.toml and its modules) in ``folder``."""
    folder.mkdir(parents=True)
    deps = ", ".join(f'"{d}"' for d in dependencies)
    eps = "\n".join(f'{k} = "{v}"' for k, v in entry_points.items())
    packages = sorted({m.split("/")[0] for m in modules if "/" in m})
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1"\ndependencies = [{deps}]\n\n'
        f'[project.entry-points."dlstudio.plugins"]\n{eps}\n\n'
        f'[tool.setuptools]\npackages = {packages!r}\n'.replace("'", '"'), encoding="utf-8")
    for path, text in modules.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    return folder


def write_installed_plugin(site: Path, dist: str, plugin: str, module: str, code: str) -> None:
    """A plugin as pip leaves it (its module and a .dist-info with the entry point), without running pip."""
    (site / f"{module}.py").write_text(code, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[dlstudio.plugins]\n{plugin} = {module}\n", encoding="utf-8")
    (info / "RECORD").write_text(f"{module}.py,,\n{info.name}/METADATA,,\n{info.name}/entry_points.txt,,\n"
                                 f"{info.name}/RECORD,,\n", encoding="utf-8")
