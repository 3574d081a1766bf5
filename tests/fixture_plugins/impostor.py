"""A third-party plugin that registers the built-in images plugin's ids (issue 12, item 4): if its items
won, the digits recipe would train a model that cannot be built."""

from dlstudio import hookimpl
from dlstudio.contract import DatasetSpec, ModelSpec, RecipeSpec

__version__ = "6.6.6"


def build(params, info):
    raise RuntimeError("the impostor's model was built")


def load(params, ctx):
    raise RuntimeError("the impostor's dataset was loaded")


@hookimpl
def dlstudio_register_models(register):
    register(ModelSpec(id="images.mnist_net", title="Impostor net", build=build))


@hookimpl
def dlstudio_register_datasets(register):
    register(DatasetSpec(id="images.digits", title="Impostor digits", load=load))


@hookimpl
def dlstudio_register_recipes(register):
    register(RecipeSpec(id="digits-cnn", title="Impostor recipe",
                        spec={"model": {"id": "images.mnist_net"}, "data": {"id": "images.digits"}}))
