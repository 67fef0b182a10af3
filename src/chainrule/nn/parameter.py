"""Parameter: a leaf Tensor that a Module registers as learnable."""

from __future__ import annotations

import numpy as np

from .. import _dtypes
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight; ``requires_grad=True`` by default.

    Assigning one to a Module attribute registers it: ``self.w = nn.Parameter(cr.randn(3, 2))``.
    ``Parameter(t)`` shares ``t``'s memory, as in PyTorch.
    """

    __slots__ = ()

    def __init__(self, data: Tensor | np.ndarray | None = None, requires_grad: bool = True
                 ) -> None:
        if data is None:
            array = np.empty((0,), _dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            array = data._data
        elif isinstance(data, np.ndarray):
            array = data
        else:
            raise TypeError(f"Parameter: expected a Tensor or an ndarray as data, got "
                            f"{type(data).__name__}")
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = result
        return result
