"""How a distributed run shares out its data, without processes: each rank's batches, put together, are the
one-process run's batches (the property the equal-weights test relies on), and whole batches split by rows."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from dlstudio.engine.data import make_batches
from dlstudio.engine.distributed import Ranks, RowShards


class OrderedRanks(Ranks):
    """A rank whose 'broadcast' hands out ``order``, as rank 0 drew it: the one collective sharing needs."""

    def __init__(self, rank: int, world: int, order: list[int]) -> None:
        super().__init__(rank, world)
        self.order = order

    def share_order(self, order, n):
        return list(self.order)


def _batches(dataset, rank, world, order, *, batch_size, pad=True):
    return list(make_batches(dataset, batch_size, shuffle=True, seed=3, ranks=OrderedRanks(rank, world, order),
                             pad=pad))


@pytest.mark.parametrize("world", [2, 4])
def test_the_ranks_batches_together_are_the_one_process_batches(world):
    n, batch = 48, 8
    dataset = TensorDataset(torch.arange(n) * 10, torch.arange(n))
    torch.manual_seed(0)
    single = list(make_batches(dataset, batch, shuffle=True, seed=3))
    torch.manual_seed(0)  # rank 0 draws the order from the same RNG state, as in a one-process run
    order = [int(i) for i in torch.cat([b[1] for b in make_batches(dataset, n, shuffle=True, seed=3)])]
    per_rank = [_batches(dataset, rank, world, order, batch_size=batch) for rank in range(world)]
    assert all(len(batches) == len(single) for batches in per_rank)
    for step, expected in enumerate(single):
        together = torch.cat([per_rank[rank][step][1] for rank in range(world)])
        assert sorted(together.tolist()) == sorted(expected[1].tolist())
        assert all(len(per_rank[rank][step][1]) == batch // world for rank in range(world))


def test_training_shares_are_padded_to_equal_steps_and_validation_shares_are_not():
    dataset = TensorDataset(torch.arange(5))
    order = [4, 3, 2, 1, 0]
    padded = [_batches(dataset, rank, 2, order, batch_size=4) for rank in range(2)]
    assert [len(b) for b in padded] == [2, 2]  # 3 samples each: one repeated, so both ranks step as often
    exact = [torch.cat([b[0] for b in _batches(dataset, rank, 2, order, batch_size=2, pad=False)]).tolist()
             for rank in range(2)]
    assert sorted(exact[0] + exact[1]) == [0, 1, 2, 3, 4]  # every sample counted once in the metrics


def test_whole_batches_are_split_by_rows_keeping_each_rows_place():
    windows = [torch.arange(12).reshape(6, 2) + 100 * i for i in range(3)]
    shares = [list(RowShards(windows, Ranks(rank, 3))) for rank in range(3)]
    for step, window in enumerate(windows):
        assert torch.equal(torch.cat([shares[rank][step] for rank in range(3)]), window)
        assert torch.equal(shares[1][step], window[2:4])  # rank 1 has rows 2-3 in every batch
    with pytest.raises(ValueError, match="batch of 2 rows cannot be shared by 3 processes"):
        list(RowShards([torch.zeros(2, 4)], Ranks(0, 3)))
