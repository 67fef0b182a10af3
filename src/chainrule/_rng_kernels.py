"""PyTorch's CPU distribution kernels over the Mersenne Twister stream of ``chainrule.random``.

Each function consumes the generator's raw 32-bit draws in the order PyTorch's CPU kernels do
(element by element in memory order) and returns a flat array; ``chainrule.random``'s docstring
says what matches PyTorch bit for bit and what does not.
"""

from __future__ import annotations

import math

import numpy as np

from ._float_kernels import fma32, fma64, log_avx, sincos_avx
from .random import Generator

_DIGITS = {np.dtype(np.float16): 11, np.dtype(np.float32): 24, np.dtype(np.float64): 53}
_TWO_PI = 2.0 * math.pi
_RANDOM64_FROM = 1 << 28  # ranges from here on draw 64 bits per value


def _digits(dtype: np.dtype, op: str) -> int:
    if dtype not in _DIGITS:
        raise TypeError(f"{op}: expected a floating dtype (float16, float32, float64), got "
                        f"{dtype}")
    return _DIGITS[dtype]


def unit_uniform(gen: Generator, n: int, dtype: np.dtype) -> np.ndarray:
    """``n`` draws of PyTorch's ``uniform_real_distribution<dtype>(0, 1)``: the low ``digits``
    bits of a 32-bit draw (64-bit for float64) times 2**-digits, in ``dtype`` (float16 in
    float32, its accumulation type)."""
    digits = _digits(dtype, "uniform_")
    raw = gen._random64(n) if digits == 53 else gen._random(n)
    mask = np.uint64((1 << digits) - 1)
    acc = np.float64 if digits == 53 else np.float32
    return (raw & mask).astype(acc) * acc(2.0 ** -digits)


def uniform(gen: Generator, n: int, dtype: np.dtype, low: float = 0.0,
            high: float = 1.0) -> np.ndarray:
    """``Tensor.uniform_(low, high)``: ``u * (high - low) + low``, fused, in the accumulation
    type."""
    u = unit_uniform(gen, n, dtype)
    acc = u.dtype.type
    lo, hi = acc(dtype.type(low)), acc(dtype.type(high))
    if lo == 0 and hi == 1:  # u * 1 + 0 is u
        return u.astype(dtype, copy=False)
    fma = fma64 if acc is np.float64 else fma32
    return fma(u, hi - lo, lo).astype(dtype)


