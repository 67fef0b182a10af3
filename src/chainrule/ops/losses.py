"""Fused, numerically stable primitives for losses and activations: cross-entropy from logits,
log-sigmoid, softplus and binary cross-entropy on probabilities.

Each is a primitive (not a composition) because the composition overflows or loses digits at
large logits (exp(1e4) is inf), or because one fused pass is much cheaper. Rules are written
once for arrays and Tensors (``vocab``); cross-entropy keeps a fused NumPy form for array mode
beside its differentiable form (the op table checks that both give PyTorch's numbers).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Primitive
from ..tensor import Tensor
from . import nn as nnops
from . import vocab as V


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

    torch_name = "NllLossBackward0"
    elementwise = False
    formula = "CrossEntropy({inputs})"
    derivatives = ("g·(softmax({0}) - one_hot(target)), averaged as the loss was",)

    @staticmethod
    def forward(ctx, x, *weight, target, axis, ignore_index, smoothing, reduction):
        w = weight[0] if weight else None
        n_classes = x.shape[axis]
        shifted, e, total = nnops.shifted_exp(x, axis)
        logp = shifted - np.log(total)
        valid = target != ignore_index
        all_valid = bool(valid.all())
        safe = target if all_valid else np.where(valid, target, 0)
        picked = _at_targets(logp, safe, axis)
        # w_y: each element's weight (0 where ignored); None stands for "all ones"
        if w is None:
            w_y = None if all_valid else valid.astype(x.dtype)
        else:
            w_y = w[safe] if all_valid else w[safe] * valid
        nll = -picked if w_y is None else -(w_y * picked)
        ctx.axis, ctx.safe, ctx.smoothing, ctx.reduction = axis, safe, smoothing, reduction
        ctx.w_y, ctx.valid, ctx.n_classes = w_y, valid, n_classes
        ctx.w_b = ctx.w_sum = None
        if smoothing > 0:
            w_b = None if w is None else w.reshape([-1 if a == axis else 1
                                                     for a in range(x.ndim)])
            smooth = -np.sum(logp if w_b is None else logp * w_b, axis=axis)
            if not all_valid:
                smooth = np.where(valid, smooth, 0).astype(x.dtype, copy=False)
            ctx.w_b, ctx.w_sum = w_b, (n_classes if w is None else np.sum(w))
        ctx.save_for_backward(x, e / total)
        if reduction == "none":
            if smoothing == 0:
                return nll
            return (1 - smoothing) * nll + smooth * (smoothing / n_classes)
        out = nll.sum()
        if smoothing > 0:
            smooth_sum = smooth.sum()
        if reduction == "mean":
            scale = target.size if w_y is None else w_y.sum()
            ctx.scale = scale
            if scale == 0:  # every target ignored: 0/0, nan as in PyTorch
                return np.asarray(np.nan, x.dtype)
            out = out / scale
            if smoothing > 0:
                smooth_sum = smooth_sum / scale
        if smoothing > 0:
            out = (1 - smoothing) * out + smooth_sum * (smoothing / n_classes)
        return np.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g, x, p):
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            raise RuntimeError("CrossEntropyBackward: the derivative for 'weight' is not "
                               "implemented (as in PyTorch); detach the class weights")
        axis, eps, dtype = ctx.axis, ctx.smoothing, x.dtype
        none = (None,) * (len(ctx.needs_input_grad) - 1)
        # per-element coefficients of the two terms, before the output gradient: arrays
        # shaped like x with the class axis of size 1, or plain numbers
        c_nll = 1.0 - eps if ctx.w_y is None else ctx.w_y * (1 - eps)
        c_smooth = None
        if eps > 0:
            c_smooth = eps / ctx.n_classes if ctx.w_y is None else ctx.valid * (
                eps / ctx.n_classes)
        if ctx.reduction == "mean":
            # all ignored: the loss is nan but no element received a gradient, so it is zero
            # (as in PyTorch) rather than nan
            scale = ctx.scale if ctx.scale != 0 else np.inf
            c_nll = c_nll / scale
            c_smooth = None if c_smooth is None else c_smooth / scale
        c_nll = _class_axis(c_nll, axis, dtype)
        c_smooth = None if c_smooth is None else _class_axis(c_smooth, axis, dtype)
        g_e = V.reshape(g, g.shape[:axis] + (1,) + g.shape[axis:]) if (
            ctx.reduction == "none") else g
        if not V.is_tensor(g):
            return (_ce_grad_array(p, g_e, c_nll, c_smooth, ctx),) + none
        # differentiable form: softmax recomputed from the saved logits
        p = nnops.softmax(x, axis)
        onehot = np.zeros(x.shape, dtype)
        _add_at_targets(onehot, ctx.safe, axis, 1)
        gx = (p - _const(onehot)) * (g_e * _const(c_nll))
        if c_smooth is not None:
            w_term = p * ctx.w_sum - (1.0 if ctx.w_b is None else _const(ctx.w_b))
            gx = gx + w_term * (g_e * _const(c_smooth))
        return (gx,) + none


def _class_axis(c, axis: int, dtype) -> np.ndarray:
    """A per-element coefficient as an array that broadcasts against x (class axis of 1)."""
    c = np.asarray(c)
    return (np.expand_dims(c, axis) if c.ndim else c).astype(dtype, copy=False)


def _at_targets(a: np.ndarray, safe: np.ndarray, axis: int) -> np.ndarray:
    """``a``'s entries at the target classes (the class axis removed)."""
    if a.ndim == 2 and axis == 1:  # the common (N, C) case: plain fancy indexing is faster
        return a[np.arange(a.shape[0]), safe]
    return np.squeeze(np.take_along_axis(a, np.expand_dims(safe, axis), axis), axis)


