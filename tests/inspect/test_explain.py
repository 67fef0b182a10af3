"""explain(): the worked examples' numbers, accumulation, renderers, big graphs; the safe
expression parser and ``chainrule explain``."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.inspect as ins
from chainrule.autograd.function import Function, Primitive
from chainrule.cli import main
from chainrule.inspect._graph import _KEPT, GraphFreedError
from chainrule.inspect.explain import Explanation, explain, keep_values
from chainrule.inspect.expression import ExpressionError, parse

f64 = cr.float64


def scalars(*values):
    return [cr.tensor(v, dtype=f64, requires_grad=True) for v in values]


def line_with(text: str, *parts: str) -> str:
    """The one line of ``text`` containing every part (fails if none)."""
    for line in text.splitlines():
        if all(p in line for p in parts):
            return line
    raise AssertionError(f"no line contains {parts!r} in:\n{text}")


# ---- the classic worked examples ---------------------------------------------------------------


def test_squared_error_worked_example():
    w, x, y = scalars(2.0, 3.0, 10.0)
    L = (w * x - y) ** 2
    e = explain(L, names={"w": w, "x": x, "y": y})
    text = str(e)
    # forward 6, -4, 16
    assert line_with(text, "t1", "= w * x = 6")
    assert line_with(text, "t2", "= t1 - y = -4")
    assert line_with(text, "L ", "= t2 ** 2 = 16")
    # backward: -8, then x1, then x3, so dL/dw = -24
    assert "∂L/∂t2 = 2·t2 = -8;  sends 1 × -8 = -8" in text
    assert "∂t2/∂t1 = 1;  sends -8 × 1 = -8" in text
    assert "∂t1/∂w = x = 3;  sends -8 × 3 = -24" in text
    assert "dL/dw = -24" in text
    pow_step, sub_step, mul_step = e.steps
    assert [s.op for s in e.steps] == ["PowScalar", "Sub", "Mul"]
    assert [s.value.item() for s in e.steps] == [16.0, -4.0, 6.0]
    assert pow_step.edges[0].local.item() == -8.0
    assert sub_step.grad.item() == -8.0
    assert [edge.local.item() for edge in sub_step.edges] == [1.0, -1.0]
    assert mul_step.grad.item() == -8.0
    assert [edge.local.item() for edge in mul_step.edges] == [3.0, 2.0]
    assert [edge.sent.item() for edge in mul_step.edges] == [-24.0, -16.0]
    assert {k: v.item() for k, v in e.grads.items()} == {"w": -24.0, "x": -16.0, "y": 8.0}


def test_tanh_neuron_worked_example():
    x, w, b = scalars(1.0, -2.0, 3.0)
    a = cr.tanh(w * x + b)
    e = explain(a, names={"x": x, "w": w, "b": b})
    text = str(e)
    assert line_with(text, "L ", "tanh(", "= 0.7616")
    assert "dL/dw = 0.4200" in text
    assert "dL/db = 0.4200" in text
    assert "1 - L² = 0.4200" in text  # tanh's local derivative, from its output
    expected = 1 - math.tanh(1.0) ** 2
    assert e.grads["w"].item() == pytest.approx(expected, rel=1e-15)
    assert e.grads["b"].item() == pytest.approx(expected, rel=1e-15)
    assert e.grads["x"].item() == pytest.approx(-2 * expected, rel=1e-15)


def test_two_two_one_network_delta_terms():
    x = cr.tensor([[0.5, -1.0]], dtype=f64)
    W = cr.tensor([[0.1, -0.3], [0.2, 0.4]], dtype=f64, requires_grad=True)
    b = cr.tensor([0.0, 0.1], dtype=f64, requires_grad=True)
    v = cr.tensor([[0.7], [-0.5]], dtype=f64, requires_grad=True)
    c = cr.tensor([0.2], dtype=f64, requires_grad=True)
    y = cr.tensor([[1.0]], dtype=f64)
    with keep_values():
        z_h = x @ W + b
        h = cr.sigmoid(z_h)
        y_hat = h @ v + c
        L = 0.5 * ((y - y_hat) ** 2).sum()
    e = explain(L, names={"x": x, "W": W, "b": b, "v": v, "c": c, "y": y, "z_h": z_h,
                          "h": h, "y_hat": y_hat})
    # by hand, in NumPy
    xn, Wn, bn, vn, cn, yn = (t.detach().numpy() for t in (x, W, b, v, c, y))
    zn = xn @ Wn + bn
    sn = 1 / (1 + np.exp(-zn))
    y_hat_n = sn @ vn + cn
    delta_o = -(yn - y_hat_n)
    delta_h = delta_o * vn.T * sn * (1 - sn)
    np.testing.assert_allclose(e.step("y_hat").grad, delta_o, rtol=1e-14)
    np.testing.assert_allclose(e.step("z_h").grad, delta_h, rtol=1e-14)
    np.testing.assert_allclose(e.grads["W"], xn.T @ delta_h, rtol=1e-14)
    np.testing.assert_allclose(e.grads["v"], sn.T @ delta_o, rtol=1e-14)
    text = str(e)
    assert f"dL/dy_hat = {delta_o.item():.4f}" in text
    assert "∂h/∂z_h = h·(1 - h)" in text
    assert "→ x: constant, no gradient needed" in text  # the data, known under keep_values
    assert "rule: xᵀ @ dL/dt1" in text


# ---- structure of the trace -------------------------------------------------------------------


def test_accumulation_at_a_shared_node_is_shown():
    (x,) = scalars(3.0)
    a = x * 2.0
    L = a * a + a  # a feeds three edges
    e = explain(L, names={"x": x, "a": a})
    step = e.step("a")
    assert step.accumulated
    # in backward order: L's edge first, then the two of t1 = a * a
    assert [c.grad.item() for c in step.contributions] == [1.0, 6.0, 6.0]
    assert step.grad.item() == 13.0
    assert "dL/da = 1 (from L) + 6 (from t1) + 6 (from t1) = 13" in str(e)
    assert e.grads["x"].item() == 26.0


def test_leaf_used_twice_sums_its_contributions():
    (x,) = scalars(3.0)
    e = explain(x * x, names={"x": x})
    (leaf,) = e.leaves
    assert [c.grad.item() for c in leaf.contributions] == [3.0, 3.0]
    assert "dL/dx = 3 (from L) + 3 (from L) = 6" in str(e)


def test_gradients_equal_the_engines_on_a_broadcasting_graph(rng):
    X = cr.tensor(rng.standard_normal((5, 3)))
    W = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(4), requires_grad=True)
    s = cr.tensor(rng.standard_normal(()), requires_grad=True)
    h = cr.relu(X @ W + b)
    L = (cr.exp(h * s).sum(dim=1) / 4).mean() + (h.reshape(-1)[:3] ** 3).sum()
    e = explain(L)
    L.backward()
    got = dict(zip(("v1", "v2", "v3"), (W, b, s)))
    for name, t in got.items():
        np.testing.assert_allclose(e.grads[name], t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_graph_is_left_as_it_was():
    w, x = scalars(2.0, 3.0)
    L = cr.tanh(w * x) * w
    e1 = explain(L)
    e2 = explain(L)  # the graph is kept: twice works
    assert w.grad is None and x.grad is None  # nothing accumulated
    L.backward()
    assert w.grad.item() == pytest.approx(e1.grads["v1"].item(), rel=1e-15)
    assert x.grad.item() == pytest.approx(e2.grads["v2"].item(), rel=1e-15)


def test_freed_graph_raises_a_clear_error():
    w, x = scalars(2.0, 3.0)
    L = (w * x) ** 2
    L.backward()
    with pytest.raises(GraphFreedError, match=r"retain_graph=True"):
        explain(L)
    L2 = (w * x) ** 2
    L2.backward(retain_graph=True)
    assert explain(L2).grads["v1"].item() == 36.0


def test_bad_arguments():
    with pytest.raises(TypeError, match="explain: expected a Tensor, got list"):
        explain([1.0])
    with pytest.raises(ValueError, match="does not require grad"):
        explain(cr.tensor(1.0) * 2)
    (w,) = scalars(2.0)
    with pytest.raises(ValueError, match=r"gradient shape \(2,\) != output shape \(\)"):
        explain(w * 3, gradient=cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="names: expected a mapping"):
        explain(w * 3, names=[w])
    with pytest.raises(KeyError, match="no step computes 'nope'"):
        explain(w * 3).step("nope")


def test_non_scalar_output_is_seeded_with_ones_or_the_given_gradient():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=f64, requires_grad=True)
    e = explain(x * x)
    np.testing.assert_array_equal(e.grads["v1"], [2.0, 4.0, 6.0])
    assert "ones: as if the output were summed" in str(e)
    e = explain(x * x, gradient=cr.tensor([1.0, 0.0, -1.0], dtype=f64))
    np.testing.assert_array_equal(e.grads["v1"], [2.0, 0.0, -6.0])


def test_a_leaf_output_explains_itself():
    (w,) = scalars(5.0)
    e = explain(w, names={"w": w})
    assert e.steps == [] and e.grads["w"].item() == 1.0


def test_custom_function_step():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    (x,) = scalars(2.0)
    e = explain(Cube.apply(x) * 2.0, names={"x": x})
    cube = e.steps[1]
    assert cube.op == "Cube" and cube.expression == "Cube(x)"
    assert cube.value is None  # a Function's output, saved by no one (x * 2.0 saves nothing)
    assert "keep_values()" in str(e)
    assert cube.edges[0].local.item() == 12.0
    assert e.grads["x"].item() == 24.0
    with keep_values():
        out = Cube.apply(x) * 2.0
    assert explain(out).steps[1].value.item() == 8.0


# ---- forward values and constants -----------------------------------------------------------


def test_constants_named_by_value_with_keep_values():
    (x,) = scalars(2.0)
    c = cr.tensor(5.0, dtype=f64)  # a constant tensor: no gradient edge, and Add saves nothing
    with keep_values():
        L = (x + c) * 3.0
    text = str(explain(L, names={"x": x}))
    assert line_with(text, "t1", "= x + 5 = 7")
    assert "→ 5: constant, no gradient needed" in text
    L2 = (x + c) * 3.0  # without keep_values neither c nor x + c was kept by the graph
    text2 = str(explain(L2, names={"x": x}))
    assert line_with(text2, "t1", "= x + c1 = ?")
    assert line_with(text2, "L ", "= 3 * t1 = 21")


def test_keep_values_restores_the_recording_path():
    before = (Primitive.__dict__["apply"], Function.__dict__["apply"])
    with keep_values(), keep_values():  # nested
        (x,) = scalars(1.0)
        y = x * 2.0
    after = (Primitive.__dict__["apply"], Function.__dict__["apply"])
    assert before == after
    assert _KEPT[y.grad_fn][1][0].item() == 2.0
    z = x * 3.0
    assert z.grad_fn not in _KEPT


def test_values_recovered_without_keep_values():
    # Add saves nothing, Tanh saves only its output: t1 = w*x + b is recomputed
    x, w, b = scalars(1.0, -2.0, 3.0)
    e = explain(cr.tanh(w * x + b) - 1.0)
    assert [None if s.value is None else round(s.value.item(), 4) for s in e.steps] == \
        [-0.2384, 0.7616, 1.0, -2.0]


# ---- renderers ------------------------------------------------------------------------------


def test_markdown_and_html():
    w, x, y = scalars(2.0, 3.0, 10.0)
    e = explain((w * x - y) ** 2, names={"w": w, "x": x, "<y>": y})
    md = e.markdown()
    assert "| `t1` | `w * x` | 6 | Mul |" in md
    assert "| `w` | dL/dw = -24 |" in md
    page = e.html()
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert "&lt;y&gt;" in page and "<y>" not in page  # names are escaped
    assert "dL/dw</code> = -24" in page
    fragment = e._repr_html_()
    assert "<html>" not in fragment and "chainrule-explain" in fragment
    assert repr(e) == "<Explanation of L: 3 steps, 3 inputs>"


def test_big_tensors_are_summarised(rng):
    W = cr.tensor(rng.standard_normal((100, 100)), requires_grad=True)
    v = cr.tensor(rng.standard_normal((100, 1)))
    text = str(explain((W @ v).sum()))
    assert max(len(line) for line in text.splitlines()) < 200
    assert "(100, 100) [" in text and "…] ‖·‖=" in text


def test_ten_thousand_node_graph():
    (x,) = scalars(0.5)
    h = x
    for _ in range(5000):
        h = cr.tanh(h * 1.01)  # two nodes per round
    e = explain(h)
    assert len(e.steps) == 10_000
    assert str(e).count("\n") > 30_000
    h.backward()
    assert e.grads["v1"].item() == pytest.approx(x.grad.item(), rel=1e-12)


def test_public_name_resolves_every_time():
    (w,) = scalars(2.0)
    for _ in range(3):  # the lazy package attribute must stay usable
        assert isinstance(ins.explain(w * w), Explanation)


# ---- the expression parser ---------------------------------------------------------------------


def test_parse_variables_in_order_and_evaluate():
    expr = parse("(w*x - y)**2 + tanh(b) - -x / 2")
    assert expr.variables == ("w", "x", "y", "b")
    w, x, y, b = scalars(2.0, 3.0, 10.0, 0.5)
    out = expr.evaluate({"w": w, "x": x, "y": y, "b": b})
    assert out.item() == pytest.approx(16 + math.tanh(0.5) + 1.5, rel=1e-15)


@pytest.mark.parametrize("source,message", [
    ("__import__('os').system('true')", "a call of something other than a known function"),
    ("__import__('os')", "a call of '__import__', which is not a known function"),
    ("x.__class__", "attribute access"),
    ("x[0]", "indexing"),
    ("x < 2", "a comparison"),
    ("(lambda: 1)()", "a call of something other than a known function"),
    ("'a' * 3", "a str constant"),
    ("x % 2", "the operator %"),
    ("x // 2", "the operator //"),
    ("x @ x", "the operator @"),
    ("not x", "the operator not"),
    ("tanh(x, 2)", "tanh takes 1 argument, got 2"),
    ("tanh(x=1)", "keyword arguments"),
    ("tanh", "tanh is a function"),
    ("[x]", "a list"),
    ("x if x else 1", "a conditional expression"),
    ("True + x", "a bool constant"),
    ("1j * x", "a complex constant"),
    ("(x := 2)", "an assignment"),
    ("f'{x}'", "an f-string"),
    ("x +", "not a valid expression"),
    ("", "empty"),
])
def test_parse_rejects_everything_else(source, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(source)


def test_parse_rejects_huge_input_and_deep_chains_evaluate_iteratively():
    with pytest.raises(ExpressionError, match="at most"):
        parse("x+" * 6000 + "x")
    expr = parse("+".join(["x"] * 1000))  # a 1000-deep left-leaning tree
    (x,) = scalars(1.0)
    assert expr.evaluate({"x": x}).item() == 1000.0


def test_evaluate_errors():
    with pytest.raises(ExpressionError, match="no value given for y"):
        parse("x + y").evaluate({"x": 1.0})
    with pytest.raises(ExpressionError, match="cannot evaluate `1 / 0`"):
        parse("x + 1 / 0").evaluate({"x": 1.0})


# ---- the CLI ---------------------------------------------------------------------------------


def test_cli_explain(capsys, tmp_path):
    html = tmp_path / "e.html"
    md = tmp_path / "e.md"
    graph = tmp_path / "g.svg"
    code = main(["explain", "(w*x - y)**2", "w=2", "x=3", "y=10", "--html", str(html),
                 "--markdown", str(md), "--graph", str(graph)])
    out = capsys.readouterr().out
    assert code == 0
    assert "∂t1/∂w = x = 3;  sends -8 × 3 = -24" in out
    assert "dL/dw = -24" in out and "dL/dy = 8" in out
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert "dL/dw = -24" in md.read_text()
    from chainrule.inspect.draw import dot_available

    written = graph if dot_available() else graph.with_suffix(".dot")
    assert written.exists() and f"wrote {written}" in out


def test_cli_explain_constants_and_vectors(capsys):
    assert main(["explain", "sum(x * 2 + 1)", "x=1,2,3"]) == 0
    out = capsys.readouterr().out
    assert "dL/dx = [2, 2, 2]" in out


@pytest.mark.parametrize("argv,message", [
    (["__import__('os').system('echo pwned')"], "not allowed"),
    (["x.real", "x=1"], "attribute access"),
    (["x + y", "x=1"], "no value given for y"),
    (["x", "x=1", "z=2"], "z not used in the expression"),
    (["x", "x=abc"], "'abc' is not a number"),
    (["x", "x"], "expected NAME=VALUE"),
    (["x", "x=1", "x=2"], "x is given twice"),
    (["2 * 3"], "no variables"),
    (["x + 1/0", "x=1"], "cannot evaluate"),
])
def test_cli_explain_rejects_with_one_line(capsys, argv, message):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert err.startswith("chainrule explain: error:")


def test_cli_never_evaluates_python(tmp_path, capsys):
    target = tmp_path / "created"
    assert main(["explain", f"open({str(target)!r}, 'w')"]) == 2
    assert not target.exists()
    assert not os.path.exists("pwned")


def test_values_are_recomputed_with_the_recorded_forward_parameters():
    # pad keeps its padding nowhere but in the recorded call: explain still knows t1 and t2
    x = cr.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    L = cr.nn.functional.pad(x, (1, 2), value=3.0).sum() * 2.0
    text = str(explain(L, names={"x": x}))
    assert line_with(text, "t1", "= pad(x) = [3, 1, 2, 3, 3]")
    assert line_with(text, "t2", "= sum(t1) = 12")
    assert "?" not in line_with(text, "t2")
