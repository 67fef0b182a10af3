"""Recurrent layers with PyTorch's parameter names, layouts and init: RNN, LSTM, GRU and their
cells. A layer (one direction) is one op over the whole sequence with its backprop through
time written once (``ops/recurrent.py``); a cell is a composition of ops.

``lstm = nn.LSTM(10, 20, num_layers=2); output, (h_n, c_n) = lstm(x)``
"""

from __future__ import annotations

import math
import warnings
from typing import overload

import numpy as np

from .. import _dtypes
from ..ops import movement as mv
from ..ops import recurrent
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _parameter(dtype, *shape: int) -> Parameter:
    dtype = _dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
    return Parameter(np.empty(shape, dtype))


def _uniform_init(module: Module, hidden_size: int) -> None:
    """PyTorch's recurrent init: every parameter ~ U(-1/sqrt(hidden), 1/sqrt(hidden)), drawn in
    registration order (so the random stream is consumed as PyTorch consumes it)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


def rnn_tanh_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return recurrent.rnn_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return recurrent.rnn_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh, "relu")


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None) -> tuple[Tensor, Tensor]:
    """One LSTM step, gates in PyTorch's order (input, forget, cell, output):
    c' = f * c + i * g, h' = o * tanh(c')."""
    return recurrent.lstm_step(F.linear(x, w_ih, b_ih), state, w_hh, b_hh)


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    """One GRU step, gates in PyTorch's order (reset, update, new); the reset gate multiplies
    ``h W_hn^T + b_hn`` (PyTorch's formula): h' = (1 - z) * n + z * h."""
    return recurrent.gru_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)


def _check_floating(name: str, input: Tensor, weight: Tensor, what: str = "input") -> None:
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{name}: {what} dtype {input.dtype} must match the parameters' dtype "
                           f"{weight.dtype} (convert the module with .to(dtype) or the {what})")


