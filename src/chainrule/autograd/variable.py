"""``autograd.Variable``: the pre-0.4 PyTorch wrapper, kept because old code still uses it.

As in PyTorch, ``Variable(t)`` gives a Tensor (sharing ``t``'s storage) and every Tensor is a
Variable. ``x = Variable(cr.ones(3), requires_grad=True)``
"""

from __future__ import annotations

from ..tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    def __new__(cls, data: Tensor, requires_grad: bool = False, volatile: bool = False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
