"""A plugin for the core benchmarks: a small CNN on random 1×28×28 images held in memory."""

import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlstudio import hookimpl
from dlstudio.contract import DataBundle, DataInfo, DatasetSpec, ModelSpec

SAMPLES = 6000


def small_cnn(params=None, info=None) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def random_images(samples: int = SAMPLES, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(samples, 1, 28, 28, generator=g), torch.randint(0, 10, (samples,), generator=g)


def _load(params, ctx) -> DataBundle:
    x, y = random_images(params["samples"])
    info = DataInfo(input_shape=(1, 28, 28), classes=tuple(str(i) for i in range(10)))
    return DataBundle(TensorDataset(x, y), None, info)


@hookimpl
def dlstudio_register_models(register):
    register(ModelSpec(id="bench.cnn", title="Bench CNN", build=small_cnn))


@hookimpl
def dlstudio_register_datasets(register):
    register(DatasetSpec(id="bench.random", title="Random images", load=_load, defaults={"samples": SAMPLES}))


def spec_dict(epochs: int, batch_size: int = 64) -> dict:
    return {"run": {"device": "cpu"}, "model": {"id": "bench.cnn"}, "data": {"id": "bench.random"},
            "train": {"epochs": epochs, "batch_size": batch_size, "lr": 0.01, "keep_best": False}}
