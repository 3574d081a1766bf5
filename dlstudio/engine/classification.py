"""Supervised classification: the step function for (inputs, labels) batches."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F

from dlstudio.engine.optim import build_optimizer
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
        train = ctx.train
        self.device = ctx.device
        cuda = ctx.device.type == "cuda"
        self.channels_last = train.channels_last and cuda
        model = ctx.model.to(ctx.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        super().__init__(model)
        self.optimizers = [build_optimizer(model.parameters(), train)]
        self.grad_clip = train.grad_clip
        self.amp = train.amp and cuda
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.non_blocking = cuda
        if not ctx.data.classes:
            self.monitor, self.monitor_mode = "valid_loss", "min"

    def _inputs(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch[0], batch[1]
        x = x.to(self.device, non_blocking=self.non_blocking)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=self.non_blocking)

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    def train_step(self, batch: Any) -> StepResult:
        x, y = self._inputs(batch)
        optimizer = self.optimizers[0]
        optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            output = self.model(x)
            logits = main_logits(output)
            loss = F.cross_entropy(logits, y)
            aux = getattr(output, "aux_logits", None)
            total = loss + AUX_LOSS_WEIGHT * F.cross_entropy(aux, y) if aux is not None else loss
        if self.amp:
            self.scaler.scale(total).backward()
            if self.grad_clip > 0:
                self.scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.scaler.step(optimizer)
            self.scaler.update()
        else:  # the plain path: a disabled GradScaler still costs Python calls per step
            total.backward()
            if self.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            optimizer.step()
        return self._result(logits, loss, y)

    def eval_step(self, batch: Any) -> StepResult:
        x, y = self._inputs(batch)
        with self._autocast():
            logits = main_logits(self.model(x))
            loss = F.cross_entropy(logits, y)
        return self._result(logits, loss, y)

    @staticmethod
    def _result(logits: torch.Tensor, loss: torch.Tensor, y: torch.Tensor) -> StepResult:
        n = y.shape[0]
        correct = (logits.detach().argmax(1) == y).sum()
        return StepResult(n, {"loss": loss.detach().float() * n, "correct": correct})

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        return {"loss": sums["loss"] / count, "accuracy": sums["correct"] / count}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.amp:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        if self.amp and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
