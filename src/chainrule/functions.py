"""The ``chainrule`` namespace's functions with PyTorch's signatures: ``input=`` and the other
parameter names, ``out=``, ``keepdims=`` beside ``keepdim=``. Each calls the op it names.

``cr.matmul(input=a, other=b)``, ``cr.exp(x, out=y)``, ``cr.sum(x, 0, keepdims=True)``
"""

from __future__ import annotations

from .ops import compat as _cops
from .ops import elementwise as _ew
from .ops import linalg as _la
from .ops import movement as _mv
from .ops import nn as _nnops
from .ops import reduce as _red
from .ops import sorting as _sort
from .out import write_out
from .tensor import Tensor
from .tensor import _keepdim as _keep


# ---- elementwise ----------------------------------------------------------------------------
def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A001
    return write_out(_ew.abs(input), out, "abs")


def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.neg(input), out, "neg")


def exp(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.exp(input), out, "exp")


def log(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.log(input), out, "log")


def log2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_cops.log2(input), out, "log2")


def log10(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_cops.log10(input), out, "log10")


def log1p(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.log1p(input), out, "log1p")


def expm1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.expm1(input), out, "expm1")


def sqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.sqrt(input), out, "sqrt")


def rsqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.rsqrt(input), out, "rsqrt")


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.mul(input, input), out, "square")


def sin(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.sin(input), out, "sin")


def cos(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.cos(input), out, "cos")


def tan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.tan(input), out, "tan")


def tanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.tanh(input), out, "tanh")


def sigmoid(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.sigmoid(input), out, "sigmoid")


def erf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.erf(input), out, "erf")


def floor(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.floor(input), out, "floor")


def ceil(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.ceil(input), out, "ceil")


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:  # noqa: A001
    if decimals:
        scale = 10.0 ** decimals
        return write_out(_ew.div(_ew.round(_ew.mul(input, scale)), scale), out, "round")
    return write_out(_ew.round(input), out, "round")


def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.sign(input), out, "sign")


def reciprocal(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.reciprocal(input), out, "reciprocal")


def relu(input: Tensor) -> Tensor:
    return _ew.relu(input)


def clamp(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return write_out(_ew.clamp(input, min, max), out, "clamp")


def clip(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    return write_out(_ew.clamp(input, min, max), out, "clip")


def maximum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.maximum(input, other), out, "maximum")


def minimum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.minimum(input, other), out, "minimum")


def add(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    result = _ew.add(input, other if alpha == 1 else _ew.mul(other, alpha))
    return write_out(result, out, "add")


def sub(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    result = _ew.sub(input, other if alpha == 1 else _ew.mul(other, alpha))
    return write_out(result, out, "sub")


def mul(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.mul(input, other), out, "mul")


def div(input, other, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """True division; ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient."""
    if rounding_mode is None:
        result = _ew.div(input, other)
    elif rounding_mode == "floor":
        result = _ew.floor_divide(input, other)
    elif rounding_mode == "trunc":
        quotient = _ew.div(input, other)
        result = _ew.where(quotient < 0, _ew.ceil(quotient), _ew.floor(quotient))
        if isinstance(input, Tensor) and input.dtype.kind in "iu" and (
                not isinstance(other, Tensor) or other.dtype.kind in "iu"):
            result = _ew.cast(result, input.dtype)
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return write_out(result, out, "div")


def true_divide(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.div(input, other), out, "true_divide")


def remainder(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.remainder(input, other), out, "remainder")


def floor_divide(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.floor_divide(input, other), out, "floor_divide")


def pow(input, exponent, *, out: Tensor | None = None) -> Tensor:  # noqa: A001
    """``input ** exponent`` for a tensor or a number on either side."""
    result = input ** exponent if isinstance(input, Tensor) else Tensor.__rpow__(exponent, input)
    return write_out(result, out, "pow")


def where(condition, input=None, other=None, *, out: Tensor | None = None):
    """``input`` where ``condition`` holds, else ``other``; ``where(condition)`` alone gives
    the indices of the true elements (a tuple per dimension), as PyTorch."""
    if input is None and other is None:
        import numpy as np

        cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(cond))
    return write_out(_ew.where(condition, input, other), out, "where")


# ---- comparisons and tests ------------------------------------------------------------------
def _compare(name: str, ufunc_name: str):
    import numpy as np

    ufunc = getattr(np, ufunc_name)

    def compare(input, other, *, out: Tensor | None = None) -> Tensor:
        return write_out(_ew.compare(ufunc, input, other), out, name)

    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"Elementwise ``input {ufunc_name} other`` as a bool tensor."
    return compare


eq = _compare("eq", "equal")
ne = _compare("ne", "not_equal")
lt = _compare("lt", "less")
le = _compare("le", "less_equal")
gt = _compare("gt", "greater")
ge = _compare("ge", "greater_equal")


def isnan(input: Tensor) -> Tensor:
    return input.isnan()


def isinf(input: Tensor) -> Tensor:
    return input.isinf()


def isfinite(input: Tensor) -> Tensor:
    return input.isfinite()


def logical_and(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.logical_and(input, other), out, "logical_and")


def logical_or(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.logical_or(input, other), out, "logical_or")


def logical_xor(input, other, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.logical_xor(input, other), out, "logical_xor")


def logical_not(input, *, out: Tensor | None = None) -> Tensor:
    return write_out(_ew.logical_not(input), out, "logical_not")


isclose = _cops.isclose
allclose = _cops.allclose
equal = _cops.equal


def tril(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    return write_out(_cops.tril(input, diagonal), out, "tril")


def triu(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    return write_out(_cops.triu(input, diagonal), out, "triu")


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0, *,  # noqa: A002
          out: Tensor | None = None) -> Tensor:
    return write_out(_cops.histc(input, bins, min, max), out, "histc")


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,  # noqa: A002
              density: bool = False, out=None):
    result = _cops.histogram(input, bins, range=range, weight=weight, density=density)
    if out is None:
        return result
    return _cops.Histogram(write_out(result.hist, out[0], "histogram"),
                           write_out(result.bin_edges, out[1], "histogram"))


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return _ew.clone(input)


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


# ---- reductions -----------------------------------------------------------------------------
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,  # noqa: A001
        out: Tensor | None = None, keepdims: bool | None = None) -> Tensor:
    return write_out(_red.sum(input, dim, _keep(keepdim, keepdims, "sum"), dtype), out, "sum")


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         out: Tensor | None = None, keepdims: bool | None = None) -> Tensor:
    return write_out(_red.mean(input, dim, _keep(keepdim, keepdims, "mean"), dtype), out, "mean")


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         keepdims: bool | None = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return _red.prod(x, dim, _keep(keepdim, keepdims, "prod"))


def amax(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None,
         keepdims: bool | None = None) -> Tensor:
    result = _red.amax(input, () if dim is None else dim, _keep(keepdim, keepdims, "amax"))
    return write_out(result, out, "amax")


def amin(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None,
         keepdims: bool | None = None) -> Tensor:
    result = _red.amin(input, () if dim is None else dim, _keep(keepdim, keepdims, "amin"))
    return write_out(result, out, "amin")


def max(input: Tensor, dim=None, keepdim: bool = False, *, out=None,  # noqa: A001
        keepdims: bool | None = None):
    """The largest value; with ``dim``, (values, indices); with a tensor, elementwise max."""
    if isinstance(dim, Tensor):
        return write_out(_ew.maximum(input, dim), out, "max")
    result = _red.max(input, dim, _keep(keepdim, keepdims, "max"))
    return result if out is None or dim is not None else write_out(result, out, "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, out=None,  # noqa: A001
        keepdims: bool | None = None):
    """The smallest value; with ``dim``, (values, indices); with a tensor, elementwise min."""
    if isinstance(dim, Tensor):
        return write_out(_ew.minimum(input, dim), out, "min")
    result = _red.min(input, dim, _keep(keepdim, keepdims, "min"))
    return result if out is None or dim is not None else write_out(result, out, "min")


def argmax(input: Tensor, dim=None, keepdim: bool = False, *,
           keepdims: bool | None = None) -> Tensor:
    return _red.argmax(input, dim, _keep(keepdim, keepdims, "argmax"))


def argmin(input: Tensor, dim=None, keepdim: bool = False, *,
           keepdims: bool | None = None) -> Tensor:
    return _red.argmin(input, dim, _keep(keepdim, keepdims, "argmin"))


def var(input: Tensor, dim=None, *, correction=1, keepdim: bool = False,
        out: Tensor | None = None, unbiased: bool | None = None,
        keepdims: bool | None = None) -> Tensor:
    result = _red.var(input, dim, correction=correction, keepdim=_keep(keepdim, keepdims, "var"),
                      unbiased=unbiased)
    return write_out(result, out, "var")


def std(input: Tensor, dim=None, *, correction=1, keepdim: bool = False,
        out: Tensor | None = None, unbiased: bool | None = None,
        keepdims: bool | None = None) -> Tensor:
    result = _red.std(input, dim, correction=correction, keepdim=_keep(keepdim, keepdims, "std"),
                      unbiased=unbiased)
    return write_out(result, out, "std")


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out: Tensor | None = None,
         dtype=None, *, keepdims: bool | None = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return write_out(_red.norm(x, p, dim, _keep(keepdim, keepdims, "norm")), out, "norm")


def logsumexp(input: Tensor, dim, keepdim: bool = False, *, out: Tensor | None = None,
              keepdims: bool | None = None) -> Tensor:
    result = _red.logsumexp(input, dim, _keep(keepdim, keepdims, "logsumexp"))
    return write_out(result, out, "logsumexp")


def cumsum(input: Tensor, dim: int, *, dtype=None, out: Tensor | None = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return write_out(_red.cumsum(x, dim), out, "cumsum")


def all(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None,  # noqa: A001
        keepdims: bool | None = None) -> Tensor:
    return write_out(_red.all(input, dim, _keep(keepdim, keepdims, "all")), out, "all")


def any(input: Tensor, dim=None, keepdim: bool = False, *, out: Tensor | None = None,  # noqa: A001
        keepdims: bool | None = None) -> Tensor:
    return write_out(_red.any(input, dim, _keep(keepdim, keepdims, "any")), out, "any")


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    return _nnops.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    return _nnops.log_softmax(input, dim, dtype)


# ---- linear algebra -------------------------------------------------------------------------
def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_la.matmul(input, other), out, "matmul")


def mm(input: Tensor, mat2: Tensor, out_dtype=None, *, out: Tensor | None = None) -> Tensor:
    result = _la.mm(input, mat2)
    return write_out(result if out_dtype is None else result.to(out_dtype), out, "mm")


def bmm(input: Tensor, mat2: Tensor, out_dtype=None, *, out: Tensor | None = None) -> Tensor:
    result = _la.bmm(input, mat2)
    return write_out(result if out_dtype is None else result.to(out_dtype), out, "bmm")


def dot(input: Tensor, tensor: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_la.dot(input, tensor), out, "dot")


def outer(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_la.outer(input, vec2), out, "outer")


# ---- shape ----------------------------------------------------------------------------------
def reshape(input: Tensor, shape) -> Tensor:
    return _mv.reshape(input, shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _mv.flatten(input, start_dim, end_dim)


def squeeze(input: Tensor, dim=None) -> Tensor:
    return _mv.squeeze(input, dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return _mv.unsqueeze(input, dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return _mv.transpose(input, dim0, dim1)


def permute(input: Tensor, dims) -> Tensor:
    return _mv.permute(input, dims)


def flip(input: Tensor, dims) -> Tensor:
    return _mv.flip(input, dims)


def tile(input: Tensor, dims) -> Tensor:
    return _mv.tile(input, dims)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out: Tensor | None = None) -> Tensor:
    return write_out(_mv.gather(input, dim, index), out, "gather")


def index_select(input: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_mv.index_select(input, dim, index), out, "index_select")


def cat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    return write_out(_mv.cat(tensors, dim), out, "cat")


def concat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    return write_out(_mv.cat(tensors, dim), out, "concat")


def concatenate(tensors, axis: int = 0, out: Tensor | None = None) -> Tensor:
    return write_out(_mv.cat(tensors, axis), out, "concatenate")


def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    return write_out(_mv.stack(tensors, dim), out, "stack")


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    return _mv.split(tensor, split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    return _mv.chunk(input, chunks, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    return _mv.unbind(input, dim)


def tensor_split(input: Tensor, indices_or_sections=None, dim: int = 0, *,
                 sections: int | None = None, indices=None) -> tuple:
    """``n`` near-equal pieces or the pieces between indices, as PyTorch's (its ``sections=``
    and ``indices=`` keyword forms too): ``cr.tensor_split(x, [2, 5], dim=1)``"""
    given = [v for v in (indices_or_sections, sections, indices) if v is not None]
    if len(given) != 1:
        raise TypeError("tensor_split() takes exactly one of indices_or_sections, sections and "
                        f"indices, got {len(given)}")
    return _mv.tensor_split(input, given[0], dim)


# ---- more of the torch namespace, as compositions of the ops above ---------------------------
def exp2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(Tensor.__rpow__(_ew.floating(input), 2.0), out, "exp2")


def erfc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(1.0 - _ew.erf(input), out, "erfc")


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    return _mv.transpose(input, axis0, axis1)


def movedim(input: Tensor, source, destination) -> Tensor:
    return input.movedim(source, destination)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    return input.narrow(dim, start, length)


def broadcast_to(input: Tensor, size) -> Tensor:
    return _mv.expand(input, tuple(size))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """The tensors expanded to one broadcast shape: ``a, b = cr.broadcast_tensors(a, b)``."""
    import numpy as np

    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(_mv.expand(t, shape) for t in tensors)


def _at_least(tensors, ndim: int) -> list:
    out = []
    for t in tensors:
        while t.ndim < ndim:
            t = _mv.unsqueeze(t, 0 if t.ndim == 0 or ndim == 2 else t.ndim)
        out.append(t)
    return out


def hstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors), as ``numpy.hstack``."""
    tensors = _at_least(tensors, 1)
    return write_out(_mv.cat(tensors, 0 if tensors[0].ndim == 1 else 1), out, "hstack")


def vstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 0 after making 1-D tensors rows: ``cr.vstack([a, b])``."""
    tensors = [_mv.unsqueeze(t, 0) if t.ndim == 1 else t for t in _at_least(tensors, 1)]
    return write_out(_mv.cat(tensors, 0), out, "vstack")


def dstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Join along dim 2 after making tensors at least 3-D, as ``numpy.dstack``."""
    shaped = []
    for t in _at_least(tensors, 1):
        if t.ndim == 1:
            t = _mv.unsqueeze(_mv.unsqueeze(t, 0), 2)
        elif t.ndim == 2:
            t = _mv.unsqueeze(t, 2)
        shaped.append(t)
    return write_out(_mv.cat(shaped, 2), out, "dstack")


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where the bool ``mask`` (broadcast) is True."""
    return _ew.masked_fill(input, mask, value)


def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The elements where ``mask`` (broadcast) holds, as a 1-D tensor."""
    x, m = broadcast_tensors(input, mask)
    return write_out(_mv.getitem(x, m._data.astype(bool)), out, "masked_select")


def nonzero(input: Tensor, *, out: Tensor | None = None, as_tuple: bool = False):
    """Indices of the non-zero elements: one row per element (``as_tuple``: one per dim)."""
    import numpy as np

    if input.ndim == 0:  # PyTorch treats a 0-d tensor as having one element and no dims
        hits = np.arange(int(input._data != 0))
        if as_tuple:
            return (Tensor._make(np.zeros(hits.size, np.int64)),)
        return write_out(Tensor._make(np.zeros((hits.size, 0), np.int64)), out, "nonzero")
    where_nonzero = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in where_nonzero)
    rows = np.stack(where_nonzero, axis=1)
    return write_out(Tensor._make(rows.astype(np.int64)), out, "nonzero")


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    import numpy as np

    axis = tuple(dim) if isinstance(dim, (list, tuple)) else dim
    return Tensor._make(np.asarray(np.count_nonzero(input._data, axis=axis), dtype=np.int64))


# ---- ordering, scatter and friends (issue 13) ------------------------------------------------
def _write_pair(result, out, op: str):
    """``out=(values, indices)`` of sort and topk, as PyTorch."""
    if out is None:
        return result
    values, indices = out
    return type(result)(write_out(result.values, values, op),
                        write_out(result.indices, indices, op))


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False,
         out=None):
    """``values, indices = cr.sort(x, dim=1)``; equal values keep their input order."""
    return _write_pair(_sort.sort(input, dim, descending, stable), out, "sort")


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    return _sort.argsort(input, dim, descending, stable)


def msort(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(_sort.msort(input), out, "msort")


def topk(input: Tensor, k: int, dim: int | None = None, largest: bool = True, sorted: bool = True,  # noqa: A002
         *, out=None):
    """``values, indices = cr.topk(x, 3)``: the k largest along the last dim, in order."""
    return _write_pair(_sort.topk(input, k, dim, largest, sorted), out, "topk")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None, out: Tensor | None = None) -> Tensor:
    """``input`` with ``src`` (a tensor or a number) written at ``index`` along ``dim``."""
    return write_out(_mv.scatter(input, dim, index, src, value=value, reduce=reduce), out,
                     "scatter")


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, *,
                out: Tensor | None = None) -> Tensor:
    return write_out(_mv.scatter_add(input, dim, index, src), out, "scatter_add")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1,
              out: Tensor | None = None) -> Tensor:
    return write_out(_mv.index_add(input, dim, index, source, alpha=alpha), out, "index_add")


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    return _mv.repeat_interleave(input, repeats, dim, output_size=output_size)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    return _mv.roll(input, shifts, dims)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, out_dtype=None, *, beta=1, alpha=1,
            out: Tensor | None = None) -> Tensor:
    result = _la.baddbmm(input, batch1, batch2, beta=beta, alpha=alpha)
    return write_out(result if out_dtype is None else result.to(out_dtype), out, "baddbmm")

