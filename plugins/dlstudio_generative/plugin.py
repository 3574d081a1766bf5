"""Hook implementations of the generative plugin.

Registering imports no torch: the catalogs describe models, datasets, tasks and callbacks from light modules and
import the rest when one is built, loaded or created, so ``dlstudio --help`` and ``dlstudio plugins`` stay fast.
"""

from __future__ import annotations

from dlstudio import hookimpl
from dlstudio.contract import FamilySpec

DLSTUDIO_CONTRACT = 2
FAMILY = "generative"


def _catalogs():
    from dlstudio_generative.gan import catalog as gan
    from dlstudio_generative.style import catalog as style

    return style, gan


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id=FAMILY, title="Generative", order=30,
                        description="Pictures made by networks: neural style transfer you watch being painted, "
                                    "and a DCGAN whose samples you watch improve."))


@hookimpl
def dlstudio_register_models(register):
    for catalog in _catalogs():
        for spec in catalog.model_specs():
            register(spec)


@hookimpl
def dlstudio_register_datasets(register):
    for catalog in _catalogs():
        for spec in catalog.dataset_specs():
            register(spec)


@hookimpl
def dlstudio_register_tasks(register):
    for catalog in _catalogs():
        for spec in catalog.task_specs():
            register(spec)


@hookimpl
def dlstudio_register_callbacks(register):
    for catalog in _catalogs():
        for spec in catalog.callback_specs():
            register(spec)


@hookimpl
def dlstudio_register_recipes(register):
    from dlstudio_generative.recipes import recipe_specs

    for spec in recipe_specs():
        register(spec)


@hookimpl
def dlstudio_register_commands(register):
    from dlstudio_generative.cli import command_specs

    for spec in command_specs():
        register(spec)


@hookimpl
def dlstudio_register_panels(register):
    from dlstudio_generative.panels import panel_specs

    for spec in panel_specs():
        register(spec)