class RNNCellBase(Module):
    """Parameters ``weight_ih`` (gates*hidden, input), ``weight_hh`` (gates*hidden, hidden),
    ``bias_ih``, ``bias_hh``, initialised U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = _GATES[self._mode] * hidden_size
        self.weight_ih = _parameter(dtype, gate_size, input_size)
        self.weight_hh = _parameter(dtype, gate_size, hidden_size)
        if bias:
            self.bias_ih = _parameter(dtype, gate_size)
            self.bias_hh = _parameter(dtype, gate_size)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    @overload
    def _prepare(self, input: Tensor, hx: Tensor) -> tuple[Tensor, Tensor, bool]: ...
    @overload
    def _prepare(self, input: Tensor, hx: None) -> tuple[Tensor, None, bool]: ...
    def _prepare(self, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor | None, bool]:
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if hx is not None and hx.ndim != input.ndim:
            raise ValueError(f"{name}: Expected hidden to be {input.ndim}D for a "
                             f"{input.ndim}D input, got {hx.ndim}D instead")
        if hx is not None:
            _check_floating(name, hx, self.weight_ih, "hidden")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size}")
        _check_floating(name, input, self.weight_ih)
        batched = input.ndim == 2
        if not batched:
            input = mv.unsqueeze(input, 0)
            hx = None if hx is None else mv.unsqueeze(hx, 0)
        if hx is not None and tuple(hx.shape) != (input.shape[0], self.hidden_size):
            raise RuntimeError(f"{name}: hidden has shape {tuple(hx.shape)}, expected "
                               f"{(input.shape[0], self.hidden_size)}")
        return input, hx, batched

    def _zeros(self, input: Tensor) -> Tensor:
        return Tensor._make(np.zeros((input.shape[0], self.hidden_size), input._data.dtype))

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """An Elman cell, ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu):
    ``h = nn.RNNCell(10, 20)(x, h)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        step = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        out = step(x, self._zeros(x) if h is None else h, *self._weights())
        return out if batched else mv.squeeze(out, 0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``: ``h, c = nn.LSTMCell(10, 20)(x, (h, c))``."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        if hx is None:
            x, _, batched = self._prepare(input, None)
            h = c = self._zeros(x)
        else:
            x, h, batched = self._prepare(input, hx[0])
            _, c, _ = self._prepare(input, hx[1])
        h, c = lstm_cell(x, (h, c), *self._weights())
        return (h, c) if batched else (mv.squeeze(h, 0), mv.squeeze(c, 0))


class GRUCell(RNNCellBase):
    """One GRU step: ``h = nn.GRUCell(10, 20)(x, h)``."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        out = gru_cell(x, self._zeros(x) if h is None else h, *self._weights())
        return out if batched else mv.squeeze(out, 0)


class RNNBase(Module):
    """A stack of ``num_layers`` recurrent layers, optionally bidirectional, with parameters
    ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (``_reverse``
    suffix for the backward direction), registered and initialised in PyTorch's order."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not (
                0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        for what, value in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{what} must be greater than zero")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size (LSTM projections) is not "
                                      "implemented; use proj_size=0")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, "
                          f"so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes: list[tuple[str, tuple[int, ...]]]
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for kind, shape in shapes:
                    setattr(self, kind + suffix, _parameter(dtype, *shape))
                    self._flat_weights_names.append(kind + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch programs: the parameters are never copied into one
        cuDNN buffer here."""

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _layer_weights(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        weights = [getattr(self, n + suffix) for n in names]
        return tuple(weights) + (None, None) * (not self.bias)

    def _check_input(self, input: Tensor) -> bool:
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                             "tensor instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        _check_floating(name, input, self.weight_ih_l0)
        if input.shape[1 if input.ndim == 3 and self.batch_first else 0] == 0:
            raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN "
                               f"(input of shape {tuple(input.shape)}, batch_first="
                               f"{self.batch_first})")
        return input.ndim == 3

    def _check_hidden(self, hx: Tensor, batched: bool, batch: int, what: str) -> None:
        _check_floating(type(self).__name__, hx, self.weight_ih_l0, what)
        expected = (self.num_layers * self._directions,) + ((batch,) if batched else ()) + (
            self.hidden_size,)
        if hx.ndim != len(expected):
            raise RuntimeError(f"For {'batched' if batched else 'unbatched'} "
                               f"{len(expected)}-D input, {what} should also be "
                               f"{len(expected)}-D but got {hx.ndim}-D tensor")
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(hx.shape)}")

    def _run(self, input: Tensor, states: list[Tensor]) -> tuple[Tensor, list[list]]:
        """Run every layer over the time-major ``input`` (L, N, H_in); ``states`` holds one
        initial state tensor per state kind, shaped (layers*directions, N, H). Returns the last
        layer's output and, per state kind, the final states in PyTorch's order."""
        finals: list[list] = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self._directions):
                index = layer * self._directions + direction
                hs, *state = self._layer(layer_input, [s[index] for s in states],
                                         self._layer_weights(layer, direction), bool(direction))
                outputs.append(hs)
                for kind, s in enumerate(state):
                    finals[kind].append(s)
            layer_input = outputs[0] if len(outputs) == 1 else mv.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, finals

    def _layer(self, input: Tensor, state: list[Tensor], weights: tuple, reverse: bool
               ) -> tuple:
        """One layer and direction as one op (``ops/recurrent.py``); the input projection of
        every time step is one matrix product. Returns ``hs`` and the final states."""
        w_ih, w_hh, b_ih, b_hh = weights
        x_proj = F.linear(input, w_ih, b_ih)
        w_t = np.ascontiguousarray(w_hh._data.T)
        if self.mode == "GRU":  # b_hh apart: the reset gate multiplies h W_hn^T + b_hn
            b = b_hh if b_hh is not None else Tensor._make(np.zeros(w_hh.shape[0],
                                                                    w_hh._data.dtype))
            return recurrent.GRULayer.apply(x_proj, *state, w_hh, b, w_t=w_t, reverse=reverse)
        x_proj = x_proj if b_hh is None else x_proj + b_hh
        if self.mode == "LSTM":
            return recurrent.LSTMLayer.apply(x_proj, *state, w_hh, w_t=w_t, reverse=reverse)
        return recurrent.RNNLayer.apply(x_proj, *state, w_hh, w_t=w_t, reverse=reverse,
                                        nonlinearity=self.mode[4:].lower())

    def _forward(self, input: Tensor, hx: list[Tensor | None]) -> tuple[Tensor, list[Tensor]]:
        batched = self._check_input(input)
        if not batched:
            input = mv.unsqueeze(input, 1)
        elif self.batch_first:
            input = mv.transpose(input, 0, 1)
        batch = input.shape[1]
        states = []
        names = ["hidden[0]", "hidden[1]"] if self.mode == "LSTM" else ["hidden"]
        for name, h in zip(names, hx):
            if h is None:
                h = Tensor._make(np.zeros((self.num_layers * self._directions, batch,
                                           self.hidden_size), input._data.dtype))
            else:
                self._check_hidden(h, batched, batch, name)
                if not batched:
                    h = mv.unsqueeze(h, 1)
            states.append(h)
        output, finals = self._run(input, states)
        final_states = [mv.stack(f, 0) for f in finals]
        if not batched:
            return mv.squeeze(output, 1), [mv.squeeze(f, 1) for f in final_states]
        if self.batch_first:
            output = mv.transpose(output, 0, 1)
        return output, final_states

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN, ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu); returns
    ``(output, h_n)``: ``out, h = nn.RNN(10, 20, num_layers=2)(x)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._forward(input, [hx])
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, gates (i, f, g, o); returns ``(output, (h_n, c_n))``:
    ``out, (h, c) = nn.LSTM(10, 20, batch_first=True)(x, (h0, c0))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        output, (h_n, c_n) = self._forward(input, [None, None] if hx is None else list(hx))
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, gates (r, z, n) with PyTorch's formula for n; returns
    ``(output, h_n)``: ``out, h = nn.GRU(10, 20, bidirectional=True)(x)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._forward(input, [hx])
        return output, h_n
