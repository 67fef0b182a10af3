"""Ways to make a tensor: from data, filled, ranges, random draws, and ``*_like``."""

from __future__ import annotations

import numpy as np

from . import _dtypes
from . import _rng_kernels as K
from .random import Generator, generator_or_default
from .tensor import Tensor, _as_array


def _size(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _made(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(data)
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(dtype) -> np.dtype:
    return _dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``: ``cr.tensor([[1., 2.]], requires_grad=True)``.

    Python floats become ``cr.get_default_dtype()`` (float32), ints int64; arrays keep theirs.
    """
    arr = _as_array(data, None if dtype is None else np.dtype(dtype))
    return _made(np.array(arr, copy=True), requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor._make(_as_array(data, None if dtype is None else np.dtype(dtype)))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array: ``cr.from_numpy(np.arange(3.0))``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.zeros(_size(size), _float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.ones(_size(size), _float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.empty(_size(size), _float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _as_array(fill_value).dtype
    return _made(np.full(_size((size,)), fill_value, dtype=np.dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """``cr.arange(5)`` is int64; any float argument makes the default float dtype."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtypes.int64 if ints else _dtypes.get_default_dtype()
    count = max(int(np.ceil((end - start) / step)), 0)
    values = start + step * np.arange(count, dtype=np.float64 if np.dtype(dtype).kind == "f"
                                      else np.int64)
    return _made(values.astype(dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def rand(*size, generator: Generator | None = None, dtype=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1): ``cr.rand(2, 3)``; PyTorch's values for the same seed."""
    values = K.uniform(generator_or_default(generator), _numel(size := _size(size)),
                       _float_dtype(dtype))
    return _made(values.reshape(size), requires_grad)


def randn(*size, generator: Generator | None = None, dtype=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal draws: ``cr.randn(3, 4)``; PyTorch's values for the same seed."""
    values = K.normal(generator_or_default(generator), _numel(size := _size(size)),
                      _float_dtype(dtype))
    return _made(values.reshape(size), requires_grad)


def randint(low, high=None, size=(), generator: Generator | None = None, dtype=None,
            requires_grad: bool = False) -> Tensor:
    """Integers in [low, high): ``cr.randint(0, 10, (3,))``; ``cr.randint(10, (3,))``."""
    if high is None or isinstance(high, (tuple, list)):
        if isinstance(high, (tuple, list)):
            size = high
        low, high = 0, low
    dtype = _dtypes.int64 if dtype is None else np.dtype(dtype)
    shape = _size((size,))
    values = K.integers(generator_or_default(generator), _numel(shape), int(low), int(high))
    return _made(values.astype(dtype).reshape(shape), requires_grad)


def randperm(n: int, generator: Generator | None = None, dtype=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``range(n)`` (int64): ``cr.randperm(5)``."""
    values = K.randperm(generator_or_default(generator), int(n))
    return _made(values.astype(_dtypes.int64 if dtype is None else np.dtype(dtype)),
                 requires_grad)


def _numel(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def zeros_like(x: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.zeros(x.shape, dtype or x.dtype), requires_grad)


def ones_like(x: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.ones(x.shape, dtype or x.dtype), requires_grad)


def full_like(x: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.full(x.shape, fill_value, dtype or x.dtype), requires_grad)


def empty_like(x: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.empty(x.shape, dtype or x.dtype), requires_grad)


def rand_like(x: Tensor, dtype=None, requires_grad: bool = False, *,
              generator: Generator | None = None) -> Tensor:
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad,
                generator=generator)


def randn_like(x: Tensor, dtype=None, requires_grad: bool = False, *,
               generator: Generator | None = None) -> Tensor:
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad,
                 generator=generator)


def randint_like(x: Tensor, low: int = 0, high: int | None = None, *, dtype=None,
                 requires_grad: bool = False, generator: Generator | None = None) -> Tensor:
    """Integers in [low, high) shaped like ``x`` (its dtype): ``cr.randint_like(x, 10)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, x.shape, generator=generator, dtype=dtype or x.dtype,
                   requires_grad=requires_grad)
