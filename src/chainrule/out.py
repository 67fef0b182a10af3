"""PyTorch's ``out=`` argument: write a result into a given tensor, as ``torch.exp(x, out=y)``."""

from __future__ import annotations

import warnings

import numpy as np

from .autograd.grad_mode import state as _grad_state
from .tensor import Tensor


def write_out(result: Tensor, out: Tensor | None, op: str) -> Tensor:
    """``result`` when ``out`` is None; otherwise ``out`` holding ``result`` (cast to out's dtype,
    resized with PyTorch's warning when its shape differs) and not part of any graph.
    ``write_out(cr.exp(x), y, "exp")`` -> ``y``"""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _grad_state.enabled and (result._rg or out._rg):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    data = result._data
    if not np.can_cast(data.dtype, out._data.dtype, casting="same_kind"):
        raise RuntimeError(f"{op}(): result type {data.dtype} can't be cast to the desired "
                           f"output type {out._data.dtype}")
    if out._data.shape != data.shape:
        if out._data.size:
            warnings.warn(f"{op}(): an output with one or more elements was resized since it "
                          f"had shape {list(out._data.shape)}, which does not match the "
                          f"required output shape {list(data.shape)}", UserWarning,
                          stacklevel=3)
        out._data = data.astype(out._data.dtype, copy=True)
    else:
        np.copyto(out._data, data, casting="same_kind")
    out._bump_version()
    return out
