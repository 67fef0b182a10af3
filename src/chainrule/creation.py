"""Ways to make a tensor: from data, filled, ranges, random draws, and ``*_like``."""

from __future__ import annotations

import numpy as np

from . import _dtypes
from . import _rng_kernels as K
from .devices import as_device
from .out import write_out
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


def _factory(op: str, data: np.ndarray, requires_grad: bool, device, layout=None,
             out: Tensor | None = None) -> Tensor:
    """A new tensor from a factory taking PyTorch's keywords: only the CPU device and the
    strided layout exist here; ``out=`` receives the values."""
    as_device(device, op)
    if layout is not None and str(layout) not in ("strided", "torch.strided"):
        raise RuntimeError(f"{op}: layout={layout!r} is not supported: chainrule tensors are "
                           "dense (strided) NumPy arrays")
    if out is not None:
        result = write_out(Tensor._make(data), out, op)
        if requires_grad:
            result.requires_grad = True
        return result
    return _made(data, requires_grad)


def _float_dtype(dtype) -> np.dtype:
    return _dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``: ``cr.tensor([[1., 2.]], requires_grad=True)``.

    Python floats become ``cr.get_default_dtype()`` (float32), ints int64; arrays keep theirs.
    """
    arr = _as_array(data, None if dtype is None else np.dtype(dtype))
    return _factory("tensor", np.array(arr, copy=True), requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    as_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor._make(_as_array(data, None if dtype is None else np.dtype(dtype)))


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array: ``cr.from_numpy(np.arange(3.0))``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    return Tensor._make(ndarray)


def zeros(*size, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False) -> Tensor:
    return _factory("zeros", np.zeros(_size(size), _float_dtype(dtype)), requires_grad, device,
                    layout, out)


def ones(*size, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False) -> Tensor:
    return _factory("ones", np.ones(_size(size), _float_dtype(dtype)), requires_grad, device,
                    layout, out)


def empty(*size, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False,
          memory_format=None) -> Tensor:
    return _factory("empty", np.empty(_size(size), _float_dtype(dtype)), requires_grad, device,
                    layout, out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _as_array(fill_value).dtype
    return _factory("full", np.full(_size((size,)), fill_value, dtype=np.dtype(dtype)),
                    requires_grad, device, layout, out)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False) -> Tensor:
    return _factory("eye", np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device,
                    layout, out)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``cr.arange(5)`` is int64; any float argument makes the default float dtype."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dtypes.int64 if ints else _dtypes.get_default_dtype()
    count = max(int(np.ceil((end - start) / step)), 0)
    values = start + step * np.arange(count, dtype=np.float64 if np.dtype(dtype).kind == "f"
                                      else np.int64)
    return _factory("arange", values.astype(dtype), requires_grad, device, layout, out)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    return _factory("linspace", np.linspace(start, end, steps).astype(_float_dtype(dtype)),
                    requires_grad, device, layout, out)


def rand(*size, generator: Generator | None = None, dtype=None,
         requires_grad: bool = False, device=None) -> Tensor:
    """Uniform on [0, 1): ``cr.rand(2, 3)``; PyTorch's values for the same seed."""
    as_device(device, "rand")
    values = K.uniform(generator_or_default(generator), _numel(size := _size(size)),
                       _float_dtype(dtype))
    return _made(values.reshape(size), requires_grad)


def randn(*size, generator: Generator | None = None, dtype=None,
          requires_grad: bool = False, device=None) -> Tensor:
    """Standard normal draws: ``cr.randn(3, 4)``; PyTorch's values for the same seed."""
    as_device(device, "randn")
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


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    return _factory("zeros_like", np.zeros(input.shape, dtype or input.dtype), requires_grad,
                    device, layout)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    return _factory("ones_like", np.ones(input.shape, dtype or input.dtype), requires_grad,
                    device, layout)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    return _factory("full_like", np.full(input.shape, fill_value, dtype or input.dtype),
                    requires_grad, device, layout)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    return _factory("empty_like", np.empty(input.shape, dtype or input.dtype), requires_grad,
                    device, layout)


def rand_like(input: Tensor, *, generator: Generator | None = None, dtype=None, layout=None,
              device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype,
                requires_grad=requires_grad, device=device)


def randn_like(input: Tensor, *, generator: Generator | None = None, dtype=None, layout=None,
               device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype,
                 requires_grad=requires_grad, device=device)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype=None,
                 layout=None, device=None, requires_grad: bool = False,
                 memory_format=None, generator: Generator | None = None) -> Tensor:
    """Integers in [low, high) shaped like ``input`` (its dtype): ``cr.randint_like(x, 10)``."""
    as_device(device, "randint_like")
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   requires_grad=requires_grad)
