"""nn.init: the formulas of PyTorch (bounds, gains, fans) and the statistics of the draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init
from tests.oracle import torch

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)]


@pytest.mark.parametrize("name,param", GAINS)
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 2, 2)])
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(cr.zeros(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.zeros(3))


def _draw(fn, shape=(400, 500), **kwargs):
    t = cr.zeros(*shape, dtype=cr.float64)
    out = fn(t, **kwargs, generator=cr.Generator().manual_seed(0))
    assert out is t
    return t.numpy()


def test_uniform_and_normal_statistics():
    u = _draw(init.uniform_, a=-2.0, b=3.0)
    assert u.min() >= -2.0 and u.max() < 3.0
    np.testing.assert_allclose([u.mean(), u.std()], [0.5, 5 / math.sqrt(12)], atol=0.01)
    n = _draw(init.normal_, mean=1.5, std=0.5)
    np.testing.assert_allclose([n.mean(), n.std()], [1.5, 0.5], atol=0.005)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("leaky_relu", 0), ("relu", 0),
                                            ("leaky_relu", math.sqrt(5)), ("tanh", 0)])
def test_kaiming_bounds_and_std(mode, nonlinearity, a):
    shape = (300, 200)
    fan = 200 if mode == "fan_in" else 300
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = _draw(init.kaiming_uniform_, shape=shape, a=a, mode=mode, nonlinearity=nonlinearity)
    bound = math.sqrt(3) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.999 * bound
    n = _draw(init.kaiming_normal_, shape=shape, a=a, mode=mode, nonlinearity=nonlinearity)
    np.testing.assert_allclose(n.std(), std, rtol=0.01)
    theirs = torch.empty(shape)
    torch.nn.init.kaiming_uniform_(theirs, a=a, mode=mode, nonlinearity=nonlinearity)
    assert np.isclose(theirs.abs().max().item(), bound, rtol=0.01)


def test_xavier_bounds_and_std():
    gain = 2.0
    std = gain * math.sqrt(2.0 / (300 + 200))
    u = _draw(init.xavier_uniform_, shape=(300, 200), gain=gain)
    assert np.abs(u).max() <= math.sqrt(3) * std and np.abs(u).max() > 0.999 * math.sqrt(3) * std
    n = _draw(init.xavier_normal_, shape=(300, 200), gain=gain)
    np.testing.assert_allclose(n.std(), std, rtol=0.01)


def test_trunc_normal_stays_in_bounds():
    t = _draw(init.trunc_normal_, mean=0.5, std=1.0, a=-0.5, b=1.0)
    assert t.min() >= -0.5 and t.max() <= 1.0
    # the mean of N(0.5, 1) truncated to [-0.5, 1]: mu + (phi(alpha) - phi(beta)) / Z
    from math import erf, exp, pi, sqrt

    def phi(z):
        return exp(-z * z / 2) / sqrt(2 * pi)

    def cdf(z):
        return 0.5 * (1 + erf(z / sqrt(2)))

    lo, hi = -1.0, 0.5
    expected = 0.5 + (phi(lo) - phi(hi)) / (cdf(hi) - cdf(lo))
    assert abs(t.mean() - expected) < 0.005
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(cr.zeros(2), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal(shape):
    w = _draw(init.orthogonal_, shape=shape, gain=1.5).reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, 2.25 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(cr.zeros(3))


def test_constants_and_in_place_semantics():
    p = nn.Parameter(cr.zeros(2, 3))
    version = p._version
    assert init.constant_(p, 0.25) is p
    assert p.grad_fn is None and p.requires_grad and p._version == version + 1
    np.testing.assert_array_equal(p.detach().numpy(), 0.25)
    np.testing.assert_array_equal(init.ones_(cr.zeros(2)).numpy(), 1.0)
    np.testing.assert_array_equal(init.zeros_(cr.ones(2)).numpy(), 0.0)
    np.testing.assert_array_equal(init.eye_(cr.zeros(2, 3)).numpy(), np.eye(2, 3))
    assert init.uniform_(cr.zeros(2, dtype=cr.float64)).dtype == cr.float64


def test_global_generator_and_explicit_generator_are_reproducible():
    cr.manual_seed(11)
    a = init.normal_(cr.zeros(5)).numpy().copy()
    cr.manual_seed(11)
    np.testing.assert_array_equal(init.normal_(cr.zeros(5)).numpy(), a)
    g = cr.Generator().manual_seed(4)
    b = init.uniform_(cr.zeros(5), generator=g).numpy().copy()
    again = init.uniform_(cr.zeros(5), generator=cr.Generator().manual_seed(4))
    np.testing.assert_array_equal(again.numpy(), b)


def test_zero_element_tensor_warns():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(cr.zeros(0, 3))
