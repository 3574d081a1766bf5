"""A run's name says what it trains: a name left over from a recipe whose model or data the person changed
(a cats/dogs run called "Digits CNN (offline demo)") gives way to "<model> on <data>"."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlstudio.spec import RunSpec
    from dlstudio.studio import Studio


def describe(studio: Studio, spec: RunSpec) -> str:
    """"<model title> on <dataset title>" (ids where a title is unknown)."""
    models, datasets = studio.registry.models, studio.registry.datasets
    model = models.get(spec.model.id).title if spec.model.id in models else spec.model.id
    data = datasets.get(spec.data.id).title if spec.data.id in datasets else spec.data.id
    return f"{model} on {data}"


def outdated_recipe_name(studio: Studio, spec: RunSpec) -> str | None:
    """The name the run should have when its name is a recipe's title but its model or data are not that recipe's
    (None: the name is the person's own, or still true)."""
    for recipe in studio.registry.recipes:
        if recipe.title != spec.run.name:
            continue
        model = recipe.spec.get("model", {}).get("id", "")
        data = recipe.spec.get("data", {}).get("id", "")
        if model == spec.model.id and data == spec.data.id:
            return None  # one recipe of that title still describes it
    titles = {recipe.title for recipe in studio.registry.recipes}
    return describe(studio, spec) if spec.run.name in titles else None
