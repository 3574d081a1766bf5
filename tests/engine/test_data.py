"""Batches from datasets: the tensor fast path and the DataLoader path, reproducible and resumable."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from dlstudio.engine.data import TensorBatches, make_batches
from dlstudio.engine.seed import seed_everything


def numbered(n: int) -> TensorDataset:
    return TensorDataset(torch.arange(n).float().unsqueeze(1), torch.arange(n))


class ListDataset(Dataset):
    """Not a TensorDataset: goes through torch's DataLoader."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        return torch.tensor([float(i)]), i


def epoch_order(batches) -> list[int]:
    return [int(i) for batch in batches for i in batch[1]]


def test_tensor_datasets_take_the_fast_path():
    batches = make_batches(numbered(10), 4, shuffle=False)
    assert isinstance(batches, TensorBatches) and len(batches) == 3
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert epoch_order(batches) == list(range(10))
    x, y = next(iter(batches))
    assert x.shape == (4, 1) and torch.equal(x.squeeze(1).long(), y)


def test_other_datasets_and_workers_go_through_a_dataloader():
    assert isinstance(make_batches(ListDataset(5), 2, shuffle=False), DataLoader)
    loader = make_batches(numbered(5), 2, shuffle=True, num_workers=2)
    assert isinstance(loader, DataLoader) and len(loader) == 3  # not iterated: no worker processes started


def test_shuffled_epochs_cover_every_sample_once_in_a_new_order():
    seed_everything(0)
    for dataset in (numbered(23), ListDataset(23)):
        batches = make_batches(dataset, 5, shuffle=True)
        first, second = epoch_order(batches), epoch_order(batches)
        assert sorted(first) == sorted(second) == list(range(23))
        assert first != second and first != list(range(23))


def _two_epochs(dataset, seed: int) -> list[list[int]]:
    seed_everything(3)  # the global RNG in the same state each time: only ``seed`` differs
    batches = make_batches(dataset, 4, shuffle=True, seed=seed)
    return [epoch_order(batches), epoch_order(batches)]


def test_the_same_seed_gives_the_same_order_and_another_seed_another():
    for dataset in (numbered(20), ListDataset(20)):
        assert _two_epochs(dataset, 3) == _two_epochs(dataset, 3)
        assert _two_epochs(dataset, 3)[0] != _two_epochs(dataset, 4)[0]
        assert _two_epochs(dataset, 3)[1] != _two_epochs(dataset, 4)[1]


def test_restoring_the_rng_state_continues_the_order_of_an_uninterrupted_run():
    # What resuming a run does: seed, rebuild the batches, restore the RNG state saved after epoch k.
    for dataset in (numbered(20), ListDataset(20)):
        seed_everything(5)
        batches = make_batches(dataset, 4, shuffle=True, seed=5)
        epoch_order(batches)
        saved = torch.get_rng_state()
        expected = epoch_order(batches)

        seed_everything(5)
        resumed = make_batches(dataset, 4, shuffle=True, seed=5)
        torch.set_rng_state(saved)
        assert epoch_order(resumed) == expected
