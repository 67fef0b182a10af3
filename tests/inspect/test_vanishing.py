"""The vanishing-gradient experiment: the textbook claims must show in the numbers."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.cli import main
from chainrule.inspect.vanishing import build_mlp, run_experiment, run_one

DEPTH, WIDTH = 10, 32


@pytest.fixture(scope="module")
def plain():
    return {r.activation: r for r in run_experiment(DEPTH, WIDTH).runs}


@pytest.fixture(scope="module")
def residual():
    return run_experiment(DEPTH, WIDTH, ["sigmoid", "relu"], residual=True)


@pytest.fixture(scope="module")
def layernorm():
    return run_experiment(DEPTH, WIDTH, ["sigmoid", "relu"], norm="layer")


def test_sigmoid_collapses(plain):
    r = plain["sigmoid"]
    assert r.ratio < 1e-5
    # geometric decay: every layer further from the output has a smaller gradient
    assert all(a < b for a, b in zip(r.grad_norms, r.grad_norms[1:]))


def test_sigmoid_obeys_the_quarter_bound(plain):
    """sigma' <= 0.25: ||dL/dz_1|| <= 0.25^(depth-1) * prod_l ||W_l||_2 * ||dL/dz_depth||."""
    r = plain["sigmoid"]
    textbook, bound = r.sigmoid_bound()
    assert textbook == 0.25 ** (DEPTH - 1)
    state = cr.get_rng_state()
    cr.manual_seed(0)  # run_one's seed: the same weights
    model = build_mlp("sigmoid", DEPTH, WIDTH)
    cr.set_rng_state(state)
    expected = textbook * np.prod([np.linalg.norm(
        b.linear.weight.detach().numpy().astype(np.float64), 2) for b in model][1:])
    assert bound == pytest.approx(expected, rel=1e-12)
    assert r.signal_ratio <= bound
    # and each layer does shrink the signal by at least a factor 4 on average
    assert r.signal_ratio ** (1 / (DEPTH - 1)) < 0.25 * 1.1


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_relu_gelu_and_xavier_tanh_keep_magnitude(plain, activation):
    assert 0.1 < plain[activation].ratio < 10


def test_residual_connections_restore_flow(plain, residual):
    runs = {r.activation: r for r in residual.runs}
    assert runs["sigmoid"].ratio > 1e3 * plain["sigmoid"].ratio
    assert runs["sigmoid"].ratio > 1e-3  # no longer vanishing by GradientFlow's default
    assert 0.05 < runs["relu"].ratio < 20
    assert [b.ratio for b in residual.baselines] == [plain["sigmoid"].ratio, plain["relu"].ratio]


def test_layernorm_restores_flow(plain, layernorm):
    runs = {r.activation: r for r in layernorm.runs}
    assert runs["sigmoid"].ratio > 1e4 * plain["sigmoid"].ratio
    assert runs["sigmoid"].ratio > 0.1
    assert 0.1 < runs["relu"].ratio < 10


def test_verdicts(plain, residual, layernorm):
    assert [f.kind for f in plain["sigmoid"].findings] == ["vanishing"]
    for a in ("tanh", "relu", "gelu"):
        assert plain[a].findings == []
    for r in residual.runs + layernorm.runs:
        assert r.findings == [], r.label


def test_networks_are_built_as_described():
    model = build_mlp("sigmoid", 4, 8, residual=True, norm="layer")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 4
    assert sum(isinstance(m, nn.Sigmoid) for m in model.modules()) == 3
    assert sum(isinstance(m, nn.LayerNorm) for m in model.modules()) == 3
    assert model[0].residual_scale == pytest.approx(1 / np.sqrt(3))
    assert model[3].residual_scale is None and model[3].act is None
    assert all(not np.any(m.bias.detach().numpy()) for m in linears)  # "auto": zero biases
    he = build_mlp("relu", 3, 200)[1].linear.weight.detach().numpy()
    xavier = build_mlp("tanh", 3, 200)[1].linear.weight.detach().numpy()
    assert he.std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)
    assert xavier.std() == pytest.approx(np.sqrt(1 / 200), rel=0.05)


