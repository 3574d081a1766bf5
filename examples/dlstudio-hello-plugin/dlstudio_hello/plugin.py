"""The hook implementations: what the hello plugin adds to dlstudio.

dlstudio imports this module through the entry point in pyproject.toml. It must import without Qt (the
CLI and tests load plugins headless), so the panel's module is imported inside its factory.
"""

from __future__ import annotations

from dlstudio import hookimpl
from dlstudio.contract import CommandSpec, DatasetSpec, FamilySpec, ModelSpec, PanelSpec, RecipeSpec

import dlstudio_hello
from dlstudio_hello import data, model

#: The plugin contract this plugin is written for: dlstudio refuses to load it under another major version.
DLSTUDIO_CONTRACT = 1
#: Shown when the plugin is handed in directly (tests); installed, the version comes from the package metadata.
__version__ = dlstudio_hello.__version__

FAMILY_ID = "hello"
RECIPE_ID = "hello-spirals"


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id=FAMILY_ID, title="Hello spirals", order=900,
                        description="The example plugin: an MLP separates two interleaved spirals."))


@hookimpl
def dlstudio_register_models(register):
    register(ModelSpec(
        id=model.MODEL_ID,
        title="Small MLP",
        build=model.build_mlp,
        family=FAMILY_ID,
        defaults=model.DEFAULTS,
        choices=model.CHOICES,
        description="Fully connected layers from a 2-D point to one logit per class.",
    ))


@hookimpl
def dlstudio_register_datasets(register):
    register(DatasetSpec(
        id=data.DATASET_ID,
        title="Two spirals",
        load=data.load_spirals,
        family=FAMILY_ID,
        defaults=data.DEFAULTS,
        description="Two interleaved spirals of noisy 2-D points, generated from the run's seed.",
    ))


@hookimpl
def dlstudio_register_recipes(register):
    register(RecipeSpec(
        id=RECIPE_ID,
        title="MLP on two spirals",
        family=FAMILY_ID,
        description="Adam, 40 epochs: about a second on a CPU.",
        reported_result="~99 % validation accuracy",
        spec={
            "model": {"id": model.MODEL_ID, "params": {"hidden": 64, "layers": 3, "activation": "gelu"}},
            "data": {"id": data.DATASET_ID, "params": {"samples": 600, "noise": 0.05}},
            "train": {"epochs": 40, "batch_size": 32, "optimizer": "adam", "lr": 0.01},
        },
    ))


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
    parser.add_argument("output", help="the CSV file to write")
    parser.add_argument("--samples", type=int, default=data.DEFAULTS["samples"])
    parser.add_argument("--noise", type=float, default=data.DEFAULTS["noise"])
    parser.add_argument("--seed", type=int, default=0)


def _write_csv(args, studio) -> int:
    points, labels = data.make_spirals(args.samples, args.noise, data.DEFAULTS["turns"], args.seed)
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
