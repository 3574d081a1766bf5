"""The hook implementations: what the hello plugin adds to dlstudio.

dlstudio imports this module through the entry point in pyproject.toml, for every command: `dlstudio --help`
and `dlstudio plugins` too. So it imports neither Qt nor torch: the model, the data, the logger and the panel
are imported by the small functions below when they are first used.
"""

from __future__ import annotations

from dlstudio import hookimpl
from dlstudio.contract import (
    CallbackSpec,
    CommandSpec,
    DatasetSpec,
    FamilySpec,
    ModelSpec,
    PanelSpec,
    RecipeSpec,
)
from dlstudio.params import Param, param_defaults

import dlstudio_hello

#: The plugin contract this plugin is written for: dlstudio refuses to load it under another major version.
DLSTUDIO_CONTRACT = 2
#: Shown when the plugin is handed in directly (tests); installed, the version comes from the package metadata.
__version__ = dlstudio_hello.__version__

FAMILY_ID = "hello"
MODEL_ID = "hello.mlp"
DATASET_ID = "hello.spirals"
RECIPE_ID = "hello-spirals"
CSV_LOG_ID = "hello.csv-log"

#: The model's parameters: the keys of ``[model.params]`` and the rows of the Train panel's form.
MLP_PARAMS = {
    "hidden": Param(32, minimum=1, maximum=1024, help="Units in each hidden layer."),
    "layers": Param(2, minimum=1, maximum=8, help="Hidden layers between the 2-D point and the output."),
    "activation": Param("tanh", choices=["tanh", "relu", "gelu"], help="The non-linearity after each hidden layer."),
}
#: The dataset's parameters: the keys of ``[data.params]``.
SPIRALS_PARAMS = {
    "samples": Param(600, minimum=10, maximum=100_000, help="Points in all, half on each arm."),
    "noise": Param(0.05, minimum=0.0, maximum=1.0, help="Standard deviation of the noise added to each point."),
    "turns": Param(1.5, minimum=0.25, maximum=5.0, unit="turns", help="How far each arm winds around the centre."),
    "valid_fraction": Param(0.2, minimum=0.0, maximum=0.9, help="Share of the points held out for validation."),
}


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id=FAMILY_ID, title="Hello spirals", order=900,
                        description="The example plugin: an MLP separates two interleaved spirals."))


def _build_mlp(params, info):
    from dlstudio_hello.model import build_mlp  # torch is imported when a run builds the model

    return build_mlp(params, info)


def _load_spirals(params, context):
    from dlstudio_hello.data import load_spirals

    return load_spirals(params, context)


@hookimpl
def dlstudio_register_models(register):
    register(ModelSpec(
        id=MODEL_ID,
        title="Small MLP",
        build=_build_mlp,
        family=FAMILY_ID,
        defaults=MLP_PARAMS,
        description="Fully connected layers from a 2-D point to one logit per class.",
    ))


@hookimpl
def dlstudio_register_datasets(register):
    register(DatasetSpec(
        id=DATASET_ID,
        title="Two spirals",
        load=_load_spirals,
        family=FAMILY_ID,
        defaults=SPIRALS_PARAMS,
        description="Two interleaved spirals of noisy 2-D points, generated from the run's seed.",
    ))


@hookimpl
def dlstudio_register_recipes(register):
    register(RecipeSpec(
        id=RECIPE_ID,
        title="MLP on two spirals",
        family=FAMILY_ID,
        description="Adam, 40 epochs: about a second on a CPU. Each epoch's metrics also go to metrics.csv.",
        reported_result="~99 % validation accuracy",
        spec={
            "run": {"callbacks": [CSV_LOG_ID]},
            "model": {"id": MODEL_ID, "params": {"hidden": 64, "layers": 3, "activation": "gelu"}},
            "data": {"id": DATASET_ID, "params": {"samples": 600, "noise": 0.05}},
            "train": {"epochs": 40, "batch_size": 32, "optimizer": "adam", "lr": 0.01},
        },
    ))


def _csv_log(context):
    from dlstudio_hello.logger import CsvLog

    return CsvLog(context.run_dir / "metrics.csv")


@hookimpl
def dlstudio_register_callbacks(register):
    register(CallbackSpec(id=CSV_LOG_ID, title="Metrics as CSV", create=_csv_log,
                          description="Writes each epoch's metrics to metrics.csv in the run's folder."))


def _spirals_panel(context):
    from dlstudio_hello.panel import SpiralsPanel  # Qt is imported here, when the window builds the panel

    return SpiralsPanel(context)


def _train_panel(context):
    from dlstudio.gui.train_panel import TrainPanel  # dlstudio's generic form: every parameter, every [train] key

    return TrainPanel(context, family=FAMILY_ID)


@hookimpl
def dlstudio_register_panels(register):
    register(PanelSpec(id="hello.spirals", title="Spirals", family=FAMILY_ID, factory=_spirals_panel, order=10))
    register(PanelSpec(id="hello.train", title="Train (all settings)", family=FAMILY_ID, factory=_train_panel,
                       order=20))


def _csv_arguments(parser):
    defaults = param_defaults(SPIRALS_PARAMS)
    parser.add_argument("output", help="the CSV file to write")
    parser.add_argument("--samples", type=int, default=defaults["samples"])
    parser.add_argument("--noise", type=float, default=defaults["noise"])
    parser.add_argument("--seed", type=int, default=0)


def _write_csv(args, studio) -> int:
    from dlstudio_hello.data import make_spirals

    points, labels = make_spirals(args.samples, args.noise, SPIRALS_PARAMS["turns"].default, args.seed)
    with open(args.output, "w", encoding="utf-8") as out:
        out.write("x,y,arm\n")
        for (x, y), arm in zip(points.tolist(), labels.tolist(), strict=True):
            out.write(f"{x:.6f},{y:.6f},{arm}\n")
    print(f"wrote {len(points)} points to {args.output}")
    return 0


@hookimpl
def dlstudio_register_commands(register):
    register(CommandSpec(name="spirals-csv", help="write the hello plugin's spiral points to a CSV file",
                         add_arguments=_csv_arguments, run=_write_csv))
