"""Activations: values and gradients against PyTorch, gradchecks, stability at +-1e4, reprs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.oracle import compare, torch

# (name, program on the namespace m): the same code runs in chainrule and in PyTorch
ACTIVATIONS = {
    "relu": lambda m, x: m.F.relu(x),
    "leaky_relu": lambda m, x: m.F.leaky_relu(x, 0.2),
    "leaky_relu_default": lambda m, x: m.F.leaky_relu(x),
    "elu": lambda m, x: m.F.elu(x),
    "elu_alpha": lambda m, x: m.F.elu(x, alpha=0.7),
    "gelu": lambda m, x: m.F.gelu(x),
    "gelu_tanh": lambda m, x: m.F.gelu(x, approximate="tanh"),
    "silu": lambda m, x: m.F.silu(x),
    "sigmoid": lambda m, x: m.F.sigmoid(x),
    "tanh": lambda m, x: m.F.tanh(x),
    "softplus": lambda m, x: m.F.softplus(x),
    "softplus_beta": lambda m, x: m.F.softplus(x, beta=2.0, threshold=3.0),
    "logsigmoid": lambda m, x: m.F.logsigmoid(x),
    "softmax": lambda m, x: m.F.softmax(x, dim=1),
    "log_softmax": lambda m, x: m.F.log_softmax(x, dim=-1),
    "relu6": lambda m, x: m.F.relu6(x),
    "hardtanh": lambda m, x: m.F.hardtanh(x, -2.0, 1.5),
    "selu": lambda m, x: m.F.selu(x),
    "mish": lambda m, x: m.F.mish(x),
    "softsign": lambda m, x: m.F.softsign(x),
    "hardswish": lambda m, x: m.F.hardswish(x),
    "threshold": lambda m, x: m.F.threshold(x, 0.1, 20.0),
    "glu": lambda m, x: m.F.glu(x[:, :4], dim=1),
}

MODULES = {
    "ReLU": lambda m: m.nn.ReLU(),
    "LeakyReLU": lambda m: m.nn.LeakyReLU(0.1),
    "ELU": lambda m: m.nn.ELU(alpha=0.5),
    "GELU": lambda m: m.nn.GELU(),
    "GELU_tanh": lambda m: m.nn.GELU(approximate="tanh"),
    "SiLU": lambda m: m.nn.SiLU(),
    "Sigmoid": lambda m: m.nn.Sigmoid(),
    "Tanh": lambda m: m.nn.Tanh(),
    "Softplus": lambda m: m.nn.Softplus(beta=0.5, threshold=10.0),
    "LogSigmoid": lambda m: m.nn.LogSigmoid(),
    "Softmax": lambda m: m.nn.Softmax(dim=0),
    "LogSoftmax": lambda m: m.nn.LogSoftmax(dim=1),
    "ReLU6": lambda m: m.nn.ReLU6(), "SELU": lambda m: m.nn.SELU(),
    "Mish": lambda m: m.nn.Mish(),
    "Softsign": lambda m: m.nn.Softsign(), "Hardswish": lambda m: m.nn.Hardswish(),
    "Hardtanh": lambda m: m.nn.Hardtanh(-2, 2),
    "Threshold": lambda m: m.nn.Threshold(0.1, 20.0),
}


def _inputs(rng, shape=(4, 5)) -> np.ndarray:
    x = rng.standard_normal(shape) * 3
    x[0, :3] = [0.0, 25.0, -25.0]  # a kink and values past softplus' threshold
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functional_matches_torch(name, dtype, rng):
    compare(ACTIVATIONS[name], [_inputs(rng)], dtype=dtype)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(name, rng):
    build = MODULES[name]
    compare(lambda m, x: build(m)(x), [_inputs(rng)])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_repr_matches_torch(name):
    from tests.oracle import namespace

    assert repr(MODULES[name](namespace(cr))) == repr(MODULES[name](namespace(torch)))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_functional_gradcheck(name, rng):
    x = rng.standard_normal((3, 4))
    x[np.abs(x) < 0.05] = 0.3  # central differences are wrong at kinks
    t = cr.tensor(x, requires_grad=True)
    from tests.oracle import namespace

    m = namespace(cr)
    assert cr.autograd.gradcheck(lambda v: ACTIVATIONS[name](m, v), (t,))


SMOOTH = ["elu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "softplus", "logsigmoid",
          "softmax", "log_softmax"]


@pytest.mark.parametrize("name", SMOOTH)
def test_functional_gradgradcheck(name, rng):
    from tests.oracle import namespace

    x = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    m = namespace(cr)
    assert cr.autograd.gradgradcheck(lambda v: ACTIVATIONS[name](m, v), (x,))


@pytest.mark.parametrize("name", ["softplus", "logsigmoid", "sigmoid", "elu", "silu", "gelu",
                                  "gelu_tanh", "softmax", "log_softmax", "tanh"])
def test_stable_at_large_inputs(name):
    """+-1e4 gives finite values and gradients equal to torch's, with no overflow or invalid
    operation (underflow to 0 is the exact answer here and is allowed)."""
    values = np.array([[1e4, -1e4, 0.0, 50.0, -50.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, out_t = compare(ACTIVATIONS[name], [values])
    assert np.all(np.isfinite(out[0].detach().numpy()))


def test_gelu_float32_is_exact_to_float32_rounding_across_blocks():
    """float32 GELU evaluates the normal tail itself, block by block (2**16 elements): over
    200,001 points of [-10, 10], read through a negative-stride view, its values and gradients
    are within 3e-7 of math.erfc's, and no farther than PyTorch's float32 kernel."""
    x = np.linspace(-10.0, 10.0, 200_001).astype(np.float32)
    xd = x.astype(np.float64)
    cdf = np.frompyfunc(math.erfc, 1, 1)(-xd / math.sqrt(2)).astype(np.float64) / 2
    exact = (xd * cdf, cdf + xd * np.exp(-xd * xd / 2) / math.sqrt(2 * math.pi))
    ours = cr.tensor(x[::-1].copy(), requires_grad=True)
    F.gelu(ours.flip(0)).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.gelu(theirs)
    out_t.sum().backward()
    out = F.gelu(cr.tensor(x[::-1].copy())[::-1])  # a negative-stride view of the input
    for got, torch_got, want in ((out.numpy(), out_t.detach().numpy(), exact[0]),
                                 (ours.grad.numpy()[::-1], theirs.grad.numpy(), exact[1])):
        err = np.abs(got.astype(np.float64) - want).max()
        assert err <= 3e-7
        assert err <= np.abs(torch_got.astype(np.float64) - want).max()


def test_gelu_float32_negative_tail_keeps_relative_precision():
    """For x << 0, GELU(x) = x·Φ(x) is tiny; float32 keeps its relative error within 4e-6 down
    to x = -10 (the rounding of x² in exp(-x²/2) is most of it; PyTorch's 1 + erf(x/√2)
    cancels and loses every digit there)."""
    x = -np.geomspace(1.0, 10.0, 20_001).astype(np.float32)
    xd = x.astype(np.float64)
    want = xd * np.frompyfunc(math.erfc, 1, 1)(-xd / math.sqrt(2)).astype(np.float64) / 2
    got = F.gelu(cr.tensor(x)).numpy().astype(np.float64)
    assert np.abs(got / want - 1).max() <= 4e-6


def test_softplus_threshold_and_log_sigmoid_exact():
    x = cr.tensor([1e4, -1e4, 30.0], dtype=cr.float64)
    np.testing.assert_array_equal(F.softplus(x).numpy(), [1e4, 0.0, 30.0])
    np.testing.assert_array_equal(F.logsigmoid(x).numpy(), [0.0, -1e4, -np.log1p(np.exp(-30))])


@pytest.mark.parametrize("name,fn", [("relu", F.relu), ("leaky_relu", F.leaky_relu),
                                     ("elu", F.elu), ("silu", F.silu)])
def test_inplace_variants(name, fn, rng):
    a = rng.standard_normal((3, 4))
    x = cr.tensor(a)
    before = x._version
    out = fn(x, inplace=True)
    assert out is x and x._version == before + 1
    np.testing.assert_allclose(x.numpy(), fn(cr.tensor(a)).numpy(), rtol=1e-15)
    # recording: the in-place result is on the graph and differentiates like the out-of-place
    w = cr.tensor(a, requires_grad=True)
    h = w * 1.0
    fn(h, inplace=True).sum().backward()
    w2 = cr.tensor(a, requires_grad=True)
    fn(w2 * 1.0).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-15)


def test_inplace_on_a_leaf_that_requires_grad_raises():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(x, inplace=True)


def test_softmax_implicit_dim_warns_and_matches_torch(rng):
    a = rng.standard_normal((3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(cr.tensor(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.nn.functional.softmax(torch.tensor(a)).numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(cr.tensor([1.0]), approximate="fast")
    with pytest.raises(RuntimeError, match="approximate"):
        nn.GELU("fast")(cr.tensor([1.0]))


def test_integer_input_becomes_default_float():
    out = F.gelu(cr.tensor([1, 2]))
    assert out.dtype == cr.float32
    assert F.relu(cr.tensor([-1, 2])).tolist() == [0, 2]
