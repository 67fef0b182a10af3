"""Same seed, same numbers: chainrule's random draws and generator states against PyTorch's CPU
ones, bit for bit, over seeds x sizes (below, at and above 16; 10_000) x dtypes x call orders."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch

# PyTorch picks its kernels by CPU: the exact comparisons are against its AVX2/AVX-512 ones
pytestmark = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"),
    reason="needs an x86-64 CPU with AVX2: PyTorch runs its generic kernels here (see "
           "chainrule.random for the bounds against those)")

SEEDS = [0, 1, 2147483647, 2 ** 40 + 3, -7]
SIZES = [1, 2, 7, 15, 16, 17, 31, 32, 100, 10_000]
DTYPES = [(cr.float32, torch.float32), (cr.float64, torch.float64)]


def _pair(seed: int):
    return cr.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


def _same_state(g, t) -> None:
    np.testing.assert_array_equal(g.get_state().numpy(), t.get_state().numpy())


def _same(a, b) -> None:
    a = a.numpy() if isinstance(a, cr.Tensor) else np.asarray(a)
    b = b.numpy() if hasattr(b, "numpy") else np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_array_equal(a, b)


# ---- the generator ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_state_bytes_and_seeds_match(seed):
    g, t = _pair(seed)
    assert g.initial_seed() == t.initial_seed()
    _same_state(g, t)
    for n in (5, 619, 1, 624, 1300):  # across the twist boundaries
        _same(cr.rand(n, generator=g), torch.rand(n, generator=t))
        _same_state(g, t)


def test_fresh_generator_has_pytorchs_default_seed():
    assert cr.Generator().initial_seed() == torch.Generator().initial_seed()
    _same(cr.rand(3, generator=cr.Generator()), torch.rand(3, generator=torch.Generator()))


def test_global_functions_and_torch_state_round_trip():
    torch.manual_seed(5)
    cr.manual_seed(5)
    assert cr.initial_seed() == torch.initial_seed() == 5
    torch.randn(3, dtype=torch.float64)  # leaves a cached normal in the state
    cr.randn(3, dtype=cr.float64)
    _same(cr.get_rng_state(), torch.get_rng_state())
    # PyTorch's saved state loads into chainrule and continues PyTorch's stream
    torch_state = torch.get_rng_state()
    cr.set_rng_state(cr.tensor(torch_state.numpy()))
    _same(cr.randn(5, dtype=cr.float64), torch.randn(5, dtype=torch.float64))
    # and chainrule's state loads into PyTorch
    torch.set_rng_state(torch.from_numpy(cr.get_rng_state().numpy()))
    _same(cr.randn(20), torch.randn(20))


def test_seed_reseeds_from_the_os_and_reports_it():
    g = cr.Generator()
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2 ** 63
    _same(cr.rand(4, generator=g), torch.rand(4, generator=torch.Generator().manual_seed(s)))
    s = cr.seed()
    assert cr.initial_seed() == s


def test_state_round_trips_bit_for_bit_with_a_cached_normal():
    g = cr.Generator().manual_seed(3)
    cr.randn(3, dtype=cr.float64, generator=g)  # odd count: a cached second value
    state = g.get_state()
    first = cr.randn(9, dtype=cr.float64, generator=g)
    g.set_state(state)
    _same(cr.randn(9, dtype=cr.float64, generator=g), first.numpy())
    _same(cr.Generator().set_state(state).get_state(), state.numpy())


def test_bad_states_and_generators_are_refused():
    with pytest.raises(RuntimeError, match="size 5056"):
        cr.set_rng_state(cr.tensor(np.zeros(10, np.uint8)))
    with pytest.raises(TypeError, match="uint8"):
        cr.set_rng_state(cr.zeros(5056))
    with pytest.raises(RuntimeError, match=r"Generator\(\)\.manual_seed\(3\)"):
        cr.Generator(3)
    with pytest.raises(TypeError, match="chainrule.Generator"):
        cr.rand(2, generator=torch.Generator())


# ---- factories and fills, seeds x sizes x dtypes ----------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtypes", DTYPES, ids=["float32", "float64"])
def test_rand_randn_uniform_normal(seed, n, dtypes):
    cd, td = dtypes
    g, t = _pair(seed)
    _same(cr.rand(n, generator=g, dtype=cd), torch.rand(n, generator=t, dtype=td))
    _same(cr.randn(n, generator=g, dtype=cd), torch.randn(n, generator=t, dtype=td))
    _same(cr.empty(n, dtype=cd).uniform_(-2.5, 3.7, generator=g),
          torch.empty(n, dtype=td).uniform_(-2.5, 3.7, generator=t))
    _same(cr.empty(n, dtype=cd).normal_(0.3, 2.1, generator=g),
          torch.empty(n, dtype=td).normal_(0.3, 2.1, generator=t))
    _same(cr.empty(n, dtype=cd).exponential_(0.7, generator=g),
          torch.empty(n, dtype=td).exponential_(0.7, generator=t))
    _same(cr.empty(n, dtype=cd).bernoulli_(0.3, generator=g),
          torch.empty(n, dtype=td).bernoulli_(0.3, generator=t))
    _same_state(g, t)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_multidimensional_and_strided_fills_follow_memory_order(seed):
    g, t = _pair(seed)
    _same(cr.randn(3, 7, generator=g), torch.randn(3, 7, generator=t))
    _same(cr.rand((4, 5, 6), generator=g), torch.rand((4, 5, 6), generator=t))
    for shape in ((5, 4), (6, 8)):  # a transposed view: the scalar normal path, memory order
        a, b = cr.zeros(*shape), torch.zeros(*shape)
        _same(a.t().normal_(generator=g), b.t().normal_(generator=t))
        _same(a, b)
        _same(a.t().uniform_(generator=g), b.t().uniform_(generator=t))
    _same_state(g, t)


@pytest.mark.parametrize("low, high", [(0, 10), (-5, 7), (3, 2 ** 28 - 1), (0, 2 ** 28),
                                       (-(2 ** 40), 2 ** 40)])
@pytest.mark.parametrize("dtypes", [(cr.int64, torch.int64), (cr.float64, torch.float64)])
def test_randint_below_and_above_the_64_bit_range(low, high, dtypes):
    g, t = _pair(11)
    _same(cr.randint(low, high, (50,), generator=g, dtype=dtypes[0]),
          torch.randint(low, high, (50,), generator=t, dtype=dtypes[1]))
    _same(cr.randint(high, (3, 4), generator=g, dtype=dtypes[0]) if high > 0 else cr.zeros(0),
          torch.randint(high, (3, 4), generator=t, dtype=dtypes[1]) if high > 0
          else torch.zeros(0))
    _same_state(g, t)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 16, 1000, 10_000])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_randperm(n, seed):
    g, t = _pair(seed)
    _same(cr.randperm(n, generator=g), torch.randperm(n, generator=t))
    _same(cr.randperm(n, generator=g), torch.randperm(n, generator=t))
    _same_state(g, t)


@pytest.mark.parametrize("dtypes", [(cr.int64, torch.int64), (cr.int32, torch.int32),
                                    (cr.float32, torch.float32), (cr.float64, torch.float64),
                                    (cr.bool, torch.bool), (np.uint8, torch.uint8)])
def test_random_overloads(dtypes):
    cd, td = dtypes
    g, t = _pair(4)
    _same(cr.empty(40, dtype=cd).random_(generator=g), torch.empty(40, dtype=td).random_(
        generator=t))
    if cd != cr.bool:
        _same(cr.empty(9, dtype=cd).random_(100, generator=g),
              torch.empty(9, dtype=td).random_(100, generator=t))
        _same(cr.empty(9, dtype=cd).random_(3, 50, generator=g),
              torch.empty(9, dtype=td).random_(3, 50, generator=t))
        _same(cr.empty(9, dtype=cd).random_(7, None, generator=g),
              torch.empty(9, dtype=td).random_(7, None, generator=t))
    _same(cr.empty((), dtype=cr.int64).random_(-(2 ** 63), None, generator=g),
          torch.empty((), dtype=torch.int64).random_(-(2 ** 63), None, generator=t))
    _same_state(g, t)


@pytest.mark.parametrize("dtypes", DTYPES, ids=["float32", "float64"])
def test_bernoulli_with_tensor_probabilities(dtypes):
    cd, td = dtypes
    p = np.random.default_rng(0).random((5, 21))
    g, t = _pair(8)
    _same(cr.bernoulli(cr.tensor(p, dtype=cd), generator=g),
          torch.bernoulli(torch.tensor(p, dtype=td), generator=t))
    _same(cr.bernoulli(cr.tensor(p, dtype=cd), 0.25, generator=g),
          torch.bernoulli(torch.tensor(p, dtype=td), 0.25, generator=t))
    row = p[0]
    _same(cr.zeros(5, 21, dtype=cd).bernoulli_(cr.tensor(row), generator=g),
          torch.zeros(5, 21, dtype=td).bernoulli_(torch.tensor(row), generator=t))
    _same_state(g, t)


@pytest.mark.parametrize("dtypes", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("num_samples, replacement", [(1, True), (1, False), (4, False),
                                                      (27, False), (7, True), (300, True)])
def test_multinomial(dtypes, num_samples, replacement):
    cd, td = dtypes
    w = np.random.default_rng(1).random((3, 27))
    w[:, 5] = 0
    g, t = _pair(2147483647)
    _same(cr.multinomial(cr.tensor(w, dtype=cd), num_samples, replacement, generator=g),
          torch.multinomial(torch.tensor(w, dtype=td), num_samples, replacement, generator=t))
    _same(cr.multinomial(cr.tensor(w[1], dtype=cd), num_samples, replacement, generator=g),
          torch.multinomial(torch.tensor(w[1], dtype=td), num_samples, replacement, generator=t))
    _same_state(g, t)


def test_multinomial_errors_are_pytorchs():
    with pytest.raises(RuntimeError, match="without replacement"):
        cr.multinomial(cr.ones(3), 4)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        cr.multinomial(cr.zeros(3), 1)
    with pytest.raises(RuntimeError, match="element < 0"):
        cr.multinomial(cr.tensor([0.5, -0.1]), 1)


def test_normal_overloads():
    g, t = _pair(9)
    mean, std = np.linspace(-1, 1, 20), np.linspace(0.1, 2, 20)
    _same(cr.normal(0.5, 2.0, (4, 5), generator=g), torch.normal(0.5, 2.0, (4, 5), generator=t))
    for m, s in ((mean, std), (mean, 1.5), (0.25, std), (mean[:5], std[:5])):
        cm = cr.tensor(m, dtype=cr.float32) if isinstance(m, np.ndarray) else m
        cs = cr.tensor(s, dtype=cr.float32) if isinstance(s, np.ndarray) else s
        tm = torch.tensor(m, dtype=torch.float32) if isinstance(m, np.ndarray) else m
        ts = torch.tensor(s, dtype=torch.float32) if isinstance(s, np.ndarray) else s
        _same(cr.normal(cm, cs, generator=g), torch.normal(tm, ts, generator=t))
    _same_state(g, t)


def test_like_factories():
    x32, x64 = cr.zeros(3, 6), cr.zeros(20, dtype=cr.float64)
    t32, t64 = torch.zeros(3, 6), torch.zeros(20, dtype=torch.float64)
    cr.manual_seed(12)
    torch.manual_seed(12)
    _same(cr.rand_like(x32), torch.rand_like(t32))
    _same(cr.randn_like(x64), torch.randn_like(t64))
    _same(cr.randint_like(x32, 10), torch.randint_like(t32, 10))
    _same(cr.randint_like(x64, -3, 3), torch.randint_like(t64, -3, 3))
    _same(cr.get_rng_state(), torch.get_rng_state())


# ---- interleaved call sequences on the global and explicit generators -------------------------
def _program(lib, g):
    """A mixed sequence of calls; each draw depends on where the previous one left the stream."""
    f64 = lib.float64
    return [
        lib.randn(3, dtype=f64), lib.rand(20), lib.randint(0, 10, (5,)), lib.randn(17),
        lib.randn(1, dtype=f64), lib.randn(1, dtype=f64),  # the cached second normal
        lib.empty(40).normal_(1.0, 0.5), lib.randperm(50, generator=g),
        lib.empty(7).bernoulli_(0.6), lib.empty(33, dtype=f64).exponential_(),
        lib.multinomial(lib.linspace(0.1, 1.0, 9), 3), lib.rand(16, generator=g),
        lib.empty((), dtype=lib.int64).random_(), lib.randn(5, generator=g),
        lib.randn(10_000)[-5:], lib.rand(3, dtype=f64),
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_interleaved_sequences_advance_the_streams_identically(seed):
    cr.manual_seed(seed)
    torch.manual_seed(seed)
    ours = _program(cr, cr.Generator().manual_seed(seed + 1))
    theirs = _program(torch, torch.Generator().manual_seed(seed + 1))
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b)
    _same(cr.get_rng_state(), torch.get_rng_state())


def test_an_explicit_generator_leaves_the_global_one_alone():
    cr.manual_seed(1)
    before = cr.get_rng_state().tolist()
    g = cr.Generator().manual_seed(1)
    cr.randn(100, generator=g)
    cr.randperm(10, generator=g)
    assert cr.get_rng_state().tolist() == before


_GENERIC = """
import numpy as np, torch, chainrule as cr
from chainrule.random import GENERIC_RANDN_ABS_ULPS
assert torch.backends.cpu.get_cpu_capability() == "DEFAULT"
for seed in (0, 1, 2):
    cr.manual_seed(seed)
    torch.manual_seed(seed)
    a, b = cr.randn(300_000).numpy(), torch.randn(300_000).numpy()
    assert np.abs(a - b).max() <= GENERIC_RANDN_ABS_ULPS * 2.0 ** -23, np.abs(a - b).max()
    a = cr.empty(300_000).uniform_(-2.5, 3.7).numpy()
    b = torch.empty(300_000).uniform_(-2.5, 3.7).numpy()
    assert np.abs(a - b).max() <= np.spacing(np.float32(3.7)), np.abs(a - b).max()
    assert cr.get_rng_state().tolist() == torch.get_rng_state().tolist()
print("ok")
"""


def test_pytorchs_generic_kernels_stay_within_the_documented_bounds():
    """Without AVX2 PyTorch uses logf/sinf/cosf and no FMA: the bounds in chainrule.random."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    done = subprocess.run([sys.executable, "-c", _GENERIC], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_fork_rng_and_default_generator():
    cr.manual_seed(6)
    with cr.random.fork_rng():
        inside = cr.rand(4)
    assert cr.default_generator is cr.random.default_generator
    _same(cr.rand(4), inside.numpy())


def test_random_with_none_as_from_is_a_type_error_as_in_torch():
    with pytest.raises(TypeError):
        torch.empty(3, dtype=torch.int64).random_(None, 5)
    with pytest.raises(TypeError, match="random_\\(\\): 'from' must be an int, got None"):
        cr.empty(3, dtype=cr.int64).random_(None, 5)
