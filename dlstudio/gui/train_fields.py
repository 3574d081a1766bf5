"""The [train] section as form fields: which keys are basic, their labels, help, units, minimums, and when
each applies (momentum with SGD only, milestones with the multistep schedule only...)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from dlstudio.params import Param

BASIC_TRAIN_KEYS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "scheduler")

#: Help for every key of [train]: the tooltips of the Train panel.
TRAIN_HELP = {
    "epochs": "How many passes over the training data (when the run is measured in epochs).",
    "steps": "Measure the run in optimisation steps instead of epochs; 0 counts epochs.",
    "eval_every": "In a run measured in steps: validate, record metrics and save a checkpoint every this many "
                  "steps; 0: once per pass over the data.",
    "batch_size": "Samples per optimisation step. Larger batches use more memory and often want a larger "
                  "learning rate.",
    "optimizer": "sgd: stochastic gradient descent with momentum; adam and adamw adapt the step per weight "
                 "(adamw decouples weight decay); lbfgs takes one quasi-Newton iteration a step, for tasks that "
                 "re-evaluate their loss (style transfer).",
    "lr": "How large a step the optimiser takes; too high diverges, too low learns slowly.",
    "momentum": "SGD only: how much of the previous step carries into the next (0.9 is usual).",
    "nesterov": "SGD only: Nesterov's look-ahead momentum.",
    "weight_decay": "Pulls the weights towards zero each step (L2 regularisation); 0 turns it off.",
    "scheduler": "How the learning rate changes during the run: none, step, multistep, exponential, plateau "
                 "(when the monitored metric stalls), cosine, onecycle.",
    "step_size": "Step schedule: multiply the learning rate by gamma every this many epochs.",
    "gamma": "Step, multistep, exponential and plateau schedules: the factor the learning rate is multiplied by.",
    "milestones": "Multistep schedule: the epochs after which the learning rate is multiplied by gamma, "
                  "e.g. [30, 60].",
    "plateau_patience": "Plateau schedule: epochs without improvement before the learning rate is lowered.",
    "early_stopping": "Stop after this many epochs without improvement of the monitored metric; 0 never stops.",
    "keep_best": "At the end, restore the weights of the epoch with the best monitored metric.",
    "grad_clip": "Clip the gradients' total norm to this value before each step; 0 turns clipping off.",
    "amp": "Compute in 16-bit floating point where safe (CUDA only): faster, and less memory.",
    "channels_last": "Store image batches channels-last (CUDA only): faster convolutions on recent GPUs.",
    "num_workers": "Processes that load batches in the background; 0 loads them in the training thread.",
    "checkpoint_every": "Save a checkpoint every this many epochs (the last one is always saved).",
}
# In a run measured in steps these count periods of eval_every steps, not epochs: say so where they are read.
for _key in ("step_size", "milestones", "plateau_patience", "early_stopping", "checkpoint_every"):
    TRAIN_HELP[_key] += " In a run measured in steps, each period of eval_every steps counts as one epoch."
del _key
#: The least value of [train] keys with one (as ``TrainSection.check`` demands).
_TRAIN_MINIMUM = {
    **dict.fromkeys(("epochs", "batch_size", "step_size", "checkpoint_every"), 1),
    **dict.fromkeys(("steps", "eval_every", "early_stopping", "num_workers", "plateau_patience", "weight_decay",
                     "momentum", "grad_clip"), 0),
}
_TRAIN_UNITS = {"epochs": "epochs", "steps": "steps", "eval_every": "steps", "batch_size": "samples",
                "step_size": "epochs", "plateau_patience": "epochs", "early_stopping": "epochs",
                "checkpoint_every": "epochs", "milestones": "epochs"}
#: Labels where the key's words are not enough (the generic ones are in :data:`dlstudio.params.TITLES`).
_TRAIN_TITLES = {"steps": "Steps (instead of epochs)", "gamma": "Learning-rate factor (gamma)",
                 "step_size": "Lower the learning rate every", "milestones": "Lower the learning rate after",
                 "checkpoint_every": "Save a checkpoint every"}


def _when(key: str, *values: Any) -> Callable[[Mapping[str, Any]], bool]:
    """Applies while ``key`` is one of ``values`` (or is not in the form, as when the forms are not linked)."""
    return lambda current: key not in current or current[key] in values


def _measured_in_steps(current: Mapping[str, Any]) -> bool:
    steps = current.get("steps")
    return not isinstance(steps, int) or steps > 0


#: When a [train] key applies, as read by ``build_optimizer``/``build_scheduler`` (dlstudio.engine.optim).
TRAIN_APPLIES: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "momentum": _when("optimizer", "sgd"),
    "nesterov": _when("optimizer", "sgd"),
    "weight_decay": _when("optimizer", "sgd", "adam", "adamw"),  # L-BFGS has none
    "step_size": _when("scheduler", "step"),
    "gamma": _when("scheduler", "step", "multistep", "exponential", "plateau"),
    "milestones": _when("scheduler", "multistep"),
    "plateau_patience": _when("scheduler", "plateau"),
    "eval_every": _measured_in_steps,
}


def train_form_parts() -> tuple[dict[str, Param], dict[str, Param], dict[str, list]]:
    """Parameters of [train] (with help, units and bounds) split into basic and advanced, and the choices of
    its enumerated keys. Link the two forms (:func:`dlstudio.gui.forms.link_forms`) so that a field of one
    shows only when it applies to the other's values (a scheduler's settings to the chosen scheduler)."""
    from dlstudio.engine.names import OPTIMIZERS, SCHEDULERS
    from dlstudio.spec import TrainSection

    params = {key: Param(value, help=TRAIN_HELP.get(key, ""), unit=_TRAIN_UNITS.get(key, ""),
                         minimum=_TRAIN_MINIMUM.get(key), title=_TRAIN_TITLES.get(key, ""),
                         applies=TRAIN_APPLIES.get(key))
              for key, value in dataclasses.asdict(TrainSection()).items()}
    basic = {k: params[k] for k in BASIC_TRAIN_KEYS}
    advanced = {k: v for k, v in params.items() if k not in basic}
    return basic, advanced, {"optimizer": list(OPTIMIZERS), "scheduler": list(SCHEDULERS)}
