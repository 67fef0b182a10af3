"""doctor: each mistake planted in a small model is found and named; healthy models pass."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
import chainrule.optim as optim
from chainrule.cli import main
from chainrule.cli.doctor import BUGS, build
from chainrule.inspect import doctor

HERE = os.path.basename(__file__)


def line_of(marker: str) -> int:
    with open(__file__) as f:
        for n, line in enumerate(f, 1):
            if line.rstrip().endswith(f"# {marker}"):
                return n
    raise AssertionError(marker)


@pytest.fixture(autouse=True)
def seeded():
    state = cr.get_rng_state()
    cr.manual_seed(0)
    yield
    cr.set_rng_state(state)


def mlp(*sizes, act=nn.ReLU):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def data(n=32, d=6, classes=3):
    x = cr.randn(n, d)
    return x, (x @ cr.randn(d, classes)).argmax(dim=1)


def binary(n=32, d=6):
    x = cr.randn(n, d)
    return x, (x[:, :1] > 0).float()


def kinds(report):
    return report.kinds()


# ---- healthy models: no false alarms -----------------------------------------------------------
@pytest.mark.parametrize("make_opt", [None, lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                      lambda p: optim.Adam(p, lr=1e-3)],
                         ids=["no-optimizer", "sgd", "adam"])
def test_healthy_mlp_has_no_finding(make_opt):
    model = mlp(6, 16, 16, 3)
    opt = None if make_opt is None else make_opt(model.parameters())
    report = doctor(model, nn.CrossEntropyLoss(), data(), opt)
    assert report.findings == [], str(report)
    assert report.ok
    outcomes = dict(report.checks)
    assert outcomes["gradcheck"] == "ok" and outcomes["flow"] == "ok"
    if opt is not None:
        assert outcomes["lr_probe"] == "ok" and outcomes["zero_grad"] == "ok"
    else:
        assert outcomes["lr_probe"] == "skipped: no optimizer"


def test_healthy_varied_model_has_no_finding():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(6, 16)
            self.norm = nn.LayerNorm(16)
            self.drop = nn.Dropout(0.2)  # random, but the same mask at every evaluation
            self.mid = nn.Linear(16, 16)
            self.out = nn.Linear(16, 1)

        def forward(self, x):
            h = self.drop(F.gelu(self.norm(self.inp(x))))
            h = h + self.mid(h).tanh()
            return self.out(h)

    model = Net()
    x, y = binary()
    report = doctor(model, nn.BCEWithLogitsLoss(), (x, y), optim.Adam(model.parameters()))
    assert report.findings == [], str(report)


def test_sigmoid_then_bce_with_moderate_outputs_is_fine():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
    x, y = binary()
    report = doctor(model, nn.BCELoss(), (x, y))
    assert report.findings == [], str(report)


class Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g


class BadCube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x ** 2 * g  # planted: the power rule gives 3 x^2


class Apply(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn.apply(x)


def test_correct_custom_function_passes():
    model = nn.Sequential(nn.Linear(6, 8), Apply(Cube), nn.Linear(8, 3))
    assert doctor(model, nn.CrossEntropyLoss(), data()).findings == []


# ---- each planted mistake ----------------------------------------------------------------------
def test_wrong_backward_is_caught_and_named():
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), Apply(BadCube), nn.Linear(8, 3))
    report = doctor(model, nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["wrong_gradient"]
    f = report.findings[0]
    assert f.layer == "BadCube"
    assert "BadCube" in f.message and "'2' (Apply)" in f.message
    assert f.evidence["functions"] == ["BadCube"]
    assert [m for m, _, _ in f.evidence["modules"]] == ["2"]
    assert f.evidence["parameter"] == "0.weight"  # the first parameter behind it
    assert f.evidence["analytical"] != pytest.approx(f.evidence["numerical"], rel=1e-3)
    assert "BadCube.backward" in f.fix and "gradcheck" in f.fix


def test_wrong_backward_in_the_models_own_forward():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.b(BadCube.apply(self.a(x).tanh()))

    report = doctor(Net(), nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["wrong_gradient"]
    assert report.findings[0].layer == "BadCube"
    assert "the model (Net)" in report.findings[0].message


def test_unused_parameter():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = mlp(6, 8, 3)
            self.spare = nn.Linear(8, 8)

        def forward(self, x):
            return self.body(x)

    report = doctor(Net(), nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["no_gradient", "no_gradient"]
    assert [f.layer for f in report.findings] == ["spare.weight", "spare.bias"]
    assert "it is unused" in report.findings[0].message
    assert report.findings[0].evidence["numerical"] == 0.0


def test_detached_parameter():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)
            self.scale = nn.Parameter(cr.ones(8))

        def forward(self, x):
            return self.b(self.a(x).relu() * self.scale.detach())

    report = doctor(Net(), nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["no_gradient"]
    f = report.findings[0]
    assert f.layer == "scale" and "detached" in f.message
    assert f.evidence["numerical"] != 0
    assert ".detach()" in f.fix


class LogNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.b(self.a(x).relu().log())  # planted-log


def test_nan_in_forward_names_op_line_and_module():
    report = doctor(LogNet(), nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["nonfinite"]
    f = report.findings[0]
    assert "the loss is nan" in f.message
    assert "log received" in f.message and "-> -inf" in f.message
    assert f"{HERE}:{line_of('planted-log')}" in f.message
    assert "the model's own forward (LogNet)" in f.message
    assert dict(report.checks) == {"nonfinite": "found 1"}  # nothing else is meaningful


class SqrtNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.b(self.a(x).relu().sqrt())  # planted-sqrt


def test_inf_in_backward_is_located():
    report = doctor(SqrtNet(), nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["nonfinite"]
    f = report.findings[0]
    assert "contains NaN/Inf" in f.message and f.layer == "a.weight"
    assert "sqrt" in f.message.lower() and "backward" in f.message
    assert f"{HERE}:{line_of('planted-sqrt')}" in f.message


def test_vanishing():
    model = mlp(6, *[32] * 9, 3, act=nn.Sigmoid)
    report = doctor(model, nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["vanishing"]
    assert report.findings[0].evidence["ratio"] < 1e-3
    assert "sigmoid" in report.findings[0].message


def test_exploding():
    model = mlp(6, *[32] * 7, 3)
    with cr.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.weight.mul_(4.0)
    report = doctor(model, nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["exploding"]


def test_dead_relus():
    model = mlp(6, 16, 16, 3)
    with cr.no_grad():
        model[2].bias.fill_(-20.0)
    report = doctor(model, nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["dead"]
    assert report.findings[0].layer == "2"
    assert report.findings[0].evidence["dead_fraction"] == 1.0


def test_saturation():
    model = mlp(6, 16, 3, act=nn.Tanh)
    with cr.no_grad():
        model[0].weight.mul_(30.0)
    report = doctor(model, nn.CrossEntropyLoss(), data())
    assert kinds(report) == ["saturated"]
    assert report.findings[0].layer == "0"


@pytest.mark.parametrize("loss_fn", [nn.BCELoss(), F.binary_cross_entropy,
                                     lambda p, y: F.binary_cross_entropy(p, y)],
                         ids=["module", "function", "lambda"])
def test_sigmoid_then_bce_on_saturated_inputs(loss_fn):
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
    with cr.no_grad():
        model[2].weight.mul_(100.0)
    x, y = binary()
    report = doctor(model, loss_fn, (x, y))
    assert kinds(report) == ["sigmoid_bce"]  # once: not also as a saturated output layer
    f = report.findings[0]
    assert f.evidence["saturated_fraction"] > 0.05
    assert "BCEWithLogitsLoss" in f.fix


def test_learning_rate_too_high_on_a_copy():
    model = mlp(6, 16, 3)
    opt = optim.SGD(model.parameters(), lr=20.0)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    report = doctor(model, nn.CrossEntropyLoss(), data(), opt)
    assert kinds(report) == ["lr_too_high"]
    f = report.findings[0]
    losses = f.evidence["losses"]
    assert len(losses) == 6 and losses[-1] > losses[0]
    assert f.evidence["lr"] == [20.0] and "lr=20" in f.message
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)
    assert opt.state == {} or all(not s for s in opt.state.values())


def test_forgotten_zero_grad():
    model = mlp(6, 16, 3)
    loss_fn, (x, y) = nn.CrossEntropyLoss(), data()
    opt = optim.SGD(model.parameters(), lr=0.05)
    for _ in range(4):
        loss_fn(model(x), y).backward()  # no opt.zero_grad()
        opt.step()
    report = doctor(model, loss_fn, (x, y), opt)
    assert kinds(report) == ["accumulating_gradients"]
    assert report.findings[0].evidence["stale_gradient_steps"] == 3
    assert "zero_grad()" in report.findings[0].fix

    model = mlp(6, 16, 3)
    opt = optim.SGD(model.parameters(), lr=0.05)
    for _ in range(4):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    assert doctor(model, loss_fn, (x, y), opt).findings == []


# ---- the contract ------------------------------------------------------------------------------
def test_users_model_optimizer_and_rng_are_untouched():
    model = mlp(6, 16, 3)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn, (x, y) = nn.CrossEntropyLoss(), data()
    loss_fn(model(x), y).backward()
    opt.step()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    weights = [p.detach().numpy().copy() for p in model.parameters()]
    moments = [opt.state[p]["exp_avg"].numpy().copy() for p in model.parameters()]
    rng = cr.get_rng_state()
    doctor(model, loss_fn, (x, y), opt)
    assert cr.get_rng_state().tolist() == rng.tolist()
    for p, g, w, m in zip(model.parameters(), grads, weights, moments):
        np.testing.assert_array_equal(p.grad.numpy(), g)
        np.testing.assert_array_equal(p.detach().numpy(), w)
        np.testing.assert_array_equal(opt.state[p]["exp_avg"].numpy(), m)
    assert opt.stale_gradient_steps == 0
    assert model.training


class Concat(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, a, b):
        return self.inner(cr.cat([a, b], dim=1))


def test_batch_forms_and_errors():
    model = nn.Sequential(nn.Linear(6, 1))
    x = cr.randn(8, 6)
    assert doctor(model, lambda out: (out ** 2).mean(), x).ok
    assert doctor(model, lambda out: (out ** 2).mean(), (x,)).ok
    two_inputs = Concat(nn.Linear(12, 1))
    report = doctor(two_inputs, nn.MSELoss(), (x, x, cr.randn(8, 1)))  # as fit reads it
    assert report.ok
    assert doctor(two_inputs, nn.MSELoss(), ((x, x), cr.randn(8, 1))).ok
    with pytest.raises(TypeError, match=r"doctor: each batch must be \(inputs\.\.\., target\)"):
        doctor(model, nn.MSELoss(), {"x": x})
    with pytest.raises(ValueError, match="loss_fn must return a scalar Tensor"):
        doctor(model, lambda out: out, x)


def test_report_reads_as_text():
    model = nn.Sequential(nn.Linear(6, 8), Apply(BadCube), nn.Linear(8, 3))
    text = str(doctor(model, nn.CrossEntropyLoss(), data()))
    lines = text.splitlines()
    assert lines[0].startswith("chainrule doctor: loss ")
    assert lines[1].startswith("1. wrong_gradient: the backward of custom autograd.Function "
                               "BadCube")
    assert lines[2].startswith("   why: ") and lines[3].startswith("   fix: ")
    assert lines[-1].startswith("checks: nonfinite ok; no_gradient ok; gradcheck found 1")


# ---- the command -------------------------------------------------------------------------------
@pytest.mark.parametrize("bug", list(BUGS))
def test_every_planted_bug_is_found(bug):
    model, loss_fn, batch, optimizer = build(bug)
    report = doctor(model, loss_fn, batch, optimizer)
    expected = BUGS[bug][1]
    if expected is None:
        assert report.findings == [], str(report)
    else:
        assert set(report.kinds()) == {expected}, str(report)


def test_cli(capsys):
    assert main(["doctor", "--bug", "wrong-backward"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("planted bug: wrong-backward: ")
    assert "1. wrong_gradient: the backward of custom autograd.Function Swish" in out
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out == out  # wrong-backward is the default
    assert main(["doctor", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(BUGS)
    assert main(["doctor", "--bug", "typo"]) == 2
    assert capsys.readouterr().err.startswith("chainrule doctor: error: unknown bug 'typo'")
