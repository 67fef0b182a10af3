"""DistributedSampler: each rank's share of a dataset's indices, exactly PyTorch's.

``sampler = DistributedSampler(ds, shuffle=True, seed=0); loader = DataLoader(ds, 32,
sampler=sampler)``; call ``sampler.set_epoch(epoch)`` before each epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .. import distributed as dist
from ..creation import randperm
from ..random import Generator
from .sampler import Sampler


class DistributedSampler(Sampler[int]):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads, as PyTorch.

    With ``shuffle``, a permutation from a generator seeded ``seed + epoch`` (the same on every
    rank); the list is padded by repeating its start to a multiple of ``num_replicas`` (or cut
    with ``drop_last``), and rank ``r`` takes every ``num_replicas``-th index from ``r``.
    ``num_replicas`` and ``rank`` default to the process group's.
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s permutation next (the same on every rank)."""
        self.epoch = epoch
