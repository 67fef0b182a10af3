"""Random fills and draws on tensors, PyTorch's CPU streams: ``x.uniform_(-1, 1)``,
``x.normal_()``, ``x.random_(10)``, ``x.exponential_()``, ``x.bernoulli_(0.3)``,
``cr.normal(mean, std)``, ``cr.bernoulli(p)``, ``cr.multinomial(p, 1)``.

Values are drawn in the tensor's memory order, as PyTorch's kernels walk it; the fill itself is
an in-place write (under grad mode a leaf that requires grad refuses it, as PyTorch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import _rng_kernels as K
from ..out import write_out
from ..random import Generator, generator_or_default
from ..tensor import Tensor
from . import elementwise as ew

_INT64_MIN = -(1 << 63)


def _memory_order(arr: np.ndarray) -> tuple[int, ...]:
    """Axes from outermost to innermost in memory (C order for a contiguous array)."""
    if arr.flags.c_contiguous:
        return tuple(range(arr.ndim))
    return tuple(sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d])))


def _fill(x: Tensor, name: str, draw: Callable[[int], np.ndarray]) -> Tensor:
    """Write ``draw(numel)`` into ``x`` in memory order, in place."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    order = _memory_order(x._data)
    moved = tuple(x.shape[d] for d in order)
    values = draw(x._data.size).reshape(moved).transpose(np.argsort(order))
    return ew.inplace(x, name, lambda t: ew.fill(t, Tensor._make(
        np.array(values, dtype=x._data.dtype, order="C"))))


def _float_dtype(x: Tensor, name: str) -> np.dtype:
    dtype = x._data.dtype
    if dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating-point tensor, got {dtype}")
    return dtype


def uniform_(x: Tensor, from_: float = 0.0, to: float = 1.0, *,
             generator: Generator | None = None) -> Tensor:
    """Fill with U(from, to): ``cr.empty(3).uniform_(-1, 1)``."""
    dtype = _float_dtype(x, "uniform_")
    if not from_ <= to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_}"
                           f" > to={to}")
    gen = generator_or_default(generator)
    return _fill(x, "uniform_", lambda n: K.uniform(gen, n, dtype, from_, to))


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Generator | None = None) -> Tensor:
    """Fill with N(mean, std**2): ``cr.empty(3).normal_(0, 0.02)``."""
    dtype = _float_dtype(x, "normal_")
    gen = generator_or_default(generator)
    contiguous = x._data.flags.c_contiguous
    return _fill(x, "normal_", lambda n: K.normal(gen, n, dtype, mean, std, contiguous))


def _dtype_top(dtype: np.dtype) -> int:
    """One past the largest value ``random_(from)`` may produce for ``dtype``."""
    if dtype == np.bool_:
        return 2
    if dtype.kind == "f":
        return min((1 << K._digits(dtype, "random_")) + 1, (1 << 63) - 1)
    return int(np.iinfo(dtype).max) + 1


def random_(x: Tensor, *args: int | None, generator: Generator | None = None) -> Tensor:
    """Fill with integers: ``random_()`` over [0, 2**mantissa] (floats) or [0, max],
    ``random_(to)`` over [0, to), ``random_(from, to)`` over [from, to), ``random_(from, None)``
    up to the dtype's maximum: ``cr.empty(5, dtype=cr.int64).random_(0, 10)``."""
    if len(args) > 2:
        raise TypeError(f"random_() takes at most 2 positional arguments ({len(args)} given)")
    dtype = x._data.dtype
    gen = generator_or_default(generator)
    if not args:
        return _fill(x, "random_", lambda n: K.default_random(gen, n, dtype))
    low, high = (0, args[0]) if len(args) == 1 else args
    if low is None:
        raise TypeError("random_(): 'from' must be an int, got None")
    if high is None:
        if low == _INT64_MIN:
            return _fill(x, "random_", lambda n: K.full_range_int64(gen, n))
        high = _dtype_top(dtype)
    return _fill(x, "random_", lambda n: K.integers(gen, n, int(low), int(high)))


