"""The LSTM's primitives: a whole layer over a sequence (``LSTMLayer``, what ``nn.LSTM`` runs),
one step's gates (``RecurrentGates``: ``x_gates + h W_hh^T``) and the cell's pointwise part
(``LSTMCell``: ``h', c'`` from the gates and ``c``; ``nn.LSTMCell`` runs it).

Gates are in PyTorch's order (input, forget, cell, output).
``hs, h_n, c_n = LSTMLayer.apply(x_proj, h0, c0, w_hh, w_t=w_hh_t, reverse=False)``
"""

from __future__ import annotations

import numpy as np

from ..autograd.engine import grad
from ..autograd.function import MultiOutputPrimitive, Primitive
from . import vocab as V
from .elementwise import sigmoid_array
from .movement import Cat, Index, stack, unbind


def _gate(gates, k: int, hidden: int):
    """Gate ``k`` of the (..., 4H) gates: a view in array mode, a recorded slice on Tensors."""
    key = (Ellipsis, slice(k * hidden, (k + 1) * hidden))
    return V.apply(Index, gates, key=key, advanced=False)


class LSTMCell(MultiOutputPrimitive):
    """c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c'): the formulas of the composition, in one
    node per time step instead of eleven (a primitive for speed: an LSTM over 64 steps records
    and runs ~700 fewer nodes per layer). Backward on arrays reuses the forward's activations;
    on Tensors it recomputes them from the inputs, so higher derivatives are exact."""

    torch_name = "ThnnFusedLstmCellBackward0"
    elementwise = False
    formula = "lstm_cell({0}, {1})"
    derivatives = ("dc'·(g, c, i)·σ'(i, f), dc'·i·tanh'(g), dh'·tanh(c')·σ'(o), joined",
                   "dc'·σ(f), dc' = gc' + dh'·σ(o)·tanh'(c')")

    @staticmethod
    def forward(ctx, gates, c):
        hidden = c.shape[-1]
        i, f, g, o = (gates[..., k * hidden:(k + 1) * hidden] for k in range(4))
        i, f, o = sigmoid_array(i), sigmoid_array(f), sigmoid_array(o)
        g = np.tanh(g)
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        ctx.save_for_backward(gates, c, i, f, g, o, tc)
        return o * tc, c_new

    @staticmethod
    def backward(ctx, grads, gates, c, i, f, g, o, tc):
        gh, gc = grads
        if V.is_tensor(gates):  # the activations as functions of the inputs
            hidden = ctx.input_shape(1)[-1]
            i, f, o = (V.sigmoid(_gate(gates, k, hidden)) for k in (0, 1, 3))
            g = V.tanh(_gate(gates, 2, hidden))
            tc = V.tanh(f * c + i * g)
        dc = gc
        if gh is not None:
            through_h = gh * o * (1 - tc * tc)
            dc = through_h if dc is None else dc + through_h
        do = V.zeros_like(o) if gh is None else gh * tc
        pieces = (dc * g * (i * (1 - i)), dc * c * (f * (1 - f)), dc * i * (1 - g * g),
                  do * (o * (1 - o)))
        ggates = V.apply(Cat, *pieces, axis=len(ctx.input_shape(0)) - 1)
        return ggates, dc * f


class RecurrentGates(Primitive):
    """One time step's gates, ``x_gates + h @ w.T``, where ``x_gates`` holds the input's share
    and both biases. ``w_t`` is ``w.T`` made contiguous once per sequence: NumPy's BLAS call
    on a transposed right operand is ~30% slower, and the sequence reuses it at every step."""

    torch_name = "AddmmBackward0"
    elementwise = False
    formula = "{0} + {1} @ {2}ᵀ"
    derivatives = ("g", "g @ {2}", "gᵀ @ {1}")

    @staticmethod
    def forward(ctx, x_gates, h, w, w_t):
        ctx.save_for_backward(h, w)
        out = np.matmul(h, w_t)
        out += x_gates
        return out

    @staticmethod
    def backward(ctx, g, h, w):
        need_x, need_h, need_w = ctx.needs_input_grad
        return (g if need_x else None, V.matmul(g, w) if need_h else None,
                V.matmul(V.mT(g), h) if need_w else None)


