"""Layer primitives: the fused linear map, constant padding and the embedding lookup, which
``nn.functional`` (``F.linear``, ``F.pad``, ``F.embedding``) applies. Rules are written once for
arrays and Tensors (``ops/vocab.py``), so second derivatives work.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Primitive
from . import vocab as V
from .linalg import matmul_arrays, sum_rows


class Linear(Primitive):
    """``x @ w.T + b`` in one op: one matmul and an in-place bias add forward, three products
    backward (gx = g w, gw = g^T x, gb = sum g), for ``x`` of shape (*, in) and ``w`` (out, in).
    A primitive for speed: the composition records a transpose, a matmul and an add. The
    leading dimensions of x and g are folded into the rows of single GEMMs."""

    torch_name = "AddmmBackward0"
    elementwise = False
    formula = "linear({inputs})"
    derivatives = ("g @ {1}", "gᵀ @ {0}", "g summed over the batch")

    @staticmethod
    def forward(ctx, x, w, *b):
        ctx.save_for_backward(x, w)
        out = matmul_arrays(x, w.T)
        if b:
            out += b[0]
        return out

    @staticmethod
    def backward(ctx, g, x, w):
        needs = ctx.needs_input_grad
        if x.ndim == 2:  # the common case: already rows, no reshapes
            g2, x2 = g, x
        else:
            n_out, n_in = w.shape
            lead = math.prod(x.shape[:-1])
            g2 = V.reshape(g, (lead, n_out))  # one copy if g is not contiguous
            x2 = V.reshape(x, (lead, n_in))
        gx = V.matmul(g2, w) if needs[0] else None
        if gx is not None and x.ndim != 2:
            gx = V.reshape(gx, tuple(x.shape))
        gw = V.matmul(V.mT(g2), x2) if needs[1] else None
        gb = sum_rows(g2, (0,)) if len(needs) > 2 and needs[2] else None
        return (gx, gw) if len(needs) == 2 else (gx, gw, gb)


class ConstantPad(Primitive):
    """Pad each dimension by ``(before, after)`` elements of ``value``; negative amounts crop.
    Backward is the same op with the amounts negated: cropping what was padded."""

    torch_name = "ConstantPadNdBackward0"
    elementwise = False
    formula = "pad({0})"
    derivatives = ("g with the padding cut off",)

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        crop = tuple(slice(max(-b, 0), s - max(-a, 0)) for (b, a), s in zip(widths, x.shape))
        grow = [(max(b, 0), max(a, 0)) for b, a in widths]
        return np.pad(x[crop], grow, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return V.apply(ConstantPad, g, widths=tuple((-b, -a) for b, a in ctx.widths), value=0)


class Embedding(Primitive):
    """Rows of ``w`` at integer ``indices``: output shape ``indices.shape + (dim,)``.
    Backward adds each output row's gradient into its row of ``w`` (repeats accumulate); the
    ``padding_idx`` row gets none, and ``scale`` divides each row's gradient (frequencies)."""

    torch_name = "EmbeddingBackward0"
    elementwise = False
    formula = "embedding({0})"
    derivatives = ("g summed into the used rows",)

    @staticmethod
    def forward(ctx, w, indices, padding_idx, scale):
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale
        return np.take(w, indices, axis=0)

    @staticmethod
    def backward(ctx, g):
        keep = None
        if ctx.padding_idx is not None:
            keep = (ctx.indices != ctx.padding_idx)[..., None]
        if ctx.scale is not None:
            keep = ctx.scale[..., None] if keep is None else keep * ctx.scale[..., None]
        if keep is not None:
            g = g * keep.astype(g.dtype)
        return V.apply(EmbeddingBackward, g, indices=ctx.indices, rows=ctx.input_shape(0)[0])


class EmbeddingBackward(Primitive):
    """Sum rows of ``g`` into a (rows, dim) zero matrix at ``indices`` (the lookup's adjoint)."""

    torch_name = "EmbeddingDenseBackwardBackward0"
    elementwise = False
    formula = "embedding_dense_backward({0})"
    derivatives = ("g's rows looked up at the indices",)

    @staticmethod
    def forward(ctx, g, indices, rows):
        ctx.indices = indices
        dim = g.shape[-1]
        flat = indices.reshape(-1)
        out = np.zeros((rows, dim), g.dtype)
        if flat.size:
            # the rows of each index summed in one reduction: 3x faster than np.add.at
            order = np.argsort(flat, kind="stable")
            ordered = flat[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            out[ordered[starts]] = np.add.reduceat(g.reshape(flat.size, dim)[order], starts,
                                                   axis=0)
        return out

    @staticmethod
    def backward(ctx, gg):
        return V.apply(Embedding, gg, indices=ctx.indices, padding_idx=None, scale=None)
