"""Dtypes (NumPy dtypes under PyTorch's names), the default float dtype, and type promotion."""

from __future__ import annotations

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default_float = float32


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats: ``cr.get_default_dtype()`` -> float32."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Set the dtype of tensors made from Python floats: ``cr.set_default_dtype(cr.float64)``."""
    global _default_float
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64, float16):
        raise TypeError(f"set_default_dtype: only floating dtypes are supported, got {dtype}")
    _default_float = dtype


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def _category(dtype: np.dtype) -> int:
    # bool < integer < floating, the order PyTorch's promotion uses
    return {"b": 0, "u": 1, "i": 1, "f": 2}.get(dtype.kind, 3)


def result_type(x: np.ndarray, y: np.ndarray) -> np.dtype:
    """PyTorch's promotion of two tensors: a 0-d tensor only decides the result's category."""
    dx, dy = x.dtype, y.dtype
    if dx == dy:
        return dx
    if (x.ndim == 0) == (y.ndim == 0):
        cx, cy = _category(dx), _category(dy)
        if cx != cy:  # int64 with float32 is float32: the higher category decides alone
            return dx if cx > cy else dy
        return np.promote_types(dx, dy)
    dim_dtype, zero_dtype = (dx, dy) if y.ndim == 0 else (dy, dx)
    if _category(zero_dtype) > _category(dim_dtype):
        return zero_dtype
    return dim_dtype


def scalar_dtype(value, like: np.dtype) -> np.dtype:
    """The dtype of a Python scalar combined with a tensor of dtype ``like`` (PyTorch's rule)."""
    if isinstance(value, (bool, np.bool_)):
        return like
    if isinstance(value, (int, np.integer)):
        return like if like.kind in "iuf" else int64
    if isinstance(value, (float, np.floating)):
        return like if like.kind == "f" else _default_float
    raise TypeError(f"unsupported operand type {type(value).__name__}: expected a Tensor or a "
                    "Python number")
