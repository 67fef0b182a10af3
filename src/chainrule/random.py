"""PyTorch's CPU random numbers: the same seed gives the same numbers, bit for bit.

``g = cr.Generator().manual_seed(2147483647)``; ``cr.manual_seed(0)`` seeds the global generator
that ``rand``, ``randn``, dropout, ``nn.init`` and shuffling draw from.

The engine is PyTorch's ``at::mt19937``: the 32-bit Mersenne Twister seeded with the low 32 bits
of the seed (``init_genrand``); the raw draws come from NumPy's ``MT19937`` bit generator (the
same recurrence, vectorised). ``get_state()`` is PyTorch's 5056-byte layout, cached Box-Muller
normal included: ``cr.set_rng_state(cr.tensor(torch.get_rng_state().numpy()))`` continues
PyTorch's stream, and chainrule's state loads into PyTorch. ``chainrule._rng_kernels`` holds
PyTorch's distribution kernels, draw for draw.

What matches PyTorch 2.13 on an x86-64 CPU (its AVX2 and AVX-512 kernels; tested in
``tests/core/test_random_vs_torch.py`` and ``tests/nn/test_random_init_vs_torch.py``):

* **bit for bit**, float32 and float64, any size, any interleaving of calls: the generator
  state; ``rand``, ``randn``, ``randint``, ``randperm``, ``normal`` (all overloads),
  ``bernoulli``, ``multinomial`` (with and without replacement), ``Tensor.uniform_``,
  ``normal_``, ``random_``, ``exponential_``, ``bernoulli_``, the ``*_like`` factories; the
  default initialisation of ``Linear``, ``Embedding``, ``LayerNorm``, ``BatchNorm1d``; every
  ``nn.init`` function but ``orthogonal_``; Dropout masks; the orders of PyTorch's shuffling
  samplers replayed with ``randperm``. Where PyTorch computes in double precision (normals
  below 16 elements or on strided tensors, exponentials, the multinomial's uniforms) the C
  library's ``log``/``log1p``/``sin``/``cos`` are called through ``math``; where its compiled
  kernels fuse a multiply-add (``uniform_(a, b)``, ``normal_(mean, std)``) the fused result is
  computed exactly; float32 ``randn`` of 16 or more elements reproduces the AVX2 kernel's
  Cephes ``log``/``sincos`` polynomials operation by operation.
* **within rounding**: ``orthogonal_`` (the Gaussian draws are exact; the QR is NumPy's LAPACK,
  not PyTorch's MKL); ``trunc_normal_`` when [a, b] holds at most 30% of the mass (PyTorch
  accepts a proposal when ``log(u)`` is below the density; its vectorised ``log`` is off by an
  ulp now and then, which flips a decision about once in 10**7 draws).
* **other PyTorch builds**: a CPU without AVX2 (or ``ATEN_CPU_CAPABILITY=default``) and ARM
  builds run PyTorch's generic kernels, which use the C library's float32 ``logf``/``sinf``/
  ``cosf`` and no fused multiply-add. The stream stays identical (the same draws are consumed),
  but float32 ``randn``/``normal_`` of 16 or more elements then differ by at most
  ``GENERIC_RANDN_ABS_ULPS`` units of 2**-23 (measured: 19 over 10**6 draws), and
  ``uniform_(a, b)`` by one float32 ulp of ``max(|a|, |b|)`` (the unfused rounding).
* **not reproducible**: GPU generators (CUDA and MPS use Philox, not this twister); the global
  generator before any ``manual_seed`` and ``seed()`` (seeded from the OS's entropy, as
  PyTorch's); float16 draws are made the same way but not compared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

_N = 624  # Mersenne Twister state words
_DEFAULT_SEED = 67280421310721  # PyTorch's seed of a fresh torch.Generator()
GENERIC_RANDN_ABS_ULPS = 32  # bound vs PyTorch's generic (non-AVX2) float32 normal kernel
# PyTorch's CPUGeneratorImplState, little-endian x86-64 layout (5056 bytes).
_STATE = np.dtype({
    "names": ["seed", "left", "seeded", "next", "state", "normal_x", "normal_y", "normal_rho",
              "normal_is_valid", "float_normal", "float_normal_is_valid"],
    "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", _N), "<f8", "<f8", "<f8", "<i4", "<f4", "u1"],
    "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
    "itemsize": 5056,
})


def _nondeterministic_seed() -> int:
    # PyTorch's getNonDeterministicRandom: 64 random bits from the OS, in [0, 2**63)
    return int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)


def _init_genrand(seed32: int) -> np.ndarray:
    """The twister's state after seeding with a 32-bit seed (Matsumoto & Nishimura's
    init_genrand, which PyTorch's at::mt19937 uses with the seed's low 32 bits)."""
    key = [seed32]
    for j in range(1, _N):
        prev = key[-1]
        key.append((1812433253 * (prev ^ (prev >> 30)) + j) & 0xFFFFFFFF)
    return np.array(key, np.uint32)


class Generator:
    """A seedable source of random numbers, PyTorch's CPU generator:
    ``g = cr.Generator().manual_seed(0); cr.rand(3, generator=g)``.

    A fresh generator has PyTorch's default seed (67280421310721), as ``torch.Generator()``.
    """

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            hint = (f"; to seed it, write cr.Generator().manual_seed({device})"
                    if isinstance(device, int) else "")
            raise RuntimeError(f"Generator: only the 'cpu' device is supported (got "
                               f"{device!r}){hint}")
        self._bits = np.random.MT19937(0)
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self) -> str:
        return "cpu"

    def manual_seed(self, seed: int) -> Generator:
        """Reseed (any int in [-2**63, 2**64), taken modulo 2**64); returns the generator."""
        seed = int(seed)
        if not -(1 << 63) <= seed < (1 << 64):
            raise RuntimeError(f"manual_seed: seed must be within [-0x8000_0000_0000_0000, "
                               f"0xffff_ffff_ffff_ffff], got {seed}")
        self._seed = seed & ((1 << 64) - 1)
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": _init_genrand(self._seed & 0xFFFFFFFF), "pos": _N}}
        self._next_at_end = 0  # PyTorch's `next` field while a twist is pending (see get_state)
        self._double_normal: float | None = None
        self._float_normal: float | None = None
        return self

    def seed(self) -> int:
        """Reseed from the OS's entropy and return the new seed."""
        seed = _nondeterministic_seed()
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    # ---- raw draws ---------------------------------------------------------------------------
    def _random(self, n: int) -> np.ndarray:
        """``n`` raw 32-bit draws (PyTorch's ``generator->random()``) as uint64."""
        if n <= 0:
            return np.zeros(0, np.uint64)
        self._next_at_end = _N
        return self._bits.random_raw(n)

    def _random64(self, n: int) -> np.ndarray:
        """``n`` 64-bit draws (``random64()``: the first 32-bit draw is the high half)."""
        raw = self._random(2 * n)
        return (raw[0::2] << np.uint64(32)) | raw[1::2]

    # ---- state -------------------------------------------------------------------------------
    def get_state(self):
        """PyTorch's state bytes (a uint8 Tensor of 5056): ``g.set_state(g.get_state())``."""
        from .tensor import Tensor

        inner = self._bits.state["state"]
        rec = np.zeros((), _STATE)
        rec["seed"] = self._seed
        rec["left"] = _N + 1 - inner["pos"]
        rec["seeded"] = 1
        # Right after seeding PyTorch says next=0, after a full pass next=624; both twist next.
        rec["next"] = self._next_at_end if inner["pos"] == _N else inner["pos"]
        rec["state"] = inner["key"]
        if self._double_normal is not None:
            rec["normal_is_valid"], rec["normal_y"] = 1, self._double_normal
        if self._float_normal is not None:
            rec["float_normal_is_valid"], rec["float_normal"] = 1, self._float_normal
        return Tensor._make(np.frombuffer(rec.tobytes(), np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state()`` (also one saved by ``torch.get_rng_state()``)."""
        raw = np.asarray(getattr(new_state, "_data", new_state))
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise TypeError(f"set_state: expected a 1-D uint8 tensor of PyTorch's generator "
                            f"state, got dtype {raw.dtype} and shape {tuple(raw.shape)}")
        if raw.size != _STATE.itemsize:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE.itemsize} but "
                               f"found the input RNG state size to be {raw.size}")
        rec = np.frombuffer(raw.tobytes(), _STATE)[0]
        left, nxt = int(rec["left"]), int(rec["next"])
        if not (rec["seeded"] and 0 < left <= _N and nxt <= _N):
            raise RuntimeError("Invalid mt19937 state")
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": (rec["state"] & 0xFFFFFFFF).astype(np.uint32),
                                      "pos": _N + 1 - left}}
        self._seed = int(rec["seed"])
        self._next_at_end = nxt
        self._double_normal = float(rec["normal_y"]) if rec["normal_is_valid"] else None
        self._float_normal = (float(rec["float_normal"]) if rec["float_normal_is_valid"]
                              else None)
        return self

    def __repr__(self) -> str:
        return f"<chainrule.Generator initial_seed={self._seed}>"


default_generator = Generator()
default_generator.seed()  # PyTorch seeds its global generator from the OS at start-up


def manual_seed(seed: int) -> Generator:
    """Seed the global generator: ``cr.manual_seed(0)`` makes every run draw the same numbers
    (PyTorch's numbers for the same seed)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from the OS's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The global generator's state, PyTorch's 5056-byte layout (a uint8 Tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


@contextmanager
def fork_rng(devices=None, enabled: bool = True) -> Iterator[None]:
    """Restore the global generator's state on exit: ``with cr.random.fork_rng(): ...``
    (``devices`` is accepted for PyTorch's signature; there is only the CPU generator)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def generator_or_default(generator: Generator | None) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a chainrule.Generator, got "
                        f"{type(generator).__name__}")
    return generator
