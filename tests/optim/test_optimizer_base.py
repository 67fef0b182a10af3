"""The Optimizer contract: validation, parameter groups, state dicts, stale-gradient detection."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

from .helpers import build, gradient, initial_arrays, torch
from .test_optimizers import CONFIGS, GROUPED, ids

# ---- validation ------------------------------------------------------------------------------

BAD_OPTIONS = [
    ("SGD", dict(lr=-1)),
    ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, weight_decay=-1)),
    ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-0.1)),
    ("Adam", dict(eps=-1.0)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(weight_decay=-0.5)),
    ("AdamW", dict(betas=(0.9, 1.0))),
    ("RMSprop", dict(alpha=-0.1)),
    ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1e-8)),
    ("Adagrad", dict(lr_decay=-1)),
    ("Adagrad", dict(initial_accumulator_value=-1)),
    ("Adagrad", dict(eps=-1)),
]


@pytest.mark.parametrize("config", BAD_OPTIONS, ids=ids)
def test_validation_messages_match_torch(config):
    name, options = config
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([cr.zeros(2, requires_grad=True)], **options)
    assert str(ours.value) == str(theirs.value)


def test_invalid_group_option_raises():
    w, v = cr.zeros(2, requires_grad=True), cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.5"):
        optim.Adam([{"params": [w]}, {"params": [v], "lr": -0.5}])
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        opt.add_param_group({"params": [v], "momentum": -1})
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.SGD([w], lr="0.1")


def test_params_validation():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([w, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(TypeError, match="must be a dict"):
        optim.SGD([w], lr=0.1).add_param_group([w])


def test_gradient_shape_mismatch_names_shapes():
    w = cr.zeros((2, 3), requires_grad=True)
    opt = optim.Adam([w])
    w.grad = cr.zeros(3)
    with pytest.raises(RuntimeError, match=r"Adam.step: gradient of shape \(3,\) for a "
                                           r"parameter of shape \(2, 3\)"):
        opt.step()


# ---- groups ----------------------------------------------------------------------------------


def test_groups_take_defaults_and_add_param_group():
    a, b, c = (cr.zeros(2, requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": a, "lr": 0.5}, {"params": [b]}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert opt.param_groups[0]["params"] == [a] and opt.param_groups[0]["momentum"] == 0.9
    opt.add_param_group({"params": (c,), "nesterov": True})
    assert opt.param_groups[2]["nesterov"] and opt.param_groups[2]["params"][0] is c
    assert opt.defaults == dict(lr=0.1, momentum=0.9, dampening=0, weight_decay=0,
                                nesterov=False, maximize=False)


def test_named_parameters():
    a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = optim.Adam([("layer.weight", a), ("layer.bias", b)])
    assert opt.param_groups[0]["param_names"] == ["layer.weight", "layer.bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["layer.weight", "layer.bias"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [cr.zeros(1, requires_grad=True)]})


def test_adagrad_group_added_later_gets_state():
    a, b = cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True)
    opt = optim.Adagrad([a], lr=0.1, initial_accumulator_value=0.25)
    opt.add_param_group({"params": [b]})
    b.grad = cr.ones(2)
    opt.step()
    np.testing.assert_allclose(opt.state[b]["sum"]._data, [1.25, 1.25])


# ---- state dicts -----------------------------------------------------------------------------

ALL_CONFIGS = CONFIGS + GROUPED + [("LAMB", dict(lr=0.05, weight_decay=0.1)),
                                   ("LAMB", [dict(params=[0], lr=0.1), dict(lr=0.01)])]


def run(params, opt, steps):
    for _ in range(steps):
        for i, p in enumerate(params):
            p.grad = cr.tensor(gradient(i, p._data))
        opt.step()


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=ids)
def test_state_dict_round_trip_continues_identically(config):
    name, options = config
    straight, opt = build(cr, name, initial_arrays(), options)
    run(straight, opt, 6)

    first, opt1 = build(cr, name, initial_arrays(), options)
    run(first, opt1, 3)
    saved = opt1.state_dict()
    resumed, opt2 = build(cr, name, [p._data for p in first], options)
    opt2.load_state_dict(saved)
    run(first, opt1, 1)  # the source keeps training: the loaded copy must not share buffers
    run(resumed, opt2, 3)
    for p, q in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(p._data, q._data)


@pytest.mark.parametrize("config", CONFIGS[:1] + CONFIGS[7:8] + GROUPED, ids=ids)
def test_state_dict_layout_matches_torch(config):
    name, options = config
    params, opt = build(cr, name, initial_arrays(), options)
    tparams, topt = build(torch, name, initial_arrays(), options)
    for p, tp in zip(params, tparams, strict=True):
        p.grad, tp.grad = cr.ones_like(p), torch.ones_like(tp)
    opt.step()
    topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert set(ours) == set(theirs) == {"state", "param_groups"}
    assert {k: set(v) for k, v in ours["state"].items()} == \
           {k: set(v) for k, v in theirs["state"].items()}
    for g, tg in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert g["params"] == tg["params"]
        assert set(g) <= set(tg)  # PyTorch adds foreach/fused/... flags we don't have
        assert all(g[k] == tg[k] for k in g)


def test_load_state_dict_after_a_serialization_trip():
    """String keys, ndarrays and lists (what a JSON + safetensors trip may give back) load."""
    name, options = "Adam", dict(lr=0.05, betas=(0.8, 0.99), amsgrad=True)
    straight, opt = build(cr, name, initial_arrays(), options)
    run(straight, opt, 4)
    first, opt1 = build(cr, name, initial_arrays(), options)
    run(first, opt1, 2)
    sd = opt1.state_dict()
    tripped = {
        "state": {str(k): {key: np.array(v._data) for key, v in s.items()}
                  for k, s in sd["state"].items()},
        "param_groups": [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
                         for g in sd["param_groups"]],
    }
    resumed, opt2 = build(cr, name, [p._data for p in first], options)
    opt2.load_state_dict(tripped)
    run(resumed, opt2, 2)
    for p, q in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(p._data, q._data)


def test_load_state_dict_casts_to_parameter_dtype():
    _, opt64 = build(cr, "Adam", initial_arrays(), dict(lr=0.1))
    p64 = [g["params"] for g in opt64.param_groups][0]
    for p in p64:
        p.grad = cr.ones_like(p)
    opt64.step()
    params32, opt32 = build(cr, "Adam", initial_arrays(dtype=np.float32), dict(lr=0.1))
    opt32.load_state_dict(opt64.state_dict())
    state = opt32.state[params32[0]]
    assert state["exp_avg"].dtype == np.float32 and state["step"].item() == 1


def test_load_state_dict_validation():
    params, opt = build(cr, "SGD", initial_arrays(), dict(lr=0.1, momentum=0.9))
    for p in params:
        p.grad = cr.ones_like(p)
    opt.step()
    sd = opt.state_dict()
    _, two_groups = build(cr, "SGD", initial_arrays(), [dict(params=[0]), dict(params=[1, 2]),
                                                        dict(lr=0.1)])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        two_groups.load_state_dict(sd)
    _, fewer = build(cr, "SGD", initial_arrays()[:2], dict(lr=0.1))
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        fewer.load_state_dict(sd)
    _, other_shapes = build(cr, "SGD", [a.T.copy() for a in initial_arrays()], dict(lr=0.1))
    with pytest.raises(ValueError, match=r"state\[0\]\['momentum_buffer'\] has shape \(3, 4\), "
                                         r"but parameter 0 has shape \(4, 3\)"):
        other_shapes.load_state_dict(sd)
    with pytest.raises(ValueError, match="no 'param_groups' entry"):
        opt.load_state_dict({"state": {}})
    bad = {"state": {7: {}}, "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match="state for parameter 7"):
        opt.load_state_dict(bad)
    bad_lr = {"state": {}, "param_groups": [dict(sd["param_groups"][0], lr=-3)]}
    with pytest.raises(ValueError, match="Invalid learning rate: -3"):
        opt.load_state_dict(bad_lr)


def test_adamw_stays_decoupled_after_load():
    params, opt = build(cr, "AdamW", initial_arrays(), dict(lr=0.1))
    sd = opt.state_dict()
    sd["param_groups"][0]["decoupled_weight_decay"] = False
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


# ---- stale gradients -------------------------------------------------------------------------


def train(opt, w, steps, zero="optimizer", micro_batches=1):
    for _ in range(steps):
        if zero == "optimizer":
            opt.zero_grad()
        elif zero == "in-place":
            opt.zero_grad(set_to_none=False)
        elif zero == "assign":
            w.grad = None
        for _ in range(micro_batches):
            ((w - 1.0) ** 2).sum().backward()
        opt.step()


@pytest.mark.parametrize("zero", ["optimizer", "in-place", "assign"])
def test_stale_gradients_not_reported_with_zero_grad(zero):
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    train(opt, w, 6, zero=zero)
    assert opt.stale_gradient_steps == 0 and opt.stale_gradient_params == []


def test_gradient_accumulation_over_micro_batches_is_not_stale():
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    train(opt, w, 5, micro_batches=4)
    assert opt.stale_gradient_steps == 0


def test_missing_zero_grad_is_detected():
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    b = cr.tensor([0.5], requires_grad=True)
    opt = optim.SGD([w, b], lr=0.01)
    b.grad = cr.tensor([1.0])  # b's gradient never changes: stepping on it again is not stale
    train(opt, w, 5, zero="never")
    assert opt.stale_gradient_steps == 4  # every step after the first
    assert len(opt.stale_gradient_params) == 1 and opt.stale_gradient_params[0] is w
    opt.zero_grad()
    train(opt, w, 1, zero="never")
    assert opt.stale_gradient_steps == 4 and opt.stale_gradient_params == []


def test_stepping_twice_on_one_backward_is_not_stale():
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.01)
    ((w - 1.0) ** 2).sum().backward()
    opt.step()
    opt.step()
    assert opt.stale_gradient_steps == 0


def test_fingerprint_does_not_keep_gradients_alive():
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.01)
    ((w - 1.0) ** 2).sum().backward()
    opt.step()
    ref = weakref.ref(w.grad)
    opt.zero_grad()
    gc.collect()
    assert ref() is None


def test_stale_count_survives_other_optimizers():
    """Each optimizer keeps its own fingerprints."""
    w, v = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)
    opt_w, opt_v = optim.SGD([w], lr=0.1), optim.SGD([v], lr=0.1)
    for _ in range(3):
        opt_w.zero_grad()
        (w * v).sum().backward()
        opt_w.step()
        opt_v.step()
    assert opt_w.stale_gradient_steps == 0 and opt_v.stale_gradient_steps == 2