def _glibc(fn, x: np.ndarray) -> np.ndarray:
    # math's functions are the C library's, which PyTorch calls; NumPy's SIMD loops differ by
    # an ulp now and then
    return np.fromiter(map(fn, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)


def _box_muller_16(u: np.ndarray, dtype: np.dtype, mean: float, std: float) -> np.ndarray:
    """PyTorch's ``normal_fill_16`` on rows of 16 uniforms: the first 8 give the radius, the
    last 8 the angle (float32: the AVX2 kernel's Cephes ``log`` and ``sincos``)."""
    u = u.reshape(-1, 16)
    first, second = u[:, :8], u[:, 8:]
    if dtype == np.float64:
        radius = np.sqrt(-2.0 * _glibc(math.log, 1.0 - first))
        theta = _TWO_PI * second
        cos, sin = radius * _glibc(math.cos, theta), radius * _glibc(math.sin, theta)
        return np.concatenate([fma64(cos, std, mean), fma64(sin, std, mean)], axis=1).ravel()
    f32 = np.float32
    radius = np.sqrt(f32(-2) * log_avx(f32(1) - first))
    sin, cos = sincos_avx(f32(_TWO_PI) * second)
    mean32, std32 = f32(mean), f32(std)
    return np.concatenate([fma32(radius * cos, std32, mean32),
                           fma32(radius * sin, std32, mean32)], axis=1).ravel()


def normal(gen: Generator, n: int, dtype: np.dtype, mean: float = 0.0, std: float = 1.0,
           contiguous: bool = True) -> np.ndarray:
    """``Tensor.normal_(mean, std)`` for ``n`` elements.

    From 16 elements on a contiguous tensor PyTorch draws all uniforms first, transforms them
    16 at a time, and when ``n % 16`` draws 16 more that replace the last 16 values. Below 16
    (or on a strided view) each value comes from the double-precision Box-Muller of two 53-bit
    uniforms, whose second value is cached in the generator for the next call.
    """
    _digits(dtype, "normal_")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if n >= 16 and contiguous:
        out = np.empty(n, dtype)
        full = n - n % 16
        work = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
        u = unit_uniform(gen, n, dtype).astype(work)
        out[:full] = _box_muller_16(u[:full], work, mean, std)
        if n % 16:
            out[n - 16:] = _box_muller_16(unit_uniform(gen, 16, dtype).astype(work), work,
                                          mean, std)
        return out
    return fma64(_standard_normal_scalar(gen, n), std, mean).astype(dtype)


def _standard_normal_scalar(gen: Generator, n: int) -> np.ndarray:
    """``n`` draws of PyTorch's ``normal_distribution<double>``, using and refilling the
    generator's cached second value."""
    out = np.empty(n)
    start = 0
    if n and gen._double_normal is not None:
        out[0], gen._double_normal = gen._double_normal, None
        start = 1
    pairs = -(-(n - start) // 2)
    if pairs:
        u = unit_uniform(gen, 2 * pairs, np.dtype(np.float64))
        theta, second = _TWO_PI * u[0::2], u[1::2]
        radius = np.sqrt(-2.0 * _glibc(math.log1p, -second))
        values = np.empty(2 * pairs)
        values[0::2] = radius * _glibc(math.cos, theta)
        values[1::2] = radius * _glibc(math.sin, theta)
        out[start:] = values[:n - start]
        if (n - start) % 2:
            gen._double_normal = float(values[-1])
    return out


def integers(gen: Generator, n: int, low: int, high: int) -> np.ndarray:
    """``random_(low, high)`` / ``randint``: a draw modulo ``high - low``, plus ``low`` (int64)."""
    span = high - low
    if span <= 0:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    raw = gen._random64(n) if span >= _RANDOM64_FROM else gen._random(n)
    return (raw % np.uint64(span)).astype(np.int64) + np.int64(low)


def full_range_int64(gen: Generator, n: int) -> np.ndarray:
    """``random_(-2**63)`` with no upper bound: 64 raw bits as int64."""
    return gen._random64(n).view(np.int64)


def default_random(gen: Generator, n: int, dtype: np.dtype) -> np.ndarray:
    """``random_()`` with no bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
    if dtype == np.bool_:
        return (gen._random(n) & np.uint64(1)).astype(np.bool_)
    if dtype.kind == "f":
        digits = _digits(dtype, "random_")
        raw = gen._random64(n) if digits == 53 else gen._random(n)
        return (raw % np.uint64((1 << digits) + 1)).astype(dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"random_: unsupported dtype {dtype}")
    top = np.uint64(int(np.iinfo(dtype).max) + 1)
    raw = gen._random64(n) if dtype == np.int64 else gen._random(n)
    return (raw % top).astype(dtype)


def bernoulli_scalar(gen: Generator, n: int, p: float) -> np.ndarray:
    """``bernoulli_(p)`` for a number ``p``: a 53-bit uniform below ``p`` (bool)."""
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return unit_uniform(gen, n, np.dtype(np.float64)) < p


def bernoulli_tensor(gen: Generator, p: np.ndarray) -> np.ndarray:
    """``bernoulli(p)`` for an array ``p`` (already broadcast, flat): a float64 ``p`` compares
    53-bit uniforms, any other dtype float32 24-bit ones."""
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("bernoulli: all elements of p must be in [0, 1]")
    if p.dtype == np.float64:
        return unit_uniform(gen, p.size, p.dtype) < p
    return unit_uniform(gen, p.size, np.dtype(np.float32)) < p.astype(np.float32)


def exponential(gen: Generator, n: int, lambd: float) -> np.ndarray:
    """``exponential_(lambd)``: ``-1/lambd * log1p(-u)`` in double precision (float64)."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    u = unit_uniform(gen, n, np.dtype(np.float64))
    return (-1.0 / lambd) * _glibc(math.log1p, -u)


def randperm(gen: Generator, n: int) -> np.ndarray:
    """PyTorch's ``randperm``: below 2**32 / 20 elements, swap position ``i`` with
    ``i + random() % (n - i)`` for i = 0..n-2; from there, the inside-out Fisher-Yates
    shuffle with 64-bit draws."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    if n < 0xFFFFFFFF // 20:
        steps = (gen._random(n - 1) % np.arange(n, 1, -1, dtype=np.uint64) if n > 1
                 else np.zeros(0, np.uint64))
        swapped = list(range(n))
        for i, z in enumerate(steps.astype(np.int64).tolist()):
            j = i + z
            swapped[i], swapped[j] = swapped[j], swapped[i]
        return np.array(swapped, np.int64)
    picks = gen._random64(n) % np.arange(1, n + 1, dtype=np.uint64)
    perm = np.empty(n, np.int64)
    for i, z in enumerate(picks.tolist()):
        perm[i] = perm[z]
        perm[z] = i
    return perm


def multinomial(gen: Generator, probs: np.ndarray, num_samples: int,
                replacement: bool) -> np.ndarray:
    """``multinomial`` on rows of weights (2-D, float): int64 indices of shape
    (rows, num_samples).

    One sample, or any number without replacement, is PyTorch's exponential trick: divide the
    weights by Exp(1) draws (one per weight, in memory order) and take the arg-max / the top
    ``num_samples``. With replacement, each sample is a 53-bit uniform located by binary search
    in the row's cumulative sums (accumulated and normalised in the weights' dtype).
    """
    if not replacement or num_samples == 1:
        q = exponential(gen, probs.size, 1.0).reshape(probs.shape).astype(probs.dtype)
        ratio = probs / q
        if num_samples == 1:
            return np.argmax(ratio, axis=-1)[:, None].astype(np.int64)
        # topk: largest first; equal keys keep the lower index first
        return np.argsort(-ratio, axis=-1, kind="stable")[:, :num_samples].astype(np.int64)
    out = np.empty((probs.shape[0], num_samples), np.int64)
    for row, weights in enumerate(probs):
        cum = np.cumsum(weights, dtype=weights.dtype)
        cum = cum / cum[-1]
        cum[-1] = 1
        u = unit_uniform(gen, num_samples, np.dtype(np.float64))
        out[row] = np.searchsorted(cum.astype(np.float64), u, side="left")
    return out
