"""The LSTM cell's pointwise part as one op: ``h', c' = lstm_cell(gates, c)``.

``gates`` is ``x W_ih^T + b_ih + h W_hh^T + b_hh`` (the matrix products stay ordinary ops), in
PyTorch's order (input, forget, cell, output).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import MultiOutputPrimitive, Primitive
from . import vocab as V
from .elementwise import sigmoid_array
from .movement import Cat, Index


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
