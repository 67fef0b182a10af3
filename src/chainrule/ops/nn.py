"""Neural-network primitives: softmax and log_softmax over a dimension."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Primitive
from ..tensor import Tensor, _wrap_dim
from . import elementwise as ew
from . import vocab as V


def shifted_exp(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of softmax and log_softmax along ``axis``, shifted by the max so that no exp
    overflows: ``(x - max, e, total)`` with ``e = exp(x - max)``, ``total = e.sum(axis)``.

    ``shifted, e, total = shifted_exp(x, 1); log_softmax = shifted - np.log(total)``
    """
    with np.errstate(invalid="ignore"):  # a row of -inf gives NaN silently, as in PyTorch
        shifted = x - x.max(axis=axis, keepdims=True)  # ndarray methods: less call overhead
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


class Softmax(Primitive):
    """exp(x - max) / sum: a primitive for speed and for no overflow at large logits."""

    torch_name = "SoftmaxBackward0"
    elementwise = False
    formula = "softmax({0}, dim={axis})"
    derivatives = ("{out}·(g - Σ g·{out})",)

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        _, e, total = shifted_exp(x, axis)
        out = e / total
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        # J^T g = out * (g - sum(g * out))
        return out * (g - V.sum(g * out, (ctx.axis,), keepdim=True))


class LogSoftmax(Primitive):
    """x - logsumexp(x): a primitive so that log-probabilities of +-1e4 logits stay exact."""

    torch_name = "LogSoftmaxBackward0"
    elementwise = False
    formula = "log_softmax({0}, dim={axis})"
    derivatives = ("g - softmax({0})·Σ g",)

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        shifted, _, total = shifted_exp(x, axis)
        out = shifted - np.log(total)
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
