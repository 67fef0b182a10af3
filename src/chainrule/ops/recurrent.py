"""Recurrent primitives: a whole layer over a sequence (``RNNLayer``, ``LSTMLayer``,
``GRULayer``: what ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` run, one op per layer and direction)
and the LSTM cell's pointwise part (``LSTMCell``: ``h', c'`` from the gates and ``c``).
``rnn_step``, ``lstm_step`` and ``gru_step`` are one time step composed of ops: the cells
(``nn.GRUCell``...) run them, and so do the layers' backward on Tensors (higher derivatives).

Gates are in PyTorch's order: LSTM (input, forget, cell, output), GRU (reset, update, new).
``hs, h_n, c_n = LSTMLayer.apply(x_proj, h0, c0, w_hh, w_t=w_hh_t, reverse=False)``
"""

from __future__ import annotations

import numpy as np

from ..autograd.engine import grad
from ..autograd.function import MultiOutputPrimitive
from . import elementwise as ew
from . import vocab as V
from .elementwise import sigmoid_array
from .layers import Linear
from .movement import Cat, Index, split, stack, unbind


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


def _hidden_share(h, w, b):
    """``h W^T + b`` (``b`` may be None) as one recorded op."""
    return Linear.apply(h, w) if b is None else Linear.apply(h, w, b)


def rnn_step(x_gates, h, w, b=None, nonlinearity: str = "tanh"):
    """One Elman step on Tensors: h' = tanh(x_gates + h W^T + b) (or relu), where ``x_gates``
    is the input's share ``x W_ih^T + b_ih``."""
    pre = x_gates + _hidden_share(h, w, b)
    return ew.tanh(pre) if nonlinearity == "tanh" else ew.relu(pre)


def lstm_step(x_gates, state, w, b=None):
    """One LSTM step on Tensors: ``(h', c')`` from the input's share of the gates and
    ``(h, c)``."""
    h, c = state
    return LSTMCell.apply(x_gates + _hidden_share(h, w, b), c)


def gru_step(x_gates, h, w, b=None):
    """One GRU step on Tensors with PyTorch's formula: the reset gate multiplies
    ``h W_hn^T + b_hn``, n = tanh(x_n + r·(h W_hn^T + b_hn)), h' = n + z·(h - n)."""
    hidden = h.shape[-1]
    x_r, x_z, x_n = split(x_gates, hidden, -1)
    h_r, h_z, h_n = split(_hidden_share(h, w, b), hidden, -1)
    r = ew.sigmoid(x_r + h_r)
    z = ew.sigmoid(x_z + h_z)
    n = ew.tanh(x_n + r * h_n)
    return n + z * (h - n)


def _times(steps: int, reverse: bool) -> range:
    """The time steps in the order a direction runs them."""
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _shifted(states: np.ndarray, initial: np.ndarray, reverse: bool) -> np.ndarray:
    """Each step's previous state: ``states`` moved one step along the direction of the run,
    ``initial`` in the first step's place."""
    if reverse:
        return np.concatenate([states[1:], initial[None]])
    return np.concatenate([initial[None], states[:-1]])


