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
