"""LAMB against Algorithm 2 of You et al. (2019), written out in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

from .helpers import gradient, initial_arrays


def lamb_reference(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay):
    """One step of the paper's update for one layer; returns (x, m, v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    r = m_hat / (np.sqrt(v_hat) + eps)
    u = r + weight_decay * x
    w_norm, u_norm = np.linalg.norm(x), np.linalg.norm(u)
    trust = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
    return x - lr * trust * u, m, v


@pytest.mark.parametrize("options", [
    dict(lr=0.01),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.02, betas=(0.8, 0.95), eps=1e-4, weight_decay=0.01),
], ids=str)
def test_matches_paper_equations(options):
    lr = options["lr"]
    beta1, beta2 = options.get("betas", (0.9, 0.999))
    eps, wd = options.get("eps", 1e-6), options.get("weight_decay", 0)
    arrays = initial_arrays()
    arrays[1] = np.zeros_like(arrays[1])  # a fresh "bias": ||x|| = 0, so the trust ratio is 1
    params = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = optim.LAMB(params, **options)
    ref = [(a.copy(), np.zeros_like(a), np.zeros_like(a)) for a in arrays]
    for t in range(1, 9):
        for i, p in enumerate(params):
            g = gradient(i, ref[i][0])
            p.grad = cr.tensor(g)
            ref[i] = lamb_reference(*ref[i], g, t, lr, beta1, beta2, eps, wd)
        opt.step()
        for i, p in enumerate(params):
            np.testing.assert_allclose(p._data, ref[i][0], rtol=1e-10, atol=1e-12,
                                       err_msg=f"parameter {i}, step {t}")
    state = opt.state[params[0]]
    np.testing.assert_allclose(state["exp_avg"]._data, ref[0][1], rtol=1e-10)
    np.testing.assert_allclose(state["exp_avg_sq"]._data, ref[0][2], rtol=1e-10)
    assert state["step"].item() == 8


def test_layer_step_length_is_lr_times_weight_norm():
    """With φ the identity, every layer moves by exactly lr·||w||, whatever the gradient scale."""
    rng = np.random.default_rng(0)
    for scale in (1e-6, 1.0, 1e6):
        w = cr.tensor(rng.normal(size=(4, 5)), requires_grad=True)
        opt = optim.LAMB([w], lr=0.01, weight_decay=0.1)
        before = w._data.copy()
        w.grad = cr.tensor(scale * rng.normal(size=(4, 5)))
        opt.step()
        np.testing.assert_allclose(np.linalg.norm(w._data - before),
                                   0.01 * np.linalg.norm(before), rtol=1e-12)


def test_zero_update_leaves_parameters_unchanged():
    w = cr.tensor(np.ones(3), requires_grad=True)
    opt = optim.LAMB([w], lr=0.1)
    w.grad = cr.tensor(np.zeros(3))
    opt.step()  # ||u|| = 0: trust ratio 1, update 0 (no division by zero)
    np.testing.assert_array_equal(w._data, np.ones(3))


def test_parameter_groups_and_maximize():
    a = cr.tensor(np.array([1.0, -2.0]), requires_grad=True)
    b = cr.tensor(np.array([0.5]), requires_grad=True)
    opt = optim.LAMB([{"params": [a], "lr": 0.1}, {"params": [b], "maximize": True}], lr=0.01)
    a.grad = cr.tensor(np.array([1.0, 1.0]))
    b.grad = cr.tensor(np.array([1.0]))
    opt.step()
    # one step: r = sign(g) (up to eps), trust = ||x|| / ||r||
    np.testing.assert_allclose(a._data, [1.0, -2.0] - 0.1 * np.sqrt(5) / np.sqrt(2) * np.ones(2),
                               rtol=1e-5)
    np.testing.assert_allclose(b._data, [0.5 + 0.01 * 0.5], rtol=1e-5)


def test_validation():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.LAMB([w], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.LAMB([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid weight_decay value: -0.1"):
        optim.LAMB([w], weight_decay=-0.1)
    with pytest.raises(ValueError, match="Invalid epsilon value: -1"):
        optim.LAMB([w], eps=-1)
