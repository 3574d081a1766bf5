"""Small tasks and data sets for the engine's tests: fast, deterministic, and scripted where a test needs
to decide what the loop sees (a metric per epoch, a NaN loss)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from dlstudio.contract import DataInfo
from dlstudio.engine import Callback, StepResult, Task, TaskContext
from dlstudio.engine.classification import ClassificationTask
from dlstudio.engine.data import TensorBatches, make_batches
from dlstudio.spec import TrainSection


def blobs(n: int = 48, dim: int = 4, classes: int = 3, seed: int = 0) -> TensorDataset:
    """Well separated Gaussian blobs: a linear model learns them in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 4
    y = torch.randint(0, classes, (n,), generator=g)
    return TensorDataset(centres[y] + torch.randn(n, dim, generator=g), y)


def regression(n: int = 32, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return TensorDataset(x, x @ torch.tensor([2.0, -1.0]) + 0.5)


def batches(dataset: TensorDataset, batch_size: int = 8, shuffle: bool = False) -> TensorBatches:
    return make_batches(dataset, batch_size, shuffle=shuffle)


def classifier(dim: int = 4, classes: int = 3, **train) -> ClassificationTask:
    """A classification task over a linear model, with ``train`` as [train] settings."""
    info = DataInfo(input_shape=(dim,), classes=tuple(f"c{i}" for i in range(classes)))
    settings = TrainSection(**{"lr": 0.1, **train})
    return ClassificationTask(TaskContext(nn.Linear(dim, classes), info, settings, torch.device("cpu")))


class ScriptedTask(Task):
    """A linear regression trained by SGD whose reported metrics follow scripts, one value per epoch.

    ``valid`` scripts the validation ``score`` (the monitor by default); ``train`` replaces the training
    loss the loop sees (the weights are still updated with the real loss).
    """

    monitor = "valid_score"
    monitor_mode = "max"

    def __init__(self, valid: Sequence[float] = (), train: Sequence[float] = (), lr: float = 0.05,
                 monitor: str | None = None, mode: str | None = None) -> None:
        super().__init__(nn.Linear(2, 1))
        self.optimizers = [torch.optim.SGD(self.model.parameters(), lr=lr)]
        self.valid_script, self.train_script = list(valid), list(train)
        self.monitor = monitor or self.monitor
        self.monitor_mode = mode or self.monitor_mode
        self.epoch = 0
        self.steps = 0

    def start_epoch(self, epoch: int, phase: str) -> None:
        self.epoch = epoch

    def train_step(self, batch) -> StepResult:
        x, y = batch
        optimizer = self.optimizers[0]
        optimizer.zero_grad()
        loss = F.mse_loss(self.model(x).squeeze(1), y)
        loss.backward()
        optimizer.step()
        self.steps += 1
        n = len(x)
        value = self.train_script[self.epoch - 1] if self.train_script else loss.detach()
        return StepResult(n, {"loss": value * n})

    def eval_step(self, batch) -> StepResult:
        n = len(batch[0])
        return StepResult(n, {"loss": torch.tensor(0.0), "score": self.valid_script[self.epoch - 1] * n})


class Recorder(Callback):
    """Records every callback point it is called at, as (name, epoch) pairs."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_fit_start(self, state) -> None:
        self.calls.append(("fit_start", state.epoch))

    def on_epoch_start(self, state) -> None:
        self.calls.append(("epoch_start", state.epoch))

    def on_train_batch_end(self, state) -> None:
        self.calls.append(("train_batch_end", state.epoch))

    def on_epoch_end(self, state, record) -> None:
        self.calls.append(("epoch_end", record.epoch))

    def on_fit_end(self, state, status) -> None:
        self.calls.append(("fit_end", status))


def kinds(records) -> list[str]:
    return [r.kind for r in records]


def epoch_ends(records) -> list:
    return [r for r in records if r.kind == "epoch_end"]


def last(records):
    assert records[-1].kind == "fit_ended", records[-1]
    return records[-1]
