"""Ordering ops: sort, argsort, msort, topk. The indices come from NumPy's stable sort (no
gradient); the values are the input gathered at them, so the gradient goes back to where each
value came from.

``values, indices = cr.sort(x, dim=1, descending=True)``
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap_dim
from . import movement as mv
from .movement import Gather
from .reduce import ValuesIndices


class Sort(Gather):
    torch_name = "SortBackward0"
    elementwise = False
    formula = "sort({0}, dim={axis})"
    derivatives = ("g put back where each sorted value came from",)


class Topk(Gather):
    torch_name = "TopkBackward0"
    elementwise = False
    formula = "topk({0}, dim={axis})"
    derivatives = ("g put back where each of the k values came from (zeros elsewhere)",)


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sort indices along ``axis`` (NaN largest, as PyTorch): equal values keep their
    order in both directions."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # ascending over the reversed axis, reversed back: descending, ties still in input order
    backwards = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return a.shape[axis] - 1 - np.flip(backwards, axis)


def _scalar(op: type[Gather], x: Tensor) -> ValuesIndices:
    """A 0-d input is its own sort and top-k (index 0)."""
    index = np.zeros(1, np.int64)
    values = op.apply(mv.reshape(x, (1,)), index=index, axis=0)
    return ValuesIndices(mv.reshape(values, ()), Tensor._make(np.zeros((), np.int64)))


def _axis(x: Tensor, dim: int, op: str) -> int:
    return _wrap_dim(int(dim), x._data.ndim, op)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
         ) -> ValuesIndices:
    """The values along ``dim`` in order, and where each came from (int64); ties keep their
    input order (PyTorch guarantees that with ``stable=True``)."""
    axis = _axis(x, dim, "sort")
    if x._data.ndim == 0:
        return _scalar(Sort, x)
    index = _order(x._data, axis, bool(descending)).astype(np.int64)
    return ValuesIndices(Sort.apply(x, index=index, axis=axis), Tensor._make(index))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Where each value of ``sort(x, dim, descending)`` came from, int64."""
    return sort(x, dim, descending, stable).indices


def msort(x: Tensor) -> Tensor:
    """``sort(x, dim=0).values``."""
    return sort(x, 0).values


def topk(x: Tensor, k: int, dim: int | None = None, largest: bool = True, sorted: bool = True  # noqa: A002
         ) -> ValuesIndices:
    """The ``k`` largest (or smallest) values along ``dim``, in order, and their int64 indices."""
    dim = -1 if dim is None else dim
    axis = _axis(x, dim, "topk")
    size = x._data.shape[axis] if x._data.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} for input of shape "
                           f"{tuple(x.shape)} along dim {dim} (size {size})")
    if x._data.ndim == 0:  # PyTorch gives the value for k=0 too
        return _scalar(Topk, x)
    order = _order(x._data, axis, bool(largest))
    index = np.take(order, np.arange(int(k)), axis=axis).astype(np.int64)
    return ValuesIndices(Topk.apply(x, index=index, axis=axis), Tensor._make(index))
