"""Tensor methods that exist for PyTorch programs: devices, size queries, ``__format__``, and
the ops of ``ops/compat.py`` as methods. ``Tensor`` inherits them (``TensorCompat`` is its base),
and each curated PyTorch Tensor name chainrule lacks raises "chainrule does not implement
torch.Tensor.X yet" (a class attribute, so other lookups cost nothing extra).
``f"{cr.tensor(3.14159):.2f}"`` -> ``'3.14'``
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

import numpy as np

from . import devices
from . import tensor as _t  # its ops modules (_t._ew, _t._cops) are bound once Tensor exists


class TensorCompat:
    __slots__ = ()

    if TYPE_CHECKING:  # what these methods use of Tensor, the one class built on this one
        _data: np.ndarray

        @property
        def dtype(self) -> np.dtype: ...

        def item(self) -> int | float | bool: ...

    # ---- devices and storage queries ------------------------------------------------------
    @property
    def is_cuda(self) -> bool:
        return False

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None):
        """Always an error: chainrule runs on the CPU only."""
        devices.as_device("cuda" if device is None else device if not isinstance(device, int)
                          else f"cuda:{device}", "Tensor.cuda")

    def nelement(self) -> int:
        return self._data.size

    def ndimension(self) -> int:
        return self._data.ndim

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
        """Strides in elements, as PyTorch counts them: ``cr.zeros(2, 3).stride()`` -> (3, 1)."""
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def half(self, memory_format=None):
        return self.to(np.float16)

    def __format__(self, format_spec: str) -> str:
        # PyTorch's rule: a 0-d tensor formats as its number, anything else as its repr
        if self._data.ndim == 0:
            return self.item().__format__(format_spec)
        if format_spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # ndarray <op> Tensor arrives here (NumPy's operators call their ufunc): it is the
        # Tensor op, as Tensor <op> ndarray. Any other NumPy ufunc call says what to do instead
        # of NumPy's protocol message.
        op = _binary_ops().get(ufunc)
        if op is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            return op(*inputs)
        raise TypeError(
            f"numpy.{ufunc.__name__} does not take a chainrule Tensor: use the Tensor op "
            f"(t.{ufunc.__name__}() or cr.{ufunc.__name__}(t) where it exists) to stay in the "
            "graph, or t.numpy() (t.detach().numpy() if it requires grad) to compute in NumPy")

    # ---- new tensors like this one (its dtype unless given) ---------------------------------
    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False,
                  layout=None, pin_memory: bool = False):
        from .creation import zeros

        return zeros(*size, dtype=dtype or self.dtype, device=device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False,
                 layout=None, pin_memory: bool = False):
        from .creation import ones

        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False,
                  layout=None, pin_memory: bool = False):
        from .creation import empty

        return empty(*size, dtype=dtype or self.dtype, device=device,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None,
                 requires_grad: bool = False, layout=None, pin_memory: bool = False):
        from .creation import full

        return full(size, fill_value, dtype=dtype or self.dtype, device=device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False,
                   layout=None, pin_memory: bool = False):
        from .creation import tensor

        return tensor(data, dtype=dtype or self.dtype, device=device,
                      requires_grad=requires_grad)

    # ---- shape (compositions of the movement ops, so differentiable) -------------------------
    def swapaxes(self, axis0: int, axis1: int):
        return _t._mv.transpose(cast("_t.Tensor", self), axis0, axis1)

    def movedim(self, source, destination):
        """Move dims ``source`` to positions ``destination``: ``x.movedim(0, -1)``."""
        src = [source] if isinstance(source, int) else list(source)
        dst = [destination] if isinstance(destination, int) else list(destination)
        n = self._data.ndim
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} "
                               f"dims) should contain the same number of dims as destination "
                               f"({dst} dims)")
        src = [d % n if -n <= d < n else _t._wrap_dim(d, n, "movedim") for d in src]
        dst = [d % n if -n <= d < n else _t._wrap_dim(d, n, "movedim") for d in dst]
        order = [i for i in range(n) if i not in src]  # NumPy's moveaxis order
        for d, s in sorted(zip(dst, src, strict=True)):
            order.insert(d, s)
        return _t._mv.permute(self, tuple(order))

    def narrow(self, dim: int, start: int, length: int):
        """``length`` elements from ``start`` along ``dim`` (a view, as PyTorch):
        ``x.narrow(1, 0, 2)``"""
        axis = _t._wrap_dim(dim, self._data.ndim, "narrow")
        size = self._data.shape[axis]
        start = start + size if start < 0 else start
        if not (0 <= start <= size and 0 <= length and start + length <= size):
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                               f"size ({size}).")
        key = (slice(None),) * axis + (slice(start, start + length),)
        return _t._mv.getitem(cast("_t.Tensor", self), key)

    def tensor_split(self, indices_or_sections=None, dim: int = 0, *, sections=None,
                     indices=None):
        """``n`` near-equal pieces, or the pieces between indices: ``x.tensor_split(3, dim=1)``"""
        return _functions().tensor_split(cast("_t.Tensor", self), indices_or_sections, dim,
                                         sections=sections, indices=indices)

    def masked_select(self, mask):
        return _functions().masked_select(self, mask)

    def nonzero(self, *, as_tuple: bool = False):
        return _functions().nonzero(self, as_tuple=as_tuple)

    def count_nonzero(self, dim=None):
        return _functions().count_nonzero(self, dim)

    # ---- in-place math (x.exp_() is x.copy_(x.exp()), recorded as PyTorch records it) ---------
    def abs_(self):
        return _t._ew.inplace(self, "abs_", lambda x: x.abs())

    def exp_(self):
        return _t._ew.inplace(self, "exp_", lambda x: x.exp())

    def sqrt_(self):
        return _t._ew.inplace(self, "sqrt_", lambda x: x.sqrt())

    def neg_(self):
        return _t._ew.inplace(self, "neg_", lambda x: -x)

    def relu_(self):
        return _t._ew.inplace(self, "relu_", lambda x: x.relu())

    def sigmoid_(self):
        return _t._ew.inplace(self, "sigmoid_", lambda x: x.sigmoid())

    def tanh_(self):
        return _t._ew.inplace(self, "tanh_", lambda x: x.tanh())

    # ---- math ------------------------------------------------------------------------------
    def log2(self):
        return _t._cops.log2(self)

    def log10(self):
        return _t._cops.log10(self)

    def tril(self, diagonal: int = 0):
        return _t._cops.tril(cast("_t.Tensor", self), diagonal)

    def triu(self, diagonal: int = 0):
        return _t._cops.triu(cast("_t.Tensor", self), diagonal)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        return _t._cops.isclose(cast("_t.Tensor", self), other, rtol, atol, equal_nan)

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        return _t._cops.allclose(cast("_t.Tensor", self), other, rtol, atol, equal_nan)

    def equal(self, other) -> bool:
        return _t._cops.equal(cast("_t.Tensor", self), other)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0):  # noqa: A002
        return _t._cops.histc(cast("_t.Tensor", self), bins, min, max)

    def remainder(self, other):
        return _t._ew.remainder(self, other)

    def floor_divide(self, other):
        return _t._ew.floor_divide(self, other)

    def logical_and(self, other):
        return _t._ew.logical_and(self, other)

    def logical_or(self, other):
        return _t._ew.logical_or(self, other)


def _functions():
    from . import functions

    return functions


@functools.cache
def _binary_ops() -> dict:
    """NumPy's operator ufuncs and the Tensor ops they stand for (``array + tensor``)."""
    ew, la = _t._ew, _t._la
    return {
        np.add: ew.add, np.subtract: ew.sub, np.multiply: ew.mul, np.true_divide: ew.div,
        np.floor_divide: ew.floor_divide, np.remainder: ew.remainder, np.power: ew.pow,
        np.matmul: la.matmul,
        np.equal: lambda x, y: ew.compare(np.equal, x, y),
        np.not_equal: lambda x, y: ew.compare(np.not_equal, x, y),
        np.less: lambda x, y: ew.compare(np.less, x, y),
        np.less_equal: lambda x, y: ew.compare(np.less_equal, x, y),
        np.greater: lambda x, y: ew.compare(np.greater, x, y),
        np.greater_equal: lambda x, y: ew.compare(np.greater_equal, x, y),
        np.logical_and: ew.logical_and, np.logical_or: ew.logical_or,
        np.bitwise_and: ew.logical_and, np.bitwise_or: ew.logical_or,
        np.bitwise_xor: ew.logical_xor,
    }


class _NotImplementedYet:
    """A class attribute for a PyTorch Tensor name chainrule lacks: reading it raises an
    AttributeError naming it (``hasattr`` stays False)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj, cls=None):
        from ._torch_names import missing_attribute

        raise missing_attribute("Tensor", self.name)


def mark_missing_names(cls: type) -> None:
    """Give ``cls`` an explaining attribute for each curated Tensor name it does not have."""
    from ._torch_names import GROUPS, OUT_OF_SCOPE

    names = list(GROUPS["Tensor"][1]) + [p[len("Tensor."):] for p in OUT_OF_SCOPE
                                          if p.startswith("Tensor.")]
    for name in names:
        if not any(name in klass.__dict__ for klass in cls.__mro__):
            setattr(cls, name, _NotImplementedYet(name))

