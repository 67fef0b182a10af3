"""Layer primitives: the fused linear map, constant padding and the embedding lookup, which
``nn.functional`` (``F.linear``, ``F.pad``, ``F.embedding``) applies. Backward rules are Tensor
ops, so second derivatives work; the linear map's first-order backward takes a NumPy shortcut
when grad mode is off during backward (``create_graph=False``), with the same numbers.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Primitive
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor
from . import linalg as la
from . import movement as mv
from . import reduce as red


class Linear(Primitive):
    """``x @ w.T + b`` in one op: one matmul and an in-place bias add forward, three products
    backward (gx = g w, gw = g^T x, gb = sum g), for ``x`` of shape (*, in) and ``w`` (out, in).
    A primitive for speed: the composition records a transpose, a matmul and an add."""

    torch_name = "AddmmBackward0"
    elementwise = False
    formula = "linear({inputs})"
    derivatives = ("g @ {1}", "gᵀ @ {0}", "g summed over the batch")

    @staticmethod
    def forward(ctx, x, w, *b):
        ctx.save_for_backward(x, w)
        out = np.matmul(x, w.T)
        if b:
            out += b[0]
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        n_in, n_out = w._data.shape[1], w._data.shape[0]
        gx = gw = gb = None
        if not _grad_state.enabled:
            gd = g._data
            g2 = gd.reshape(-1, n_out)
            if needs[0]:
                gx = Tensor._make(np.matmul(gd, w._data))
            if needs[1]:
                gw = Tensor._make(np.matmul(g2.T, x._data.reshape(-1, n_in)))
            if len(needs) > 2 and needs[2]:
                gb = Tensor._make(g2.sum(0))
        else:
            g2 = mv.reshape(g, (-1, n_out))
            if needs[0]:
                gx = la.matmul(g, w)
            if needs[1]:
                gw = la.matmul(mv.transpose(g2, 0, 1), mv.reshape(x, (-1, n_in)))
            if len(needs) > 2 and needs[2]:
                gb = red.sum(g2, 0)
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
        return ConstantPad.apply(g, widths=tuple((-b, -a) for b, a in ctx.widths), value=0)


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
            g = g * Tensor._make(keep.astype(g._data.dtype))
        return EmbeddingBackward.apply(g, indices=ctx.indices, rows=ctx.input_shape(0)[0])


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
        np.add.at(out, flat, g.reshape(-1, dim))
        return out

    @staticmethod
    def backward(ctx, gg):
        return Embedding.apply(gg, indices=ctx.indices, padding_idx=None, scale=None)
