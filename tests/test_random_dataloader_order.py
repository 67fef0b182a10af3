"""Shuffled orders are PyTorch's: the draws PyTorch's DataLoader, RandomSampler and
DistributedSampler make, replayed with chainrule's generators, give the orders PyTorch's own
loaders produce (the lead compares chainrule's DataLoader itself once it has the sampler
structure)."""

from __future__ import annotations

import pytest

import chainrule as cr
from tests.oracle import torch


class _Range(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def _torch_epochs(n: int, epochs: int, generator) -> list[list[int]]:
    loader = torch.utils.data.DataLoader(_Range(n), batch_size=4, shuffle=True,
                                         generator=generator)
    return [[int(i) for batch in loader for i in batch] for _ in range(epochs)]


def _replayed_epochs(n: int, epochs: int, generator: cr.Generator | None) -> list[list[int]]:
    """PyTorch's draws per epoch: the iterator's base seed (``random_()`` on an int64 scalar,
    from the loader's generator), then RandomSampler's permutation (from the loader's generator,
    or from a fresh one seeded by a global ``random_()``), then, when the epoch runs out, the
    sampler's trailing ``randperm(n)[:0]``."""
    orders = []
    for _ in range(epochs):
        cr.empty((), dtype=cr.int64).random_(generator=generator)  # the workers' base seed
        if generator is None:
            seed = int(cr.empty((), dtype=cr.int64).random_().item())
            sampler_gen = cr.Generator().manual_seed(seed)
        else:
            sampler_gen = generator
        orders.append(cr.randperm(n, generator=sampler_gen).tolist())
        cr.randperm(n, generator=sampler_gen)
    return orders


@pytest.mark.parametrize("n", [1, 10, 17, 1000])
@pytest.mark.parametrize("seed", [0, 2147483647])
def test_shuffle_with_a_loader_generator(n, seed):
    theirs = _torch_epochs(n, 3, torch.Generator().manual_seed(seed))
    assert _replayed_epochs(n, 3, cr.Generator().manual_seed(seed)) == theirs


@pytest.mark.parametrize("n", [10, 333])
def test_shuffle_from_the_global_generator(n):
    torch.manual_seed(4)
    theirs = _torch_epochs(n, 2, None)
    cr.manual_seed(4)
    assert _replayed_epochs(n, 2, None) == theirs
    assert cr.get_rng_state().tolist() == torch.get_rng_state().tolist()


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_distributed_sampler_order(epoch):
    n, replicas, seed = 23, 3, 7
    for rank in range(replicas):
        sampler = torch.utils.data.DistributedSampler(_Range(n), num_replicas=replicas,
                                                      rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        order = cr.randperm(n, generator=cr.Generator().manual_seed(seed + epoch)).tolist()
        total = -(-n // replicas) * replicas
        order += order[:total - n]
        assert list(sampler) == order[rank:total:replicas]


def test_random_split_is_pytorchs():
    lengths = [0.5, 0.3, 0.2]
    theirs = torch.utils.data.random_split(_Range(11), lengths,
                                           generator=torch.Generator().manual_seed(3))
    ours = cr.data.random_split(cr.data.TensorDataset(cr.arange(11)), lengths,
                                generator=cr.Generator().manual_seed(3))
    assert [s.indices for s in ours] == [list(s.indices) for s in theirs]
