"""Ops PyTorch programs use that the core op modules lack: log2/log10, tril/triu, histc,
histogram, isclose/allclose/equal. Written as the other op modules (a Primitive per
differentiable rule); the non-differentiable ones return plain tensors.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..autograd.function import Primitive
from ..tensor import Tensor
from . import vocab as V
from .elementwise import floating, operands

_LN2, _LN10 = math.log(2.0), math.log(10.0)


class LogBase(Primitive):
    """log(x) / log(base) for base 2 or 10 (NumPy's log2/log10, exact at powers of the base)."""

    elementwise = True
    formula = "log{base}({0})"
    derivatives = ("1/({0} ln {base})",)
    base: int  # 2 or 10, set by forward

    @property
    def torch_name(self) -> str:
        return f"Log{self.base}Backward0"

    @staticmethod
    def forward(ctx, x, base):
        ctx.base = base
        ctx.save_for_backward(x)
        return np.log2(x) if base == 2 else np.log10(x)

    @staticmethod
    def backward(ctx, g, x):
        return g / (x * (_LN2 if ctx.base == 2 else _LN10))


def log2(input: Tensor) -> Tensor:
    return LogBase.apply(floating(input), base=2)


def log10(input: Tensor) -> Tensor:
    return LogBase.apply(floating(input), base=10)


class Triangle(Primitive):
    """The lower (tril) or upper (triu) triangle of the last two dims; its gradient is the
    same triangle of the incoming gradient."""

    elementwise = False
    derivatives = ("{side}(g, {diagonal})",)
    lower: bool  # set by forward, as is diagonal
    diagonal: int

    @property
    def side(self) -> str:
        return "tril" if self.lower else "triu"

    @property
    def torch_name(self) -> str:
        return "TrilBackward0" if self.lower else "TriuBackward0"

    @property
    def formula(self) -> str:  # type: ignore[override]  # varies per call
        return "{side}({0}, {diagonal})"

    @staticmethod
    def forward(ctx, x, lower, diagonal):
        ctx.lower, ctx.diagonal = lower, diagonal
        return np.tril(x, diagonal) if lower else np.triu(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return V.apply(Triangle, g, lower=ctx.lower, diagonal=ctx.diagonal)


def _triangle(input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if input.ndim < 2:
        op = "tril" if lower else "triu"
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions (got shape "
                           f"{tuple(input.shape)})")
    return Triangle.apply(input, lower=lower, diagonal=int(diagonal))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Zero every element above the ``diagonal``-th diagonal: ``cr.tril(cr.ones(3, 3))``."""
    return _triangle(input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Zero every element below the ``diagonal``-th diagonal: ``cr.triu(cr.ones(3, 3), 1)``."""
    return _triangle(input, diagonal, False)


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (PyTorch's rule)."""
    x, y = operands(input, other)
    return Tensor._make(np.isclose(x._data, y._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every element is close: ``cr.allclose(a, b)`` -> True."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Same shape and same values: ``cr.equal(a, b)`` -> True."""
    return input.shape == other.shape and bool((input._data == other._data).all())


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts in ``bins`` equal bins over [min, max] (the data's range when both are 0);
    values outside are ignored. ``cr.histc(x, bins=4, min=0, max=3)``"""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"histc: input must be a floating tensor (got {input.dtype})")
    data = input._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min (got min={min}, max={max})")
    counts, _ = np.histogram(data, bins=int(bins), range=(lo, hi))
    return Tensor._make(counts.astype(input._data.dtype))


class Histogram(NamedTuple):
    hist: Tensor
    bin_edges: Tensor


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,  # noqa: A002
              density: bool = False):
    """Counts and bin edges: ``hist, edges = cr.histogram(x, bins=5)`` (PyTorch's pair)."""
    edges_in = bins._data if isinstance(bins, Tensor) else int(bins)
    counts, edges = np.histogram(input._data.reshape(-1), bins=edges_in, range=range,
                                 weights=None if weight is None else weight._data.reshape(-1),
                                 density=density)
    dtype = input._data.dtype
    return Histogram(Tensor._make(counts.astype(dtype)), Tensor._make(edges.astype(dtype)))
