"""Map-style datasets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _rng_kernels
from ..random import Generator, default_generator, generator_or_default
from ..tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``.

    ``class Squares(Dataset): __len__ = lambda self: 10; __getitem__ = lambda self, i: i * i``
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__``. ``DataLoader`` batches it in order.

    ``class Counter(IterableDataset): __iter__ = lambda self: iter(range(10))``
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        # TypeError, as for any object without a length (list(stream) relies on it)
        raise TypeError(f"{type(self).__name__} has no len(): define __len__ to give one")

    # PyTorch's API: streams chain where map-style datasets concatenate
    def __add__(self, other: IterableDataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after another: ``ChainDataset([stream_a, stream_b])``."""

    def __init__(self, datasets: Sequence[IterableDataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset (got "
                                f"{type(d).__name__})")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _as_tensor(t: Any, position: int) -> Tensor:
    if isinstance(t, Tensor):
        return t
    if isinstance(t, np.ndarray):
        return Tensor(t)
    raise TypeError(f"TensorDataset: argument {position} must be a Tensor or ndarray "
                    f"(got {type(t).__name__})")


class TensorDataset(Dataset):
    """Samples are rows of tensors sharing their first dimension.

    ``ds = TensorDataset(X, y); x0, y0 = ds[0]``
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        self.tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(f"TensorDataset: all tensors need the same first dimension "
                             f"(got shapes {shapes})")

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _fetch_batch(self, indices: np.ndarray) -> list[Tensor]:
        """A whole batch in one indexing per tensor: what stacking ``self[i]`` would give."""
        return [Tensor(t._data[indices]) if not t.requires_grad else t[indices]
                for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``Subset(ds, [0, 2, 4])``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _fetch_batch(self, indices: np.ndarray) -> list[Tensor]:
        inner = _batch_fetcher(self.dataset)
        if inner is None:
            raise TypeError("Subset: the wrapped dataset has no batch fast path")
        return inner(np.asarray(self.indices, dtype=np.int64)[indices])


class ConcatDataset(Dataset):
    """Several datasets one after another: ``ConcatDataset([train_a, train_b])``."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise IndexError(f"ConcatDataset: index {index} out of range for length "
                                 f"{len(self)}")
            index += len(self)
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        if which >= len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def _batch_fetcher(dataset: Dataset) -> Callable[[np.ndarray], list[Tensor]] | None:
    """``dataset._fetch_batch`` when the dataset's samples are rows of tensors, else None.

    Skipped when a subclass overrides ``__getitem__``, so its own logic is never bypassed.
    """
    getitem = type(dataset).__getitem__
    if getitem is TensorDataset.__getitem__ and isinstance(dataset, TensorDataset):
        return dataset._fetch_batch
    if getitem is Subset.__getitem__ and isinstance(dataset, Subset):
        return None if _batch_fetcher(dataset.dataset) is None else dataset._fetch_batch
    return None


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = default_generator) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``train, val = random_split(ds, [0.8, 0.2], generator=cr.Generator().manual_seed(0))``;
    fractions summing to 1 are turned into lengths as PyTorch does (remainders go round-robin).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) \
            and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(l) != l or l < 0 for l in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1 (got {lengths})")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of lengths {sum(lengths)} does not equal the "
                         f"dataset's length {n}")
    perm = _rng_kernels.randperm(generator_or_default(generator), n)  # PyTorch's order
    splits, start = [], 0
    for length in lengths:
        splits.append(Subset(dataset, perm[start:start + int(length)].tolist()))
        start += int(length)
    return splits
