"""Supervised classification: the step function for (inputs, labels) batches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from dlstudio.engine.optim import build_optimizer
from dlstudio.engine.step import Stepper
from dlstudio.engine.task import StepResult, Task, TaskContext

#: Weight of auxiliary logits (Inception-v3) in the training loss, as in torchvision's reference.
AUX_LOSS_WEIGHT = 0.4


def main_logits(output: Any) -> torch.Tensor:
    """The logits of a model's output: plain tensors, or Inception-style ``(logits, aux_logits)``."""
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits"):
        return output.logits
    return output[0]


class ClassificationTask(Task):
    """Cross-entropy on logits (log-softmax outputs work too: log_softmax is idempotent)."""

    monitor = "valid_accuracy"
    monitor_mode = "max"

    def __init__(self, ctx: TaskContext) -> None:
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        self.optimizers = [build_optimizer(self.model.parameters(), ctx.train)]
        if not ctx.data.classes:
            self.monitor, self.monitor_mode = "valid_loss", "min"

    def train_step(self, batch: Any) -> StepResult:
        x, y = self.stepper.to_device((batch[0], batch[1]))
        with self.stepper.autocast():
            output = self.model(x)
            logits = main_logits(output)
            loss = F.cross_entropy(logits, y)
            aux = getattr(output, "aux_logits", None)
            total = loss + AUX_LOSS_WEIGHT * F.cross_entropy(aux, y) if aux is not None else loss
        self.stepper.optimize(total, self.optimizers[0])
        return self._result(logits, loss, y)

    def eval_step(self, batch: Any) -> StepResult:
        x, y = self.stepper.to_device((batch[0], batch[1]))
        with self.stepper.autocast():
            logits = main_logits(self.plain_model(x))
            loss = F.cross_entropy(logits, y)
        return self._result(logits, loss, y)

    @staticmethod
    def _result(logits: torch.Tensor, loss: torch.Tensor, y: torch.Tensor) -> StepResult:
        n = y.shape[0]
        correct = (logits.detach().argmax(1) == y).sum()
        return StepResult(n, {"loss": loss.detach().float() * n, "correct": correct})

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        return {"loss": sums["loss"] / count, "accuracy": sums["correct"] / count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "scaler" in state and "stepper" not in state:  # a run checkpointed before contract 2
            state = {**state, "stepper": {"scaler0": state["scaler"]}}
        super().load_state_dict(state)
