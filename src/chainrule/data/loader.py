"""``DataLoader``: batches from a dataset in a seeded, reproducible order; ``default_collate``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..random import Generator, rng
from ..tensor import Tensor
from .dataset import Dataset, _batch_fetcher


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into batched Tensors, keeping the samples' structure.

    Tensors are stacked, ndarrays and NumPy scalars become Tensors of their dtype, Python floats
    float64, ints int64 and bools bool (as PyTorch); strings are left as they come; tuples, lists
    and dicts are collated field by field (a tuple sample gives a list, as PyTorch).
    ``default_collate([(x0, 0), (x1, 1)])`` -> ``[stack([x0, x1]), tensor([0, 1])]``
    """
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        from ..ops.movement import stack

        _check_shapes([b.shape for b in batch], "Tensors")
        return stack(list(batch))
    if isinstance(elem, (np.ndarray, np.generic)):
        if isinstance(elem, np.ndarray) and elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        _check_shapes([np.shape(b) for b in batch], "arrays")
        return Tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise ValueError("default_collate: every sample in a batch must have the same "
                             f"number of fields (got {sorted({len(b) for b in batch})})")
        return [default_collate(samples) for samples in zip(*batch, strict=True)]
    raise TypeError(f"default_collate: samples must be Tensors, arrays, numbers, strings, or "
                    f"tuples/lists/dicts of them (got {type(elem).__name__})")


def _check_shapes(shapes: list, what: str) -> None:
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"default_collate: cannot stack {what} of different shapes "
                         f"{sorted({tuple(s) for s in shapes})}")


class DataLoader:
    """Iterate over ``dataset`` in batches: ``for x, y in DataLoader(ds, 32, shuffle=True): ...``

    With ``shuffle=True`` each epoch (each ``iter(loader)``) draws a fresh permutation from
    ``generator`` (a ``chainrule.Generator``) or else from the global generator, at the moment
    the iterator is created; so ``generator.get_state()`` between epochs captures everything a
    resumed run needs to see the same order. Loading runs in-process: ``num_workers`` and
    ``pin_memory`` are accepted for PyTorch compatibility and change nothing. ``sampler``
    (e.g. a ``DistributedSampler``) gives the indices instead, in its order.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, *,
                 drop_last: bool = False, generator: Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None, num_workers: int = 0,
                 pin_memory: bool = False, sampler: Iterable[int] | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer (got "
                             f"{batch_size!r})")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a chainrule.Generator (got "
                            f"{type(generator).__name__})")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0 (got {num_workers})")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            return np.array(list(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        return rng(self.generator).permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn now, not on the first next(), so the RNG state right after
        # iter(loader) already accounts for this epoch.
        return self._batches(self._order())

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        fetch = _batch_fetcher(self.dataset) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fetch is not None:
                yield fetch(indices)
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (f"DataLoader(len(dataset)={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
