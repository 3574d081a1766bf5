"""The GAN's step function: the book's alternating updates of a discriminator and a generator, each with its
own optimiser (and so its own schedule, which the runner builds per optimiser)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from dlstudio.engine import Stepper, StepResult, Task, TaskContext, build_optimizer


def gan_optimizer(params: Any, train: Any, beta1: float) -> torch.optim.Optimizer:
    """The spec's optimiser over ``params``; for Adam/AdamW, with the first-moment decay ``beta1``.

    ``[train]`` has no betas, and torch's default β1 = 0.9 makes a DCGAN oscillate; the book (and the DCGAN
    paper) use 0.5, which the task's ``beta1`` parameter supplies. Adam reads its betas from the parameter
    group at every step, so setting them after building is the same as passing them in.
    """
    optimizer = build_optimizer(params, train)
    if isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW):
        for group in optimizer.param_groups:
            group["betas"] = (float(beta1), group["betas"][1])
    return optimizer


class GanTask(Task):
    """Batches of ``(images, ...)`` in [-1, 1]; each step: D on real (label 1) and on fake (label 0, G
    detached), then G to make D say 1. Reports the losses and the mean D(x), D(G(z)) of the batch."""

    monitor = ""  # no number says which epoch of a GAN is best
    optimizer_names = ("discriminator", "generator")

    def __init__(self, ctx: TaskContext) -> None:
        stepper = Stepper.from_context(ctx)
        # Not DistributedDataParallel: a step calls D twice (on real, then on fake pictures) before D's backward,
        # and again for G's loss, whose backward also reaches D, whose gradients are then thrown away; DDP's
        # reducer expects one forward of the wrapped module per backward. The Stepper averages the gradients
        # each optimiser is about to step instead (a sum over ranks over their number, as DDP computes).
        super().__init__(stepper.prepare_model(ctx.model, one_forward=False), stepper)
        for part in ("generator", "discriminator"):
            if not hasattr(self.model, part):
                raise ValueError(f"the GAN task needs a model with a .generator and a .discriminator (a "
                                 f"generative.dcgan); {type(ctx.model).__name__} has no .{part}")
        shape = tuple(getattr(ctx.data, "input_shape", ()))
        if len(shape) != 3:
            raise ValueError(f"the GAN task trains on pictures (C, H, W), and the data gives samples of shape {shape}")
        # The latent size is the model's (G's input), not the task's: read it from the model.
        self.latent = int(getattr(self.model, "latent", 0) or self.model.generator[0].in_channels)
        beta1 = float(ctx.params["beta1"])
        self.optimizers = [gan_optimizer(self.model.discriminator.parameters(), ctx.train, beta1),
                           gan_optimizer(self.model.generator.parameters(), ctx.train, beta1)]
        self.grid_every = int(ctx.params["grid_every"])
        self.scorer_run = str(ctx.params["scorer_run"]).strip()

    def _d_logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.discriminator(images).flatten()

    def train_step(self, batch: Any) -> StepResult:
        real = self.stepper.to_device(batch[0] if isinstance(batch, tuple | list) else batch)
        n = real.shape[0]
        d_opt, g_opt = self.optimizers
        ones = torch.ones(n, device=real.device)
        zeros = torch.zeros(n, device=real.device)
        # The random numbers come from torch's global generator (seeded by the run, saved with each
        # checkpoint), so a resumed run draws the same noise as an uninterrupted one.
        noise = torch.randn(n, self.latent, 1, 1, device=real.device)
        with self.stepper.autocast():
            fake = self.model.generator(noise)
            real_logits = self._d_logits(real)
            fake_logits = self._d_logits(fake.detach())
            # Sigmoid + BCELoss in the book; with logits it is the same loss, stable and autocast-safe.
            d_loss = (F.binary_cross_entropy_with_logits(real_logits, ones)
                      + F.binary_cross_entropy_with_logits(fake_logits, zeros))
        self.stepper.optimize(d_loss, d_opt)
        with self.stepper.autocast():
            # D is asked again after its update, as the book does: G learns against the improved D.
            g_logits = self._d_logits(fake)
            g_loss = F.binary_cross_entropy_with_logits(g_logits, ones)
        self.stepper.optimize(g_loss, g_opt)
        d_loss, g_loss = d_loss.detach().float(), g_loss.detach().float()
        return StepResult(n, {
            "loss": (d_loss + g_loss) * n, "d_loss": d_loss * n, "g_loss": g_loss * n,
            "d_real": torch.sigmoid(real_logits.detach().float()).sum(),
            "d_fake": torch.sigmoid(fake_logits.detach().float()).sum(),
        })

    def summarize(self, sums: Mapping[str, float], count: int) -> dict[str, float]:
        return {name: float(value) / max(count, 1) for name, value in sums.items()}
