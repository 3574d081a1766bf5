"""The divergence guard: a training loss that explodes without ever becoming NaN ends the run.

Adam (and a one-cycle schedule) can keep a hopeless run finite: the loss goes from 2.3 to 4e22 while the
accuracy sits at chance, and without a guard the run would end "completed". Two signs, each far outside
what a healthy run does, say it diverged:

- its training loss is :data:`DIVERGED_FACTOR` times above where the run started (its first batch), or
- the loss grew :data:`RISE_FACTOR`-fold per period :data:`RISING_PERIODS` periods in a row and is
  :data:`RISEN_FACTOR` times above its start.

"Where it started" is never taken as less than 1, so a loss rising from almost nothing (a fine-tune that
overfits from 1e-4 to 3) is not taken for divergence. A GAN's wandering losses (a hundredfold when its
discriminator wins), a language model's first epochs, a regression's MSE in the thousands and style
transfer's huge but falling losses all stay orders of magnitude away from both signs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

#: Times the training loss may rise above its start before the run counts as diverged.
DIVERGED_FACTOR = 1e4
#: A period's loss this many times its predecessor's is a rise ...
RISE_FACTOR = 10.0
#: ... and this many rises in a row, ending this many times above the start, a divergence.
RISING_PERIODS = 3
RISEN_FACTOR = 100.0

ADVICE = ("Lower the learning rate ([train] lr), enable gradient clipping ([train] grad_clip) or check the "
          "scale of the data and targets.")


def reference(start: float) -> float:
    """The scale a run's losses are judged against: its first loss, never less than 1."""
    return max(abs(start), 1.0)


def exploded(loss: float, start: float | None, where: str, lr: float | None = None) -> str:
    """Why the running training ``loss`` means the run diverged ("" when it does not); ``where`` says when
    ("in epoch 1 (by batch 3)")."""
    if start is None or loss <= DIVERGED_FACTOR * reference(start):
        return ""
    return (f"the training loss diverged: it rose to {loss:.3g} {where}, more than {DIVERGED_FACTOR:,.0f} times "
            f"where the run started ({start:.3g}); training stopped.{_lr(lr)} {ADVICE}")


def rising(period_losses: Sequence[float], start: float | None, where: str, lr: float | None = None) -> str:
    """Why the training losses of the periods so far (the current one last) mean the run diverged ("" when
    they do not)."""
    recent = list(period_losses[-(RISING_PERIODS + 1):])
    if start is None or len(recent) <= RISING_PERIODS or recent[-1] <= RISEN_FACTOR * reference(start):
        return ""
    if not all(before > 0 and after >= RISE_FACTOR * before for before, after in pairwise(recent)):
        return ""
    path = " → ".join(f"{value:.3g}" for value in recent)
    return (f"the training loss diverged: it grew more than {RISE_FACTOR:g}-fold a period {RISING_PERIODS} periods "
            f"in a row ({path}) {where}, from {start:.3g} at the start; training stopped.{_lr(lr)} {ADVICE}")


def _lr(lr: float | None) -> str:
    return f" The learning rate was {lr:.3g} then." if lr is not None else ""
