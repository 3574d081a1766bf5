"""The headless training engine. Never imports Qt: it runs the same under the CLI, a test and the GUI."""

from dlstudio.engine.callbacks import BestWeights, Callback, Checkpoint, EarlyStopping, LRScheduler, WeightNorms
from dlstudio.engine.control import Cancelled, RunControl
from dlstudio.engine.data import make_batches
from dlstudio.engine.devices import DeviceInfo, list_devices, resolve_device
from dlstudio.engine.loop import FitState, NonFiniteLoss, fit
from dlstudio.engine.records import BatchEnd, EpochEnd, FitEnded, FitStarted, LogMessage, Record
from dlstudio.engine.seed import seed_everything
from dlstudio.engine.task import StepResult, Task, TaskContext

__all__ = [
    "BatchEnd",
    "BestWeights",
    "Callback",
    "Cancelled",
    "Checkpoint",
    "DeviceInfo",
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
    "WeightNorms",
    "fit",
    "list_devices",
    "make_batches",
    "resolve_device",
    "seed_everything",
]
