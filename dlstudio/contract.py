"""The dataclasses a plugin registers through the hooks in :mod:`dlstudio.hookspecs`.

Each one validates itself (``validate()``) so that a plugin registering junk gets a precise message
instead of breaking the window later. Nothing here imports Qt or torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# A parameter with help, range, unit or a file/folder picker: part of the contract, defined beside the forms
# that show it.
from dlstudio.params import Param as Param

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from torch import nn
    from torch.utils.data import Dataset, Sampler

    from dlstudio.engine.callbacks import Callback
    from dlstudio.engine.task import Task, TaskContext

_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
#: Types a parameter default may have: what a TOML spec file can hold.
PARAM_TYPES = (bool, int, float, str, list, dict)


class ContractError(ValueError):
    """A plugin registered something that does not fit the contract."""


def _check_id(kind: str, value: object) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise ContractError(
            f"{kind} id {value!r} is not valid: use lower-case letters, digits, '_', '.', '-'"
        )


def _check_title(kind: str, ident: str, title: object) -> None:
    if not isinstance(title, str) or not title.strip():
        raise ContractError(f"{kind} {ident!r} needs a non-empty title")


def _check_callable(kind: str, ident: str, name: str, value: object) -> None:
    if not callable(value):
        raise ContractError(f"{kind} {ident!r}: {name} must be callable, got {type(value).__name__}")


def _check_tasks(kind: str, ident: str, tasks: object) -> None:
    # A bare string would pass an "all items are str" test and then match task ids as a substring.
    if not isinstance(tasks, (tuple, list)) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise ContractError(f"{kind} {ident!r}: tasks must be a non-empty tuple of task ids, got {tasks!r}")


def _check_params(kind: str, ident: str, defaults: object, choices: object) -> None:
    from dlstudio.params import Param, param_default, param_problem

    if not isinstance(defaults, Mapping):
        raise ContractError(f"{kind} {ident!r}: defaults must be a dict, got {type(defaults).__name__}")
    for key, value in defaults.items():
        if isinstance(key, str) and isinstance(value, Param):
            problem = param_problem(value)
            if problem:
                raise ContractError(f"{kind} {ident!r}: parameter {key!r}: {problem}")
        elif not isinstance(key, str) or not isinstance(value, PARAM_TYPES):
            raise ContractError(
                f"{kind} {ident!r}: default {key!r} must be bool, int, float, str, list or dict "
                f"(something a TOML spec can hold), got {type(value).__name__}"
            )
    if not isinstance(choices, Mapping):
        raise ContractError(f"{kind} {ident!r}: choices must be a dict")
    for key, options in choices.items():
        if key not in defaults:
            raise ContractError(f"{kind} {ident!r}: choices given for {key!r}, which has no default")
        if isinstance(defaults[key], Param) and defaults[key].choices is not None:
            raise ContractError(f"{kind} {ident!r}: choices for {key!r} are given twice (in choices and its Param)")
        if callable(options):
            continue
        if not isinstance(options, (list, tuple)) or param_default(defaults[key]) not in options:
            raise ContractError(f"{kind} {ident!r}: choices for {key!r} must be a list holding its default")


@dataclass(frozen=True)
class FamilySpec:
    """A task family: one entry in the window's left-hand list, e.g. "Image classification"."""

    id: str
    title: str
    description: str = ""
    #: Lower comes first in the list.
    order: int = 100
    plugin: str = ""  # filled in by the host

    def validate(self) -> None:
        _check_id("family", self.id)
        _check_title("family", self.id, self.title)


@dataclass(frozen=True)
class PanelSpec:
    """A page in a family's tab widget.

    ``factory(context)`` builds the QWidget; ``context`` is a :class:`dlstudio.gui.context.StudioContext`.
    The widget may define ``load_spec(spec: dict) -> bool`` to accept a run's settings ("clone").
    """

    id: str
    title: str
    family: str
    factory: Callable[[Any], Any]
    order: int = 100
    plugin: str = ""

    def validate(self) -> None:
        _check_id("panel", self.id)
        _check_title("panel", self.id, self.title)
        _check_id(f"panel {self.id!r}: family", self.family)
        _check_callable("panel", self.id, "factory", self.factory)


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about the data it will be fed."""

    #: Shape of one input sample without the batch dimension, e.g. (1, 28, 28) or (200,) for tokens.
    input_shape: tuple[int, ...]
    #: Class names for classification; empty for other tasks.
    classes: tuple[str, ...] = ()
    #: "image", "tokens" or anything a plugin defines; tells a viewer how to render an input.
    input_kind: str = "image"
    #: Anything else a plugin wants to pass from data to model (vocabulary size, normalisation...).
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass
class DataBundle:
    """What a dataset's ``load`` returns: the splits and what describes them."""

    train: Dataset
    valid: Dataset | None
    info: DataInfo
    #: Human-readable notes shown in the run log (e.g. "skipped 3 unreadable files: ...").
    messages: list[str] = field(default_factory=list)
    #: Shuffle the training batches each epoch; False keeps their order (a language model's stream).
    shuffle: bool = True
    #: The splits already yield whole batches (a token stream cut into (batch, length) windows): the
    #: loader passes them through as they are instead of batching samples.
    batched: bool = False
    #: How samples are put together into a batch (torch's ``collate_fn``); None: torch's default.
    collate: Callable[[list], Any] | None = None
    #: Draws the training samples' order instead of ``shuffle`` (e.g. a weighted sampler).
    sampler: Sampler | None = None


