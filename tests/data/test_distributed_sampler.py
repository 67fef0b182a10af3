"""DistributedSampler gives torch's indices for the same arguments."""

import pytest

from chainrule.utils.data import DistributedSampler
from tests.oracle import torch


def _indices(sampler_cls, n, replicas, rank, epoch, **kwargs):
    sampler = sampler_cls(range(n), num_replicas=replicas, rank=rank, **kwargs)
    sampler.set_epoch(epoch)
    return list(sampler), len(sampler)


CASES = [(n, replicas, drop_last) for n in (0, 1, 5, 10, 17) for replicas in (1, 2, 3, 7)
         for drop_last in (False, True)]


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_without_shuffle_equals_torch(n, replicas, drop_last):
    for rank in range(replicas):
        assert _indices(DistributedSampler, n, replicas, rank, 0, shuffle=False,
                        drop_last=drop_last) == \
            _indices(torch.utils.data.DistributedSampler, n, replicas, rank, 0, shuffle=False,
                     drop_last=drop_last)


def test_with_shuffle_equals_torch():
    # needs cr.randperm bit-exact with torch.randperm for the same seed
    wrong = []
    for n, replicas, drop_last in ((10, 3, False), (17, 2, True), (5, 7, False)):
        for seed in (0, 7):
            for epoch in (0, 3):
                for rank in range(replicas):
                    args = (n, replicas, rank, epoch)
                    ours = _indices(DistributedSampler, *args, seed=seed, drop_last=drop_last)
                    theirs = _indices(torch.utils.data.DistributedSampler, *args, seed=seed,
                                      drop_last=drop_last)
                    if ours != theirs:
                        wrong.append(f"n={n} replicas={replicas} rank={rank} seed={seed} "
                                     f"epoch={epoch}: {ours[0]} != torch's {theirs[0]}")
    assert not wrong, f"{len(wrong)} cases differ, e.g. " + "; ".join(wrong[:3])


def test_bad_rank_is_torchs_error():
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval"):
        DistributedSampler(range(4), num_replicas=3, rank=3)


def test_shuffled_ranks_interleave_the_seed_plus_epoch_permutation():
    """Independent of randperm's values: the ranks' shares, interleaved, are randperm(n) with a
    generator seeded seed + epoch, padded with its own start; every epoch changes the order."""
    import chainrule as cr

    n, replicas, seed = 10, 4, 5
    orders = []
    for epoch in (0, 1):
        shares = [_indices(DistributedSampler, n, replicas, rank, epoch, seed=seed)[0]
                  for rank in range(replicas)]
        interleaved = [i for group in zip(*shares) for i in group]
        perm = cr.randperm(n, generator=cr.Generator().manual_seed(seed + epoch)).tolist()
        assert interleaved == perm + perm[:2]
        orders.append(perm)
    assert orders[0] != orders[1]


def test_dataloader_reads_the_samplers_share():
    import numpy as np

    import chainrule as cr
    from chainrule.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(cr.arange(10))
    sampler = DistributedSampler(ds, num_replicas=3, rank=1, shuffle=False)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 2
    assert [b[0].tolist() for b in loader] == [[1, 4], [7, 0]]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=sampler, shuffle=True)
    assert np.array_equal(np.concatenate([b[0].numpy() for b in loader]), list(sampler))


def test_is_a_sampler_as_in_torch():
    from chainrule.utils.data import Sampler

    assert issubclass(torch.utils.data.DistributedSampler, torch.utils.data.Sampler)
    assert isinstance(DistributedSampler(range(4), num_replicas=2, rank=0), Sampler)
