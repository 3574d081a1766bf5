"""A tiny plugin for tests: an MLP on generated Gaussian blobs. Proves the loop without the real plugins."""

import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlstudio import hookimpl
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, FamilySpec, ModelSpec, PanelSpec, RecipeSpec

DLSTUDIO_CONTRACT = 2
__version__ = "0.0.1"


def build_mlp(params, info: DataInfo) -> nn.Module:
    n_in = 1
    for d in info.input_shape:
        n_in *= d
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, params["hidden"]), nn.ReLU(),
                         nn.Linear(params["hidden"], info.num_classes))


def load_blobs(params, ctx) -> DataBundle:
    g = torch.Generator().manual_seed(ctx.seed)
    n, k, dim = params["samples"], params["classes"], params["features"]
    centres = torch.randn(k, dim, generator=g) * 3
    y = torch.randint(0, k, (n,), generator=g)
    x = centres[y] + torch.randn(n, dim, generator=g) * params["noise"]
    if params["nan"]:
        x[0, 0] = float("nan")
    cut = int(n * 0.8)
    info = DataInfo(input_shape=(dim,), classes=tuple(f"c{i}" for i in range(k)), input_kind="vector")
    return DataBundle(TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:]), info)


@hookimpl
def dlstudio_register_families(register):
    register(FamilySpec(id="demo", title="Demo", description="Tiny generated data", order=50))


@hookimpl
def dlstudio_register_models(register):
    register(ModelSpec(id="demo.mlp", title="Tiny MLP", build=build_mlp, family="demo", defaults={"hidden": 16}))


@hookimpl
def dlstudio_register_datasets(register):
    register(DatasetSpec(id="demo.blobs", title="Gaussian blobs", load=load_blobs, family="demo",
                         defaults={"samples": 400, "classes": 3, "features": 4, "noise": 1.0, "nan": False}))


@hookimpl
def dlstudio_register_recipes(register):
    register(RecipeSpec(id="demo-blobs", title="Tiny MLP on blobs", family="demo", reported_result="~95 %",
                        spec={"model": {"id": "demo.mlp"}, "data": {"id": "demo.blobs"},
                              "train": {"epochs": 3, "batch_size": 32, "lr": 0.05}}))


def _panel(context):
    from dlstudio.gui.train_panel import TrainPanel

    return TrainPanel(context, family="demo")


@hookimpl
def dlstudio_register_panels(register):
    register(PanelSpec(id="demo.train", title="Train", family="demo", factory=_panel))
