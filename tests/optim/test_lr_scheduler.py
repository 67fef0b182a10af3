"""Every learning-rate scheduler against torch.optim.lr_scheduler, step by step."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim import lr_scheduler

from .helpers import torch

STEPS = 35


def decay(epoch):
    return 0.9 ** epoch + 0.01 * epoch


def warmup(epoch):
    return min(1.0, (epoch + 1) / 8)


def optimizers(opt_name="SGD", lrs=(0.1, 0.05)):
    """A chainrule and a torch optimizer over two parameter groups with the given lrs."""
    pair = []
    for lib, module in ((cr, optim), (torch, torch.optim)):
        groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
        extra = dict(momentum=0.9) if opt_name == "SGD" else {}
        pair.append(getattr(module, opt_name)(groups, **extra))
    return pair


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 25], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),  # several half-periods
    ("CosineAnnealingLR", dict(T_max=40)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=12)),
    ("LambdaLR", dict(lr_lambda=decay)),
    ("LambdaLR", dict(lr_lambda=[decay, warmup])),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=40, anneal_strategy="linear", pct_start=0.25)),
    ("OneCycleLR", dict(max_lr=0.8, epochs=5, steps_per_epoch=8, three_phase=True)),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=STEPS, cycle_momentum=False, div_factor=10.0,
                        final_div_factor=100.0)),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=STEPS, base_momentum=[0.8, 0.7],
                        max_momentum=0.99)),
]


def ids(config) -> str:
    """A stable test id (no object addresses: pytest-xdist workers must agree on it)."""
    def show(v):
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(str(show(x)) for x in v) + "]"
        return getattr(v, "__name__", v)

    name, options = config
    return name + "-" + "-".join(f"{k}={show(v)}" for k, v in options.items())


def momenta(opt):
    return [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]


def assert_same_lrs(sched, tsched, opt, topt, step):
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=0,
                               err_msg=f"get_last_lr() after step {step}")
    np.testing.assert_allclose([g["lr"] for g in opt.param_groups],
                               [g["lr"] for g in topt.param_groups], rtol=1e-12, atol=0)
    np.testing.assert_allclose(momenta(opt), momenta(topt), rtol=1e-12, atol=0)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("config", SCHEDULERS, ids=ids)
def test_matches_torch(config, opt_name):
    name, options = config
    opt, topt = optimizers(opt_name)
    sched = getattr(lr_scheduler, name)(opt, **options)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **options)
    assert_same_lrs(sched, tsched, opt, topt, 0)
    seen = {tuple(sched.get_last_lr())}
    for t in range(1, STEPS + 1):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert_same_lrs(sched, tsched, opt, topt, t)
        seen.add(tuple(sched.get_last_lr()))
        assert sched.last_epoch == tsched.last_epoch == t
    assert len(seen) > 3  # the schedule really changed the learning rate


def test_one_cycle_refuses_to_step_past_total_steps():
    opt, _ = optimizers()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        sched.step()


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=0, threshold_mode="abs", threshold=0.0, min_lr=[0.02, 0.03]),
    dict(factor=0.5, patience=0, min_lr=0.049, eps=1e-3),
]


@pytest.mark.parametrize("options", PLATEAU, ids=str)
def test_reduce_on_plateau_matches_torch(options):
    opt, topt = optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, **options)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **options)
    rng = np.random.default_rng(0)
    # improving, then a noisy plateau, then improving again
    metrics = np.concatenate([np.linspace(1.0, 0.5, 8), 0.5 + 0.02 * np.abs(rng.normal(size=20)),
                              np.linspace(0.5, 0.3, 8)])
    lrs = set()
    for t, m in enumerate(metrics, 1):
        sched.step(m)
        tsched.step(m)
        assert_same_lrs(sched, tsched, opt, topt, t)
        assert sched.num_bad_epochs == tsched.num_bad_epochs
        assert sched.best == tsched.best
        lrs.add(opt.param_groups[0]["lr"])
    assert len(lrs) > 1  # at least one reduction happened
    sched.step(cr.tensor(0.1))  # a one-element Tensor is a metric too


def test_reduce_on_plateau_validation():
    opt, _ = optimizers()
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="threshold mode x is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="x")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1])


def test_validation():
    opt, _ = optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        lr_scheduler.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(opt, lr_lambda=[decay])
    with pytest.raises(ValueError, match="either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="pct_start"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(opt, max_lr=[1.0], total_steps=10)
    adagrad = optim.Adagrad([cr.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(adagrad, max_lr=1.0, total_steps=10)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)


@pytest.mark.parametrize("config", [SCHEDULERS[0], SCHEDULERS[3], SCHEDULERS[8], SCHEDULERS[9]],
                         ids=ids)
def test_state_dict_round_trip(config):
    """Save the optimizer and the scheduler mid-way, restore both, continue: same lrs."""
    name, options = config
    opt, _ = optimizers()
    sched = getattr(lr_scheduler, name)(opt, **options)
    straight = []
    for _ in range(20):
        opt.step()
        sched.step()
        straight.append(sched.get_last_lr())

    opt1, _ = optimizers()
    sched1 = getattr(lr_scheduler, name)(opt1, **options)
    for _ in range(10):
        opt1.step()
        sched1.step()
    saved_opt, saved_sched = opt1.state_dict(), sched1.state_dict()
    json.dumps(saved_sched)  # plain data only: cr.save can write it
    assert "optimizer" not in saved_sched

    opt2, _ = optimizers()
    sched2 = getattr(lr_scheduler, name)(opt2, **options)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    resumed = []
    for _ in range(10):
        opt2.step()
        sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == straight[10:]


def test_plateau_state_dict_round_trip():
    opt, _ = optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for m in [1.0, 0.9, 0.95, 0.96]:
        sched.step(m)
    saved = sched.state_dict()
    json.dumps(saved)
    other = lr_scheduler.ReduceLROnPlateau(optimizers()[0], mode="max")
    other.load_state_dict(saved)
    assert (other.mode, other.best, other.num_bad_epochs) == ("min", 0.9, sched.num_bad_epochs)
    assert other.mode_worse == float("inf")


def test_lambda_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self, n):
            self.n = n

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.n)

    opt, _ = optimizers()
    sched = lr_scheduler.LambdaLR(opt, lr_lambda=[Warmup(4), decay])
    saved = sched.state_dict()
    assert saved["lr_lambdas"] == [{"n": 4}, None]
    fresh = Warmup(100)
    other = lr_scheduler.LambdaLR(optimizers()[0], lr_lambda=[fresh, decay])
    other.load_state_dict(saved)
    assert fresh.n == 4


def test_warns_when_scheduler_steps_before_optimizer():
    opt, _ = optimizers()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2, _ = optimizers()
    sched2 = lr_scheduler.StepLR(opt2, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()


@pytest.mark.parametrize("config", SCHEDULERS[:7], ids=ids)
def test_explicit_epoch_uses_closed_form_like_torch(config):
    name, options = config
    opt, topt = optimizers()
    sched = getattr(lr_scheduler, name)(opt, **options)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **options)
    opt.step()
    topt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsched.step(9)
    assert_same_lrs(sched, tsched, opt, topt, 9)


def test_save_and_load_optimizer_and_scheduler(tmp_path):
    """Through cr.save / cr.load (safetensors + JSON): training resumes identically."""
    def make():
        opt, _ = optimizers("Adam")
        return opt, lr_scheduler.MultiStepLR(opt, milestones=[3, 5, 5], gamma=0.5)

    def train(opt, sched, steps):
        for _ in range(steps):
            for group in opt.param_groups:
                for p in group["params"]:
                    p.grad = cr.ones_like(p) * (p + 1.0)
            opt.step()
            sched.step()

    opt, sched = make()
    train(opt, sched, 8)
    opt1, sched1 = make()
    train(opt1, sched1, 4)
    cr.save({"optimizer": opt1.state_dict(), "scheduler": sched1.state_dict()},
            tmp_path / "ckpt")
    ckpt = cr.load(tmp_path / "ckpt")
    opt2, sched2 = make()
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    for g1, g2 in zip(opt1.param_groups, opt2.param_groups, strict=True):
        g2["params"][0]._data[...] = g1["params"][0]._data
    train(opt2, sched2, 4)
    assert sched2.get_last_lr() == sched.get_last_lr()
    for g, g2 in zip(opt.param_groups, opt2.param_groups, strict=True):
        np.testing.assert_array_equal(g["params"][0]._data, g2["params"][0]._data)
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched2.step(7)  # the closed form needs the milestones as a Counter again
    assert sched2.get_last_lr() == [0.1 * 0.125, 0.05 * 0.125]
