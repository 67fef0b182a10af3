"""Every lesson in examples/ runs and prints what it teaches."""

from __future__ import annotations

import pathlib
import re
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
    "char_lstm.py": ["step    0  train loss", "validation loss", "sample: "],
    "tiny_gpt.py": ["step    0  train loss", "validation loss", "sample: "],
    "bigram.py": ["sampled from the counts: cexzma ", "first weights: 1.9269 1.4873"],
    "lenet.py": ["LeNet on digits: test accuracy"],
    "names_mlp.py": ["step     0  train loss", "validation loss", "invented: "],
    "vae.py": ["train loss", "test loss", "digits decoded from z ~ N(0, I):"],
    "mnist1d_cnn.py": ["MNIST-1D CNN: test accuracy", "MNIST-1D MLP: test accuracy"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


SLOW = {"lenet.py", "mnist1d_cnn.py"}  # train CNNs: 30 epochs; 6000 steps (and an MLP)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in sorted(EXPECTED)])
def test_example_runs(name, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", [name])  # examples with options run with their defaults
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    for needle in EXPECTED[name]:
        assert needle in out, f"{name} did not print {needle!r}"


def test_bigram_prints_the_same_under_pytorch(tmp_path, capsys):
    """The import swapped for torch, the bigram lesson prints the same samples and numbers."""
    pytest.importorskip("torch", reason="the PyTorch test oracle (torch==2.13.0) is missing")
    source = (EXAMPLES / "bigram.py").read_text()
    assert "import chainrule as cr\n" in source
    swapped = tmp_path / "bigram_torch.py"
    swapped.write_text(source.replace("import chainrule as cr\n", "import torch as cr\n"))
    runpy.run_path(str(EXAMPLES / "bigram.py"), run_name="__main__")
    ours = capsys.readouterr().out
    runpy.run_path(str(swapped), run_name="__main__")
    theirs = capsys.readouterr().out
    assert ours.splitlines() == theirs.splitlines()
    assert len(ours.splitlines()) == 8


def test_every_example_is_a_tutorial_in_the_docs():
    """docs/ shows each lesson: a tutorial page includes it, and the page is in mkdocs.yml's nav."""
    root = EXAMPLES.parent
    nav = (root / "mkdocs.yml").read_text()
    included = {}
    for page in (root / "docs" / "tutorials").glob("*.md"):
        for name in re.findall(r"\{\{ example: ([\w.]+) \}\}", page.read_text()):
            included[name] = page.relative_to(root / "docs").as_posix()
    assert sorted(included) == sorted(EXPECTED)
    assert [page for page in included.values() if page not in nav] == []


def test_mnist1d_cnn_beats_the_mlp():
    """A short MNIST-1D run (2000 of the example's 6000 steps): the CNN is already near 90%
    (89.8% here; 86% asked, as float32 runs drift with the BLAS build) and far ahead of the MLP
    (63%), the gap the dataset was made to show."""
    pytest.importorskip("mnist1d", reason="mnist1d (the datasets extra) is missing")
    results = runpy.run_path(str(EXAMPLES / "mnist1d_cnn.py"))["main"](steps=2000)
    assert results["CNN"] >= 0.86
    assert results["CNN"] - results["MLP"] >= 0.15


@pytest.mark.slow
def test_lenet_reaches_the_digits_target():
    """Issue 13's target for a CNN on the 8x8 digits: >= 98.5% test accuracy (seed 0)."""
    pytest.importorskip("sklearn", reason="scikit-learn (the datasets extra) is missing")
    _, acc = runpy.run_path(str(EXAMPLES / "lenet.py"))["train"]()
    assert acc >= 0.985
