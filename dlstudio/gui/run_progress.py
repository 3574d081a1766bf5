"""Where a run stands, from its records alone (no Qt): the fraction done and its words, where points go on
the curves' x axis, and a stopwatch that stands still while paused. Used by :mod:`dlstudio.gui.run_dock`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Stopwatch:
    """Elapsed time that stands still while paused."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._started: float | None = None
        self._accumulated = 0.0

    def start(self) -> None:
        if self._started is None:
            self._started = time.monotonic()

    def stop(self) -> None:
        if self._started is not None:
            self._accumulated += time.monotonic() - self._started
            self._started = None

    @property
    def elapsed(self) -> float:
        running = time.monotonic() - self._started if self._started is not None else 0.0
        return self._accumulated + running


@dataclass
class Progress:
    """Where a run stands, from its records alone (no Qt): the fraction done, the words for it, and where
    its points go on the curves' x axis. A run is measured in epochs or in steps (then ``epochs`` counts
    periods of ``period_steps`` steps); the length of a pass may be unknown (a stream): 0 batches."""

    unit: str = "epoch"
    epochs: int = 0
    start_epoch: int = 0
    train_batches: int = 0
    total_steps: int = 0
    period_steps: int = 0
    #: Batches in a training pass, learnt from a finished one when the data does not say.
    learnt_batches: int = 0
    _last_train_batch: int = field(default=0, init=False, repr=False)
    #: Steps taken before the current training pass began (None: unknown).
    _pass_began_at: int | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_fit_started(cls, info: dict) -> Progress:
        return cls(unit=info.get("unit", "epoch"), epochs=info["epochs"], start_epoch=info["start_epoch"],
                   train_batches=info.get("train_batches", 0), total_steps=info.get("total_steps", 0),
                   period_steps=info.get("period_steps", 0))

    @property
    def in_steps(self) -> bool:
        return self.unit == "step"

    def span(self) -> tuple[float, float | None]:
        """The x axis: from where the run starts to where it ends (None: unknown)."""
        if self.in_steps:
            return self.start_epoch * self.period_steps, (self.total_steps or None)
        return self.start_epoch, self.epochs

    def start_fraction(self) -> float:
        if self.in_steps:
            return min(1.0, self.start_epoch * self.period_steps / self.total_steps) if self.total_steps else 0.0
        return self.start_epoch / max(1, self.epochs)

    def batches(self, info: dict, guess: bool = True) -> int:
        """Batches in the pass a batch record belongs to (``guess``: or as many as the last pass had), 0 when
        unknown."""
        if info["batches"]:
            return info["batches"]
        if info["phase"] != "train":
            return 0
        return self.train_batches or (self.learnt_batches if guess else 0)

    def fraction(self, info: dict) -> float | None:
        """How much of the run is done at a batch record; None when nothing says (a stream's first pass)."""
        if self.in_steps:
            return min(1.0, info.get("step", 0) / self.total_steps) if self.total_steps else None
        done = info["epoch"] - 1
        batches = self.batches(info)
        if info["phase"] != "train":
            within: float | None = 1.0
        else:
            within = min(1.0, info["batch"] / batches) if batches else None
        if within is None:
            return done / max(1, self.epochs) if done > self.start_epoch else None
        return (done + within) / max(1, self.epochs)

    def train_batch(self, info: dict) -> float | None:
        """Learn from a training batch record; returns where its running loss goes on the x axis (None:
        nowhere yet)."""
        self._last_train_batch = info["batch"]
        if info.get("step"):
            self._pass_began_at = info["step"] - info["batch"]
        if self.in_steps:
            return info["step"] if info.get("step") else None
        batches = self.batches(info)
        return info["epoch"] - 1 + min(1.0, info["batch"] / batches) if batches else None

    def epoch_ended(self, info: dict) -> float:
        """Learn from an epoch's (a period's) end; returns where its metrics go on the x axis."""
        step = info.get("step", 0)
        if not self.in_steps and not self.train_batches:
            if step and self._pass_began_at is not None:
                self.learnt_batches = step - self._pass_began_at
            elif self._last_train_batch:  # the last batch of a pass is always reported
                self.learnt_batches = self._last_train_batch
        self._last_train_batch, self._pass_began_at = 0, None
        if self.in_steps:
            return step or info["epoch"] * self.period_steps
        return info["epoch"]

    def where(self, info: dict) -> str:
        """"epoch 3/4" or "step 140/300": where a batch or epoch record stands."""
        if self.in_steps:
            step = info.get("step", 0)
            return f"step {step}/{self.total_steps}" if self.total_steps else f"step {step}"
        return f"epoch {info['epoch']}/{info.get('epochs', self.epochs)}"

    def text(self, info: dict) -> str:
        """The progress bar's words for a batch record."""
        batches = self.batches(info, guess=False)
        count = f"{info['batch']}/{batches}" if batches else f"{info['batch']}"
        if info["phase"] != "train":
            return f"{self.where(info)} · validating {count}"
        batch = "" if self.in_steps else f" · batch {count}"
        return f"{self.where(info)}{batch} · loss {info['loss']:.4f}"

    def best_at(self, best_epoch: int) -> str:
        if self.in_steps and self.period_steps:
            step = best_epoch * self.period_steps
            return f"step {min(step, self.total_steps) if self.total_steps else step}"
        return f"epoch {best_epoch}"
