"""CLI start-up, measured side by side with ``python -c "import torch"`` (compare, don't clock).

``dlstudio --version`` ÷ ``import torch``, each in a fresh process       goal < 0.1
``dlstudio runs`` and ``dlstudio plugins`` beside them (no goal: what a user waits for)

The commands run as a person runs them (the installed ``dlstudio`` script) on an empty data folder, in
rotating order, several rounds; each figure is a median, the ratio one of medians, with each process's
peak memory beside it.

Run: ``.venv/bin/python bench/bench_cli.py [ROUNDS]`` (or ``make bench``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 0.1  # dlstudio --version ÷ import torch


def dlstudio_command() -> list[str]:
    script = Path(sys.executable).parent / "dlstudio"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dlstudio.cli"]


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak memory in MB, exit status) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # the child's own resource usage, not all children's
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode


def main(rounds: int = 5) -> int:
    home = tempfile.mkdtemp(prefix="dlstudio-bench-cli-")
    env = {k: v for k, v in os.environ.items() if k != "DLSTUDIO_DISABLED_PLUGINS"}
    env["DLSTUDIO_HOME"] = home
    cli = dlstudio_command()
    cases = {
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "dlstudio --version": [*cli, "--version"],
        "dlstudio runs": [*cli, "runs"],
        "dlstudio plugins": [*cli, "plugins"],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    memory: dict[str, list[float]] = {name: [] for name in cases}
    status = 0
    try:
        names = list(cases)
        measure(cases[names[1]], env)  # one warm-up: the data folder is created and files are in the page cache
        for i in range(rounds):
            for name in names[i % len(names):] + names[:i % len(names)]:  # who goes first rotates
                seconds, mb, code = measure(cases[name], env)
                if code != 0:
                    print(f"{name} exited {code}")
                    status = 1
                times[name].append(seconds)
                memory[name].append(mb)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    torch_median = statistics.median(times[names[0]])
    print(f"dlstudio CLI start-up, {rounds} rounds in fresh processes (medians; ratios to importing torch)")
    print(f"{'command':<28} {'median':>9} {'min':>9} {'÷ torch':>8} {'peak memory':>12}")
    for name in names:
        median = statistics.median(times[name])
        print(f"{name:<28} {median * 1000:>6.0f} ms {min(times[name]) * 1000:>6.0f} ms "
              f"{median / torch_median:>8.3f} {statistics.median(memory[name]):>9.0f} MB")
    ratio = statistics.median(times["dlstudio --version"]) / torch_median
    verdict = "ok" if ratio < GOAL else "TOO SLOW"
    print(f"dlstudio --version ÷ import torch: {ratio:.3f}   (goal < {GOAL}; "
          f"best ÷ best {min(times['dlstudio --version']) / min(times[names[0]]):.3f})  {verdict}")
    return status or (0 if ratio < GOAL else 1)


if __name__ == "__main__":
    raise SystemExit(main(*(int(a) for a in sys.argv[1:2])))
