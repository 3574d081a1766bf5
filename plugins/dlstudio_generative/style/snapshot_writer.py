"""The callback that writes a style-transfer run's pictures where :mod:`.snapshots` says they are."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dlstudio.engine import Callback
from dlstudio_generative.style.snapshots import (
    DEFAULT_EVERY,
    list_snapshots,
    losses_path,
    result_path,
    snapshot_path,
)


def _save_png(picture: Any, path: Path) -> None:
    from dlstudio_generative.images import tensor_to_image

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    tensor_to_image(picture).save(partial, format="PNG")
    os.replace(partial, path)


class Snapshots(Callback):
    """Writes the task's picture (``task.picture()``) every ``every`` steps, at each period's end and at the end
    of the run."""

    def __init__(self, run_dir: str | Path, every: int = DEFAULT_EVERY) -> None:
        self.run_dir = Path(run_dir)
        self.every = max(1, int(every))
        self._written = -1

    def on_fit_start(self, state: Any) -> None:
        # A resumed run paints again from its last checkpoint: the abandoned attempt's later snapshots go.
        for step, path in list_snapshots(self.run_dir):
            if step > state.step:
                path.unlink(missing_ok=True)
        losses = losses_path(self.run_dir)
        if losses.is_file():
            kept = [line for line in losses.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line)["step"] <= state.step]
            losses.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")

    def on_train_batch_end(self, state: Any) -> None:
        if state.step % self.every == 0:
            self._snapshot(state)
            self._write_losses(state)

    def _write_losses(self, state: Any) -> None:
        """The step's loss terms beside its snapshot, for curves as fine as the snapshots (reading them syncs a
        GPU, like the snapshot itself, once every ``every`` steps)."""
        sums = getattr(state.output, "sums", None) or {}
        point = {"step": state.step, **{name: float(value) for name, value in sums.items()}}
        try:
            path = losses_path(self.run_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(point) + "\n")
        except OSError as exc:
            state.log(f"could not save the losses of step {state.step}: {exc}", "warning")

    def on_epoch_end(self, state: Any, record: Any) -> None:
        self._snapshot(state)

    def on_fit_end(self, state: Any, status: str) -> None:
        if getattr(state.task, "painted", False):
            _save_png(state.task.picture(), result_path(self.run_dir))

    def _snapshot(self, state: Any) -> None:
        if state.step == self._written or not getattr(state.task, "painted", False):
            return
        try:
            _save_png(state.task.picture(), snapshot_path(self.run_dir, state.step))
            self._written = state.step
        except OSError as exc:  # a full disk must not end the painting; the result is tried again at the end
            state.log(f"could not save the snapshot of step {state.step}: {exc}", "warning")
