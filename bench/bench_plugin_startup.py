"""What plugin safety costs at start-up: loading the installed plugins with the crash-recovery marker written
around each one (dlstudio/plugin_safety.py) against loading them without it, side by side.

The modules are imported once before timing (Python caches them), so what is compared is the part the
marker adds to: calling each plugin's registration hooks, plus two small file operations per plugin.
"""

import statistics
import tempfile
import time
from pathlib import Path

from dlstudio.plugin_safety import LoadingMarker
from dlstudio.plugins import entry_point_candidates, load_plugins

ROUNDS = 30


def timed(watch) -> float:
    started = time.perf_counter()
    load_plugins(entry_point_candidates(), watch=watch)
    return time.perf_counter() - started


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="dlstudio-bench-marker-"))
    marker = LoadingMarker(home)
    load_plugins(entry_point_candidates())  # import every plugin once
    bare, marked = [], []
    for _ in range(ROUNDS):  # interleaved, so a busy machine slows both alike
        bare.append(timed(None))
        marked.append(timed(marker.watch))
    b, m = statistics.median(bare), statistics.median(marked)
    plugins = len(entry_point_candidates())
    print(f"plugins loaded: {plugins} (+ core), {ROUNDS} rounds, medians")
    print(f"without the marker  {b * 1000:8.2f} ms")
    print(f"with the marker     {m * 1000:8.2f} ms   (+{(m - b) * 1000:.2f} ms, ratio {m / b:.2f})")


if __name__ == "__main__":
    main()
