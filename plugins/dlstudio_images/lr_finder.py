"""The learning-rate finder (Smith 2015, as fastai's): train a few hundred batches while the learning rate grows
exponentially, record the smoothed loss, stop when it diverges, and suggest the rate where it fell fastest."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class LRFinderResult:
    lrs: list[float] = field(default_factory=list)
    #: Exponentially smoothed (and bias-corrected) training loss at each rate.
    losses: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    suggestion: float | None = None
    #: True when the sweep stopped because the loss diverged.
    diverged: bool = False


def suggest(lrs: list[float], losses: list[float]) -> float | None:
    """The rate where the smoothed loss falls fastest (steepest slope against log lr) before its minimum."""
    if len(lrs) < 5:
        return None
    lo = np.log10(np.asarray(lrs))
    y = np.asarray(losses)
    stop = int(np.argmin(y)) + 1
    skip = max(1, len(y) // 10)  # the first steps are noise
    if stop - skip < 3:
        return float(lrs[max(0, stop - 1)] / 10)
    slope = np.gradient(y[skip:stop], lo[skip:stop])
    return float(lrs[skip + int(np.argmin(slope))])


def sweep(task: Any, batches: Iterable[Any], *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100,
          beta: float = 0.9, diverge: float = 4.0) -> Iterator[tuple[int, float, float]]:
    """Yield ``(step, lr, smoothed loss)``; return an :class:`LRFinderResult`.

    ``task`` is a training task (its ``optimizers[0]`` gets the rates, ``train_step`` trains one batch);
    ``batches`` are cycled if there are fewer than ``steps``.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"the sweep needs 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if steps < 5:
        raise ValueError(f"the sweep needs at least 5 steps, got {steps}")
    optimizer = task.optimizers[0]
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    result = LRFinderResult()
    avg, best = 0.0, math.inf
    task.model.train()
    step = 0
    while step < steps:
        produced = False
        for batch in batches:
            produced = True
            lr = start_lr * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            out = task.train_step(batch)
            loss = float(out.sums["loss"]) / max(out.count, 1)
            step += 1
            avg = beta * avg + (1 - beta) * loss
            smooth = avg / (1 - beta**step)
            result.lrs.append(lr)
            result.raw.append(loss)
            result.losses.append(smooth)
            yield step, lr, smooth
            best = min(best, smooth)
            if not math.isfinite(smooth) or (step > 5 and smooth > diverge * best):
                result.diverged = True
                step = steps
            if step >= steps:
                break
        if not produced:
            raise ValueError("the training data yielded no batches")
    finite = [(lr, v) for lr, v in zip(result.lrs, result.losses) if math.isfinite(v)]
    result.suggestion = suggest([lr for lr, _ in finite], [v for _, v in finite])
    return result


def find_lr_for_spec(studio: Any, spec: Any, *, steps: int = 100, start_lr: float = 1e-7, end_lr: float = 10.0,
                     device: str = "cpu") -> Iterator[tuple[int, float, float]]:
    """:func:`sweep` over a fresh model and the training data of a run spec (nothing is saved)."""
    import torch

    from dlstudio.engine import TaskContext, make_batches
    from dlstudio_images.session import spec_data, spec_model

    bundle = spec_data(studio, spec)
    model = spec_model(studio, spec, bundle)
    batches = make_batches(bundle.train, spec.train.batch_size, shuffle=True, seed=spec.run.seed)
    task = studio.registry.tasks.get(spec.run.task).create(
        TaskContext(model, bundle.info, spec.train, torch.device(device), len(batches)))
    return (yield from sweep(task, batches, start_lr=start_lr, end_lr=end_lr, steps=steps))


def run_to_result(gen: Iterator[Any]) -> LRFinderResult:
    """Drive a sweep generator to its end and return its result."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
