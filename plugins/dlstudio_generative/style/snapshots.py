"""The pictures a style-transfer run leaves in its folder: a snapshot every few iterations
(``snapshots/step_000010.png``, every ``snapshot_every`` steps and at each period's end) and the picture as the
run ends, however it ends (``result.png``).

Snapshots are apart from periods: a period (metrics in the store, a checkpoint) costs a few database commits and
file syncs, too much to pay every few iterations, while a 128 px PNG costs a few milliseconds. The window reads
the files to show the painting live and to scrub back through it; each is written to a temporary name and renamed
into place, so a reader never sees half a PNG.

This module imports no torch (the window and specs read it); the callback that writes the files is in
:mod:`.snapshot_writer`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dlstudio.contract import RunContext

SNAPSHOTS = "snapshots"
#: Steps between snapshots when the spec does not say.
DEFAULT_EVERY = 5
RESULT = "result.png"
LOSSES = "losses.jsonl"
_SNAPSHOT = re.compile(r"^step_(\d+)\.png$")


def snapshot_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / SNAPSHOTS / f"step_{step:06d}.png"


def list_snapshots(run_dir: str | Path) -> list[tuple[int, Path]]:
    """A run's snapshots as (step, path), by step; [] when there are none (yet)."""
    folder = Path(run_dir) / SNAPSHOTS
    if not folder.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in folder.iterdir() if (match := _SNAPSHOT.match(path.name))]
    return sorted(found)


def latest_snapshot(run_dir: str | Path) -> tuple[int, Path] | None:
    """The newest snapshot as (step, path), or None: what a live view polls."""
    snapshots = list_snapshots(run_dir)
    return snapshots[-1] if snapshots else None


def losses_path(run_dir: str | Path) -> Path:
    """The losses at each snapshot, one JSON object a line (``{"step": 5, "loss": ..., "content": ...}``): finer
    than the run's records, which come once a period."""
    return Path(run_dir) / SNAPSHOTS / LOSSES


def read_losses(run_dir: str | Path, start: int = 0) -> tuple[list[dict[str, float]], int]:
    """The snapshot losses from byte ``start`` of the file on, and where to read from next time (a live view
    reads only what was added). A line still being written is left for the next read."""
    import json

    path = losses_path(run_dir)
    try:
        with path.open("rb") as lines:
            lines.seek(start)
            data = lines.read()
    except FileNotFoundError:
        return [], start
    complete = data[: data.rfind(b"\n") + 1]
    points = [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]
    return points, start + len(complete)


def result_path(run_dir: str | Path) -> Path:
    """Where a run's final picture is (it may not exist yet: the run is going on, or failed before its
    first iteration)."""
    return Path(run_dir) / RESULT


def create_snapshots(run: RunContext) -> Any:
    """The callback for a run; ``[task.params] snapshot_every`` says how often (the task itself ignores it)."""
    from dlstudio_generative.style.snapshot_writer import Snapshots

    params = (run.spec.get("task") or {}).get("params") or {}
    return Snapshots(run.run_dir, int(params.get("snapshot_every", DEFAULT_EVERY)))
