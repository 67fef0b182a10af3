"""Every optimizer and option against torch.optim: same parameters, same gradients, same steps."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

from .helpers import assert_same, build, initial_arrays, set_grads, torch

STEPS = 8

CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.05)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.05, betas=(0.6, 0.4))),  # 1 - beta1 > 0.5: the other lerp branch
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, maximize=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),  # 1 - alpha > 0.5 in the lerp
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
]

GROUPED = [
    ("SGD", [dict(params=[0], lr=0.1, momentum=0.9), dict(params=[1, 2], nesterov=True),
             dict(lr=0.01, momentum=0.5)]),
    ("Adam", [dict(params=[0, 2], lr=0.1, amsgrad=True), dict(params=[1], weight_decay=0.2),
              dict(lr=0.01)]),
    ("AdamW", [dict(params=[1]), dict(params=[0, 2], lr=0.2, weight_decay=0.0), dict(lr=0.02)]),
    ("RMSprop", [dict(params=[0], centered=True), dict(params=[2, 1], momentum=0.7, lr=0.02),
                 dict(lr=0.01)]),
    ("Adagrad", [dict(params=[0], lr_decay=0.3), dict(params=[1, 2], lr=0.3), dict(lr=0.1)]),
]


def ids(config) -> str:
    name, options = config
    if isinstance(options, list):
        return f"{name}-groups"
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


def run_and_compare(name, options, steps=STEPS, dtype=np.float64, skip=()):
    arrays = initial_arrays(dtype=dtype)
    params, opt = build(cr, name, arrays, options)
    tparams, topt = build(torch, name, arrays, options)
    for t in range(1, steps + 1):
        set_grads(params, tparams, skip=skip)
        opt.step()
        topt.step()
        assert_same(params, tparams, dtype, step=t)
    return params, opt, tparams, topt


@pytest.mark.parametrize("config", CONFIGS + GROUPED, ids=ids)
def test_matches_torch(config):
    name, options = config
    params, opt, _, topt = run_and_compare(name, options)
    # the parameters moved (a broken step that does nothing would also "match" a no-op)
    assert not np.allclose(params[0]._data, initial_arrays()[0])
    # the same state entries per parameter, with the same values
    tstate = topt.state_dict()["state"]
    state = opt.state_dict()["state"]
    assert sorted(state) == sorted(tstate)
    for i in state:
        assert set(state[i]) == set(tstate[i])
        for key, value in state[i].items():
            np.testing.assert_allclose(value._data, tstate[i][key].detach().numpy(),
                                       rtol=1e-10, atol=1e-12, err_msg=f"state[{i}][{key}]")


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_parameters_without_gradient_are_skipped(name):
    options = dict(lr=0.05, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.05)
    params, opt, *_ = run_and_compare(name, options, steps=3, skip=(1,))
    np.testing.assert_array_equal(params[1]._data, initial_arrays()[1])
    if name != "Adagrad":  # Adagrad creates its state up front, as PyTorch does
        assert params[1] not in opt.state


def test_autograd_gradients_match_torch():
    """The real path: gradients from backward() of a chainrule expression and its torch twin."""
    rng = np.random.default_rng(3)
    w0, b0, x = rng.normal(size=(4, 3)), rng.normal(size=(3,)), rng.normal(size=(6, 4))
    w, b = cr.tensor(w0, requires_grad=True), cr.tensor(b0, requires_grad=True)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    opt = optim.Adam([w, b], lr=0.05, weight_decay=0.01)
    topt = torch.optim.Adam([tw, tb], lr=0.05, weight_decay=0.01)
    for _ in range(8):
        opt.zero_grad()
        topt.zero_grad()
        (cr.tanh(cr.tensor(x) @ w + b) ** 2).sum().backward()
        (torch.tanh(torch.tensor(x) @ tw + tb) ** 2).sum().backward()
        opt.step()
        topt.step()
    assert_same([w, b], [tw, tb])
    assert opt.stale_gradient_steps == 0


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LAMB"])
def test_float32_stays_float32(name):
    arrays = initial_arrays(dtype=np.float32)
    options = dict(lr=0.05, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.05)
    if name == "Adam":
        options.update(amsgrad=True, weight_decay=0.1)
    params, opt = build(cr, name, arrays, options)
    if name != "LAMB":
        tparams, topt = build(torch, name, arrays, options)
    for t in range(STEPS):
        for i, p in enumerate(params):
            g = (2 * (i + 1) * p._data + np.cos(3 * p._data)).astype(np.float32)
            p.grad = cr.tensor(g)
            if name != "LAMB":
                tparams[i].grad = torch.tensor(g)
        opt.step()
        if name != "LAMB":
            topt.step()
            assert_same(params, tparams, np.float32, step=t)
    for p in params:
        assert p.dtype == np.float32
        for key, value in opt.state[p].items():
            if key != "step":
                assert value.dtype == np.float32, key


def test_step_is_a_float_tensor_counter():
    params, opt = build(cr, "Adam", initial_arrays(), dict(lr=0.1))
    for _ in range(3):
        for p in params:
            p.grad = cr.zeros_like(p)
        opt.step()
    step = opt.state[params[0]]["step"]
    assert isinstance(step, cr.Tensor) and step.shape == () and step.item() == 3.0


def test_closure_is_evaluated_with_grad_enabled_and_returns_loss():
    w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(cr.is_grad_enabled())
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.item() == 5.0
    np.testing.assert_allclose(w._data, [0.8, -1.6], rtol=1e-15)
    assert opt.step() is None


def test_update_group_runs_under_no_grad_unless_it_updates_arrays_only():
    modes = []

    class Custom(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def _update_group(self, group, params, grads):
            modes.append(cr.is_grad_enabled())

    w = cr.tensor([1.0], requires_grad=True)
    w.grad = cr.tensor([1.0])
    Custom([w]).step()

    class ArraysOnly(Custom):
        _updates_arrays_only = True

    ArraysOnly([w]).step()
    assert modes == [False, True]


def test_step_bumps_version_so_saved_tensors_notice():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()  # saves w for backward
    w.grad = cr.ones_like(w)
    version = w._version
    opt.step()
    assert w._version == version + 1
    with pytest.raises(RuntimeError):
        y.backward()


def test_updates_in_place():
    params, opt = build(cr, "Adam", initial_arrays(), dict(lr=0.1))
    arrays = [p._data for p in params]
    for p in params:
        p.grad = cr.ones_like(p)
    opt.step()
    assert all(p._data is a for p, a in zip(params, arrays, strict=True))


def test_gradient_is_never_modified():
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LAMB"]:
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        opt = getattr(optim, name)([w], lr=0.1, weight_decay=0.1)
        g = np.array([0.5, -0.5], dtype=np.float32)
        w.grad = cr.tensor(g.copy())
        opt.step()
        opt.step()
        np.testing.assert_array_equal(w.grad._data, g, err_msg=name)


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and not grad.requires_grad
    np.testing.assert_array_equal(grad._data, [0.0, 0.0])


def test_repr_lists_groups():
    w = cr.tensor([1.0], requires_grad=True)
    text = repr(optim.SGD([w], lr=0.5))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.5" in text


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LAMB"])
def test_numpy_float64_hyperparameters_keep_float32(name):
    """A schedule may hand over NumPy float64 scalars; they must not promote state to float64."""
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    options = dict(lr=np.float64(0.1), weight_decay=np.float64(0.1))
    if name in ("SGD", "RMSprop"):
        options["momentum"] = np.float64(0.9)
    opt = getattr(optim, name)([w], **options)
    for _ in range(2):
        w.grad = cr.tensor(np.ones(3, np.float32))
        opt.step()
    assert w.dtype == np.float32
    assert all(v.dtype == np.float32 for k, v in opt.state[w].items() if k != "step")


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
    lambda ps: optim.SGD(ps, lr=0.1, maximize=True),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.1, maximize=True),
])
def test_optimizers_that_skip_no_grad_record_nothing(make):
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = make([w])
    assert type(opt)._updates_arrays_only
    for _ in range(2):
        w.grad = cr.tensor([0.5, 0.25])
        opt.step()
    assert w.is_leaf and w.grad_fn is None
    assert all(getattr(s, "grad_fn", None) is None and not getattr(s, "requires_grad", False)
               for state in opt.state.values() for s in state.values())
