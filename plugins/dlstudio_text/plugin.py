"""Hook implementations of the text plugin.

Registering imports no torch: the catalogs describe models, datasets and tasks from light modules and import
the rest when one is built, loaded or created, so ``dlstudio --help`` and ``dlstudio plugins`` stay fast.
"""

from __future__ import annotations

from dlstudio import hookimpl
from dlstudio.contract import FamilySpec

DLSTUDIO_CONTRACT = 2
FAMILY = "text"


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id=FAMILY, title="Text", order=20,
                        description="Words as data: tokenisers and vocabularies, embeddings, sentiment "
                                    "classifiers, and a language model that writes."))


@hookimpl
def dlstudio_register_models(register):
    from dlstudio_text.models.catalog import model_specs

    for spec in model_specs():
        register(spec)


@hookimpl
def dlstudio_register_datasets(register):
    from dlstudio_text.data.catalog import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def dlstudio_register_tasks(register):
    from dlstudio_text.tasks import task_specs

    for spec in task_specs():
        register(spec)


@hookimpl
def dlstudio_register_callbacks(register):
    from dlstudio_text.tasks import callback_specs

    for spec in callback_specs():
        register(spec)


@hookimpl
def dlstudio_register_recipes(register):
    from dlstudio_text.recipes import recipe_specs

    for spec in recipe_specs():
        register(spec)


@hookimpl
def dlstudio_register_commands(register):
    from dlstudio_text.cli import command_specs

    for spec in command_specs():
        register(spec)


@hookimpl
def dlstudio_register_panels(register):
    from dlstudio_text.panels import panel_specs

    for spec in panel_specs():
        register(spec)