class LSTMLayer(MultiOutputPrimitive):
    """One LSTM layer over a whole sequence: ``hs, h_n, c_n`` from the input projections
    ``x_proj`` (L, N, 4H; both biases included), the initial ``h0``, ``c0`` and ``W_hh``;
    ``reverse`` runs from the last step to the first.

    A primitive for speed: the steps run as NumPy calls in one loop, and backward accumulates
    the gates' gradients of every step so that W_hh's gradient is one matrix product instead
    of one per step. Each step computes what ``RecurrentGates`` and ``LSTMCell`` compute. On
    Tensors (``create_graph=True``) backward records the same steps with those two ops and
    differentiates them, so higher derivatives are exact.
    """

    torch_name = "MkldnnRnnLayerBackward0"
    elementwise = False
    formula = "lstm_layer({0}, {1}, {2}, {3})"
    derivatives = ("the gates' gradients of every step (backprop through time)",
                   "dh of the first step", "dc of the first step",
                   "Σ_t dgates_tᵀ h_(t-1), one matrix product")

    @staticmethod
    def forward(ctx, x_proj, h0, c0, w, w_t, reverse):
        ctx.reverse = reverse
        steps, hidden = x_proj.shape[0], h0.shape[-1]
        acts = np.empty_like(x_proj)  # per step: sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
        cs, tcs, hs = (np.empty((steps,) + c0.shape, c0.dtype) for _ in range(3))
        h, c = h0, c0
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            gates = np.matmul(h, w_t)
            gates += x_proj[t]
            a = acts[t]
            a[..., :2 * hidden] = sigmoid_array(gates[..., :2 * hidden])
            np.tanh(gates[..., 2 * hidden:3 * hidden], out=a[..., 2 * hidden:3 * hidden])
            a[..., 3 * hidden:] = sigmoid_array(gates[..., 3 * hidden:])
            i, f, g, o = (a[..., k * hidden:(k + 1) * hidden] for k in range(4))
            c = np.multiply(f, c, out=cs[t])
            c += i * g
            h = np.multiply(o, np.tanh(c, out=tcs[t]), out=hs[t])
        ctx.save_for_backward(x_proj, h0, c0, w, acts, cs, tcs, hs)
        return hs, h.copy(), c.copy()

    @staticmethod
    def backward(ctx, grads, x_proj, h0, c0, w, acts, cs, tcs, hs):
        if V.is_tensor(x_proj):
            return _lstm_layer_recorded(ctx, grads, x_proj, h0, c0, w)
        g_hs, g_h, g_c = grads
        steps, hidden = x_proj.shape[0], h0.shape[-1]
        dh = np.zeros_like(h0) if g_h is None else g_h
        dc = np.zeros_like(c0) if g_c is None else g_c
        dgates = np.empty_like(x_proj)
        c_prev = _shifted(cs, c0, ctx.reverse)
        # step by step: arrays of one step stay in cache (whole-sequence passes are slower)
        for t in range(steps) if ctx.reverse else range(steps - 1, -1, -1):
            if g_hs is not None:
                dh = dh + g_hs[t]
            i, f, g, o = (acts[t, ..., k * hidden:(k + 1) * hidden] for k in range(4))
            tc = tcs[t]
            dc = dc + dh * o * (1 - tc * tc)
            d = dgates[t]
            d[..., :hidden] = dc * g * (i * (1 - i))
            d[..., hidden:2 * hidden] = dc * c_prev[t] * (f * (1 - f))
            d[..., 2 * hidden:3 * hidden] = dc * i * (1 - g * g)
            d[..., 3 * hidden:] = dh * tc * (o * (1 - o))
            dc = dc * f
            dh = np.matmul(d, w)
        gw = None
        if ctx.needs_input_grad[3]:  # Σ_t dgates_tᵀ h_(t-1): one product
            h_prev = _shifted(hs, h0, ctx.reverse)
            gw = np.matmul(dgates.reshape(-1, 4 * hidden).T, h_prev.reshape(-1, hidden))
        return dgates, dh, dc, gw


def _shifted(states: np.ndarray, initial: np.ndarray, reverse: bool) -> np.ndarray:
    """Each step's previous state: ``states`` moved one step along the direction of the run,
    ``initial`` in the first step's place."""
    if reverse:
        return np.concatenate([states[1:], initial[None]])
    return np.concatenate([initial[None], states[:-1]])


def _lstm_layer_recorded(ctx, grads, x_proj, h0, c0, w):
    """Tensor mode: the layer's steps recorded with ``RecurrentGates`` and ``LSTMCell``, then
    differentiated with a graph (exact higher derivatives)."""
    w_t = np.ascontiguousarray(w._data.T)
    steps = x_proj.shape[0]
    x_steps = unbind(x_proj, 0)
    h, c, hs = h0, c0, [None] * steps
    for t in (range(steps - 1, -1, -1) if ctx.reverse else range(steps)):
        h, c = LSTMCell.apply(RecurrentGates.apply(x_steps[t], h, w, w_t=w_t), c)
        hs[t] = h
    outputs = [stack(hs, 0), h, c]
    used = [(o, g) for o, g in zip(outputs, grads) if g is not None]
    inputs = (x_proj, h0, c0, w)
    wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
    found = iter(grad([o for o, _ in used], wanted, [g for _, g in used], create_graph=True,
                      allow_unused=True, materialize_grads=True))
    return tuple(next(found) if need else None for need in ctx.needs_input_grad)