def exponential_(x: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill with Exp(lambd) draws: ``cr.empty(3).exponential_()``."""
    _float_dtype(x, "exponential_")
    gen = generator_or_default(generator)
    return _fill(x, "exponential_", lambda n: K.exponential(gen, n, lambd))


def bernoulli_(x: Tensor, p: float | Tensor = 0.5, *,
               generator: Generator | None = None) -> Tensor:
    """Fill with 0/1 draws that are 1 with probability ``p`` (a number or a tensor
    broadcastable to ``x``): ``cr.empty(4).bernoulli_(0.3)``."""
    gen = generator_or_default(generator)
    if isinstance(p, Tensor):
        probs = np.broadcast_to(p._data, x.shape)
        order = _memory_order(x._data)
        flat = np.ascontiguousarray(probs.transpose(order)).ravel()
        return _fill(x, "bernoulli_", lambda n: K.bernoulli_tensor(gen, flat))
    return _fill(x, "bernoulli_", lambda n: K.bernoulli_scalar(gen, n, float(p)))


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None,
              out: Tensor | None = None) -> Tensor:
    """0/1 draws, 1 with probability ``input`` (elementwise), or with ``p`` when given:
    ``cr.bernoulli(cr.full((3,), 0.5))``."""
    draws = Tensor._make(np.empty(input.shape, input.dtype))
    return write_out(bernoulli_(draws, input if p is None else p, generator=generator), out,
                     "bernoulli")


def _tensor_or_scalar(value) -> np.ndarray | None:
    return value._data if isinstance(value, Tensor) else None


def normal(mean=0.0, std=1.0, size=None, *, generator: Generator | None = None,
           dtype=None, out: Tensor | None = None) -> Tensor:
    """Normal draws: ``cr.normal(0.0, 1.0, size=(3,))`` or with tensors of means and/or
    standard deviations (broadcast): ``cr.normal(cr.zeros(3), cr.ones(3))``.

    As PyTorch: with a tensor ``std`` the standard draws are scaled by ``std`` then shifted by
    ``mean``; with a number ``std`` they are drawn as N(0, std) then shifted.
    """
    mean_arr, std_arr = _tensor_or_scalar(mean), _tensor_or_scalar(std)
    if mean_arr is None and std_arr is None:
        if size is None:
            raise TypeError("normal: with a number mean and std, give size=")
        from ..creation import _float_dtype as default_float
        from ..creation import _size

        draws = Tensor._make(np.empty(_size((size,)), default_float(dtype)))
        return write_out(normal_(draws, float(mean), float(std), generator=generator),
                         out, "normal")
    if std_arr is not None and std_arr.size and (std_arr < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    arrays = [a for a in (mean_arr, std_arr) if a is not None]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    out_dtype = arrays[0].dtype if arrays[0].dtype.kind == "f" else np.dtype(np.float32)
    draws = Tensor._make(np.empty(shape, out_dtype))
    if std_arr is None:
        normal_(draws, 0.0, float(std), generator=generator)
    else:
        normal_(draws, 0.0, 1.0, generator=generator)
        draws._data *= std_arr.astype(out_dtype, copy=False)
    draws._data += mean_arr.astype(out_dtype, copy=False) if mean_arr is not None \
        else out_dtype.type(mean)
    return write_out(draws, out, "normal")


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None, out: Tensor | None = None) -> Tensor:
    """Indices drawn from the rows of non-negative weights ``input`` (1-D or 2-D):
    ``cr.multinomial(p, num_samples=1, replacement=True, generator=g)``."""
    probs = input._data
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {probs.ndim}")
    if probs.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{probs.dtype}")
    if num_samples <= 0:
        raise RuntimeError("multinomial: cannot sample n_sample <= 0 samples")
    categories = probs.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           "without replacement")
    rows = probs.reshape(-1, categories)
    if not (np.isfinite(rows).all() and (rows >= 0).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) == 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    drawn = K.multinomial(generator_or_default(generator), np.ascontiguousarray(rows),
                        int(num_samples), bool(replacement))
    return write_out(Tensor._make(drawn.reshape(probs.shape[:-1] + (num_samples,))), out,
                     "multinomial")