@dataclass(frozen=True)
class LoadContext:
    """What a dataset loader is given besides its parameters."""

    #: Folder where the dataset may cache downloads and derived files.
    cache_dir: Any
    #: Seed of the run, for splits that must be reproducible.
    seed: int = 0
    #: Called with a short message while loading takes long.
    report: Callable[[str], None] = print
    #: The device the run trains on ("cpu", "cuda:0", "mps"), or "auto" (the best there is) outside a run:
    #: where a loader that computes with a network (e.g. pre-computed features) should compute.
    device: str = "auto"
    #: The run's [train] batch_size: a stream that batches itself (``DataBundle.batched``) cuts its
    #: windows to it.
    batch_size: int = 64
    #: The task the data is loaded for (e.g. "classification", "language-model") and its parameters.
    task: str = ""
    task_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """A model architecture: ``build(params, data_info) -> torch.nn.Module``."""

    id: str
    title: str
    build: Callable[[Mapping[str, Any], DataInfo], nn.Module]
    #: Family this model belongs to (the family id).
    family: str = ""
    #: Task ids this model can be trained with.
    tasks: tuple[str, ...] = ("classification",)
    #: Parameters with their default values; a spec may set only these keys.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: Allowed values for some parameters (shown as a drop-down).
    choices: Mapping[str, list] = field(default_factory=dict)
    description: str = ""
    #: The data the model is built for when opened on its own (e.g. in the inspector): ImageNet's
    #: (3, 224, 224) and 1,000 classes for a torchvision classifier.
    default_data: DataInfo | None = None
    plugin: str = ""

    def validate(self) -> None:
        _check_id("model", self.id)
        if self.default_data is not None and not isinstance(self.default_data, DataInfo):
            raise ContractError(f"model {self.id!r}: default_data must be a DataInfo")
        _check_title("model", self.id, self.title)
        _check_callable("model", self.id, "build", self.build)
        _check_params("model", self.id, self.defaults, self.choices)
        _check_tasks("model", self.id, self.tasks)


@dataclass(frozen=True)
class DatasetSpec:
    """A data source: ``load(params, context) -> DataBundle``."""

    id: str
    title: str
    load: Callable[[Mapping[str, Any], LoadContext], DataBundle]
    family: str = ""
    tasks: tuple[str, ...] = ("classification",)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, list] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""

    def validate(self) -> None:
        _check_id("dataset", self.id)
        _check_title("dataset", self.id, self.title)
        _check_callable("dataset", self.id, "load", self.load)
        _check_params("dataset", self.id, self.defaults, self.choices)
        _check_tasks("dataset", self.id, self.tasks)


@dataclass(frozen=True)
class MetricSpec:
    """How a metric a task reports is shown: its title, which way is better, and which plot it shares.

    ``name`` is the metric as the task's ``summarize`` returns it (``"loss"``, ``"accuracy"``); the run's
    records prefix it with the phase (``train_loss``, ``valid_accuracy``). Metrics with the same ``group``
    share a plot (and so an axis): an MSE in the thousands never flattens an R² between 0 and 1.
    """

    name: str
    title: str = ""
    #: "min" or "max" (which way is better), or "" when neither is.
    direction: str = "min"
    #: Shown after values and on the axis, e.g. "%", "px", "nats".
    unit: str = ""
    #: Plot the metric goes on; metrics without one get a plot of their own.
    group: str = ""
    #: Whether the run dock plots it without being asked.
    plot: bool = True

    def validate(self, owner: str = "") -> None:
        if not isinstance(self.name, str) or not _ID.match(self.name):
            raise ContractError(f"{owner}: metric name {self.name!r} is not valid: use lower-case letters, "
                                "digits, '_', '.', '-'")
        if self.direction not in ("min", "max", ""):
            raise ContractError(f"{owner}: metric {self.name!r}: direction must be 'min', 'max' or '', "
                                f"got {self.direction!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title or self.name.replace("_", " "),
                "direction": self.direction, "unit": self.unit, "group": self.group or self.name,
                "plot": self.plot}


