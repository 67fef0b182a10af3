"""GradientFlow: per-layer statistics, the verdict in words, the table, the plot, fit."""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.inspect import GradientFlow
from chainrule.inspect.flow import Finding, FlowThresholds


@pytest.fixture(autouse=True)
def seeded():
    state = cr.get_rng_state()
    cr.manual_seed(0)
    yield
    cr.set_rng_state(state)


def mlp(*sizes, act=nn.ReLU, he=True):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if he:
            nn.init.kaiming_normal_(layers[-1].weight, nonlinearity="relu")
            nn.init.zeros_(layers[-1].bias)
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def batch(n=64, d=8, classes=3):
    x = cr.randn(n, d)
    return x, (x @ cr.randn(d, classes)).argmax(dim=1)


def step(model, x, y, flow=None, opt=None):
    if opt is not None:
        opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    if flow is not None:
        flow.record()
    if opt is not None:
        opt.step()
        if flow is not None:
            flow.after_step()
    return loss.item()


def kinds(findings):
    return [f.kind for f in findings]


# ---- the statistics ----------------------------------------------------------------------------
def test_statistics_match_an_independent_computation():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    assert flow.layer_names == ["0", "2"]
    assert flow.layer_types == {"0": "Linear", "2": "Linear"}
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = {n: [p.detach().numpy().copy() for p in model[int(n)].parameters()]
              for n in flow.layer_names}
    step(model, x, y, flow)
    record = flow.history[-1]
    for name in flow.layer_names:
        params = list(model[int(name)].parameters())
        g = np.concatenate([p.grad.numpy().ravel() for p in params]).astype(np.float64)
        w = np.concatenate([p.detach().numpy().ravel() for p in params]).astype(np.float64)
        stats = record.layers[name]
        np.testing.assert_allclose(stats.grad_norm, np.linalg.norm(g), rtol=1e-12)
        np.testing.assert_allclose(stats.mean_abs_grad, np.abs(g).mean(), rtol=1e-12)
        np.testing.assert_allclose(stats.grad_weight_ratio, np.linalg.norm(g) / np.linalg.norm(w),
                                   rtol=1e-12)
        assert stats.update_weight_ratio is None  # no step yet
    opt.step()
    flow.after_step()
    for name in flow.layer_names:
        params = list(model[int(name)].parameters())
        old = np.concatenate([a.ravel() for a in before[name]]).astype(np.float64)
        new = np.concatenate([p.detach().numpy().ravel() for p in params]).astype(np.float64)
        np.testing.assert_allclose(record.layers[name].update_weight_ratio,
                                   np.linalg.norm(new - old) / np.linalg.norm(old), rtol=1e-10)


def test_update_ratio_also_comes_from_the_next_record():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    step(model, x, y, flow)
    opt.step()
    opt.zero_grad()
    step(model, x, y, flow)  # without after_step: this record finishes the previous one
    assert all(s.update_weight_ratio > 0 for s in flow.history[0].layers.values())
    assert all(s.update_weight_ratio is None for s in flow.history[1].layers.values())


def test_no_step_between_records_gives_no_update_ratio():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y, flow)
    step(model, x, y, flow)  # gradient accumulation: the weights did not move
    assert flow.history[0].layers["0"].update_weight_ratio is None


def test_layer_without_gradient_is_recorded_as_none():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    step(model, x, y, flow)
    assert flow.history[-1].layers["0"].grad_norm is None
    assert flow.history[-1].layers["2"].grad_norm > 0
    assert "vanishing" not in kinds(flow.diagnose())


def test_dead_units_are_counted_over_the_whole_batch():
    model = mlp(8, 32, 32, 3)
    with cr.no_grad():
        model[2].bias.fill_(-100.0)  # every unit of layer 2 dead
        model[0].bias[:8] = -100.0  # a quarter of layer 1's units dead
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y, flow)
    stats = flow.history[-1].layers
    assert stats["0"].activation == "ReLU" and stats["0"].dead_fraction == pytest.approx(0.25)
    assert stats["2"].dead_fraction == 1.0
    assert stats["4"].dead_fraction is None  # no ReLU after the output layer
    found = flow.diagnose()
    assert kinds(found) == ["dead"]
    dead = found[0]
    assert dead.layer == "2" and dead.evidence["dead_fraction"] == 1.0
    assert "100% of layer 2" in dead.message and "ReLU" in dead.message
    assert "LeakyReLU" in dead.fix
    assert "no gradient" in dead.message  # it also explains why layer 1 gets nothing


