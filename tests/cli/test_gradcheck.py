"""``chainrule gradcheck``: a formula's derivatives against finite differences."""

import pytest

from chainrule.cli import main


def test_a_correct_formula_passes_both_orders(capsys):
    assert main(["gradcheck", "tanh(w*x) * exp(b) + x**3 / w", "w=0.5", "x=2,-1", "b=0.1"]) == 0
    out = capsys.readouterr().out
    assert "gradcheck: passed" in out and "gradgradcheck: passed" in out
    assert out.count("\n") == 1 + 4 + 2  # header, one row per element, two verdicts


@pytest.mark.parametrize("argv, message", [
    (["gradcheck", "w*x", "w=1"], "each variable"),
    (["gradcheck", "__import__('os')", "x=1"], "not allowed|allowed"),
    (["gradcheck", "w*x", "w=1", "x=a"], "not a number"),
    (["gradcheck", "w", "w=1", "--eps", "2"], "--eps"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert __import__("re").search(message, err)


def test_a_wrong_backward_rule_fails_with_status_1(monkeypatch, capsys):
    from chainrule.ops.elementwise import Tanh

    monkeypatch.setattr(Tanh, "backward", staticmethod(lambda ctx, g, out: g * 2))
    assert main(["gradcheck", "tanh(x)", "x=0.3"]) == 1
    out = capsys.readouterr().out
    assert "gradcheck: FAILED" in out and "input 0" in out
