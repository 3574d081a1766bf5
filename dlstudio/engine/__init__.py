"""The headless training engine. Never imports Qt: it runs the same under the CLI, a test and the GUI.

Names are imported on first use (PEP 562), so that ``dlstudio.engine.names`` and the records can be read
without importing torch (``dlstudio --version``, reading a spec).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlstudio.engine.callbacks import (
        BestWeights,
        Callback,
        Checkpoint,
        EarlyStopping,
        EveryNSteps,
        LRScheduler,
        WeightNorms,
    )
    from dlstudio.engine.control import Cancelled, RunControl
    from dlstudio.engine.data import make_batches
    from dlstudio.engine.devices import DeviceInfo, list_devices, resolve_device
    from dlstudio.engine.loop import FitState, NonFiniteLoss, fit
    from dlstudio.engine.optim import build_optimizer, build_scheduler
    from dlstudio.engine.records import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage, Record
    from dlstudio.engine.seed import seed_everything
    from dlstudio.engine.step import Stepper
    from dlstudio.engine.task import StepResult, Task, TaskContext

_WHERE = {
    "BestWeights": "callbacks", "Callback": "callbacks", "Checkpoint": "callbacks", "EarlyStopping": "callbacks",
    "LRScheduler": "callbacks", "WeightNorms": "callbacks",
    "Cancelled": "control", "RunControl": "control",
    "make_batches": "data",
    "DeviceInfo": "devices", "list_devices": "devices", "resolve_device": "devices",
    "FitState": "loop", "NonFiniteLoss": "loop", "fit": "loop",
    "BatchEnd": "records", "EpochEnd": "records", "FitEnded": "records", "FitStarted": "records",
    "LogMessage": "records", "Record": "records",
    "seed_everything": "seed",
    "StepResult": "task", "Task": "task", "TaskContext": "task",
    "Stepper": "step", "EveryNSteps": "callbacks",
    "build_optimizer": "optim", "build_scheduler": "optim",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'dlstudio.engine' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"dlstudio.engine.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BatchEnd",
    "BestWeights",
    "Callback",
    "Cancelled",
    "Checkpoint",
    "DeviceInfo",
    "EarlyStopping",
    "EpochEnd",
    "EveryNSteps",
    "FitEnded",
    "FitStarted",
    "FitState",
    "LRScheduler",
    "LogMessage",
    "NonFiniteLoss",
    "Record",
    "RunControl",
    "StepResult",
    "Stepper",
    "Task",
    "TaskContext",
    "WeightNorms",
    "build_optimizer",
    "build_scheduler",
    "fit",
    "list_devices",
    "make_batches",
    "resolve_device",
    "seed_everything",
]
