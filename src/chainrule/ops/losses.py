"""Fused, numerically stable primitives for losses and activations: cross-entropy from logits,
log-sigmoid, softplus and binary cross-entropy on probabilities.

Each is a primitive (not a composition) because the composition overflows or loses digits at
large logits (exp(1e4) is inf), or because one fused pass is much cheaper. Backward rules are
Tensor ops on the saved inputs, so second derivatives are right. Where a first-order backward
has a cheaper NumPy form, it is used only when grad mode is off during backward (that is,
``create_graph=False``): then no graph is recorded and the two forms give the same numbers.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Primitive
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor
from . import elementwise as ew
from . import movement as mv
from . import nn as nnops


def _const(a: np.ndarray) -> Tensor:
    return Tensor._make(a)


class CrossEntropy(Primitive):
    """Cross-entropy of logits ``x`` against class indices, fused log_softmax + nll.

    Per element (class axis ``axis``): ``(1 - e) * w[y] * -logp[y] + e / C * sum_c(w_c *
    -logp_c)``, zero where ``y == ignore_index``; 'mean' divides by the sum of ``w[y]`` over the
    kept elements (PyTorch's weighted mean). Backward: ``g * ((1 - e) w[y] (p - onehot(y)) +
    e / C (p sum(w) - w))`` with ``p = softmax(x)``. The optional second input is the class
    weight, which (as in PyTorch) has no gradient.
    """

    @staticmethod
    def forward(ctx, x, *weight, target, axis, ignore_index, smoothing, reduction):
        w = weight[0] if weight else None
        n_classes = x.shape[axis]
        shifted = x - np.amax(x, axis=axis, keepdims=True)
        e = np.exp(shifted)
        total = np.sum(e, axis=axis, keepdims=True)
        logp = shifted - np.log(total)
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        index = np.expand_dims(safe, axis)
        picked = np.squeeze(np.take_along_axis(logp, index, axis), axis)
        w_y = valid.astype(x.dtype) if w is None else w[safe] * valid
        nll = -(w_y * picked)
        if smoothing > 0:
            w_b = None if w is None else w.reshape([-1 if a == axis else 1
                                                     for a in range(x.ndim)])
            smooth = -np.sum(logp if w_b is None else logp * w_b, axis=axis)
            smooth = np.where(valid, smooth, 0).astype(x.dtype, copy=False)
        ctx.axis, ctx.index, ctx.smoothing, ctx.reduction = axis, index, smoothing, reduction
        ctx.w_y = w_y
        ctx.valid = valid
        ctx.w_b = w_b if smoothing > 0 else None
        ctx.w_sum = (n_classes if w is None else np.sum(w)) if smoothing > 0 else None
        ctx.n_classes = n_classes
        ctx.save_for_backward(x, e / total)
        if reduction == "none":
            if smoothing == 0:
                return nll
            return (1 - smoothing) * nll + smooth * (smoothing / n_classes)
        scale = None
        if reduction == "mean":
            scale = np.sum(w_y)
            ctx.scale = scale
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: 0/0 = nan, as torch
            out = np.sum(nll) if scale is None else np.sum(nll) / scale
            if smoothing > 0:
                s = np.sum(smooth) if scale is None else np.sum(smooth) / scale
                out = (1 - smoothing) * out + s * (smoothing / n_classes)
        return np.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            raise RuntimeError("CrossEntropyBackward: the derivative for 'weight' is not "
                               "implemented (as in PyTorch); detach the class weights")
        x, p = ctx.saved_tensors
        axis, eps, n_classes = ctx.axis, ctx.smoothing, ctx.n_classes
        # per-element coefficients of the two terms (target-shaped, before the output gradient)
        c_nll = ctx.w_y * (1 - eps) if eps > 0 else ctx.w_y
        c_smooth = ctx.valid * (eps / n_classes) if eps > 0 else None
        if ctx.reduction == "mean":
            # every target ignored: the loss is nan (0/0) but, as in PyTorch, no element
            # received any gradient, so it is zero rather than nan
            scale = ctx.scale if ctx.scale != 0 else np.inf
            c_nll = c_nll / scale
            c_smooth = None if c_smooth is None else c_smooth / scale
        c_nll = np.expand_dims(c_nll, axis).astype(x.data.dtype, copy=False)
        if c_smooth is not None:
            c_smooth = np.expand_dims(c_smooth, axis).astype(x.data.dtype, copy=False)
        g_e = mv.unsqueeze(g, axis) if ctx.reduction == "none" else g
        if not _grad_state.enabled:
            return (Tensor._make(_ce_grad_array(p.data, g_e.data, c_nll, c_smooth, ctx)),) + (
                (None,) * (len(ctx.needs_input_grad) - 1))
        # differentiable form: softmax recomputed from the saved logits
        p = nnops.softmax(x, axis)
        onehot = np.zeros(x.data.shape, x.data.dtype)
        np.put_along_axis(onehot, ctx.index, 1, axis)
        gx = (p - _const(onehot)) * (g_e * _const(c_nll))
        if c_smooth is not None:
            w_term = p * ctx.w_sum - (1.0 if ctx.w_b is None else _const(ctx.w_b))
            gx = gx + w_term * (g_e * _const(c_smooth))
        return (gx,) + (None,) * (len(ctx.needs_input_grad) - 1)


def _ce_grad_array(p: np.ndarray, g: np.ndarray, c_nll: np.ndarray, c_smooth, ctx) -> np.ndarray:
    """The first-order cross-entropy gradient with NumPy only (no graph is being recorded)."""
    coef = g * c_nll
    gx = p * coef
    at_target = np.take_along_axis(gx, ctx.index, ctx.axis) - np.broadcast_to(
        coef, ctx.index.shape)
    np.put_along_axis(gx, ctx.index, at_target, ctx.axis)
    if c_smooth is not None:
        cs = g * c_smooth
        w = 1.0 if ctx.w_b is None else ctx.w_b
        gx += (p * ctx.w_sum - w) * cs
    return gx


class LogSigmoid(Primitive):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): exact for |x| = 1e4, never overflows.
    d/dx = sigmoid(-x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ew.sigmoid(-x)


class Softplus(Primitive):
    """log1p(exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule); exp
    only ever sees values <= threshold, so x = 1e4 does not overflow. d/dx = sigmoid(beta x)
    (1 above the threshold)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        bx = x * beta
        linear = bx > threshold
        soft = np.log1p(np.exp(np.where(linear, 0, bx))) / beta
        return np.where(linear, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return ew.where(bx > ctx.threshold, g, g * ew.sigmoid(bx))


class BinaryCrossEntropy(Primitive):
    """-(y log x + (1 - y) log(1 - x)) per element with each log clamped at -100, as PyTorch
    (so x = 0 or 1 gives a finite loss). d/dx = (x - y) / max(x (1 - x), 1e-12);
    d/dy = log(1 - x) - log(x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):  # log(0) = -inf is clamped to -100 next
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return (y - 1) * log_1mx - y * log_x

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = g * (x - y) / ew.clamp(x * (1 - x), min=1e-12) if need_x else None
        gy = g * ((-x).log1p() - x.log()) if need_y else None
        return gx, gy


def cross_entropy_indices(x: Tensor, target: np.ndarray, weight: Tensor | None, axis: int,
                          ignore_index: int, smoothing: float, reduction: str) -> Tensor:
    """The fused cross-entropy of logits ``x`` and integer class indices ``target``."""
    inputs = (x,) if weight is None else (x, weight)
    return CrossEntropy.apply(*inputs, target=target, axis=axis, ignore_index=ignore_index,
                              smoothing=float(smoothing), reduction=reduction)


def log_sigmoid(x: Tensor) -> Tensor:
    return LogSigmoid.apply(ew.floating(x))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(ew.floating(x), beta=beta, threshold=threshold)


def binary_cross_entropy(x: Tensor, y: Tensor) -> Tensor:
    """Elementwise BCE of probabilities ``x`` against targets ``y`` (same shape and dtype)."""
    return BinaryCrossEntropy.apply(x, y)
