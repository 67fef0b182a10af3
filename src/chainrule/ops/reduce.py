"""Reductions over ``dim`` (an int, a tuple, or None for all) with ``keepdim``."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _dtypes
from ..autograd.function import Primitive
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor, _wrap_dim
from . import elementwise as ew
from . import movement as mv
from . import vocab as V


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return: ``values, indices = x.max(dim=1)``."""

    values: Tensor
    indices: Tensor


def reduced_axes(dim, ndim: int, op: str) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes; None or () means every axis."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = tuple(sorted(_wrap_dim(int(d), ndim, op) for d in dims))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {dims} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return axes


def keepdim_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Primitive):
    elementwise = False
    derivatives = ("g copied to every summed element",)
    axes: tuple[int, ...] | None  # set by forward, as is keepdim
    keepdim: bool

    @property
    def torch_name(self) -> str:
        return "SumBackward0" if self._sums_all() else "SumBackward1"  # x.sum(), x.sum(dim)

    @property
    def formula(self) -> str:  # type: ignore[override]  # varies per call
        if self.axes is None or self._sums_all():
            return "sum({0})"
        dims = self.axes[0] if len(self.axes) == 1 else tuple(self.axes)
        return f"sum({{0}}, dim={dims}{', keepdim=True' if self.keepdim else ''})"

    def _sums_all(self) -> bool:
        return self.axes is None or tuple(self.axes) == tuple(range(len(self.input_shape(0))))

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim = axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)  # the method: half np.sum's overhead

    @staticmethod
    def backward(ctx, g):
        return V.expand_reduced(g, ctx.input_shape(0), ctx.axes, ctx.keepdim)


def sum(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    if dtype is not None:
        x = ew.cast(x, np.dtype(dtype))
    elif x._data.dtype.kind in "bi" and x._data.dtype != _dtypes.int64:
        x = ew.cast(x, _dtypes.int64)
    return Sum.apply(x, axes=reduced_axes(dim, x._data.ndim, "sum"), keepdim=keepdim)


class Mean(Sum):
    """The sum divided by the count (the numbers of ``x.sum(dim) / n``), as one node, as
    PyTorch records it: a loss's ``.mean()`` costs one op, not two."""

    derivatives = ("g / {count} copied to every averaged element",)
    count: int  # set by forward

    @property
    def torch_name(self) -> str:
        return "MeanBackward0" if self._sums_all() else "MeanBackward1"

    @property
    def formula(self) -> str:  # type: ignore[override]  # varies per call
        return "mean" + super().formula[3:]

    @staticmethod
    def forward(ctx, x, axes, keepdim, count):
        ctx.axes, ctx.keepdim, ctx.count = axes, keepdim, count
        return x.sum(axis=axes, keepdims=keepdim) / count

    @staticmethod
    def backward(ctx, g):
        return V.expand_reduced(g / ctx.count, ctx.input_shape(0), ctx.axes, ctx.keepdim)


def mean(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    if dtype is not None:
        x = ew.cast(x, np.dtype(dtype))
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"mean: could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {x._data.dtype}")
    axes = reduced_axes(dim, x._data.ndim, "mean")
    count = math.prod(x._data.shape[a] for a in axes)
    if count == 0:  # NaN, as PyTorch's mean of nothing (the sum's gradient, times NaN)
        return Sum.apply(x, axes=axes, keepdim=keepdim) * np.nan
    return Mean.apply(x, axes=axes, keepdim=keepdim, count=count)


class Prod(Primitive):
    torch_name = "ProdBackward0"
    elementwise = False
    formula = "prod({0})"
    derivatives = ("g·{out}/{0}",)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim = axes, keepdim
        out = np.prod(x, axis=axes, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g, x, out):
        shape, axes = x.shape, ctx.axes
        g = V.expand_reduced(g, shape, axes, ctx.keepdim)
        if (V.data(x) != 0).all():
            return g * V.expand_reduced(out, shape, axes, ctx.keepdim) / x
        if V.is_tensor(g) and _grad_state.enabled:
            raise NotImplementedError("ProdBackward: the second derivative of prod over a tensor "
                                      "containing zeros is not supported")
        return g * V.const(_product_of_others(V.data(x), axes), g)


def _product_of_others(x: np.ndarray, axes: tuple) -> np.ndarray:
    """For each element, the product of the other elements of its reduced slice (zero-safe)."""
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.moveaxis(x, kept + list(axes), list(range(x.ndim)))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.flip(np.concatenate([flat[..., 1:], ones], axis=-1), -1),
                               axis=-1), -1)
    others = (before * after).reshape(moved.shape)
    return np.moveaxis(others, list(range(x.ndim)), kept + list(axes))


def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError("prod: dim must be an int or None")
    if x._data.dtype.kind in "bi" and x._data.dtype != _dtypes.int64:
        x = ew.cast(x, _dtypes.int64)
    return Prod.apply(x, axes=reduced_axes(dim, x._data.ndim, "prod"), keepdim=keepdim)


class Extremum(Primitive):
    """amax / amin: the gradient is shared equally among tied extreme elements (as PyTorch)."""

    torch_name = "AmaxBackward0"
    elementwise = False
    formula = "max/min({0})"
    derivatives = ("g to the extreme element(s)",)

    @staticmethod
    def forward(ctx, x, axes, keepdim, reducer):
        if x.size == 0 and axes:
            raise IndexError(f"{reducer.__name__}: expected a non-empty tensor, got shape "
                             f"{x.shape}")
        ctx.axes, ctx.keepdim = axes, keepdim
        out = reducer(x, axis=axes, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g, x, out):
        shape, axes = x.shape, ctx.axes
        if not ctx.keepdim:
            out = V.reshape(out, keepdim_shape(shape, axes))
        winners = V.cast(x == out, x.dtype)  # in x's precision: a 3-way tie shares exact 1/3s
        share = winners / V.sum(winners, axes, keepdim=True)
        return V.expand_reduced(g, shape, axes, ctx.keepdim) * share


def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return Extremum.apply(x, axes=reduced_axes(dim, x._data.ndim, "amax"), keepdim=keepdim,
                          reducer=np.amax)


def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return Extremum.apply(x, axes=reduced_axes(dim, x._data.ndim, "amin"), keepdim=keepdim,
                          reducer=np.amin)


class SelectAlong(Primitive):
    """The elements at ``index`` along one axis (max/min with dim): the gradient goes there."""

    torch_name = "MaxBackward0"
    elementwise = False
    formula = "take_along_dim({0}, dim={axis})"
    derivatives = ("g put back at the selected elements (zeros elsewhere)",)

    @staticmethod
    def forward(ctx, x, index, axis, keepdim):
        ctx.index, ctx.axis, ctx.keepdim = index, axis, keepdim
        out = np.take_along_axis(x, index, axis=axis)
        return out if keepdim else np.squeeze(out, axis)

    @staticmethod
    def backward(ctx, g):
        shape, axis = ctx.input_shape(0), ctx.axis
        if not ctx.keepdim:
            g = V.reshape(g, g.shape[:axis] + (1,) + g.shape[axis:])
        positions = np.arange(shape[axis]).reshape([-1 if a == axis else 1
                                                    for a in range(len(shape))])
        return V.expand(g, shape) * V.const(positions == ctx.index, g)


def _extremum_along(x: Tensor, dim, keepdim: bool, arg, reducer):
    if dim is None:
        return reducer(x)
    axis = _wrap_dim(dim, x._data.ndim, arg.__name__)
    if x._data.ndim == 0:
        return ValuesIndices(x, Tensor._make(np.zeros((), np.int64)))
    if x._data.shape[axis] == 0:
        raise IndexError(f"{arg.__name__[3:]}: expected a non-empty dimension {dim}, got "
                         f"shape {tuple(x.shape)}")
    index = np.expand_dims(arg(x._data, axis=axis), axis)
    values = SelectAlong.apply(x, index=index, axis=axis, keepdim=keepdim)
    indices = index if keepdim else np.squeeze(index, axis)
    return ValuesIndices(values, Tensor._make(indices.astype(np.int64)))


def max(x: Tensor, dim=None, keepdim: bool = False):
    """``x.max()`` is the largest element; ``x.max(dim)`` returns ``(values, indices)``."""
    if isinstance(dim, Tensor):
        return ew.maximum(x, dim)
    return _extremum_along(x, dim, keepdim, np.argmax, amax)


def min(x: Tensor, dim=None, keepdim: bool = False):
    if isinstance(dim, Tensor):
        return ew.minimum(x, dim)
    return _extremum_along(x, dim, keepdim, np.argmin, amin)


def _arg(x: Tensor, dim, keepdim: bool, fn) -> Tensor:
    if dim is None:
        out = np.asarray(fn(x._data))
        return Tensor._make((out.reshape((1,) * x._data.ndim) if keepdim else out).astype(
            np.int64))
    axis = _wrap_dim(dim, x._data.ndim, fn.__name__)
    return Tensor._make(np.asarray(fn(x._data, axis=axis, keepdims=keepdim)).astype(np.int64))


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg(x, dim, keepdim, np.argmax)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg(x, dim, keepdim, np.argmin)


def var(x: Tensor, dim=None, *, correction=1, keepdim: bool = False, unbiased=None) -> Tensor:
    """Variance with Bessel's ``correction`` (PyTorch's default 1): sum((x - mean)^2) / (N - c)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = reduced_axes(dim, x._data.ndim, "var")
    count = math.prod(x._data.shape[a] for a in axes)
    centered = x - mean(x, axes, keepdim=True)
    total = sum(centered * centered, axes, keepdim=keepdim)
    denominator = count - correction
    return total / denominator if denominator > 0 else total * np.inf


def std(x: Tensor, dim=None, *, correction=1, keepdim: bool = False, unbiased=None) -> Tensor:
    return ew.sqrt(var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased))


class EuclideanNorm(Primitive):
    """A primitive so that the gradient at x = 0 is 0 (as PyTorch), not 0/0."""

    torch_name = "LinalgVectorNormBackward0"
    elementwise = False
    formula = "norm({0})"
    derivatives = ("g·{0}/{out}",)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim = axes, keepdim
        out = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g, x, out):
        shape, axes = x.shape, ctx.axes
        g = V.expand_reduced(g, shape, axes, ctx.keepdim)
        out = V.expand_reduced(out, shape, axes, ctx.keepdim)
        return g * x / V.where(out == 0, np.inf, out)


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False) -> Tensor:
    """The vector p-norm over ``dim`` (all elements by default): ``x.norm()``, ``x.norm(1, 0)``."""
    x = ew.floating(x)
    if p == "nuc":
        raise NotImplementedError("norm: p='nuc' (the nuclear norm, a sum of singular values) "
                                  "is not implemented; chainrule has no SVD")
    if isinstance(p, str) and p != "fro":
        raise RuntimeError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    if p in ("fro", 2, 2.0):
        return EuclideanNorm.apply(x, axes=reduced_axes(dim, x._data.ndim, "norm"),
                                   keepdim=keepdim)
    if p in (1, 1.0):
        return sum(ew.abs(x), dim, keepdim)
    if p == np.inf:
        return amax(ew.abs(x), () if dim is None else dim, keepdim)
    if p == -np.inf:
        return amin(ew.abs(x), () if dim is None else dim, keepdim)
    if p == 0:
        return sum(x != 0, dim, keepdim).to(x.dtype)
    return sum(ew.abs(x) ** p, dim, keepdim) ** (1.0 / p)


class LogSumExp(Primitive):
    """A primitive for stability: log(sum(exp(x))) computed as m + log(sum(exp(x - m)))."""

    torch_name = "LogsumexpBackward0"
    elementwise = False
    formula = "logsumexp({0})"
    derivatives = ("g·softmax({0})",)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.axes, ctx.keepdim = axes, keepdim
        m = np.amax(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        out = out if keepdim else np.squeeze(out, axes)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g, x, out):
        shape, axes = x.shape, ctx.axes
        g = V.expand_reduced(g, shape, axes, ctx.keepdim)
        return g * V.exp(x - V.expand_reduced(out, shape, axes, ctx.keepdim))


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    x = ew.floating(x)
    return LogSumExp.apply(x, axes=reduced_axes(dim, x._data.ndim, "logsumexp"), keepdim=keepdim)


class Cumsum(Primitive):
    torch_name = "CumsumBackward0"
    elementwise = False
    formula = "cumsum({0}, dim={axis})"
    derivatives = ("reversed cumulative sum of g",)

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        # each input element feeds every later output: a cumsum from the end
        axes = (ctx.axis,)
        reversed_sum = V.apply(Cumsum, V.apply(mv.Flip, g, axes=axes), axis=ctx.axis)
        return V.apply(mv.Flip, reversed_sum, axes=axes)


def cumsum(x: Tensor, dim: int) -> Tensor:
    if x._data.ndim == 0:
        return ew.clone(x)
    if x._data.dtype.kind in "bi" and x._data.dtype != _dtypes.int64:
        x = ew.cast(x, _dtypes.int64)
    return Cumsum.apply(x, axis=_wrap_dim(dim, x._data.ndim, "cumsum"))


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = reduced_axes(dim, x._data.ndim, "all")
    return Tensor._make(np.asarray(np.all(x._data, axis=axes, keepdims=keepdim)))


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = reduced_axes(dim, x._data.ndim, "any")
    return Tensor._make(np.asarray(np.any(x._data, axis=axes, keepdims=keepdim)))
