"""The vocabulary backward rules are written in: each function works on ndarrays (array mode,
no graph recorded) and on Tensors (Tensor mode, ``create_graph=True``), so one rule serves both.

Rules use Python's operators (``g * y``, ``-g``, ``x > 0``) and these functions for what
ndarrays and Tensors spell differently; the reason is in ``autograd/function.py``'s docstring.
``sum_to(g * y, shape)`` is the same code whether ``g`` and ``y`` are arrays or Tensors.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def is_tensor(a) -> bool:
    """Whether the rule runs in Tensor mode (its operands are Tensors)."""
    return isinstance(a, Tensor)


def data(a) -> np.ndarray:
    """The array of an operand of either mode (masks and indices are computed on arrays)."""
    return a._data if isinstance(a, Tensor) else a


def const(a: np.ndarray, like):
    """A constant array as an operand of ``like``'s mode."""
    return Tensor._make(a) if isinstance(like, Tensor) else a


def apply(op, *operands, **params):
    """Another primitive as part of a rule: recorded in Tensor mode, its NumPy forward on
    arrays (with a throwaway context)."""
    if isinstance(operands[0], Tensor):
        return op.apply(*operands, **params)
    return op.forward(op(), *operands, **params)  # op(): cheaper than object.__new__(op)


def sum_to(a, shape: tuple):
    """``a`` summed back to ``shape`` (the gradient of a broadcast input)."""
    if a.shape == shape:
        return a
    if isinstance(a, Tensor):
        return mv.SumTo.apply(a, shape=shape)
    return mv.SumTo.forward(None, a, shape)


def reshape(a, shape: tuple):
    """``a`` in ``shape`` (a valid shape: no user-facing checks)."""
    if isinstance(a, Tensor):
        return mv.Reshape.apply(a, shape=shape)
    return a.reshape(shape)


def expand(a, shape: tuple):
    """``a`` broadcast to ``shape`` (a read-only view in array mode)."""
    if a.shape == shape:
        return a
    if isinstance(a, Tensor):
        return mv.Expand.apply(a, shape=shape)
    return mv.broadcast_view(np.asarray(a), shape)


def permute(a, dims: tuple):
    if isinstance(a, Tensor):
        return mv.Permute.apply(a, dims=dims)
    return a.transpose(dims)


def mT(a):  # noqa: N802  (PyTorch's name for the transpose of the last two dimensions)
    if isinstance(a, Tensor):
        return mv.transpose(a, -1, -2)
    return a.swapaxes(-1, -2)


def matmul(a, b):
    if isinstance(a, Tensor):
        return la.matmul(a, b)
    return la.matmul_arrays(a, b)


def sum(a, axes, keepdim: bool = False):  # noqa: A001  (the op's name)
    if isinstance(a, Tensor):
        return red.Sum.apply(a, axes=tuple(axes), keepdim=keepdim)
    return a.sum(axis=tuple(axes), keepdims=keepdim)


def cast(a, dtype: np.dtype):
    if isinstance(a, Tensor):
        return ew.cast(a, dtype)
    return a.astype(dtype)


def where(condition, a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return ew.where(condition, a, b)
    return ew.select(data(condition), a, b)


def zeros_like(a):
    if isinstance(a, Tensor):
        return ew.zeros_like(a)
    return np.zeros_like(a)


def clamp_min(a, low: float):
    """``a.clamp(min=low)``: the gradient passes where ``a >= low`` in Tensor mode."""
    if isinstance(a, Tensor):
        return ew.clamp(a, min=low)
    return np.maximum(a, low)


def _unary(ufunc, method: str):
    def fn(a):
        return getattr(a, method)() if isinstance(a, Tensor) else ufunc(a)

    fn.__name__ = method
    return fn


exp = _unary(np.exp, "exp")
log = _unary(np.log, "log")
log1p = _unary(np.log1p, "log1p")
sin = _unary(np.sin, "sin")
cos = _unary(np.cos, "cos")
sign = _unary(np.sign, "sign")
floor = _unary(np.floor, "floor")
tanh = _unary(np.tanh, "tanh")


def sigmoid(a):
    return apply(ew.Sigmoid, a)


def expand_reduced(g, shape: tuple, axes: tuple, keepdim: bool):
    """Broadcast a reduced gradient back over the reduced axes (the backward of a sum)."""
    if not keepdim:
        g = reshape(g, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return expand(g, shape)


# the ops import this module, so they are bound after it exists
from . import elementwise as ew  # noqa: E402
from . import linalg as la  # noqa: E402
from . import movement as mv  # noqa: E402
from . import reduce as red  # noqa: E402
