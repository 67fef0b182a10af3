"""Neural-network primitives: softmax and log_softmax over a dimension."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Primitive
from ..tensor import Tensor, _wrap_dim
from . import elementwise as ew
from . import vocab as V


class Softmax(Primitive):
    """exp(x - max) / sum: a primitive for speed and for no overflow at large logits."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        e = np.exp(x - x.max(axis=axis, keepdims=True))  # ndarray methods: less overhead
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        # J^T g = out * (g - sum(g * out))
        return out * (g - V.sum(g * out, (ctx.axis,), keepdim=True))


class LogSoftmax(Primitive):
    """x - logsumexp(x): a primitive so that log-probabilities of +-1e4 logits stay exact."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g - V.exp(out) * V.sum(g, (ctx.axis,), keepdim=True)


def _axis(x: Tensor, dim, op: str) -> int:
    if dim is None:
        raise TypeError(f"{op}: pass dim explicitly (implicit dim choice is deprecated in "
                        "PyTorch)")
    return _wrap_dim(dim, x._data.ndim, op)


def softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    x = ew.floating(x) if dtype is None else ew.cast(x, np.dtype(dtype))
    if x._data.ndim == 0:
        return Tensor._make(np.ones((), x._data.dtype)) + x * 0
    return Softmax.apply(x, axis=_axis(x, dim, "softmax"))


def log_softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    x = ew.floating(x) if dtype is None else ew.cast(x, np.dtype(dtype))
    if x._data.ndim == 0:
        return x * 0
    return LogSoftmax.apply(x, axis=_axis(x, dim, "log_softmax"))
