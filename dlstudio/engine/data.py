"""Batches from datasets: torch's DataLoader, with a fast path for in-memory tensors."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset


class TensorBatches:
    """Batches of a :class:`TensorDataset` by slicing whole tensors.

    A DataLoader collates sample by sample (a Python call per sample); for data that already sits in
    memory as tensors, indexing a batch at once is an order of magnitude cheaper.
    """

    def __init__(self, dataset: TensorDataset, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None = None):
        self.tensors = dataset.tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.dataset = dataset

    def __len__(self) -> int:
        return math.ceil(len(self.tensors[0]) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = len(self.tensors[0])
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                yield tuple(t[idx] for t in self.tensors)
        else:
            for start in range(0, n, self.batch_size):
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)


def make_batches(
    dataset: Dataset,
    batch_size: int | None,
    *,
    shuffle: bool,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
    sampler: Sampler | None = None,
    collate: Callable[[list], Any] | None = None,
) -> TensorBatches | DataLoader:
    """An iterable of batches over ``dataset``, reproducible for a given seed.

    ``batch_size=None``: the dataset's items are whole batches already (a stream of windows), passed
    through as they are. An :class:`IterableDataset` is never shuffled (it has no indices); a ``sampler``
    draws the order instead of ``shuffle``.

    Shuffling draws from torch's global RNG (seeded by the run, and saved with each checkpoint) rather
    than a private generator, so a resumed run continues with the same batch order as an uninterrupted
    one instead of repeating epoch 1's. ``seed`` is kept for callers; seed the global RNG with it.
    """
    iterable = isinstance(dataset, IterableDataset)
    if (isinstance(dataset, TensorDataset) and num_workers == 0 and batch_size is not None and sampler is None
            and collate is None):
        return TensorBatches(dataset, batch_size, shuffle)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and not iterable and sampler is None,
        sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )
