"""One program text, two libraries: the examples' models (the character-level GPT, LSTM and
embedding MLP with a hand-written BatchNorm, and the digits VAE) run with chainrule's imports and
with torch's. The model is built in PyTorch, its state_dict copied into chainrule's, both are fed
the same batches, and the per-step losses and final parameters (and buffers) must agree."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
IMPORTS = {"import chainrule as cr\n": "import torch as cr\n",
           "import chainrule.nn as nn\n": "import torch.nn as nn\n",
           "import chainrule.nn.functional as F\n": "import torch.nn.functional as F\n"}
# issue #13's bounds; in float32, AdamW's g / sqrt(v) turns rounding in near-zero gradients
# into steps of order lr, so parameters near zero need the absolute bound too
TOLERANCES = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-4, atol=1e-4)}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models: PyTorch's intra-op threads only add contention (20x slower on a busy
    2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_program(name: str, lib: str) -> dict:
    """The example's definitions, with torch's imports swapped in when ``lib == 'torch'``."""
    source = (EXAMPLES / name).read_text()
    for ours, theirs in IMPORTS.items():
        assert ours in source
        if lib == "torch":
            source = source.replace(ours, theirs)
    namespace = {"__name__": f"compat_{lib}"}
    exec(compile(source, str(EXAMPLES / name), "exec"), namespace)
    return namespace


def load_torch_state(ours, theirs) -> None:
    """PyTorch's initial weights (and buffers) into chainrule's model."""
    ours.load_state_dict({k: cr.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


def assert_same_state(ours, theirs, tol: dict) -> None:
    """The same names in the same order, and the same values (parameters and buffers)."""
    theirs_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_state)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), theirs_state[key].numpy(), **tol,
                                   err_msg=key)


def run_both(name: str, build, dtype: str, *, steps: int = 20, vocab: int = 11,
             batch: int = 4, length: int = 9) -> None:
    programs = {lib: load_program(name, lib) for lib in ("chainrule", "torch")}
    torch.manual_seed(0)
    theirs = build(programs["torch"], vocab).to(getattr(torch, dtype))
    ours = build(programs["chainrule"], vocab).to(getattr(cr, dtype))
    load_torch_state(ours, theirs)
    optimizers = {lib: programs[lib]["configure_optimizer"](model, lr=3e-3, weight_decay=0.1)
                  for lib, model in (("chainrule", ours), ("torch", theirs))}
    rng = np.random.default_rng(0)
    losses = {"chainrule": [], "torch": []}
    for _ in range(steps):
        # counting sequences (a learnable rule) from random starts
        tokens = (rng.integers(0, vocab, (batch, 1)) + np.arange(length + 1)) % vocab
        for lib, model, module in (("chainrule", ours, cr), ("torch", theirs, torch)):
            x, y = module.tensor(tokens[:, :-1]), module.tensor(tokens[:, 1:])
            losses[lib].append(programs[lib]["train_step"](model, optimizers[lib], x, y))
    tol = TOLERANCES[dtype]
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], **tol)
    assert losses["torch"][-1] < losses["torch"][0]  # it learned something: not a no-op run
    assert_same_state(ours, theirs, tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tiny_gpt_trains_as_in_pytorch(dtype):
    run_both("tiny_gpt.py", lambda p, vocab: p["GPT"](vocab, width=16, heads=2, layers=2,
                                                      context=12), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_char_lstm_trains_as_in_pytorch(dtype):
    run_both("char_lstm.py", lambda p, vocab: p["CharLSTM"](vocab, embed=6, hidden=10,
                                                            layers=2), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_names_mlp_trains_as_in_pytorch(dtype):
    """The embedding MLP with the hand-written batch norm and the hand-written SGD update
    (``p.data += -lr * p.grad``): same losses, parameters, running statistics, and the same
    evaluation-mode predictions (which read the running statistics)."""
    programs = {lib: load_program("names_mlp.py", lib) for lib in ("chainrule", "torch")}
    words = sorted(name.lstrip("_") for name in sys.stdlib_module_names)[:80]
    chars = sorted(set("".join(words)) | {"."})
    stoi = {c: i for i, c in enumerate(chars)}
    torch.manual_seed(0)
    theirs = programs["torch"]["NameMLP"](len(chars), block=3, embed=5, hidden=16)
    theirs = theirs.to(getattr(torch, dtype))
    ours = programs["chainrule"]["NameMLP"](len(chars), block=3, embed=5, hidden=16)
    ours = ours.to(getattr(cr, dtype))
    load_torch_state(ours, theirs)
    data = {lib: programs[lib]["build_dataset"](words, stoi, 3) for lib in programs}
    np.testing.assert_array_equal(data["chainrule"][0].numpy(), data["torch"][0].numpy())
    rng = np.random.default_rng(0)
    losses = {"chainrule": [], "torch": []}
    for _ in range(20):
        rows = rng.integers(0, len(data["torch"][1]), 16)
        for lib, model, module in (("chainrule", ours, cr), ("torch", theirs, torch)):
            x, y = data[lib]
            ix = module.tensor(rows)
            losses[lib].append(programs[lib]["train_step"](model, x[ix], y[ix], lr=0.2))
    tol = TOLERANCES[dtype]
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], **tol)
    assert losses["torch"][-1] < losses["torch"][0]
    assert_same_state(ours, theirs, tol)
    ours.eval()
    theirs.eval()
    with cr.no_grad(), torch.no_grad():
        np.testing.assert_allclose(ours(data["chainrule"][0]).numpy(),
                                   theirs(data["torch"][0]).numpy(), **tol)


@pytest.mark.skipif("torch.backends.cpu.get_cpu_capability() not in ('AVX2', 'AVX512')",
                    reason="needs an x86-64 CPU with AVX2: PyTorch's generic kernels draw "
                           "other normal numbers, so randn_like's noise would differ")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vae_trains_as_in_pytorch(dtype):
    """The VAE draws its noise with ``randn_like`` from each library's global generator: the
    same seed gives the same noise (chainrule's stream is PyTorch's), so the per-step losses
    of the stochastic objective agree too."""
    programs = {lib: load_program("vae.py", lib) for lib in ("chainrule", "torch")}
    torch.manual_seed(0)
    theirs = programs["torch"]["VAE"](pixels=64, hidden=32, latent=3).to(getattr(torch, dtype))
    ours = programs["chainrule"]["VAE"](pixels=64, hidden=32, latent=3).to(getattr(cr, dtype))
    load_torch_state(ours, theirs)
    optimizers = {"chainrule": cr.optim.Adam(ours.parameters(), lr=3e-3),
                  "torch": torch.optim.Adam(theirs.parameters(), lr=3e-3)}
    cr.manual_seed(1)
    torch.manual_seed(1)
    rng = np.random.default_rng(0)
    losses = {"chainrule": [], "torch": []}
    for _ in range(20):
        pixels = rng.random((16, 64)).astype(dtype) ** 2  # in [0, 1], mostly dark as digits
        for lib, model, module in (("chainrule", ours, cr), ("torch", theirs, torch)):
            losses[lib].append(programs[lib]["train_step"](model, optimizers[lib],
                                                           module.tensor(pixels)))
    tol = TOLERANCES[dtype]
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], **tol)
    assert losses["torch"][-1] < losses["torch"][0]
    assert_same_state(ours, theirs, tol)
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), torch.get_rng_state().numpy())