def test_saturation_of_tanh():
    model = mlp(8, 32, 3, act=nn.Tanh, he=False)
    with cr.no_grad():
        model[0].weight.mul_(30.0)
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y, flow)
    sat = flow.history[-1].layers["0"].saturated_fraction
    out = model[1](model[0](x)).detach().numpy()
    assert sat == pytest.approx(np.mean(np.abs(out) >= 0.98))
    assert sat > 0.8
    found = flow.diagnose()
    assert kinds(found) == ["saturated"]
    assert found[0].layer == "0" and "tanh" in found[0].message


def test_shared_activation_module_is_credited_to_each_layer():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 3)
            self.act = nn.ReLU()  # one module used after two layers

        def forward(self, x):
            return self.c(self.act(self.b(self.act(self.a(x)))))

    model = Net()
    with cr.no_grad():
        model.b.bias.fill_(-100.0)
    flow = GradientFlow(model)
    x, y = batch()
    step(model, x, y, flow)
    stats = flow.history[-1].layers
    assert stats["b"].dead_fraction == 1.0
    assert stats["a"].dead_fraction < 0.5


def test_each_forward_pass_starts_afresh():
    """An activation applied before any layer has run is credited to no layer, not to the
    last layer of the previous pass."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 16), nn.Linear(16, 3)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.b(self.act(self.a(self.act(x))))

    model = Net()
    flow = GradientFlow(model)
    x, y = batch()
    step(model, x, y, flow)
    step(model, x, y, flow)
    assert [r.layers["b"].dead_fraction for r in flow.history] == [None, None]
    assert all(r.layers["a"].activation == "ReLU" for r in flow.history)


def test_evaluation_passes_under_no_grad_are_ignored():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    with cr.no_grad():
        model(x - 1000.0)  # an evaluation batch that would kill every unit
    flow.record()
    assert flow.history[-1].layers["0"].dead_fraction < 0.5


# ---- the verdict -------------------------------------------------------------------------------
def test_vanishing_in_a_deep_sigmoid_network_in_words():
    model = mlp(8, *[32] * 9, 3, act=nn.Sigmoid, he=False)
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y, flow)
    found = flow.diagnose()
    assert kinds(found) == ["vanishing"]
    f = found[0]
    assert isinstance(f, Finding) and f.layer == "0"
    ratio = flow.history[-1].layers["0"].grad_norm / flow.history[-1].layers["18"].grad_norm
    assert f.evidence["ratio"] == pytest.approx(ratio)
    assert ratio < 1e-3
    assert f.message.startswith("layer 1's gradient norm is ")
    assert "of layer 10's" in f.message and "sigmoid" in f.message
    assert "ReLU/GELU" in f.fix and "residual" in f.fix and "normalisation" in f.fix
    assert str(f) == f"vanishing: {f.message}; {f.fix}"
    assert f.explanation


def test_exploding_gradients():
    model = mlp(8, *[32] * 7, 3)
    with cr.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight.mul_(4.0)
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y, flow)
    found = flow.diagnose()
    assert kinds(found) == ["exploding"]
    assert found[0].evidence["grad_norm"] > 1e4
    assert "clip_grad_norm_" in found[0].fix


def test_nonfinite_gradients():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y)
    model[0].weight.grad.numpy()[0, 0] = np.nan  # planted
    flow.record()
    found = flow.diagnose()
    assert kinds(found) == ["nonfinite"] and found[0].layer == "0"
    assert "detect_anomaly" in found[0].fix


def test_large_updates():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    opt = optim.SGD(model.parameters(), lr=5.0)
    step(model, x, y, flow, opt)
    found = flow.diagnose()
    assert "update_too_large" in kinds(found)
    big = next(f for f in found if f.kind == "update_too_large")
    assert big.evidence["update_weight_ratio"] > 0.1
    assert "learning rate" in big.fix


def test_healthy_training_has_no_finding():
    model = mlp(8, 32, 32, 3)
    x, y = batch()
    flow = GradientFlow(model)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    losses = [step(model, x, y, flow, opt) for _ in range(5)]
    assert losses[-1] < losses[0]
    assert len(flow.history) == 5
    assert flow.diagnose() == []


def test_thresholds_are_configurable():
    model = mlp(8, *[32] * 9, 3, act=nn.Sigmoid, he=False)
    x, y = batch()
    lenient = GradientFlow(model, vanishing_ratio=1e-30)
    strict = GradientFlow(model, thresholds=FlowThresholds(vanishing_ratio=1e-30, window=1))
    step(model, x, y)
    lenient.record()
    strict.record()
    assert lenient.thresholds.vanishing_ratio == 1e-30
    assert lenient.diagnose() == [] and strict.diagnose() == []
    assert FlowThresholds().vanishing_ratio == 1e-3  # documented defaults
    with pytest.raises(TypeError):
        GradientFlow(model, no_such_threshold=1)
    with pytest.raises(ValueError, match="window must be at least 1"):
        GradientFlow(model, window=0)
    doc = FlowThresholds.__doc__
    for f in dataclasses.fields(FlowThresholds):
        assert f"``{f.name}``" in doc


def test_chosen_layers_and_errors():
    model = mlp(8, 16, 3)
    flow = GradientFlow(model, layers=["2"])
    assert flow.layer_names == ["2"]
    with pytest.raises(ValueError, match="no module named 'nope'"):
        GradientFlow(model, layers=["nope"])
    with pytest.raises(ValueError, match="no module with parameters"):
        GradientFlow(nn.Sequential(nn.ReLU()))
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        flow.diagnose()
    with pytest.raises(ValueError, match="unknown statistic"):
        flow.series("nope")


def test_remove_unhooks():
    model = mlp(8, 16, 3)
    flow = GradientFlow(model)
    with flow:
        pass
    x, y = batch()
    with cr.no_grad():
        model[0].bias.fill_(-100.0)
    step(model, x, y, flow)  # record still works: gradients are read from the parameters
    assert flow.history[-1].layers["0"].dead_fraction is None


# ---- reading it --------------------------------------------------------------------------------
def test_summary_table_and_rows():
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step(model, x, y, flow, opt)
    text = flow.summary()
    lines = text.splitlines()
    assert lines[0].startswith("gradient flow at step 0 (first/last layer gradient norm: ")
    assert "grad norm" in lines[1] and "update/weight" in lines[1] and "dead" in lines[1]
    assert len(lines) == 2 + 1 + 2  # title, header, rule, two layers
    rows = flow.rows()
    assert [r["layer"] for r in rows] == ["0", "2"]
    assert f"{rows[0]['grad_norm']:.2e}" in lines[3]
    dead = f"{100 * rows[0]['dead_fraction']:.0f}%"
    assert lines[3].split()[-3:] == ["ReLU", dead, "-"]  # activation, dead, saturated
    assert lines[4].split()[-3:] == ["-", "-", "-"]  # the output layer has no activation
    series = flow.series("grad_norm")
    assert series["0"] == [rows[0]["grad_norm"]]


def test_plot_writes_an_image_atomically(tmp_path):
    pytest.importorskip("matplotlib", reason="plotting needs matplotlib (chainrule[plot])")
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        step(model, x, y, flow, opt)
    path = tmp_path / "flow.png"
    assert flow.plot(path) == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["flow.png"]  # no temp file left behind
    svg = flow.plot(tmp_path / "flow.svg")
    assert open(svg).read().lstrip().startswith("<?xml")


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    model = mlp(8, 16, 3)
    x, y = batch()
    flow = GradientFlow(model)
    step(model, x, y, flow)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install chainrule\[plot\]"):
        flow.plot(tmp_path / "flow.png")
    assert os.listdir(tmp_path) == []


def test_as_a_fit_callback():
    training = pytest.importorskip("chainrule.training")
    from chainrule.utils.data import DataLoader, TensorDataset

    model = mlp(8, 16, 3)
    x, y = batch()
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    flow = GradientFlow(model)
    opt = optim.SGD(model.parameters(), lr=0.05)
    training.fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=2, callbacks=[flow],
                 progress=False, val_loader=loader)
    assert len(flow.history) == 8  # 4 batches x 2 epochs
    assert [r.step for r in flow.history] == list(range(8))
    assert all(s.update_weight_ratio is not None for r in flow.history
               for s in r.layers.values())
    assert flow.diagnose() == []
