"""Batches from datasets: torch's DataLoader, with a fast path for in-memory tensors."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset

if TYPE_CHECKING:
    from dlstudio.engine.distributed import Ranks

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
                 generator: torch.Generator | None = None, seed: int = 0, sampler: Sampler | None = None):
        self.tensors = dataset.tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        #: A private generator, when given, draws the order instead of :func:`shuffled`.
        self.generator = generator
        self.seed = seed
        self.dataset = dataset
        #: Draws the order instead, when given (a distributed run's share of the data).
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.tensors[0])
        return math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = len(self.tensors[0])
        if self.sampler is not None:
            order = torch.as_tensor(list(self.sampler), dtype=torch.int64)
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                yield tuple(t[idx] for t in self.tensors)
        elif self.shuffle:
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
    ranks: Ranks | None = None,
    pad: bool = True,
) -> Any:
    """An iterable of batches over ``dataset``, reproducible for a given seed.

    ``batch_size=None``: the dataset's items are whole batches already (a stream of windows), passed
    through as they are. An :class:`IterableDataset` is never shuffled (it has no indices); a ``sampler``
    draws the order instead of ``shuffle``.

    Each epoch's order is :func:`shuffled`: drawn from torch's global RNG (seeded by the run, and saved
    with each checkpoint) mixed with ``seed``. So the same seed from the same RNG state gives the same
    order, another seed another order, and a resumed run continues the order of an uninterrupted one.

    ``ranks`` (a distributed run): ``batch_size`` is the global batch. A dataset with indices is shared by a
    :class:`~dlstudio.engine.distributed.ShardSampler` (the order rank 0 draws, ``pad``-ded so every rank takes
    as many batches), each rank taking ``batch_size / world`` samples a batch; whole batches (a stream, a
    language model's windows) are split by rows. Either way the ranks' batches together are the one-process
    run's batches.
    """
    iterable = isinstance(dataset, IterableDataset)
    if ranks is not None:
        return _shared_batches(dataset, batch_size, shuffle=shuffle, seed=seed, num_workers=num_workers,
                               pin_memory=pin_memory, sampler=sampler, collate=collate, ranks=ranks, pad=pad)
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


def _shared_batches(dataset: Dataset, batch_size: int | None, *, shuffle: bool, seed: int, num_workers: int,
                    pin_memory: bool, sampler: Sampler | None, collate: Callable[[list], Any] | None,
                    ranks: Ranks, pad: bool) -> Any:
    """:func:`make_batches` for one rank of a distributed run."""
    from dlstudio.engine.distributed import RowShards, ShardSampler

    if isinstance(dataset, IterableDataset) or batch_size is None:
        whole = make_batches(dataset, batch_size, shuffle=shuffle, seed=seed, num_workers=num_workers,
                             pin_memory=pin_memory, sampler=sampler, collate=collate)
        return RowShards(whole, ranks)
    base = sampler if sampler is not None else (_Shuffle(len(dataset), seed) if shuffle else range(len(dataset)))
    shard = ShardSampler(dataset, base, ranks, pad=pad)
    local = batch_size // ranks.world
    if isinstance(dataset, TensorDataset) and num_workers == 0 and collate is None:
        return TensorBatches(dataset, local, False, seed=seed, sampler=shard)
    return DataLoader(dataset, batch_size=local, shuffle=False, sampler=shard, collate_fn=collate,
                      num_workers=num_workers, pin_memory=pin_memory, persistent_workers=num_workers > 0)