def _products(dgates: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
    """Σ_t dgates_tᵀ h_(t-1): the recurrent weight's gradient as one matrix product."""
    return np.matmul(dgates.reshape(-1, dgates.shape[-1]).T,
                     h_prev.reshape(-1, h_prev.shape[-1]))


class _ThroughTime:
    """What the layer ops share. Inputs are ``x_proj`` (L, N, G·H: the input projections of
    every step), the initial states, then the recurrent weights; ``forward`` and
    ``through_time`` (backward on arrays, accumulating every step's gate gradients so that
    W_hh's gradient is one matrix product) are NumPy loops. On Tensors
    (``create_graph=True``) backward records the layer's steps with ``step`` (ops) and
    differentiates them, so higher derivatives are exact."""

    __slots__ = ()
    n_states = 1
    reverse: bool

    @staticmethod
    def backward(ctx, grads, *saved):
        inputs = saved[:len(ctx.needs_input_grad)]
        if V.is_tensor(inputs[0]):
            return _recorded(ctx, grads, inputs)
        return ctx.through_time(grads, *saved)


def _recorded(ctx, grads, inputs):
    """Tensor mode: the layer's steps recorded with ``ctx.step``, then differentiated with a
    graph (exact higher derivatives)."""
    n = ctx.n_states
    x_proj, states, weights = inputs[0], list(inputs[1:1 + n]), inputs[1 + n:]
    steps = x_proj.shape[0]
    x_steps = unbind(x_proj, 0)
    hs = [None] * steps
    for t in _times(steps, ctx.reverse):
        states = ctx.step(x_steps[t], states, *weights)
        hs[t] = states[0]
    outputs = [stack(hs, 0), *states]
    used = [(o, g) for o, g in zip(outputs, grads) if g is not None]
    wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
    found = iter(grad([o for o, _ in used], wanted, [g for _, g in used], create_graph=True,
                      allow_unused=True, materialize_grads=True))
    return tuple(next(found) if need else None for need in ctx.needs_input_grad)


class RNNLayer(_ThroughTime, MultiOutputPrimitive):
    """One Elman layer over a whole sequence: ``hs, h_n`` from ``x_proj`` (L, N, H; both
    biases included), ``h0`` and ``W_hh``; h_t = tanh(x_proj_t + h_(t-1) W_hh^T) (or relu).
    ``w_t`` is ``W_hh^T`` made contiguous (NumPy's BLAS call on a transposed right operand is
    slower); ``reverse`` runs from the last step to the first."""

    torch_name = "StackBackward0"  # PyTorch's CPU RNN composes steps and stacks them
    elementwise = False
    formula = "rnn_layer({0}, {1}, {2})"
    derivatives = ("dh_t·act'(h_t) at every step (backprop through time)",
                   "dh of the first step", "Σ_t dpre_tᵀ h_(t-1), one matrix product")

    @staticmethod
    def forward(ctx, x_proj, h0, w, w_t, reverse, nonlinearity="tanh"):
        ctx.reverse, ctx.nonlinearity = reverse, nonlinearity
        hs = np.empty(x_proj.shape[:1] + h0.shape, h0.dtype)
        h = h0
        for t in _times(x_proj.shape[0], reverse):
            pre = np.matmul(h, w_t)
            pre += x_proj[t]
            h = np.tanh(pre, out=hs[t]) if nonlinearity == "tanh" else np.maximum(
                pre, 0, out=hs[t])
        ctx.save_for_backward(x_proj, h0, w, hs)
        return hs, h.copy()

    def step(self, x_t, states, w):
        return [rnn_step(x_t, states[0], w, nonlinearity=self.nonlinearity)]

    def through_time(self, grads, x_proj, h0, w, hs):
        g_hs, g_h = grads
        dh = np.zeros_like(h0) if g_h is None else g_h
        dpre = np.empty_like(x_proj)
        for t in _times(x_proj.shape[0], not self.reverse):
            if g_hs is not None:
                dh = dh + g_hs[t]
            h = hs[t]
            d = np.multiply(dh, 1 - h * h, out=dpre[t]) if self.nonlinearity == "tanh" else (
                np.multiply(dh, h > 0, out=dpre[t]))
            dh = np.matmul(d, w)
        gw = _products(dpre, _shifted(hs, h0, self.reverse)) if self.needs_input_grad[2] else None
        return dpre, dh, gw


class LSTMLayer(_ThroughTime, MultiOutputPrimitive):
    """One LSTM layer over a whole sequence: ``hs, h_n, c_n`` from the input projections
    ``x_proj`` (L, N, 4H; both biases included), the initial ``h0``, ``c0`` and ``W_hh``
    (``w_t`` and ``reverse`` as ``RNNLayer``'s). Each step computes what ``lstm_step``
    computes."""

    torch_name = "MkldnnRnnLayerBackward0"
    elementwise = False
    formula = "lstm_layer({0}, {1}, {2}, {3})"
    derivatives = ("the gates' gradients of every step (backprop through time)",
                   "dh of the first step", "dc of the first step",
                   "Σ_t dgates_tᵀ h_(t-1), one matrix product")
    n_states = 2

    @staticmethod
    def forward(ctx, x_proj, h0, c0, w, w_t, reverse):
        ctx.reverse = reverse
        steps, hidden = x_proj.shape[0], h0.shape[-1]
        acts = np.empty_like(x_proj)  # per step: sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
        cs, tcs, hs = (np.empty((steps,) + c0.shape, c0.dtype) for _ in range(3))
        h, c = h0, c0
        for t in _times(steps, reverse):
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
    def step(x_t, states, w):
        return list(lstm_step(x_t, states, w))

    def through_time(self, grads, x_proj, h0, c0, w, acts, cs, tcs, hs):
        g_hs, g_h, g_c = grads
        hidden = h0.shape[-1]
        dh = np.zeros_like(h0) if g_h is None else g_h
        dc = np.zeros_like(c0) if g_c is None else g_c
        dgates = np.empty_like(x_proj)
        c_prev = _shifted(cs, c0, self.reverse)
        # step by step: arrays of one step stay in cache (whole-sequence passes are slower)
        for t in _times(x_proj.shape[0], not self.reverse):
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
        gw = _products(dgates, _shifted(hs, h0, self.reverse)) if self.needs_input_grad[
            3] else None
        return dgates, dh, dc, gw


class GRULayer(_ThroughTime, MultiOutputPrimitive):
    """One GRU layer over a whole sequence: ``hs, h_n`` from ``x_proj`` (L, N, 3H: the input's
    share, ``x W_ih^T + b_ih``), ``h0``, ``W_hh`` and ``b_hh`` (apart: the reset gate
    multiplies ``h W_hn^T + b_hn``); ``w_t`` and ``reverse`` as ``RNNLayer``'s. Each step
    computes what ``gru_step`` computes."""

    torch_name = "StackBackward0"  # PyTorch's CPU GRU composes steps and stacks them
    elementwise = False
    formula = "gru_layer({0}, {1}, {2}, {3})"
    derivatives = ("the gates' gradients of every step (backprop through time)",
                   "dh of the first step", "Σ_t dhgates_tᵀ h_(t-1), one matrix product",
                   "Σ_t dhgates_t")

    @staticmethod
    def forward(ctx, x_proj, h0, w, b, w_t, reverse):
        ctx.reverse = reverse
        hidden = h0.shape[-1]
        acts = np.empty_like(x_proj)  # per step: sigmoid(r), sigmoid(z), tanh(n)
        h_ns = np.empty(x_proj.shape[:1] + h0.shape, h0.dtype)  # h W_hn^T + b_hn
        hs = np.empty_like(h_ns)
        h = h0
        for t in _times(x_proj.shape[0], reverse):
            gh = np.matmul(h, w_t)
            gh += b
            x, a = x_proj[t], acts[t]
            a[..., :2 * hidden] = sigmoid_array(x[..., :2 * hidden] + gh[..., :2 * hidden])
            h_n = h_ns[t]
            h_n[...] = gh[..., 2 * hidden:]
            n = a[..., 2 * hidden:]
            np.tanh(x[..., 2 * hidden:] + a[..., :hidden] * h_n, out=n)
            # PyTorch's order of operations: (h - n)·z + n
            h = np.subtract(h, n, out=hs[t])
            h *= a[..., hidden:2 * hidden]
            h += n
        ctx.save_for_backward(x_proj, h0, w, b, acts, h_ns, hs)
        return hs, h.copy()

    @staticmethod
    def step(x_t, states, w, b):
        return [gru_step(x_t, states[0], w, b)]

    def through_time(self, grads, x_proj, h0, w, b, acts, h_ns, hs):
        g_hs, g_h = grads
        hidden = h0.shape[-1]
        dh = np.zeros_like(h0) if g_h is None else g_h
        dx = np.empty_like(x_proj)
        dgh = np.empty_like(x_proj)  # gradient of h W_hh^T + b_hh
        h_prev = _shifted(hs, h0, self.reverse)
        for t in _times(x_proj.shape[0], not self.reverse):
            if g_hs is not None:
                dh = dh + g_hs[t]
            r, z, n = (acts[t, ..., k * hidden:(k + 1) * hidden] for k in range(3))
            d, e = dx[t], dgh[t]
            dn = np.multiply(dh * (1 - z), 1 - n * n, out=d[..., 2 * hidden:])
            np.multiply(dn * h_ns[t], r * (1 - r), out=d[..., :hidden])
            np.multiply(dh * (h_prev[t] - n), z * (1 - z), out=d[..., hidden:2 * hidden])
            e[..., :2 * hidden] = d[..., :2 * hidden]
            np.multiply(dn, r, out=e[..., 2 * hidden:])
            dh = dh * z + np.matmul(e, w)
        need_w, need_b = self.needs_input_grad[2:]
        gw = _products(dgh, h_prev) if need_w else None
        gb = dgh.reshape(-1, dgh.shape[-1]).sum(0) if need_b else None
        return dx, dh, gw, gb
