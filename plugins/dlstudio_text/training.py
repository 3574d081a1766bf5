"""The text tasks' step functions and the live-sample callback (registered in :mod:`dlstudio_text.tasks`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from dlstudio.engine import Callback, Stepper, StepResult, Task, TaskContext, build_optimizer


class TextClassificationTask(Task):
    """Batches of ``(tokens, lengths, labels)``; cross-entropy on ``model(tokens, lengths)``.

    The lengths stay where the data put them (the CPU): packing reads them there, so a GPU step needs no sync.
    """

    monitor = "valid_accuracy"
    monitor_mode = "max"

    def __init__(self, ctx: TaskContext) -> None:
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        # build_optimizer keeps the trainable parameters only: a frozen embedding stays as it is.
        self.optimizers = [build_optimizer(self.model.parameters(), ctx.train)]

    def _forward(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if len(batch) == 3:
            tokens, lengths, labels = batch
        else:  # (tokens, labels): every row all real tokens
            (tokens, labels), lengths = batch, None
        tokens, labels = self.stepper.to_device((tokens, labels))
        model = self.model if self.plain_model.training else self.plain_model  # validation: no DDP wrapper
        with self.stepper.autocast():
            logits = model(tokens, lengths)
            loss = F.cross_entropy(logits, labels)
        return logits, loss, labels

    def train_step(self, batch: Any) -> StepResult:
        logits, loss, labels = self._forward(batch)
        self.stepper.optimize(loss, self.optimizers[0])
        return self._result(logits, loss, labels)

    def eval_step(self, batch: Any) -> StepResult:
        return self._result(*self._forward(batch))

    @staticmethod
    def _result(logits: torch.Tensor, loss: torch.Tensor, labels: torch.Tensor) -> StepResult:
        n = labels.shape[0]
        correct = (logits.detach().argmax(1) == labels).sum()
        return StepResult(n, {"loss": loss.detach().float() * n, "correct": correct})

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        return {"loss": float(sums["loss"]) / max(count, 1), "accuracy": float(sums["correct"]) / max(count, 1)}


def detach_state(state: Any) -> Any:
    """The carried state's values without their graph (an LSTM's (h, c), a GRU's h, or None)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


def _rows(state: Any) -> int | None:
    while isinstance(state, tuple | list):
        state = state[0] if state else None
    return None if state is None else state.shape[1]


class LanguageModelTask(Task):
    """Windows of (batch, bptt + 1) tokens, target = input shifted by one; the state carried per phase.

    The state is reset when a pass starts (``start_epoch``) and kept apart for training and validation, so
    a validation in the middle of a pass (a run in steps) neither continues from training's state nor leaves
    its own behind. The optimiser is the spec's (the book: plain SGD at lr 20, divided by 4 on a plateau).
    """

    monitor = "valid_loss"

    def __init__(self, ctx: TaskContext) -> None:
        stepper = Stepper.from_context(ctx)
        super().__init__(stepper.prepare_model(ctx.model), stepper)
        self.optimizers = [build_optimizer(self.model.parameters(), ctx.train)]
        self.bptt = int(ctx.params["bptt"])
        context = getattr(self.plain_model, "context", None)
        if context is not None and self.bptt > context:
            raise ValueError(f"bptt {self.bptt} is longer than the {context} tokens the model reads at once "
                             "(its context): lower [task.params] bptt or raise the model's context")
        self.state: dict[str, Any] = {"train": None, "valid": None}
        self.encoder_json: str | None = ctx.data.extra.get("encoder")
        self._encoder = None

    @property
    def encoder(self) -> Any:
        """The data's :class:`~dlstudio_text.tokens.Encoder` (None when the data has none)."""
        if self._encoder is None and self.encoder_json:
            from dlstudio_text.tokens import Encoder

            self._encoder = Encoder.from_json(self.encoder_json)
        return self._encoder

    def start_epoch(self, epoch: int, phase: str) -> None:
        self.state[phase] = None

    def _loss(self, window: Any) -> tuple[torch.Tensor, int]:
        if isinstance(window, tuple | list):
            window = window[0]
        window = self.stepper.to_device(window)
        tokens, targets = window[:, :-1], window[:, 1:]
        phase = "train" if self.plain_model.training else "valid"
        model = self.model if phase == "train" else self.plain_model  # validation: no DDP wrapper
        carried = self.state[phase]
        if carried is not None and _rows(carried) != tokens.shape[0]:
            carried = None  # a window of other rows does not continue the last one
        with self.stepper.autocast():
            logits, state = model(tokens, carried)
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        self.state[phase] = detach_state(state)  # truncated BPTT: carry the values, not the graph
        return loss, targets.numel()

    def train_step(self, window: Any) -> StepResult:
        loss, n = self._loss(window)
        self.stepper.optimize(loss, self.optimizers[0])  # [train] grad_clip applies here
        return StepResult(n, {"loss": loss.detach().float() * n})

    def eval_step(self, window: Any) -> StepResult:
        loss, n = self._loss(window)
        return StepResult(n, {"loss": loss.float() * n})

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        loss = float(sums["loss"]) / max(count, 1)
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0))}


class LiveSample(Callback):
    """After each epoch, a short text from the model: a line in the run log and in ``samples.txt``.

    It samples with a generator of its own (seeded by the epoch), so the run's random numbers, and with them
    a resumed run's equality with an uninterrupted one, are untouched."""

    def __init__(self, run_dir: Path | None = None, *, length: int = 30, temperature: float = 0.8,
                 top_k: int = 0) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.length, self.temperature, self.top_k = length, temperature, top_k
        self.samples: list[tuple[int, str]] = []

    def on_epoch_end(self, state: Any, record: Any) -> None:
        from dlstudio_text.generate import generate

        encoder = getattr(state.task, "encoder", None)
        if encoder is None:
            return
        text = generate(state.task.plain_model, encoder, "", length=self.length, temperature=self.temperature,
                        top_k=self.top_k, seed=record.epoch)
        text = " ".join(text.split())  # one line in the log
        self.samples.append((record.epoch, text))
        state.log(f"sample after epoch {record.epoch}: {text}")
        if self.run_dir is not None and self.run_dir.is_dir():
            with (self.run_dir / "samples.txt").open("a", encoding="utf-8") as out:
                out.write(f"epoch {record.epoch}: {text}\n")
