"""Watching a GAN learn: a grid of samples from one fixed noise batch after every epoch (and every N batches),
written in the run's ``samples/`` folder, and the timeline of those grids for a viewer.

The noise is drawn from its own generator seeded by the run's seed, so it is the same batch in every grid
of a run, after a resume too, and drawing it never moves the run's random numbers. A grid is drawn in eval
mode (BatchNorm's running statistics, not updated) and the generator is put back in training mode after, so
the grids leave training exactly as it would be without them.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from dlstudio.engine import Callback

#: The run's sub-folder holding the grids.
SAMPLES_DIR = "samples"
#: Vectors in the fixed noise batch (an 8×8 grid).
GRID_SAMPLES = 64
#: Share of training time the step grids may take before the log suggests drawing them less often.
COST_WARNING = 0.05
#: In the samples folder: one JSON line per grid drawn, with the step it was drawn at (the timeline's order).
INDEX_FILE = "grids.jsonl"
_NAME = re.compile(r"^(epoch|step)_(\d+)\.png$")


def grid_path(run_dir: Path, kind: str, number: int) -> Path:
    """``samples/epoch_0003.png`` or ``samples/step_000120.png`` in ``run_dir``."""
    digits = 4 if kind == "epoch" else 6
    return Path(run_dir) / SAMPLES_DIR / f"{kind}_{number:0{digits}d}.png"


def list_grids(run_dir: str | Path) -> list[tuple[str, int, Path]]:
    """The run's grids as ``(kind, number, path)``, kind "epoch" or "step", in training order (an epoch's grid
    after the step grids drawn during it).

    The order comes from ``samples/grids.jsonl``, where each grid is noted with the training step it was drawn
    at; grids the index does not know (copied in by hand) come last, steps before epochs.
    """
    folder = Path(run_dir) / SAMPLES_DIR
    if not folder.is_dir():
        return []
    found = {(m.group(1), int(m.group(2))): path for path in folder.iterdir() if (m := _NAME.match(path.name))}
    at_step = _drawn_at(folder / INDEX_FILE)

    def order(key: tuple[str, int]) -> tuple[int, float, int]:
        kind, number = key
        if key in at_step:
            return (0, at_step[key], 1 if kind == "epoch" else 0)
        return (1, 1 if kind == "epoch" else 0, number)

    return [(kind, number, found[(kind, number)]) for kind, number in sorted(found, key=order)]


def _drawn_at(index: Path) -> dict[tuple[str, int], int]:
    """``{(kind, number): step}`` from the index; a grid drawn again (a resumed run) counts at its last line."""
    out: dict[tuple[str, int], int] = {}
    try:
        lines = index.read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
            out[(str(entry["kind"]), int(entry["number"]))] = int(entry["step"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash
    return out


class SampleGrid(Callback):
    """Draws the fixed noise batch through the generator: ``samples/epoch_NNNN.png`` after each epoch, and
    ``samples/step_NNNNNN.png`` every ``grid_every`` training steps (0: epochs only)."""

    def __init__(self, run_dir: Path, seed: int, grid_every: int | None = None,
                 samples: int = GRID_SAMPLES) -> None:
        self.run_dir, self.seed, self.samples = Path(run_dir), int(seed), samples
        #: None: the task's ``grid_every`` (read when the run starts).
        self.grid_every = grid_every
        self.noise: Any = None
        self.written: list[Path] = []
        self.seconds_drawing = 0.0
        self._started = 0.0
        self._warned = self._warned_disk = False

    def on_fit_start(self, state: Any) -> None:
        from dlstudio_generative.gan.sampling import latent_vectors

        model = state.task.model
        if self.grid_every is None:
            self.grid_every = int(getattr(state.task, "grid_every", 0))
        latent = int(getattr(model, "latent", 0) or model.generator[0].in_channels)
        self.noise = latent_vectors(latent, self.samples, self.seed)
        self._started = time.perf_counter()

    def on_train_batch_end(self, state: Any) -> None:
        if self.grid_every and state.step % self.grid_every == 0:
            self.draw(state, "step", state.step)

    def on_epoch_end(self, state: Any, record: Any) -> None:
        self.draw(state, "epoch", record.epoch)
        spent = time.perf_counter() - self._started
        if self.grid_every and not self._warned and spent > 0 and self.seconds_drawing > COST_WARNING * spent:
            self._warned = True
            state.log(f"the sample grids took {100 * self.seconds_drawing / spent:.0f}% of the training time so "
                      f"far: raise [task.params] grid_every (now {self.grid_every}) to draw them less often",
                      "warning")

    def draw(self, state: Any, kind: str, number: int) -> Path | None:
        from dlstudio_generative.gan.sampling import run_eval, save_grid

        if not self.run_dir.is_dir():
            return None  # a run without a folder (a bare loop in a test or a bench)
        started = time.perf_counter()
        images = run_eval(state.task.model.generator, self.noise)
        try:
            path = save_grid(images, grid_path(self.run_dir, kind, number), nrow=8)
            with (path.parent / INDEX_FILE).open("a", encoding="utf-8") as index:
                index.write(json.dumps({"kind": kind, "number": number, "step": int(state.step)}) + "\n")
        except OSError as exc:  # a full disk: the pictures are for watching, training goes on
            if not self._warned_disk:
                self._warned_disk = True
                state.log(f"could not write the sample grid of {kind} {number}: {exc}", "warning")
            return None
        finally:
            self.seconds_drawing += time.perf_counter() - started
        self.written.append(path)
        return path