def test_same_seed_same_numbers_and_callers_rng_untouched():
    cr.manual_seed(123)
    state = cr.get_rng_state()
    a = run_one("tanh", 4, 8, seed=5)
    assert cr.get_rng_state().tolist() == state.tolist()
    b = run_one("tanh", 4, 8, seed=5)
    assert a.grad_norms == b.grad_norms
    assert run_one("tanh", 4, 8, seed=6).grad_norms != a.grad_norms


@pytest.mark.parametrize("kwargs, message", [
    (dict(activations=["swish"]), "unknown activation 'swish'"),
    (dict(depth=1), "depth must be at least 2"),
    (dict(width=0), "width must be at least 1"),
    (dict(norm="batch"), "unknown norm 'batch'"),
    (dict(init="orthogonal"), "unknown init 'orthogonal'"),
    (dict(batch=0), "batch must be at least 1"),
    (dict(activations=[]), "at least one activation"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_experiment(**kwargs)


def test_report_text(residual):
    exp = residual
    text = exp.report()
    assert "sigmoid+residual" in text and "relu+residual" in text
    table = exp.table().splitlines()
    assert table[1].split() == ["layer", "sigmoid+residual", "relu+residual"]
    assert table[3].split()[0] == "1" and table[12].startswith("10 (output)")
    assert table[14].split()[:2] == ["plain", "first/last"]
    first_last = table[13].split()
    assert first_last[0] == "first/last"
    assert float(first_last[1]) == pytest.approx(exp.runs[0].ratio, rel=1e-2)
    assert f"0.25^{DEPTH - 1} = {0.25 ** (DEPTH - 1):.2e}" in text
    assert "sigmoid+residual: healthy" in text


def test_cli_prints_numbers_and_writes_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib (chainrule[plot])")
    out = tmp_path / "plots"
    code = main(["vanishing", "--depth", "6", "--width", "16", "--activations", "sigmoid,relu",
                 "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "sigmoid" in text and "relu" in text and "first/last" in text
    assert "0.25^5" in text
    assert "sigmoid: vanishing: layer 1's gradient norm is" in text
    assert os.listdir(out) == ["vanishing.png"]
    assert (out / "vanishing.png").read_bytes()[:4] == b"\x89PNG"
    code = main(["vanishing", "--depth", "4", "--width", "8", "--activations", "tanh",
                 "--norm", "layer", "--residual", "--out", str(out)])
    assert code == 0
    assert sorted(os.listdir(out)) == ["vanishing-residual-layernorm.png", "vanishing.png"]


def test_cli_no_plot_and_bad_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["vanishing", "--depth", "3", "--width", "4", "--no-plot"]) == 0
    assert os.listdir(tmp_path) == []
    capsys.readouterr()
    assert main(["vanishing", "--activations", "sigmoid,swish"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("chainrule vanishing: error: vanishing: unknown activation 'swish'; "
                           "expected one of sigmoid, tanh, relu, gelu, leaky_relu, elu, silu")
    assert main(["vanishing", "--depth", "1"]) == 2
    assert "depth must be at least 2" in capsys.readouterr().err


def test_cli_without_matplotlib_still_prints_the_numbers(tmp_path, capsys, monkeypatch):
    import chainrule.inspect.vanishing as vanishing

    def missing(figsize):
        raise ImportError("plotting needs matplotlib: pip install chainrule[plot]")

    monkeypatch.setattr(vanishing, "new_figure", missing)
    assert main(["vanishing", "--depth", "3", "--width", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "first/last" in out
    assert out.rstrip().endswith("plot skipped: plotting needs matplotlib: pip install "
                                 "chainrule[plot]")
    assert os.listdir(tmp_path) == []
