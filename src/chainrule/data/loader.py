"""``DataLoader`` with PyTorch's signature and semantics; ``default_collate`` with its rules.

``for x, y in DataLoader(ds, batch_size=32, shuffle=True): ...``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from typing import Any, cast

import numpy as np

from .. import _dtypes
from ..random import Generator
from ..tensor import Tensor
from .dataset import Dataset, IterableDataset, _batch_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_COLLATE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                  "lists; found {}")
_STRING_ARRAY = re.compile(r"[SaUO]")


def default_collate(batch: Sequence[Any]) -> Any:
    """Batch a list of samples, keeping their structure, by PyTorch's rules.

    The first sample's type picks the rule: Tensors and NumPy arrays are stacked, NumPy scalars
    keep their dtype, a float first makes float64, an int or bool first makes what
    ``cr.tensor(batch)`` makes (``[1, 2.5]`` -> float32 ``[1.0, 2.5]``, ``[True, 2]`` -> int64,
    all bools -> bool); strings stay a list; dicts, namedtuples, tuples and lists are collated
    field by field (a tuple sample gives a list). ``default_collate([(x0, 0), (x1, 1)])`` ->
    ``[stack([x0, x1]), tensor([0, 1])]``
    """
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        from ..ops.movement import stack

        return stack(list(batch))
    if type(elem).__module__ == "numpy" and not isinstance(elem, (np.str_, np.bytes_)):
        if isinstance(elem, np.ndarray):
            if _STRING_ARRAY.search(elem.dtype.str):
                raise TypeError(_COLLATE_ERROR.format(elem.dtype))
            return default_collate([Tensor(np.asarray(b)) for b in batch])
        if np.shape(elem) == ():
            return Tensor(np.asarray(batch))
    if isinstance(elem, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):  # bools too, as PyTorch: cr.tensor's inference decides
        from ..creation import tensor

        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return cast(Any, type(elem))(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size (got "
                               f"lengths {[len(b) for b in batch]})")
        transposed = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed
        try:
            return cast(Any, type(elem))(transposed)
        except TypeError:
            return transposed
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Samples without batching (``batch_size=None``): NumPy arrays become Tensors, containers
    are converted element by element, everything else is left as it is."""
    if isinstance(data, np.ndarray) and not _STRING_ARRAY.search(data.dtype.str):
        return Tensor(data)
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data


class DataLoader:
    """Iterate over ``dataset`` in batches: ``for x, y in DataLoader(ds, 32, shuffle=True): ...``

    PyTorch's arguments and rules: ``shuffle`` makes a ``RandomSampler`` (drawing from
    ``generator``, else from the global generator, exactly as PyTorch does, so a seeded run
    visits PyTorch's order); ``sampler`` and ``batch_sampler`` replace the order; their
    combinations that PyTorch rejects raise its errors. Loading runs in-process:
    ``num_workers``, ``pin_memory`` and the worker options are accepted and change nothing.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a chainrule.Generator (got "
                            f"{type(generator).__name__})")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if not iterable:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self._auto_collation = batch_sampler is not None or (iterable and batch_size is not None)
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._default_collate = collate_fn is None
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order

    @property
    def shuffle(self) -> bool:
        return isinstance(self.sampler, RandomSampler)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(cast(Sized, self.batch_sampler if self._auto_collation else self.sampler))

    def __iter__(self) -> Iterator[Any]:
        # PyTorch draws its workers' base seed here, from this loader's generator or the
        # global one; drawing it too keeps every later draw (the shuffle's) in step with it.
        from ..creation import empty

        empty((), dtype=_dtypes.int64).random_(generator=self.generator)
        if isinstance(self.dataset, IterableDataset):
            return self._iterable_batches()
        if not self._auto_collation:
            return (self.collate_fn(self.dataset[i]) for i in cast(Iterable, self.sampler))
        return self._batches()

    def _batches(self) -> Iterator[Any]:
        fetch = _batch_fetcher(self.dataset) if self._default_collate else None
        for indices in cast(Iterable, self.batch_sampler):
            if fetch is not None:
                yield fetch(np.asarray(indices, dtype=np.int64))
            else:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def _iterable_batches(self) -> Iterator[Any]:
        dataset = cast(IterableDataset, self.dataset)
        if self.batch_size is None:
            yield from (self.collate_fn(sample) for sample in dataset)
            return
        batch = []
        for sample in dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __repr__(self) -> str:
        return (f"DataLoader(len(dataset)={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
