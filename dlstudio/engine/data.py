"""Batches from datasets: torch's DataLoader, with a fast path for in-memory tensors."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset

#: An odd 64-bit constant (the golden ratio's): spreads consecutive seeds far apart before they are mixed.
_SPREAD = 0x9E3779B97F4A7C15


def shuffled(n: int, seed: int = 0) -> torch.Tensor:
    """One epoch's order of ``n`` indices.

    It is a draw from torch's global RNG, which the run seeds and saves with each checkpoint, so a resumed run
    continues the batch order of an uninterrupted one instead of repeating epoch 1's; mixed with ``seed``, so
    two seeds give two orders even from one RNG state.
    """
    draw = int(torch.randint(0, 2**62, (), dtype=torch.int64))
    generator = torch.Generator().manual_seed((draw ^ (seed * _SPREAD)) % 2**63)
    return torch.randperm(n, generator=generator)


class _Shuffle(Sampler[int]):
    """The DataLoader path's order, drawn as the fast path's is (:func:`shuffled`)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        yield from shuffled(self.n, self.seed).tolist()


class TensorBatches:
    """Batches of a :class:`TensorDataset` by slicing whole tensors.

    A DataLoader collates sample by sample (a Python call per sample); for data that already sits in
    memory as tensors, indexing a batch at once is an order of magnitude cheaper.
    """

    def __init__(self, dataset: TensorDataset, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None = None, seed: int = 0):
        self.tensors = dataset.tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        #: A private generator, when given, draws the order instead of :func:`shuffled`.
        self.generator = generator
        self.seed = seed
        self.dataset = dataset

    def __len__(self) -> int:
        return math.ceil(len(self.tensors[0]) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = len(self.tensors[0])
        if self.shuffle:
            order = (torch.randperm(n, generator=self.generator) if self.generator is not None
                     else shuffled(n, self.seed))
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

    Each epoch's order is :func:`shuffled`: drawn from torch's global RNG (seeded by the run, and saved
    with each checkpoint) mixed with ``seed``. So the same seed from the same RNG state gives the same
    order, another seed another order, and a resumed run continues the order of an uninterrupted one.
    """
    iterable = isinstance(dataset, IterableDataset)
    if (isinstance(dataset, TensorDataset) and num_workers == 0 and batch_size is not None and sampler is None
            and collate is None):
        return TensorBatches(dataset, batch_size, shuffle, seed=seed)
    if shuffle and not iterable and sampler is None:
        sampler = _Shuffle(len(dataset), seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,  # a stream is never shuffled; otherwise the sampler draws the order
        sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )
