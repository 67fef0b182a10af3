"""Matrix products: matmul (batched, broadcasting), mm, bmm, dot, outer, einsum."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..autograd.function import Primitive
from ..tensor import Tensor
from . import elementwise as ew
from . import movement as mv
from . import vocab as V


def rows(a: np.ndarray) -> np.ndarray | None:
    """``a`` (at least 1-D) as a 2-D view with its leading dimensions merged, or None when
    that would need a copy: ``rows(x)`` of a (16, 64, 128) array is (1024, 128)."""
    shape = (math.prod(a.shape[:-1]), a.shape[-1])
    if a.flags.c_contiguous:
        return a.reshape(shape)
    try:
        return a.reshape(shape, copy=False)
    except ValueError:
        return None


def matmul_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)``, with ``a``'s batch dimensions folded into one GEMM when ``b`` is
    2-D: NumPy would loop over them (1.4x slower for (16, 64, 128) @ (128, 384)). A batch of
    small transposed matrices ``b`` (attention's ``k.transpose(-2, -1)``) is copied to row
    order first: OpenBLAS multiplies 64 x 32 by 32 x 64 1.3x faster so, copy included."""
    if b.ndim == 2 and a.ndim > 2:
        a2 = rows(a)
        if a2 is not None:
            return np.matmul(a2, b).reshape(a.shape[:-1] + b.shape[1:])
    if (b.ndim > 2 and b.strides[-2] == b.itemsize and b.shape[-2] * b.shape[-1] <= 4096
            and b.shape[-1] > 1):
        b = np.ascontiguousarray(b)
    return np.matmul(a, b)


@functools.lru_cache(maxsize=64)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones, kept: a training loop sums rows of the same lengths
    every step (a GPT step ~80 times), and ``np.ones`` costs more than the product for small
    ``n``."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def sum_rows(a, axes: tuple, keepdim: bool = False):
    """``V.sum(a, axes, keepdim)``; for a C-contiguous float array summed over its leading or
    its trailing axes, one product with a vector of ones (BLAS's gemv is 3-4x faster than
    NumPy's reduction over rows of 64 to 1024). ``sum_rows(g2, (0,))``"""
    if V.is_tensor(a) or a.dtype.kind != "f" or not a.flags.c_contiguous or a.size == 0:
        return V.sum(a, axes, keepdim)
    k, nd = len(axes), a.ndim
    if tuple(axes) == tuple(range(nd - k, nd)):
        n = math.prod(a.shape[nd - k:])
        total = a.reshape(-1, n) @ _ones(n, a.dtype)
        return total.reshape(a.shape[:nd - k] + ((1,) * k if keepdim else ()))
    if tuple(axes) == tuple(range(k)):
        n = math.prod(a.shape[:k])
        total = _ones(n, a.dtype) @ a.reshape(n, -1)
        return total.reshape(((1,) * k if keepdim else ()) + a.shape[k:])
    return V.sum(a, axes, keepdim)


class Matmul(Primitive):
    """Both operands at least 2-D; batch dimensions broadcast (the rule sums them back)."""

    torch_name = "MmBackward0"
    elementwise = False
    formula = "{0} @ {1}"
    derivatives = ("g @ {1}ᵀ", "{0}ᵀ @ g")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return matmul_arrays(x, y)

    @staticmethod
    def backward(ctx, g, x, y):
        need_x, need_y = ctx.needs_input_grad
        gx = V.sum_to(V.matmul(g, V.mT(y)), x.shape) if need_x else None
        gy = None
        if need_y:
            if len(y.shape) == 2 and len(x.shape) > 2:
                # the sum over the batch of x_b^T g_b is one product of the stacked rows
                x = V.reshape(x, (math.prod(x.shape[:-1]), x.shape[-1]))
                g = V.reshape(g, (math.prod(g.shape[:-1]), g.shape[-1]))
            yd = V.data(y)
            if yd.ndim == 2 and yd.flags.f_contiguous and not yd.flags.c_contiguous:
                # y is a transposed weight (x @ W.T): (g^T x)^T is the same sum, laid out so
                # that W's gradient comes back contiguous
                gy = V.mT(V.sum_to(V.matmul(V.mT(g), x), y.shape[::-1]))
            else:
                gy = V.sum_to(V.matmul(V.mT(x), g), y.shape)
        return gx, gy


def matmul(x, y) -> Tensor:
    """``x @ y`` with NumPy's and PyTorch's rules for 1-D operands and batch broadcasting."""
    x, y = ew.operands(x, y)
    if x._data.ndim == 0 or y._data.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need to be at least 1D, but they are "
                           f"{x._data.ndim}D and {y._data.ndim}D")
    x2 = mv.unsqueeze(x, 0) if x._data.ndim == 1 else x
    y2 = mv.unsqueeze(y, -1) if y._data.ndim == 1 else y
    if x2._data.shape[-1] != y2._data.shape[-2]:
        raise RuntimeError(f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be "
                           f"multiplied ({x2._data.shape[-1]} != {y2._data.shape[-2]})")
    try:
        np.broadcast_shapes(x2._data.shape[:-2], y2._data.shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: batch dimensions of {tuple(x.shape)} and {tuple(y.shape)} "
                           "do not broadcast") from None
    out = Matmul.apply(x2, y2)
    if y._data.ndim == 1:
        out = mv.squeeze(out, -1)
    if x._data.ndim == 1:
        out = mv.squeeze(out, -2 if y._data.ndim > 1 else -1)
    return out


def mm(x: Tensor, y: Tensor) -> Tensor:
    if x._data.ndim != 2 or y._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(x.shape)} and "
                           f"{tuple(y.shape)}")
    return matmul(x, y)


def bmm(x: Tensor, y: Tensor) -> Tensor:
    if x._data.ndim != 3 or y._data.ndim != 3 or x._data.shape[0] != y._data.shape[0]:
        raise RuntimeError(f"bmm: expected 3-D tensors with the same batch size, got shapes "
                           f"{tuple(x.shape)} and {tuple(y.shape)}")
    return matmul(x, y)


def dot(x: Tensor, y: Tensor) -> Tensor:
    if x._data.ndim != 1 or y._data.ndim != 1 or x._data.shape != y._data.shape:
        raise RuntimeError(f"dot: expected two 1-D tensors of the same size, got shapes "
                           f"{tuple(x.shape)} and {tuple(y.shape)}")
    return matmul(x, y)


def outer(x: Tensor, y: Tensor) -> Tensor:
    if x._data.ndim != 1 or y._data.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {tuple(x.shape)} and "
                           f"{tuple(y.shape)}")
    return ew.mul(mv.unsqueeze(x, 1), mv.unsqueeze(y, 0))


# ---- einsum ----------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation: str, shapes: list) -> tuple[list[str], str]:
    """Explicit subscripts (ellipses spelled out as letters) and the output subscript."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation has {len(terms)} operands but "
                         f"{len(shapes)} tensors were given")
    used = set(equation) - set(".,->")
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_rank = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                         if "..." in t), default=0)
    ellipsis = "".join(spare[:ellipsis_rank])
    subscripts = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            n = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ellipsis[ellipsis_rank - n:])
        if len(t) != len(s):
            raise ValueError(f"einsum: the subscript {t!r} has {len(t)} letters for an operand "
                             f"of shape {tuple(s)}")
        if len(set(t)) != len(t):
            raise NotImplementedError(f"einsum: repeated subscripts within one operand ({t!r}, "
                                      "a diagonal) are not supported")
        subscripts.append(t)
    if arrow:
        out = rhs.replace("...", ellipsis)
    else:
        counts = {c: "".join(subscripts).count(c) for c in set("".join(subscripts))}
        out = ellipsis + "".join(sorted(c for c, n in counts.items()
                                        if n == 1 and c not in ellipsis))
    return subscripts, out


class Einsum(Primitive):
    torch_name = "ViewBackward0"
    elementwise = False
    formula = "einsum({inputs})"
    derivatives = ("g contracted with the others",)

    @staticmethod
    def forward(ctx, *arrays, subscripts, out):
        ctx.subscripts, ctx.out = subscripts, out
        ctx.save_for_backward(*arrays)
        return np.einsum(",".join(subscripts) + "->" + out, *arrays, optimize=len(arrays) > 2)

    @staticmethod
    def backward(ctx, g, *operands):
        grads = []
        for i, (sub, needed) in enumerate(zip(ctx.subscripts, ctx.needs_input_grad)):
            if not needed:
                grads.append(None)
                continue
            others = [(s, t) for j, (s, t) in enumerate(zip(ctx.subscripts, operands)) if j != i]
            present = set(ctx.out).union(*[set(s) for s, _ in others])
            kept = "".join(c for c in sub if c in present)  # letters summed away in x alone
            gi = V.apply(Einsum, g, *[t for _, t in others], subscripts=[ctx.out] + [
                s for s, _ in others], out=kept)
            shape = ctx.input_shape(i)
            if kept != sub:  # broadcast over the letters that only this operand had
                gi = V.expand(V.reshape(gi, tuple(shape[k] if c in present else 1
                                                  for k, c in enumerate(sub))), shape)
            grads.append(gi)
        return tuple(grads)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``cr.einsum("bij,bjk->bik", x, y)``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    dtype = operands[0]._data.dtype
    for t in operands[1:]:
        dtype = np.promote_types(dtype, t._data.dtype)
    inputs = [ew.cast(t, dtype) for t in operands]
    subscripts, out = _parse_einsum(equation, [t._data.shape for t in inputs])
    return Einsum.apply(*inputs, subscripts=subscripts, out=out)


class Baddbmm(Primitive):
    """``beta * x + alpha * (b1 @ b2)`` in one op, ``x`` broadcast to the product's shape.
    With ``beta=0`` x is not read (its NaN and Inf do not propagate) and its gradient is
    ``0 * g``, as PyTorch's."""

    torch_name = "BaddbmmBackward0"
    elementwise = False
    formula = "{beta}·{0} + {alpha}·{1} @ {2}"
    derivatives = ("beta·g summed to {0}'s shape", "alpha·g @ {2}ᵀ", "alpha·{1}ᵀ @ g")

    @staticmethod
    def forward(ctx, x, b1, b2, beta, alpha):
        ctx.beta, ctx.alpha = beta, alpha
        ctx.save_for_backward(b1, b2)
        out = np.matmul(b1, b2)
        if alpha != 1:
            out *= alpha
        if beta != 0:
            out += x if beta == 1 else beta * x
        return out

    @staticmethod
    def backward(ctx, g, b1, b2):
        need_x, need_1, need_2 = ctx.needs_input_grad
        gx = V.sum_to(g if ctx.beta == 1 else g * ctx.beta, ctx.input_shape(0)) if need_x else None
        ga = g if ctx.alpha == 1 else g * ctx.alpha
        return (gx, V.matmul(ga, V.mT(b2)) if need_1 else None,
                V.matmul(V.mT(b1), ga) if need_2 else None)


def baddbmm(x: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * x + alpha * (batch1 @ batch2)`` over batches of matrices; with ``beta=0`` x
    is ignored (its NaN and Inf do not propagate), as PyTorch:
    ``cr.baddbmm(scores, q, k.mT, beta=0, alpha=scale)``."""
    if batch1._data.ndim != 3 or batch2._data.ndim != 3:
        raise RuntimeError(f"baddbmm: batch1 must be a 3D tensor and batch2 must be a 3D tensor "
                           f"(got shapes {tuple(batch1.shape)} and {tuple(batch2.shape)})")
    b, n, m = batch1._data.shape
    if batch2._data.shape[:2] != (b, m):
        raise RuntimeError(f"baddbmm: Expected size for first two dimensions of batch2 tensor to "
                           f"be: [{b}, {m}] but got: [{batch2.shape[0]}, {batch2.shape[1]}] "
                           f"(batch1 {tuple(batch1.shape)})")
    shape = (b, n, batch2._data.shape[2])
    if not _sums_to_shape(x._data.shape, shape):
        raise RuntimeError(f"baddbmm: input of shape {tuple(x.shape)} does not broadcast to the "
                           f"product's shape {shape}")
    if not x._data.dtype == batch1._data.dtype == batch2._data.dtype:
        raise RuntimeError(f"baddbmm: Input dtypes must be the same, got: input "
                           f"{x._data.dtype}, batch1: {batch1._data.dtype}, batch2: "
                           f"{batch2._data.dtype} (shapes {tuple(x.shape)}, "
                           f"{tuple(batch1.shape)}, {tuple(batch2.shape)})")
    return Baddbmm.apply(x, batch1, batch2, beta=beta, alpha=alpha)


def _sums_to_shape(shape: tuple, target: tuple) -> bool:
    lead = len(target) - len(shape)
    return lead >= 0 and all(s in (1, t) for s, t in zip(shape, target[lead:]))
