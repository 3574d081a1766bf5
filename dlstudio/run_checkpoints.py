"""A run's checkpoints: each epoch's "best" and "last" (with the training state a resume needs), the "final"
weights, and a resume's restore of them. Always the plain model's weights (:attr:`Task.plain_model
<dlstudio.engine.task.Task.plain_model>`): a distributed run's are saved as a one-process run's, without
DistributedDataParallel's ``module.`` prefix, and load into the model the plugin builds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from dlstudio.checkpoints import (
    CheckpointError,
    apply_weights,
    load_checkpoint,
    load_train_state,
    save_checkpoint,
    save_train_state,
)
from dlstudio.errors import RunError

if TYPE_CHECKING:
    from dlstudio.engine import EpochEnd, FitEnded, FitState


class RunCheckpoints:
    """The checkpoint side of :class:`~dlstudio.runner.Run` (which gives it ``studio``, ``spec``, ``store``,
    ``run_id`` and ``ranks``)."""

    studio: Any
    spec: Any
    store: Any
    run_id: str | None
    ranks: Any

    def _save(self, state: FitState, record: EpochEnd, schedulers: list[Any], meta: dict) -> None:
        store = self.store
        folder = store.run_dir(self.run_id) / "checkpoints"
        info = {**meta, "epoch": record.epoch, "metrics": record.metrics}
        weights = state.task.plain_model.state_dict()
        if record.is_best:
            path = save_checkpoint(folder / "best", weights, info)
            store.add_artifact(self.run_id, "best", path, record.epoch)
        train_state = {
            "task": state.task.state_dict(),
            "schedulers": [scheduler.state_dict() for scheduler in schedulers],
            "step": state.step,
            # A run measured in steps may stop mid-pass: where, so that a resume takes the same batches.
            "data_pass": state.data_pass,
            "pass_taken": state.pass_taken,
            "pass_rng": state.pass_rng if state.pass_rng is not None else torch.get_rng_state(),
            "epoch": record.epoch,
            "best_epoch": state.best_epoch,
            "best_value": state.best_value,
            "start_loss": state.start_loss,  # what the divergence guard judges a resumed run by
            "rng": torch.get_rng_state(),
        }
        # The training state of each epoch gets its own files, and "last" names the one that belongs to
        # its weights; older states go only once "last" is on disk. Whichever write fails (a full disk),
        # "last" and the state it names are always of the same epoch.
        state_stem = folder / f"last-state-{record.epoch}"
        save_train_state(state_stem, train_state)
        path = save_checkpoint(folder / "last", weights, {**info, "train_state": state_stem.name})
        store.add_artifact(self.run_id, "last", path, record.epoch)
        for old in folder.glob("last-state-*"):
            if old.stem != state_stem.name:
                old.unlink(missing_ok=True)

    def _save_final(self, task: Any, meta: dict, ended: FitEnded, state: FitState) -> str:
        """The model as the run leaves it: the best epoch's weights when ``keep_best`` restored them,
        else the last epoch's (and the checkpoint says which). What went wrong, if it could not be saved."""
        folder = self.studio.store.run_dir(self.run_id) / "checkpoints"
        restored = self.spec.train.keep_best and task.monitor and ended.best_epoch is not None
        epoch = ended.best_epoch if restored else state.epoch
        info = {**meta, "epoch": epoch, "monitor": ended.monitor, "best_value": ended.best_value}
        try:
            path = save_checkpoint(folder / "final", task.plain_model.state_dict(), info)
        except OSError as exc:  # "last" and "best" are still on disk
            return f"the final weights could not be saved ({exc}); the best and last checkpoints are kept"
        self.studio.store.add_artifact(self.run_id, "final", path, epoch)
        return ""

    def _saved_best(self) -> dict | None:
        path = self.studio.store.run_dir(self.run_id) / "checkpoints" / "best.safetensors"
        try:
            return load_checkpoint(path)[0] if path.exists() else None
        except CheckpointError:
            return None

    def _restore(self, task: Any, schedulers: list[Any], state: FitState) -> int:
        store = self.store
        folder = store.run_dir(self.run_id) / "checkpoints"
        if not (folder / "last.safetensors").exists():
            store.truncate_metrics(self.run_id, 0)
            return 0  # interrupted before its first checkpoint: start again from epoch 1
        try:
            weights, meta = load_checkpoint(folder / "last.safetensors")
            apply_weights(task.plain_model, weights, source=f"run {self.run_id}")
            saved = load_train_state(folder / meta.get("train_state", "last-state"))
        except CheckpointError as exc:
            raise RunError(f"run {self.run_id} cannot be resumed: {exc}") from None
        task.load_state_dict(saved["task"])
        saved_schedulers = saved.get("schedulers")
        if saved_schedulers is None:  # checkpointed before contract 2: one schedule, of the first optimiser
            saved_schedulers = [saved["scheduler"]] if saved.get("scheduler") else []
        for scheduler, scheduler_state in zip(schedulers, saved_schedulers):
            scheduler.load_state_dict(scheduler_state)
        torch.set_rng_state(saved["rng"])  # rank 0's, which every rank restores: then each its own
        if self.ranks is not None:
            self.ranks.diversify_rng()
        epoch = int(saved["epoch"])
        state.step = int(saved.get("step", 0))  # steps so far (a stream's epochs have no fixed length)
        state.data_pass, state.pass_taken = int(saved.get("data_pass", 0)), int(saved.get("pass_taken", 0))
        state.pass_rng = saved.get("pass_rng") if state.pass_taken else None
        state.best_epoch, state.best_value = saved.get("best_epoch"), saved.get("best_value")
        state.start_loss = saved.get("start_loss")
        if state.best_value is not None and not math.isfinite(state.best_value):
            state.best_value = None
        store.truncate_metrics(self.run_id, epoch)
        if store.get(self.run_id).epochs_done < epoch and isinstance(meta.get("metrics"), dict):
            # Killed between saving this checkpoint and recording its epoch: its sidecar has the metrics.
            store.record_epoch(self.run_id, epoch, meta["metrics"], best_epoch=state.best_epoch,
                               best_value=state.best_value)
        return epoch
