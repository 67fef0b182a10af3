"""Tensor: an ndarray with a gradient, a place in the graph and a version counter."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from . import _dtypes
from . import devices as _device
from .tensor_compat import TensorCompat, mark_missing_names
from .utils.hooks import RemovableHandle


def complex_grad_message(dtype) -> str:
    """Why a complex tensor cannot require grad (the API promises float32/float64 autograd)."""
    return (f"complex tensors cannot require gradients (got {dtype}): chainrule differentiates "
            "float32/float64 only; keep the real and imaginary parts as two float tensors")

class Tensor(TensorCompat):
    """An n-dimensional array that can record the operations applied to it.

    ``x = cr.tensor([1.0, 2.0], requires_grad=True); (x * x).sum().backward(); x.grad``
    """

    __slots__ = ("_data", "grad", "_rg", "grad_fn", "_output_nr", "_vc", "_hooks", "_view_of",
                 "_has_views", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self._data = data if type(data) is np.ndarray else _as_array(data)
        self.grad: Tensor | None = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._hooks: list | None = None
        self._view_of = False
        self._has_views = False
        self._rg = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: np.ndarray, grad_fn=None, output_nr: int = 0) -> Tensor:
        """The ops' constructor: no conversion, no checks (the op produced ``data``)."""
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._rg = grad_fn is not None
        t._vc = [0]
        t._hooks = None
        t._view_of = False
        t._has_views = False
        return t

    # ---- autograd attributes -------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if self.grad_fn is not None and not flag:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if flag and self._data.dtype.kind == "c":
            raise RuntimeError(complex_grad_message(self._data.dtype))
        if flag and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}")
        self._rg = flag

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self: ``w = cr.randn(3).requires_grad_()``."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vc[0]

    def _bump_version(self) -> None:
        self._vc[0] += 1

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn._retain(self._output_nr, weakref.ref(self))

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn._retains(self._output_nr)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient: ``h = x.register_hook(lambda g: g * 2)``."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            hooks = self.grad_fn._tensor_hooks(self._output_nr)
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook=hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]
                                           ) -> RemovableHandle:
        """Call ``hook(tensor)`` once per backward, after this leaf's ``.grad`` has received
        all of that backward's gradient (PyTorch's semantics; DDP starts its all-reduces here):
        ``h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad.norm()))``."""
        from .autograd.graph import register_post_accumulate_grad_hook

        return register_post_accumulate_grad_hook(self, hook)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | Tensor | None = None
                 ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``: ``loss.backward()``."""
        _engine.backward([self], None if gradient is None else [gradient],
                         retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter)."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        if self._view_of:
            raise RuntimeError("detach_: can't detach a view in place; use detach()")
        self.grad_fn = None
        self._rg = False
        return self

    @property
    def data(self) -> Tensor:
        """The same storage as a Tensor outside autograd: ``p.data -= lr * p.grad``.

        As in PyTorch it is detached, and changing it in place is not counted by the version
        counter (so autograd cannot catch it); prefer ``with cr.no_grad():`` in new code.
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assigned {type(value).__name__}; expected a Tensor "
                            "(wrap an array with cr.from_numpy)")
        self._data = value._data

    # ---- plain attributes ----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> _device.device:
        return _device.CPU

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @overload
    def size(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def size(self, dim: int) -> int: ...
    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        if dim is None:
            return self._data.shape
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.itemsize

    def item(self) -> int | float | bool:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        if self._rg:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self._rg:
            raise RuntimeError("Can't convert a Tensor that requires grad to a NumPy array. "
                               "Use tensor.detach().numpy() instead.")
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is "
                               "ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", threshold=1000, edgeitems=3,
                               prefix="tensor(", formatter=_float_formatter(self._data))
        extras = []
        if self._data.dtype not in (_dtypes.get_default_dtype(), _dtypes.int64, _dtypes.bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---- conversion ----------------------------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """Cast and/or move: ``t.to(cr.float64)``, ``t.to("cpu")``, ``t.to(device, dtype)``,
        ``t.to(other)`` (other's dtype); differentiable. Only the CPU exists here."""
        dtype, copy = _device.parse_to(args, kwargs, "Tensor.to")
        if dtype is None or np.dtype(dtype) == self._data.dtype:
            return _ew.clone(self) if copy else self
        return _ew.cast(self, np.dtype(dtype))

    def type(self, dtype=None) -> str | Tensor:
        return str(self._data.dtype) if dtype is None else self.to(dtype)

    def cpu(self, memory_format=None) -> Tensor:
        return self

    def float(self) -> Tensor:
        return self.to(_dtypes.float32)

    def double(self) -> Tensor:
        return self.to(_dtypes.float64)

    def long(self) -> Tensor:
        return self.to(_dtypes.int64)

    def int(self) -> Tensor:
        return self.to(_dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(_dtypes.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def clone(self) -> Tensor:
        return _ew.clone(self)

    def contiguous(self, memory_format=None) -> Tensor:
        """``self`` when C-contiguous, else a contiguous copy (recorded, as PyTorch's clone).
        ``x.transpose(1, 2).contiguous().view(b, t, c)``"""
        return self if self._data.flags.c_contiguous else _ew.clone(self)

    # ---- arithmetic ------------------------------------------------------------------------
    if TYPE_CHECKING:  # the ops' functions themselves, bound below the class (see there)
        def __add__(self, other) -> Tensor: ...
        def __sub__(self, other) -> Tensor: ...
        def __mul__(self, other) -> Tensor: ...

    def __radd__(self, other) -> Tensor:  # other + self
        return _ew.add(other, self)

    def __rsub__(self, other) -> Tensor:  # other - self
        return _ew.sub(other, self)

    def __rmul__(self, other) -> Tensor:  # other * self
        return _ew.mul(other, self)

    def __truediv__(self, other) -> Tensor:
        return _ew.div(self, other)

    def __rtruediv__(self, other) -> Tensor:  # other / self
        return _ew.div(other, self)

    def __floordiv__(self, other) -> Tensor:
        return _ew.floor_divide(self, other)

    def __rfloordiv__(self, other) -> Tensor:  # other // self
        return _ew.floor_divide(other, self)

    def __mod__(self, other) -> Tensor:
        return _ew.remainder(self, other)

    def __rmod__(self, other) -> Tensor:  # other % self
        return _ew.remainder(other, self)

    def __pow__(self, other) -> Tensor:
        return _ew.pow(self, other)

    def __rpow__(self, other) -> Tensor:  # other ** self
        return _ew.pow(other, self)

    def __matmul__(self, other) -> Tensor:
        if isinstance(other, Tensor):
            a, b = self._data, other._data
            if a.ndim == 2 == b.ndim and a.shape[1] == b.shape[0] and a.dtype == b.dtype:
                # two matrices (every layer written by hand): no 1-D or batch cases to sort out
                # (np.broadcast_shapes alone costs ~2 us)
                return _la.Matmul.apply(self, other)
        return _la.matmul(self, other)

    def __rmatmul__(self, other) -> Tensor:  # other @ self
        return _la.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ew.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ew.abs(self)

    def __invert__(self) -> Tensor:
        return _ew.logical_not(self)

    def __and__(self, other) -> Tensor:
        return _ew.logical_and(self, other)

    def __or__(self, other) -> Tensor:
        return _ew.logical_or(self, other)

    def __xor__(self, other) -> Tensor:
        return _ew.logical_xor(self, other)

    def __eq__(self, other) -> Tensor:  # type: ignore[override]
        return _ew.compare(np.equal, self, other)

    def __ne__(self, other) -> Tensor:  # type: ignore[override]
        return _ew.compare(np.not_equal, self, other)

    def __lt__(self, other) -> Tensor:
        return _ew.compare(np.less, self, other)

    def __le__(self, other) -> Tensor:
        return _ew.compare(np.less_equal, self, other)

    def __gt__(self, other) -> Tensor:
        return _ew.compare(np.greater, self, other)

    def __ge__(self, other) -> Tensor:
        return _ew.compare(np.greater_equal, self, other)

    # in-place operators: x += y is x.add_(y), as in PyTorch
    def __iadd__(self, other) -> Tensor:
        return self.add_(other)

    def __isub__(self, other) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other) -> Tensor:
        return self.div_(other)

    def add(self, other, alpha=1) -> Tensor:
        return _ew.add(self, other if alpha == 1 else _ew.mul(other, alpha))

    def sub(self, other, alpha=1) -> Tensor:
        return _ew.sub(self, other if alpha == 1 else _ew.mul(other, alpha))

    def mul(self, other) -> Tensor:
        return _ew.mul(self, other)

    def div(self, other) -> Tensor:
        return _ew.div(self, other)

    def pow(self, exponent) -> Tensor:
        return _ew.pow(self, exponent)

    def matmul(self, other) -> Tensor:
        return _la.matmul(self, other)

    def mm(self, other) -> Tensor:
        return _la.mm(self, other)

    def bmm(self, mat2, out_dtype=None) -> Tensor:
        result = _la.bmm(self, mat2)
        return result if out_dtype is None else result.to(out_dtype)

    def dot(self, other) -> Tensor:
        return _la.dot(self, other)

    def outer(self, other) -> Tensor:
        return _la.outer(self, other)

    def eq(self, other) -> Tensor:
        return self == other

    def ne(self, other) -> Tensor:
        return self != other

    def lt(self, other) -> Tensor:
        return self < other

    def le(self, other) -> Tensor:
        return self <= other

    def gt(self, other) -> Tensor:
        return self > other

    def ge(self, other) -> Tensor:
        return self >= other

    # ---- in-place ops ----------------------------------------------------------------------
    def add_(self, other, alpha=1) -> Tensor:
        return _ew.inplace(self, "add_", lambda x: x.add(other, alpha=alpha), other,
                           ufunc=np.add if alpha == 1 else None)

    def sub_(self, other, alpha=1) -> Tensor:
        return _ew.inplace(self, "sub_", lambda x: x.sub(other, alpha=alpha), other,
                           ufunc=np.subtract if alpha == 1 else None)

    def mul_(self, other) -> Tensor:
        return _ew.inplace(self, "mul_", lambda x: x * other, other, ufunc=np.multiply)

    def div_(self, other) -> Tensor:
        return _ew.inplace(self, "div_", lambda x: x / other, other, ufunc=np.true_divide)

    def pow_(self, exponent) -> Tensor:
        return _ew.inplace(self, "pow_", lambda x: x ** exponent, exponent)

    def clamp_(self, min=None, max=None) -> Tensor:
        return _ew.inplace(self, "clamp_", lambda x: x.clamp(min, max), min, max)

    clip_ = clamp_

    def zero_(self) -> Tensor:
        return _ew.inplace(self, "zero_", lambda x: _ew.fill(x, 0))

    def fill_(self, value) -> Tensor:
        return _ew.inplace(self, "fill_", lambda x: _ew.fill(x, value), value)

    def copy_(self, src) -> Tensor:
        return _ew.inplace(self, "copy_", lambda x: _ew.fill(x, src), src)

    def masked_fill_(self, mask, value) -> Tensor:
        return _ew.inplace(self, "masked_fill_", lambda x: x.masked_fill(mask, value), value)

    def __setitem__(self, key, value) -> None:
        _mv.setitem(self, key, value)

    # ---- random fills (PyTorch's CPU streams; see chainrule.random) --------------------------
    def uniform_(self, from_=0.0, to=1.0, *, generator=None) -> Tensor:
        return _rand.uniform_(self, from_, to, generator=generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None) -> Tensor:
        return _rand.normal_(self, mean, std, generator=generator)

    def random_(self, *args, generator=None) -> Tensor:
        return _rand.random_(self, *args, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
        return _rand.exponential_(self, lambd, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
        return _rand.bernoulli_(self, p, generator=generator)

    # ---- math ------------------------------------------------------------------------------
    def exp(self) -> Tensor:
        return _ew.exp(self)

    def log(self) -> Tensor:
        return _ew.log(self)

    def log1p(self) -> Tensor:
        return _ew.log1p(self)

    def expm1(self) -> Tensor:
        return _ew.expm1(self)

    def sqrt(self) -> Tensor:
        return _ew.sqrt(self)

    def rsqrt(self) -> Tensor:
        return _ew.rsqrt(self)

    def sin(self) -> Tensor:
        return _ew.sin(self)

    def cos(self) -> Tensor:
        return _ew.cos(self)

    def tan(self) -> Tensor:
        return _ew.tan(self)

    def tanh(self) -> Tensor:
        return _ew.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ew.sigmoid(self)

    def relu(self) -> Tensor:
        return _ew.relu(self)

    def abs(self) -> Tensor:
        return _ew.abs(self)

    def sign(self) -> Tensor:
        return _ew.sign(self)

    def reciprocal(self) -> Tensor:
        return _ew.reciprocal(self)

    def neg(self) -> Tensor:
        return _ew.neg(self)

    def square(self) -> Tensor:
        return _ew.mul(self, self)

    def erf(self) -> Tensor:
        return _ew.erf(self)

    def floor(self) -> Tensor:
        return _ew.floor(self)

    def ceil(self) -> Tensor:
        return _ew.ceil(self)

    def round(self) -> Tensor:
        return _ew.round(self)

    def clamp(self, min=None, max=None) -> Tensor:
        return _ew.clamp(self, min, max)

    clip = clamp

    def maximum(self, other) -> Tensor:
        return _ew.maximum(self, other)

    def minimum(self, other) -> Tensor:
        return _ew.minimum(self, other)

    def where(self, condition, other) -> Tensor:
        return _ew.where(condition, self, other)

    def masked_fill(self, mask, value) -> Tensor:
        return _ew.masked_fill(self, mask, value)

    def logical_not(self) -> Tensor:
        return _ew.logical_not(self)

    def isnan(self) -> Tensor:
        return Tensor._make(np.isnan(self._data))

    def isinf(self) -> Tensor:
        return Tensor._make(np.isinf(self._data))

    def isfinite(self) -> Tensor:
        return Tensor._make(np.isfinite(self._data))

    # ---- reductions (keepdims= is PyTorch's alias of keepdim=) -------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None, *, keepdims=None) -> Tensor:
        return _red.sum(self, dim, _keepdim(keepdim, keepdims, "sum"), dtype)

    def mean(self, dim=None, keepdim=False, dtype=None, *, keepdims=None) -> Tensor:
        return _red.mean(self, dim, _keepdim(keepdim, keepdims, "mean"), dtype)

    def prod(self, dim=None, keepdim=False, dtype=None, *, keepdims=None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return _red.prod(x, dim, _keepdim(keepdim, keepdims, "prod"))

    def max(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor | _red.ValuesIndices:
        if isinstance(dim, Tensor):  # t.max(other): the elementwise maximum, as PyTorch
            return _ew.maximum(self, dim)
        return _red.max(self, dim, _keepdim(keepdim, keepdims, "max"))

    def min(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor | _red.ValuesIndices:
        if isinstance(dim, Tensor):
            return _ew.minimum(self, dim)
        return _red.min(self, dim, _keepdim(keepdim, keepdims, "min"))

    def amax(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.amax(self, () if dim is None else dim, _keepdim(keepdim, keepdims, "amax"))

    def amin(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.amin(self, () if dim is None else dim, _keepdim(keepdim, keepdims, "amin"))

    def argmax(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.argmax(self, dim, _keepdim(keepdim, keepdims, "argmax"))

    def argmin(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.argmin(self, dim, _keepdim(keepdim, keepdims, "argmin"))

    def var(self, dim=None, *, correction=1, keepdim=False, unbiased=None, keepdims=None) -> Tensor:
        return _red.var(self, dim, correction=correction,
                        keepdim=_keepdim(keepdim, keepdims, "var"), unbiased=unbiased)

    def std(self, dim=None, *, correction=1, keepdim=False, unbiased=None, keepdims=None) -> Tensor:
        return _red.std(self, dim, correction=correction,
                        keepdim=_keepdim(keepdim, keepdims, "std"), unbiased=unbiased)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None, *, keepdims=None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return _red.norm(x, p, dim, _keepdim(keepdim, keepdims, "norm"))

    def logsumexp(self, dim, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.logsumexp(self, dim, _keepdim(keepdim, keepdims, "logsumexp"))

    def cumsum(self, dim, dtype=None) -> Tensor:
        return _red.cumsum(self if dtype is None else self.to(dtype), dim)

    def all(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.all(self, dim, _keepdim(keepdim, keepdims, "all"))

    def any(self, dim=None, keepdim=False, *, keepdims=None) -> Tensor:
        return _red.any(self, dim, _keepdim(keepdim, keepdims, "any"))

    def softmax(self, dim) -> Tensor:
        return _nnops.softmax(self, dim)

    def log_softmax(self, dim) -> Tensor:
        return _nnops.log_softmax(self, dim)

    # ---- shape -----------------------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        return _mv.reshape(self, shape)

    def view(self, *shape) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
            return self.to(shape[0])
        return _mv.view(self, shape)

    def view_as(self, other) -> Tensor:
        return _mv.view(self, other.shape)

    def reshape_as(self, other) -> Tensor:
        return _mv.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1) -> Tensor:
        return _mv.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes) -> Tensor:
        return _mv.unflatten(self, dim, sizes)

    def squeeze(self, dim=None) -> Tensor:
        return _mv.squeeze(self, dim)

    def unsqueeze(self, dim) -> Tensor:
        return _mv.unsqueeze(self, dim)

    def transpose(self, dim0, dim1) -> Tensor:
        return _mv.transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self._data.ndim}D")
        return self if self._data.ndim < 2 else _mv.transpose(self, 0, 1)

    @property
    def T(self) -> Tensor:
        if self._data.ndim == 2:  # x @ w.T in every hand-written layer: valid dims, no checks
            return _mv.Permute.apply(self, dims=(1, 0))
        return _mv.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        if self._data.ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self._data.ndim}-D tensor.")
        return _mv.transpose(self, -2, -1)

    def permute(self, *dims) -> Tensor:
        return _mv.permute(self, _shape_args(dims))

    def expand(self, *sizes) -> Tensor:
        return _mv.expand(self, _shape_args(sizes))

    def expand_as(self, other) -> Tensor:
        return _mv.expand(self, other.shape)

    def broadcast_to(self, shape) -> Tensor:
        return _mv.expand(self, tuple(shape))

    def repeat(self, *sizes) -> Tensor:
        return _mv.repeat(self, _shape_args(sizes))

    def tile(self, *dims) -> Tensor:
        return _mv.tile(self, _shape_args(dims))

    def flip(self, dims, *more) -> Tensor:  # x.flip(0, 1), x.flip((0, 1)), x.flip(dims=[0])
        return _mv.flip(self, _shape_args((dims, *more)))

    def chunk(self, chunks, dim=0) -> tuple[Tensor, ...]:
        return _mv.chunk(self, chunks, dim)

    def split(self, split_size, dim=0) -> tuple[Tensor, ...]:
        return _mv.split(self, split_size, dim)

    def unbind(self, dim=0) -> tuple[Tensor, ...]:
        return _mv.unbind(self, dim)

    def index_select(self, dim, index) -> Tensor:
        return _mv.index_select(self, dim, index)

    def gather(self, dim, index, *, sparse_grad=False) -> Tensor:
        return _mv.gather(self, dim, index)

    def __getitem__(self, key) -> Tensor:
        return _mv.getitem(self, key)

    # ---- ordering, scatter and friends (issue 13) --------------------------------------------
    def sort(self, dim=-1, descending=False, *, stable=False) -> _red.ValuesIndices:
        return _sort.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, *, stable=False) -> Tensor:
        return _sort.argsort(self, dim, descending, stable)

    def msort(self) -> Tensor:
        return _sort.msort(self)

    def topk(self, k, dim=None, largest=True, sorted=True) -> _red.ValuesIndices:
        return _sort.topk(self, k, dim, largest, sorted)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
        return _mv.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
        return _ew.inplace(self, "scatter_", lambda t: _mv.scatter(
            t, dim, index, src, value=value, reduce=reduce, op="scatter_"), src)

    def scatter_add(self, dim, index, src) -> Tensor:
        return _mv.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src) -> Tensor:
        return _ew.inplace(self, "scatter_add_", lambda t: _mv.scatter_add(t, dim, index, src,
                                                                         "scatter_add_"),
                           src)

    def index_add(self, dim, index, source, *, alpha=1) -> Tensor:
        return _mv.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1) -> Tensor:
        return _ew.inplace(self, "index_add_", lambda t: _mv.index_add(
            t, dim, index, source, alpha=alpha), source)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None) -> Tensor:
        return _mv.repeat_interleave(self, repeats, dim, output_size=output_size)

    def roll(self, shifts, dims=None) -> Tensor:
        return _mv.roll(self, shifts, dims)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
        return _la.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)


def _as_array(data: Any, dtype=None) -> np.ndarray:
    """Convert user data to an ndarray with PyTorch's dtype inference for Python numbers."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
        arr = np.array([_as_array(v) for v in data])
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64 and not isinstance(data, np.generic):
            # Python floats take the default dtype; a NumPy float64 scalar keeps its own.
            arr = arr.astype(_dtypes.get_default_dtype())
        elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
        elif arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(f"tensor: can't convert {type(data).__name__} to a tensor of numbers")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def _flat(seq):
    for v in seq:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _float_formatter(a: np.ndarray) -> Any:  # a NumPy formatter dict, or None
    """PyTorch's way of printing floats: ``1.`` when every value is whole, four decimals
    otherwise, scientific when the magnitudes span more than 1000x; all one width."""
    if a.dtype.kind != "f" or a.size == 0:
        return None
    sample = a.reshape(-1) if a.size <= 1000 else np.concatenate(
        [a.reshape(-1)[:3000], a.reshape(-1)[-3000:]])
    finite = np.abs(sample[np.isfinite(sample)]).astype(np.float64)
    nonzero = finite[finite != 0]
    if finite.size and np.all(finite == np.round(finite)) and (
            not nonzero.size or nonzero.max() < 1e8):
        def fmt(v):
            return f"{v:.0f}." if np.isfinite(v) else str(v)
    elif nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8
                           or nonzero.min() < 1e-4):
        def fmt(v):
            return f"{v:.4e}"
    else:
        def fmt(v):
            return f"{v:.4f}"
    width = max(len(fmt(float(v))) for v in sample)
    return {"float_kind": lambda v: fmt(float(v)).rjust(width)}


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def _keepdim(keepdim: bool, keepdims: bool | None, op: str) -> bool:
    """PyTorch takes NumPy's ``keepdims`` as an alias of ``keepdim``."""
    if keepdims is None:
        return keepdim
    if keepdim and not keepdims:
        raise TypeError(f"{op}(): got both keepdim=True and keepdims=False")
    return bool(keepdims)


def _shape_args(args: tuple) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# Ops import Tensor, so they are bound after the class exists (the engine too: backward() runs
# once per step, and an import statement in it cost ~2k instructions a call).
from .autograd import engine as _engine  # noqa: E402
from .ops import compat as _cops  # noqa: E402, F401  (TensorCompat's methods use it: issue 12)
from .ops import elementwise as _ew  # noqa: E402
from .ops import linalg as _la  # noqa: E402
from .ops import movement as _mv  # noqa: E402
from .ops import nn as _nnops  # noqa: E402
from .ops import random as _rand  # noqa: E402
from .ops import reduce as _red  # noqa: E402
from .ops import sorting as _sort  # noqa: E402

# The commonest ops are the ops' functions themselves, not methods that call them: one Python
# call less for every x + y, x - y, x * y (~400 instructions of the ~50k an op of the 1,000-op
# chain costs; benchmarks/RESULTS.md). Named methods (x.tanh()) stay methods: their signature is
# PyTorch's (tests/compat).
Tensor.__add__ = _ew.add  # type: ignore[method-assign,assignment]
Tensor.__sub__ = _ew.sub  # type: ignore[method-assign,assignment]
Tensor.__mul__ = _ew.mul  # type: ignore[method-assign,assignment]

# ---- PyTorch compatibility (issue 12) --------------------------------------------------------
mark_missing_names(Tensor)
