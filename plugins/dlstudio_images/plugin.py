"""Hook implementations of the image classification plugin (the book's chapters 3, 4, 5 and 8).

Registering imports no torch (the catalogs describe models and datasets from torch-free modules and import the
rest when one is built or loaded), and Qt only inside panel factories, so the plugin loads headless (CLI,
CI) and quickly.
"""

from __future__ import annotations

from dlstudio import hookimpl
from dlstudio.contract import FamilySpec

DLSTUDIO_CONTRACT = 2
FAMILY = "images"


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id=FAMILY, title="Image classification", order=10,
                        description="Classify images: the book's CNNs, transfer learning with torchvision's "
                                    "networks, cached features and ensembles."))


@hookimpl
def dlstudio_register_models(register):
    from dlstudio_images.models.catalog import model_specs

    for spec in model_specs():
        register(spec)


@hookimpl
def dlstudio_register_datasets(register):
    from dlstudio_images.data.catalog import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def dlstudio_register_recipes(register):
    from dlstudio_images.recipes import recipe_specs

    for spec in recipe_specs():
        register(spec)


@hookimpl
def dlstudio_register_panels(register):
    from dlstudio_images.panels import panel_specs

    for spec in panel_specs():
        register(spec)
