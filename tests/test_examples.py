"""Every lesson in examples/ runs and prints what it teaches."""

from __future__ import annotations

import pathlib
import runpy

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
EXPECTED = {
    "worked_examples.py": ["dL/dw = -24", "dL/dw = 0.4200", "dL/db = 0.4200",
                           "delta_o = dL/dy_hat = -0.6709   by hand -(y - y_hat) = -0.6709"],
    "xor.py": ["all four cases right"],
    "vanishing_gradients.py": ["first/last layer ratio: sigmoid"],
    "custom_function.py": ["gradcheck(Softplus): True", "gradgradcheck(Softplus): True",
                           "caught the wrong derivative"],
    "lenet.py": ["LeNet on digits: test accuracy"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


SLOW = {"lenet.py"}  # trains a CNN for 30 epochs


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in sorted(EXPECTED)])
def test_example_runs(name, capsys):
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    for needle in EXPECTED[name]:
        assert needle in out, f"{name} did not print {needle!r}"
