"""RNN, LSTM, GRU and their cells against PyTorch on a copied state_dict: outputs, final states
and the gradients of inputs, initial states and parameters; PyTorch's init bit for bit; a
float64 gradcheck and gradgradcheck of an LSTM cell and of LSTM and GRU layers through time."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from tests.oracle import TOLERANCES, torch

MODULES = {"RNN": (nn.RNN, "RNN"), "LSTM": (nn.LSTM, "LSTM"), "GRU": (nn.GRU, "GRU"),
           "RNNCell": (nn.RNNCell, "RNNCell"), "LSTMCell": (nn.LSTMCell, "LSTMCell"),
           "GRUCell": (nn.GRUCell, "GRUCell")}


def _flatten(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return [out]


def _nest(flat: list, like):
    """Rebuild the (h, c) pair an LSTM takes from a flat list of initial states."""
    return (flat[0], flat[1]) if like == "pair" else flat[0]


def check_pair(name: str, args: tuple, kwargs: dict, x: np.ndarray, states: list[np.ndarray],
               *, seed: int = 0) -> None:
    """Build the chainrule module, load its state into PyTorch's, and compare outputs and
    every gradient for one random output gradient."""
    ours_cls, theirs_name = MODULES[name]
    dtype = x.dtype
    tol = TOLERANCES[dtype.type]
    ours = ours_cls(*args, **kwargs, dtype=cr.float64 if dtype == np.float64 else cr.float32)
    theirs = getattr(torch.nn, theirs_name)(
        *args, **kwargs, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    xs = [cr.tensor(a, requires_grad=True) for a in [x] + states]
    ts = [torch.tensor(a, requires_grad=True) for a in [x] + states]
    like = "pair" if name in ("LSTM", "LSTMCell") else "single"
    out_cr = ours(xs[0], _nest(xs[1:], like)) if states else ours(xs[0])
    out_t = theirs(ts[0], _nest(ts[1:], like)) if states else theirs(ts[0])
    flat_cr, flat_t = _flatten(out_cr), _flatten(out_t)
    assert len(flat_cr) == len(flat_t)
    rng = np.random.default_rng(seed)
    grads = []
    for a, b in zip(flat_cr, flat_t):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol,
                                   err_msg="forward")
        grads.append(rng.standard_normal(tuple(b.shape)).astype(dtype))
    cr.autograd.backward(flat_cr, [cr.tensor(g) for g in grads])
    torch.autograd.backward(flat_t, [torch.tensor(g) for g in grads])
    for i, (a, b) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol,
                                   err_msg=f"grad of input {i}")
    theirs_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[pname].grad.numpy(), **tol,
                                   err_msg=f"grad of {pname}")


def _rand(*shape, dtype=np.float64, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


SEQUENCE_CASES = [
    # (kwargs, sequence length, batch)
    (dict(), 5, 3),
    (dict(num_layers=2, bidirectional=True), 4, 2),
    (dict(batch_first=True), 4, 3),
    (dict(num_layers=2, bidirectional=True, batch_first=True), 3, 2),
    (dict(bias=False), 3, 2),
    (dict(), 1, 1),
    (dict(num_layers=3), 1, 2),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs,length,batch", SEQUENCE_CASES)
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_sequence_modules_match_torch(name, kwargs, length, batch, dtype):
    cr.manual_seed(0)
    shape = (batch, length, 3) if kwargs.get("batch_first") else (length, batch, 3)
    check_pair(name, (3, 4), kwargs, _rand(*shape, dtype=dtype), [])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batched", [True, False])
def test_initial_states_and_unbatched_input(name, batched):
    kwargs = dict(num_layers=2, bidirectional=True)
    layers = 4
    x = _rand(5, 2, 3) if batched else _rand(5, 3)
    state_shape = (layers, 2, 4) if batched else (layers, 4)
    states = [_rand(*state_shape, seed=2)]
    if name == "LSTM":
        states.append(_rand(*state_shape, seed=3))
    check_pair(name, (3, 4), kwargs, x, states)


def test_relu_rnn():
    check_pair("RNN", (3, 4), dict(nonlinearity="relu", num_layers=2), _rand(6, 2, 3),
               [_rand(2, 2, 4, seed=4)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells_match_torch(name, batched, with_state, dtype):
    x = _rand(3, 5, dtype=dtype) if batched else _rand(5, dtype=dtype)
    shape = (3, 4) if batched else (4,)
    states = []
    if with_state:
        states = [_rand(*shape, dtype=dtype, seed=2)]
        if name == "LSTMCell":
            states.append(_rand(*shape, dtype=dtype, seed=3))
    check_pair(name, (5, 4), {}, x, states)


@pytest.mark.parametrize("seed", [0, 7])
def test_default_init_is_pytorchs(seed):
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("needs an x86-64 CPU with AVX2: PyTorch's generic kernels draw differently")
    cr.manual_seed(seed)
    torch.manual_seed(seed)
    pairs = [(nn.LSTM(3, 4, num_layers=2, bidirectional=True),
              torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)),
             (nn.GRU(5, 6, bias=False), torch.nn.GRU(5, 6, bias=False)),
             (nn.RNN(2, 3, nonlinearity="relu"), torch.nn.RNN(2, 3, nonlinearity="relu")),
             (nn.LSTMCell(3, 4), torch.nn.LSTMCell(3, 4)),
             (nn.GRUCell(3, 4), torch.nn.GRUCell(3, 4)),
             (nn.RNNCell(3, 4), torch.nn.RNNCell(3, 4))]
    for ours, theirs in pairs:
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref)
        for key in ref:
            np.testing.assert_array_equal(mine[key].numpy(), ref[key].numpy())
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), torch.get_rng_state().numpy())


def test_state_dict_loads_from_torch():
    theirs = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=cr.float64)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = _rand(4, 2, 3)
    out, h = ours(cr.tensor(x))
    ref, ref_h = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(h.detach().numpy(), ref_h.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers_only_in_training(name):
    ours = getattr(nn, name)(3, 4, num_layers=2, dropout=0.5, dtype=cr.float64)
    x = cr.tensor(_rand(6, 2, 3))
    ours.train()
    cr.manual_seed(0)
    a = ours(x)[0].detach().numpy()
    cr.manual_seed(1)
    b = ours(x)[0].detach().numpy()
    assert not np.allclose(a, b)
    ours.eval()
    c, d = ours(x)[0].detach().numpy(), ours(x)[0].detach().numpy()
    np.testing.assert_array_equal(c, d)
    # in eval, dropout is off: PyTorch's module with the same weights agrees
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, dropout=0.5, dtype=torch.float64).eval()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(c, theirs(torch.tensor(x.numpy()))[0].detach().numpy(),
                               rtol=1e-10)


def test_dropout_masks_match_torch():
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("needs an x86-64 CPU with AVX2: PyTorch's generic kernels draw differently")
    ours = nn.GRU(3, 4, num_layers=3, dropout=0.3, dtype=cr.float64)
    theirs = torch.nn.GRU(3, 4, num_layers=3, dropout=0.3, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = _rand(5, 2, 3)
    cr.manual_seed(3)
    torch.manual_seed(3)
    np.testing.assert_allclose(ours(cr.tensor(x))[0].detach().numpy(),
                               theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-10)


def test_lstm_cell_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(2, 3, dtype=cr.float64)
    x = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w_ih, w_hh, b_ih, b_hh = (cr.tensor(p.detach().numpy(), requires_grad=True)
                              for p in cell.parameters())

    def fn(x, h, c, w_ih, w_hh, b_ih, b_hh):
        return nn.rnn.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)

    inputs = (x, h, c, w_ih, w_hh, b_ih, b_hh)
    assert cr.autograd.gradcheck(fn, inputs)
    assert cr.autograd.gradgradcheck(fn, inputs)


def test_lstm_through_time_gradgradcheck():
    lstm = nn.LSTM(2, 2, num_layers=2, bidirectional=True, dtype=cr.float64)
    rng = np.random.default_rng(2)
    x, h0, c0 = (cr.tensor(rng.standard_normal(s), requires_grad=True)
                 for s in ((3, 1, 2), (4, 1, 2), (4, 1, 2)))

    def fn(x, h0, c0):
        out, (h, c) = lstm(x, (h0, c0))
        return cr.cat([out.reshape(-1), h.reshape(-1), 2 * c.reshape(-1)])

    assert cr.autograd.gradcheck(fn, (x, h0, c0))
    assert cr.autograd.gradgradcheck(fn, (x, h0, c0))


@pytest.mark.parametrize("name,kwargs", [
    ("GRU", dict()),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)),
])
def test_rnn_and_gru_through_time_gradgradcheck(name, kwargs):
    cr.manual_seed(0)
    module = getattr(nn, name)(2, 2, **kwargs, dtype=cr.float64)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    rng = np.random.default_rng(1)
    x, h0 = (cr.tensor(rng.standard_normal(s), requires_grad=True)
             for s in ((3, 2, 2), (layers, 2, 2)))

    def fn(x, h0, *weights):  # the weights are the module's (gradcheck perturbs in place)
        out, h = module(x, h0)
        return cr.cat([out.reshape(-1), 2 * h.reshape(-1)])

    inputs = (x, h0, *module.parameters())
    assert cr.autograd.gradcheck(fn, inputs)
    assert cr.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_a_layer_and_direction_is_one_op_whatever_the_length(name):
    """Backprop through time is one node per layer and direction, not one per step."""
    module = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True)

    def nodes(length: int) -> int:
        out, _ = module(cr.randn(length, 2, 3, requires_grad=True))
        seen, stack = set(), [out.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in seen or not hasattr(fn, "next_functions"):
                continue
            seen.add(id(fn))
            stack.extend(edge[0] for edge in fn.next_functions if edge is not None)
        return len(seen)

    assert nodes(1) == nodes(9)
    layer = module(cr.randn(2, 1, 3, requires_grad=True))[0].grad_fn.next_functions[0][0]
    assert layer.name() == {"RNN": "RNNLayerBackward", "LSTM": "LSTMLayerBackward",
                            "GRU": "GRULayerBackward"}[name]


@pytest.mark.parametrize("call,message", [
    (lambda: nn.LSTM(3, 4)(cr.zeros(2, 2, 5)), "input.size(-1) must be equal to input_size"),
    (lambda: nn.LSTM(3, 4)(cr.zeros(2, 3)[None, None]), "Expected input to be 2D or 3D"),
    (lambda: nn.GRU(3, 4)(cr.zeros(2, 2, 3), cr.zeros(1, 3, 4)), "Expected hidden size"),
    (lambda: nn.LSTMCell(3, 4)(cr.zeros(2, 5)), "inconsistent input_size"),
    (lambda: nn.RNN(3, 4, nonlinearity="gelu"), "Unknown nonlinearity"),
    (lambda: nn.LSTM(3, 4, dropout=2.0), "dropout should be a number in range"),
    (lambda: nn.LSTM(3, 4, proj_size=2), "proj_size"),
    (lambda: nn.GRU(3, 0), "hidden_size must be greater than zero"),
    (lambda: nn.LSTM(3, 4)(cr.zeros(2, 1, 3), (cr.zeros(1, 1, 4), cr.zeros(2, 1, 4))),
     "Expected hidden[1] size"),
    (lambda: nn.GRU(3, 4)(cr.zeros(2, 1, 3), cr.zeros(1, 1, 4, dtype=cr.float64)),
     "GRU: hidden dtype float64 must match the parameters' dtype float32"),
    (lambda: nn.LSTM(3, 4)(cr.zeros(2, 1, 3), (cr.zeros(1, 1, 4), cr.zeros(1, 1, 4).double())),
     "LSTM: hidden[1] dtype float64 must match"),
    (lambda: nn.RNNCell(3, 4)(cr.zeros(2, 3), cr.zeros(2, 4, dtype=cr.float64)),
     "RNNCell: hidden dtype float64 must match"),
    (lambda: nn.GRU(3, 4, batch_first=True)(cr.zeros(2, 0, 3)),
     "GRU: Expected sequence length to be larger than 0 in RNN (input of shape (2, 0, 3)"),
    (lambda: nn.RNN(3, 4)(cr.zeros(0, 3)), "RNN: Expected sequence length to be larger than 0"),
])
def test_bad_input_errors(call, message):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError),
                       match=re.escape(message)):
        call()


def test_hidden_size_must_be_an_int():
    with pytest.raises(TypeError, match="hidden_size should be of type int, got: float"):
        nn.LSTM(3, 4.0)


def test_flatten_parameters_is_accepted():
    lstm = nn.LSTM(3, 4)
    before = {k: v.numpy().copy() for k, v in lstm.state_dict().items()}
    lstm.flatten_parameters()
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
