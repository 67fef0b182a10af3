"""``nn.utils``: gradient clipping and flattening parameters to one vector and back."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import _dtypes
from ..ops import movement as mv
from ..tensor import Tensor

_Tensors = Tensor | Iterable[Tensor]


def _as_list(tensors: _Tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray | np.generic:
    if p == 2 and a.dtype.kind == "f":
        flat = a.reshape(-1)
        return np.sqrt(np.dot(flat, flat))  # BLAS's dot: no |a| and a² temporaries
    a = np.abs(a)
    if p == np.inf:
        return np.max(a) if a.size else np.zeros((), a.dtype)
    if p == -np.inf:
        return np.min(a)
    if p == 0:
        return np.asarray(np.count_nonzero(a), a.dtype)
    if p == 1:
        return np.sum(a)
    if p == 2:
        return np.sqrt(np.sum(a * a))
    return np.sum(a ** p) ** (1.0 / p)


def get_total_norm(tensors: _Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together (the norm of their norms)."""
    arrays = [t._data for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._make(np.zeros((), _dtypes.get_default_dtype()))
    norms = [_vector_norm(a, norm_type) for a in arrays]
    dtype = np.result_type(*arrays)
    total = np.asarray(_vector_norm(np.stack([np.asarray(n, dtype) for n in norms]), norm_type),
                       dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return Tensor._make(total)


def _scale_in_place(g: Tensor, factor: np.ndarray) -> None:
    if factor != 1:  # a product with 1 changes no value, not even a NaN's or a -0's
        np.multiply(g._data, factor.astype(g._data.dtype), out=g._data, casting="unsafe")
    g._bump_version()


def clip_grads_with_norm_(parameters: _Tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))`` in place."""
    with_grad = [(p, g) for p in _as_list(parameters) if (g := p.grad) is not None]
    if not with_grad:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = np.minimum(np.asarray(max_norm, total.dtype) / (total + total.dtype.type(1e-6)), 1.0)
    for p, g in with_grad:
        if g.grad_fn is not None or not g._data.flags.writeable:
            # a gradient built with create_graph=True: scale out of place, keeping its graph
            p.grad = g * Tensor._make(coef.astype(g._data.dtype))
        else:
            _scale_in_place(g, coef)


def clip_grad_norm_(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients in place so that their joint norm is at most ``max_norm``;
    returns the norm before clipping: ``nn.utils.clip_grad_norm_(model.parameters(), 1.0)``."""
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: _Tensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is None:
            continue
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._bump_version()


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (differentiable)."""
    params = list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected at least one parameter")
    return mv.cat([mv.reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec of shape {tuple(vec.shape)} does not hold "
                         f"the {total} elements of the parameters")
    start = 0
    for p in params:
        n = p.numel()
        np.copyto(p._data, vec._data[start:start + n].reshape(p.shape), casting="unsafe")
        p._bump_version()
        start += n


def __getattr__(name: str):
    # A PyTorch name chainrule lacks says so ("does not implement torch.nn.utils.X yet").
    from .._torch_names import missing_attribute

    raise missing_attribute("nn.utils", name)
