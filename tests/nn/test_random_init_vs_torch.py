"""``manual_seed(0); nn.Linear(3, 4)`` gives PyTorch's weights: default layer inits, every
``nn.init`` function and Dropout masks against PyTorch's CPU values, bit for bit."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.oracle import torch

# PyTorch picks its kernels by CPU: the exact comparisons are against its AVX2/AVX-512 ones
pytestmark = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"),
    reason="needs an x86-64 CPU with AVX2: PyTorch runs its generic kernels here (see "
           "chainrule.random for the bounds against those)")


def _same(a, b) -> None:
    a, b = a.detach().numpy(), b.detach().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def _same_streams() -> None:
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), torch.get_rng_state().numpy())


def _seed(seed: int) -> None:
    cr.manual_seed(seed)
    torch.manual_seed(seed)


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_default_layer_initialisation(seed):
    _seed(seed)
    pairs = [
        (nn.Linear(3, 4), torch.nn.Linear(3, 4)),
        (nn.Linear(20, 7, bias=False), torch.nn.Linear(20, 7, bias=False)),
        (nn.Linear(5, 6, dtype=cr.float64), torch.nn.Linear(5, 6, dtype=torch.float64)),
        (nn.Embedding(10, 3), torch.nn.Embedding(10, 3)),
        (nn.Embedding(4, 3, padding_idx=1), torch.nn.Embedding(4, 3, padding_idx=1)),
        (nn.LayerNorm(5), torch.nn.LayerNorm(5)),
        (nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)),
        (nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
         torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))),
    ]
    for ours, theirs in pairs:
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref)
        for key in ref:
            _same(mine[key], ref[key])
    _same_streams()


def test_linear_3_4_prints_pytorchs_weights():
    _seed(0)
    ours, theirs = nn.Linear(3, 4), torch.nn.Linear(3, 4)
    assert str(ours.weight.detach().numpy().tolist()) == str(
        theirs.weight.detach().numpy().tolist())


INITS = [
    ("uniform_", dict(a=-0.3, b=0.7)), ("normal_", dict(mean=0.1, std=0.02)),
    ("xavier_uniform_", dict(gain=1.3)), ("xavier_normal_", {}),
    ("kaiming_uniform_", dict(a=math.sqrt(5))), ("kaiming_uniform_", dict(mode="fan_out")),
    ("kaiming_normal_", dict(nonlinearity="relu")),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="leaky_relu", a=0.2)),
    ("trunc_normal_", dict(std=0.02)), ("trunc_normal_", dict(mean=0.5, std=2.0, a=-1, b=3)),
    ("trunc_normal_", dict(a=1.5, b=2.5)), ("trunc_normal_", dict(std=1.0, a=-0.1, b=0.1)),
    ("constant_", dict(val=0.3)), ("ones_", {}), ("zeros_", {}), ("eye_", {}),
]


@pytest.mark.parametrize("name, kwargs", INITS, ids=[f"{n}{i}" for i, (n, _) in enumerate(INITS)])
@pytest.mark.parametrize("shape", [(3, 5), (64, 33), (7, 200)])
@pytest.mark.parametrize("dtypes", [(cr.float32, torch.float32), (cr.float64, torch.float64)],
                         ids=["float32", "float64"])
def test_init_functions(name, kwargs, shape, dtypes):
    _seed(3)
    ours, theirs = cr.empty(*shape, dtype=dtypes[0]), torch.empty(*shape, dtype=dtypes[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trunc_normal_'s far-mean warning, in both
        getattr(nn.init, name)(ours, **kwargs)
        getattr(torch.nn.init, name)(theirs, **kwargs)
    _same(ours, theirs)
    _same_streams()
    # and through an explicit generator
    g, t = cr.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    if "generator" in getattr(torch.nn.init, name).__code__.co_varnames:
        getattr(nn.init, name)(ours, **kwargs, generator=g)
        getattr(torch.nn.init, name)(theirs, **kwargs, generator=t)
        _same(ours, theirs)
        np.testing.assert_array_equal(g.get_state().numpy(), t.get_state().numpy())


@pytest.mark.parametrize("shape", [(4, 9), (9, 4), (6, 2, 3)])
def test_orthogonal_draws_pytorchs_gaussian_and_agrees_to_rounding(shape):
    _seed(1)
    ours, theirs = cr.empty(*shape), torch.empty(*shape)
    nn.init.orthogonal_(ours, gain=2.0)
    torch.nn.init.orthogonal_(theirs, gain=2.0)
    # the QR is LAPACK's (OpenBLAS here, MKL in PyTorch): equal to float32 rounding
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-5)
    _same_streams()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(5,), (16,), (4, 33), (2, 3, 50)])
@pytest.mark.parametrize("dtypes", [(cr.float32, torch.float32), (cr.float64, torch.float64)],
                         ids=["float32", "float64"])
def test_dropout_masks(p, shape, dtypes):
    _seed(7)
    x = np.random.default_rng(0).standard_normal(shape)
    ours, theirs = cr.tensor(x, dtype=dtypes[0]), torch.tensor(x, dtype=dtypes[1])
    _same(nn.Dropout(p)(ours), torch.nn.Dropout(p)(theirs))
    _same(F.dropout(ours, p), torch.nn.functional.dropout(theirs, p))
    _same(F.dropout(ours, p, training=False), torch.nn.functional.dropout(theirs, p, False))
    _same_streams()


def test_dropout_on_a_transposed_input_draws_in_memory_order_and_with_a_generator():
    _seed(2)
    x = np.random.default_rng(1).standard_normal((6, 5))
    _same(F.dropout(cr.tensor(x).t(), 0.3), torch.nn.functional.dropout(torch.tensor(x).t(),
                                                                         0.3))
    _same_streams()


def test_a_dropout_training_step_matches():
    _seed(0)
    ours = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.25), nn.Linear(8, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.25),
                                 torch.nn.Linear(8, 1))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    for _ in range(3):
        out_c, out_t = ours(cr.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(),
                                   rtol=1e-6, atol=1e-7)
        out_c.sum().backward()
        out_t.sum().backward()
        np.testing.assert_allclose(ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(),
                                   rtol=1e-6, atol=1e-7)
        _same_streams()
