"""Dtypes (NumPy dtypes under PyTorch's names), the default float dtype, and type promotion."""

from __future__ import annotations

from typing import Any

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


# ---- PyTorch's remaining dtype names and dtype queries (issue 12) -------------------------------
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
uint8 = np.dtype(np.uint8)
dtype = np.dtype  # cr.dtype: isinstance(x.dtype, cr.dtype) holds, as with torch.dtype


def finfo(type=None) -> np.finfo:  # noqa: A002  (PyTorch's parameter name)
    """Limits of a floating dtype (default: the default dtype): ``cr.finfo(cr.float32).eps``."""
    return np.finfo(get_default_dtype() if type is None else np.dtype(type))


def iinfo(type) -> np.iinfo:  # noqa: A002
    """Limits of an integer dtype: ``cr.iinfo(cr.int64).max``."""
    return np.iinfo(np.dtype(type))


def promote_types(type1, type2) -> np.dtype:
    """PyTorch's promotion of two dtypes: ``cr.promote_types(cr.int64, cr.float32)`` -> float32."""
    return result_type(np.empty(1, type1), np.empty(1, type2))


def torch_result_type(tensor1, tensor2) -> np.dtype:
    """The dtype ``tensor1 op tensor2`` gives, for tensors or Python numbers (PyTorch's rule)."""
    arrays: list[Any] = [getattr(t, "_data", None) for t in (tensor1, tensor2)]
    if arrays[0] is not None and arrays[1] is not None:
        return result_type(arrays[0], arrays[1])
    if arrays[0] is None and arrays[1] is None:
        return np.asarray([tensor1, tensor2]).dtype if not any(
            isinstance(v, float) for v in (tensor1, tensor2)) else _default_float
    tensor_data, number = (arrays[0], tensor2) if arrays[0] is not None else (arrays[1], tensor1)
    return scalar_dtype(number, tensor_data.dtype)
