"""The step-function design fits other kinds of training: a GAN (two optimisers), a model with carried
hidden state, L-BFGS with a closure, and a task without optimisers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.checkpoints import load_train_state, save_train_state
from dlstudio.engine import StepResult, Task, fit
from tests.engine.fakes import ScriptedTask, batches, epoch_ends, last, regression


def run(task, train, valid=None, **kwargs):
    return list(fit(task, train, valid, report_interval=kwargs.pop("report_interval", 0), **kwargs))


# -- the step-function design fits other kinds of training -------------------------------------------


class GanTask(Task):
    """Two networks, two optimisers, two updates per batch: the loop does not need to know."""

    monitor, monitor_mode = "valid_d_loss", "min"

    def __init__(self) -> None:
        self.generator = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1)
        super().__init__(nn.ModuleDict({"g": self.generator, "d": self.discriminator}))
        self.optimizers = [torch.optim.Adam(self.generator.parameters(), lr=0.01),
                           torch.optim.Adam(self.discriminator.parameters(), lr=0.01)]
        self.noise = torch.Generator().manual_seed(0)

    def _losses(self, real):
        fake = self.generator(torch.randn(len(real), 2, generator=self.noise))
        ones, zeros = torch.ones(len(real), 1), torch.zeros(len(real), 1)
        d_loss = (F.binary_cross_entropy_with_logits(self.discriminator(real), ones)
                  + F.binary_cross_entropy_with_logits(self.discriminator(fake.detach()), zeros))
        return fake, ones, d_loss

    def train_step(self, batch):
        opt_g, opt_d = self.optimizers
        real = batch[0]
        fake, ones, d_loss = self._losses(real)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        n = len(real)
        return StepResult(n, {"loss": (d_loss + g_loss).detach() * n, "d_loss": d_loss.detach() * n,
                              "g_loss": g_loss.detach() * n})

    def eval_step(self, batch):
        _, _, d_loss = self._losses(batch[0])
        n = len(batch[0])
        return StepResult(n, {"loss": d_loss * n, "d_loss": d_loss * n})


def test_a_gan_with_two_optimisers_runs_through_fit(tmp_path):
    task = GanTask()
    g_before = task.generator.weight.detach().clone()
    d_before = task.discriminator.weight.detach().clone()
    data = regression(32)
    records = run(task, batches(data, 8), batches(data, 16), epochs=2)

    assert last(records).status == "completed"
    assert set(epoch_ends(records)[0].metrics) == {"train_loss", "train_d_loss", "train_g_loss", "valid_loss",
                                                   "valid_d_loss", "lr", "lr_1"}
    assert not torch.equal(task.generator.weight, g_before)
    assert not torch.equal(task.discriminator.weight, d_before)
    for optimizer in task.optimizers:  # both stepped once per batch
        assert all(float(s["step"]) == 8 for s in optimizer.state.values())

    # Both optimisers' states survive a save/resume round trip.
    save_train_state(tmp_path / "state", task.state_dict())
    fresh = GanTask()
    fresh.load_state_dict(load_train_state(tmp_path / "state"))
    for old, new in zip(task.optimizers, fresh.optimizers):
        old_state, new_state = old.state_dict()["state"], new.state_dict()["state"]
        assert old_state.keys() == new_state.keys()
        for key in old_state:
            for name, value in old_state[key].items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(new_state[key][name]))


class CharRnnTask(Task):
    """A language-model-like task: a hidden state carried from batch to batch, reset at each phase."""

    def __init__(self) -> None:
        super().__init__(nn.RNN(3, 5, batch_first=True))
        self.head = nn.Linear(5, 3)
        self.optimizers = [torch.optim.SGD([*self.model.parameters(), *self.head.parameters()], lr=0.1)]
        self.hidden = None
        self.phase_starts: list[tuple[int, str]] = []
        self.hidden_was_fresh: list[bool] = []

    def start_epoch(self, epoch, phase):
        self.phase_starts.append((epoch, phase))
        self.hidden = None

    def _forward(self, batch):
        x, y = batch
        self.hidden_was_fresh.append(self.hidden is None)
        out, hidden = self.model(x, self.hidden)
        self.hidden = hidden.detach()  # carried on, without backpropagating into earlier batches
        loss = F.cross_entropy(self.head(out).reshape(-1, 3), y.reshape(-1))
        return loss, x.shape[0]

    def train_step(self, batch):
        loss, n = self._forward(batch)
        self.optimizers[0].zero_grad()
        loss.backward()
        self.optimizers[0].step()
        return StepResult(n, {"loss": loss.detach() * n})

    def eval_step(self, batch):
        loss, n = self._forward(batch)
        return StepResult(n, {"loss": loss * n})


def test_a_task_with_carried_hidden_state_resets_it_at_each_phase():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 3, (4, 13), generator=g)
    x = F.one_hot(tokens[:, :-1], 3).float()
    chunks = [(x[:, i : i + 4], tokens[:, i + 1 : i + 5]) for i in range(0, 12, 4)]  # 3 consecutive chunks
    task = CharRnnTask()
    records = run(task, chunks, chunks[:2], epochs=2)

    assert last(records).status == "completed"
    assert task.phase_starts == [(1, "train"), (1, "valid"), (2, "train"), (2, "valid")]
    assert task.hidden_was_fresh == [True, False, False, True, False] * 2


class LbfgsTask(Task):
    """Style-transfer-like: L-BFGS re-evaluates the loss through a closure several times per step."""

    def __init__(self) -> None:
        super().__init__(nn.Linear(2, 1))
        self.optimizers = [torch.optim.LBFGS(self.model.parameters(), lr=1, max_iter=5)]
        self.evaluations = 0
        self.steps = 0

    def _loss(self, batch):
        x, y = batch
        return F.mse_loss(self.model(x).squeeze(1), y)

    def train_step(self, batch):
        optimizer = self.optimizers[0]

        def closure():
            self.evaluations += 1
            optimizer.zero_grad()
            loss = self._loss(batch)
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        self.steps += 1
        n = len(batch[0])
        return StepResult(n, {"loss": loss.detach() * n})

    def eval_step(self, batch):
        return StepResult(len(batch[0]), {"loss": self._loss(batch) * len(batch[0])})


def test_lbfgs_with_a_closure_runs_through_fit():
    task = LbfgsTask()
    data = regression(32)
    records = run(task, batches(data, 32), batches(data, 32), epochs=3)
    assert last(records).status == "completed"
    assert task.steps == 3 and task.evaluations > task.steps
    ends = epoch_ends(records)
    assert ends[0].metrics["train_loss"] > 0.1  # what the first closure call saw
    assert ends[-1].metrics["valid_loss"] < 1e-3
    assert epoch_ends(records)[0].metrics["lr"] == 1.0


def test_a_task_without_optimisers_reports_no_lr():
    class EvalOnly(ScriptedTask):
        def __init__(self):
            super().__init__(valid=[0.5])
            self.optimizers = []

        def train_step(self, batch):
            return StepResult(len(batch[0]), {"loss": 1.0 * len(batch[0])})

    records = run(EvalOnly(), batches(regression()), batches(regression(8)), epochs=1)
    assert "lr" not in epoch_ends(records)[0].metrics