@dataclass(frozen=True)
class TaskSpec:
    """A training task: ``create(context) -> Task``, the step function the engine's loop drives.

    See :class:`dlstudio.engine.task.Task` for what a task implements. A task's own hyperparameters
    (a GAN's latent size, a language model's BPTT length) are declared like a model's: ``defaults`` and
    ``choices``; a spec sets them in ``[task.params]`` and the task finds them, validated and complete, in
    ``context.params``.
    """

    id: str
    title: str
    create: Callable[[TaskContext], Task]
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, list] = field(default_factory=dict)
    #: How the metrics the task reports are shown (see :class:`MetricSpec`); undeclared ones get a plot each.
    metrics: tuple[MetricSpec, ...] = ()
    plugin: str = ""

    def validate(self) -> None:
        _check_id("task", self.id)
        _check_title("task", self.id, self.title)
        _check_callable("task", self.id, "create", self.create)
        _check_params("task", self.id, self.defaults, self.choices)
        if not isinstance(self.metrics, (tuple, list)) or not all(isinstance(m, MetricSpec) for m in self.metrics):
            raise ContractError(f"task {self.id!r}: metrics must be a tuple of MetricSpec")
        for metric in self.metrics:
            metric.validate(f"task {self.id!r}")


@dataclass(frozen=True)
class RunContext:
    """What a plugin's callback factory (:attr:`CallbackSpec.create`) is given when a run starts."""

    run_id: str
    #: The run's folder: a logger writes its files here (e.g. TensorBoard event files).
    run_dir: Path
    #: The whole run spec, as a spec file holds it.
    spec: Mapping[str, Any]
    task: str
    device: str
    #: Whether the run continues an interrupted one (a logger appends instead of starting afresh).
    resumed: bool = False
    #: The :class:`~dlstudio.studio.Studio` the run belongs to: pass it to :mod:`dlstudio.runs` to read other
    #: runs (e.g. a classifier that scores a GAN's samples). None when a test builds a context by hand.
    studio: Any = None


@dataclass(frozen=True)
class CallbackSpec:
    """A callback or logger a plugin adds to runs: ``create(run_context) -> Callback | None``.

    The callback (a :class:`dlstudio.engine.Callback`) sees every event of the loop. A spec turns it on
    by id in ``[run] callbacks``; ``always`` adds it to every run of ``tasks`` (all tasks when empty), as
    a logger wants. ``create`` may return None to stay out of a run.
    """

    id: str
    title: str
    create: Callable[[RunContext], Callback | None]
    description: str = ""
    #: Tasks it applies to; empty: every task.
    tasks: tuple[str, ...] = ()
    always: bool = False
    plugin: str = ""

    def validate(self) -> None:
        _check_id("callback", self.id)
        _check_title("callback", self.id, self.title)
        _check_callable("callback", self.id, "create", self.create)
        if not isinstance(self.tasks, (tuple, list)) or not all(isinstance(t, str) for t in self.tasks):
            raise ContractError(f"callback {self.id!r}: tasks must be a tuple of task ids, got {self.tasks!r}")


@dataclass(frozen=True)
class RecipeSpec:
    """A ready-made run spec, in the same shape as a spec file (``{"run": ..., "model": ...}``)."""

    id: str
    title: str
    spec: Mapping[str, Any]
    family: str = ""
    description: str = ""
    #: What the book (or another source) reports for this recipe, shown beside the user's result.
    reported_result: str = ""
    #: Said when the recipe's data is not on the machine (what to download and where to put it).
    data_note: str = ""
    plugin: str = ""

    def validate(self) -> None:
        _check_id("recipe", self.id)
        _check_title("recipe", self.id, self.title)
        if not isinstance(self.spec, Mapping) or "model" not in self.spec or "data" not in self.spec:
            raise ContractError(f"recipe {self.id!r}: spec must be a dict with [model] and [data] sections")


@dataclass(frozen=True)
class CommandSpec:
    """A ``dlstudio <name>`` sub-command.

    ``add_arguments(parser)`` declares its arguments; ``run(args, context) -> int`` does the work and
    returns the exit status. ``context`` is a :class:`dlstudio.app.Studio`.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], int]
    plugin: str = ""

    def validate(self) -> None:
        _check_id("command", self.name)
        if self.name in RESERVED_COMMANDS:
            raise ContractError(f"command {self.name!r} is one of dlstudio's own commands; choose another name")
        _check_title("command", self.name, self.help)
        _check_callable("command", self.name, "add_arguments", self.add_arguments)
        _check_callable("command", self.name, "run", self.run)


#: Sub-commands of ``dlstudio`` itself, which a plugin's command may not take.
RESERVED_COMMANDS = frozenset({"gui", "train", "recipes", "runs", "plugins"})

#: Which hook registers which dataclass; the registry uses it to validate and store items.
REGISTRABLE: dict[str, type] = {
    "families": FamilySpec,
    "panels": PanelSpec,
    "models": ModelSpec,
    "datasets": DatasetSpec,
    "tasks": TaskSpec,
    "callbacks": CallbackSpec,
    "recipes": RecipeSpec,
    "commands": CommandSpec,
}
