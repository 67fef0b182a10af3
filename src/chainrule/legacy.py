"""PyTorch's legacy typed constructors (``FloatTensor``, ``LongTensor`` ...), which old code
still uses: ``cr.FloatTensor([1, 2])`` is ``cr.tensor([1., 2.])``, ``cr.FloatTensor(2, 3)`` a
2x3 float32 tensor (zeros here, where PyTorch leaves memory uninitialised), and
``isinstance(t, cr.FloatTensor)`` checks the dtype, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


class _TypedTensorMeta(type):
    dtype: np.dtype  # set by _typed on each class it makes

    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor) and other.dtype == cls.dtype


def _typed(name: str, dtype) -> type:
    def __new__(cls, *args, device=None):
        from .creation import tensor, zeros

        if not args:
            return zeros(0, dtype=cls.dtype, device=device)
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return zeros(*args, dtype=cls.dtype, device=device)
        if len(args) == 1:
            return tensor(args[0], dtype=cls.dtype, device=device)
        raise TypeError(f"{name}(): expected sizes (ints) or one sequence of data, got {args!r}")

    doc = f"A {np.dtype(dtype)} tensor, PyTorch's legacy constructor: ``cr.{name}([1, 2])``."
    return _TypedTensorMeta(name, (), {"dtype": np.dtype(dtype), "__new__": __new__,
                                       "__doc__": doc})


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
HalfTensor = _typed("HalfTensor", np.float16)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
ShortTensor = _typed("ShortTensor", np.int16)
CharTensor = _typed("CharTensor", np.int8)
ByteTensor = _typed("ByteTensor", np.uint8)
BoolTensor = _typed("BoolTensor", np.bool_)
