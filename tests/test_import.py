"""``import chainrule`` stays light: NumPy only, optional extras loaded on first use."""

import subprocess
import sys

OPTIONAL = ("matplotlib", "rich", "graphviz", "safetensors", "sklearn", "torch", "scipy",
            "mnist1d")


def test_import_loads_no_optional_dependency():
    code = ("import sys, chainrule, chainrule.nn, chainrule.optim, chainrule.inspect; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({OPTIONAL!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_subpackages_come_with_the_top_level_import():
    code = ("import chainrule as cr; "
            "print(cr.scratch.NeuralNetwork.__name__, cr.nn.Linear.__name__, cr.inspect.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["NeuralNetwork", "Linear", "chainrule.inspect"]


def test_version_and_license_have_one_home():
    import pathlib
    import re
    from importlib.metadata import version

    import chainrule

    root = pathlib.Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert chainrule.__version__ == version("chainrule") == declared
    assert re.search(r'^license = "MIT"', pyproject, re.M)
    assert (root / "LICENSE").read_text().startswith("MIT License")
    assert (root / "src" / "chainrule" / "py.typed").exists()
