"""The headless training engine. Never imports Qt: it runs the same under the CLI, a test and the GUI."""

from dlstudio.engine.callbacks import BestWeights, Callback, Checkpoint, EarlyStopping, LRScheduler
from dlstudio.engine.control import Cancelled, RunControl
from dlstudio.engine.loop import FitState, NonFiniteLoss, fit
from dlstudio.engine.records import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage, Record
from dlstudio.engine.task import StepResult, Task, TaskContext

__all__ = [
    "BatchEnd",
    "BestWeights",
    "Callback",
    "Cancelled",
    "Checkpoint",
    "EarlyStopping",
    "EpochEnd",
    "FitEnded",
    "FitStarted",
    "FitState",
    "LRScheduler",
    "LogMessage",
    "NonFiniteLoss",
    "Record",
    "RunControl",
    "StepResult",
    "Task",
    "TaskContext",
    "fit",
]