def _add_at_targets(a: np.ndarray, safe: np.ndarray, axis: int, values) -> None:
    """``a[target positions] += values`` in place (each position occurs once)."""
    if a.ndim == 2 and axis == 1:
        values = np.asarray(values)
        a[np.arange(a.shape[0]), safe] += values.reshape(-1) if values.ndim else values
        return
    index = np.expand_dims(safe, axis)
    current = np.take_along_axis(a, index, axis)
    np.put_along_axis(a, index, current + values, axis)


def _ce_grad_array(p: np.ndarray, g: np.ndarray, c_nll: np.ndarray, c_smooth,
                   ctx) -> np.ndarray:
    """The first-order cross-entropy gradient with NumPy only (no graph is being recorded)."""
    coef = g * c_nll
    gx = p * coef
    _add_at_targets(gx, ctx.safe, ctx.axis, -coef)
    if c_smooth is not None:
        w = 1.0 if ctx.w_b is None else ctx.w_b
        gx += (p * ctx.w_sum - w) * (g * c_smooth)
    return gx


class LogSigmoid(Primitive):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): exact for |x| = 1e4, never overflows.
    d/dx = sigmoid(-x)."""

    torch_name = "LogSigmoidBackward0"
    elementwise = True
    formula = "LogSigmoid({0})"
    derivatives = ("sigmoid(-{0})",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g, x):
        return g * V.sigmoid(-x)


class Softplus(Primitive):
    """log1p(exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule); exp
    only ever sees values <= threshold, so x = 1e4 does not overflow. d/dx = sigmoid(beta x)
    (1 above the threshold)."""

    torch_name = "SoftplusBackward0"
    elementwise = True
    formula = "Softplus({0})"
    derivatives = ("sigmoid(β·{0})",)

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        bx = x * beta
        linear = bx > threshold
        soft = np.log1p(np.exp(np.where(linear, 0, bx))) / beta
        return np.where(linear, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g, x):
        bx = x * ctx.beta
        return V.where(bx > ctx.threshold, g, g * V.sigmoid(bx))


class BinaryCrossEntropy(Primitive):
    """-(y log x + (1 - y) log(1 - x)) per element with each log clamped at -100, as PyTorch
    (so x = 0 or 1 gives a finite loss). d/dx = (x - y) / max(x (1 - x), 1e-12);
    d/dy = log(1 - x) - log(x)."""

    torch_name = "BinaryCrossEntropyBackward0"
    elementwise = True
    formula = "BinaryCrossEntropy({0}, {1})"
    derivatives = ("({0} - {1}) / ({0}·(1 - {0}))", "log(1 - {0}) - log({0})")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):  # log(0) = -inf is clamped to -100 next
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return (y - 1) * log_1mx - y * log_x

    @staticmethod
    def backward(ctx, g, x, y):
        need_x, need_y = ctx.needs_input_grad
        gx = g * (x - y) / V.clamp_min(x * (1 - x), 1e-12) if need_x else None
        gy = g * (V.log1p(-x) - V.log(x)) if need_y else None
        return gx, gy
