"""Floating-point steps of PyTorch's x86-64 CPU kernels, reproduced bit for bit in NumPy.

PyTorch's AVX2/AVX-512 kernels are compiled with fused multiply-add contraction, and its
float32 ``randn`` evaluates ``log`` and ``sincos`` with Julien Pommier's AVX port of the Cephes
polynomials (``avx_mathfun.h``). NumPy has neither an FMA nor those polynomials, so both are
written here from exact operations: a product of two floats computed without error
(float32 in float64, float64 by Dekker's splitting) and a sum rounded to odd (Boldo and
Melquiond, "Emulation of FMA and correctly rounded sums", IEEE TC 2008), then rounded once.
"""

from __future__ import annotations

import numpy as np

_f32 = np.float32
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's splitter for doubles


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _round_to_odd(s: np.ndarray, err: np.ndarray) -> np.ndarray:
    """``s + err`` (``s`` its rounding to nearest) rounded to odd: inexact results take the
    neighbour whose last mantissa bit is 1."""
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if not fix.any():
        return s
    return np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)


def fma32(a, b, c) -> np.ndarray:
    """float32 ``a * b + c`` with one rounding (arrays or scalars, broadcast)."""
    p = np.asarray(a, _f32).astype(np.float64) * np.asarray(b, _f32).astype(np.float64)  # exact
    c = np.asarray(c, _f32).astype(np.float64)
    s = p + c
    # Rounding s (nearest double) to float32 is the one rounding unless s landed exactly on a
    # float32 midpoint (low 29 fraction bits 1000...0) or in float32's subnormal range: only
    # then is the double rounding's direction needed (round to odd).
    suspect = (((s.view(np.int64) & 0x1FFFFFFF) == 0x10000000)
               | ((np.abs(s) < 2.0 ** -126) & (s != 0)))  # a zero sum is exact
    if suspect.any():
        p, c = np.broadcast_arrays(p, c)
        s[suspect] = _round_to_odd(s[suspect], _two_sum(p[suspect], c[suspect])[1])
    return s.astype(_f32)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def fma64(a, b, c) -> np.ndarray:
    """float64 ``a * b + c`` with one rounding (no overflow or underflow in the product)."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    p_err = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * b == p + p_err exactly
    th, tl = _two_sum(c, p_err)
    vh, vl = _two_sum(p, th)
    w, w_err = _two_sum(tl, vl)
    return vh + _round_to_odd(w, w_err)


# Cephes single-precision constants, as avx_mathfun.h spells them (rounded to float32).
_LOG_P = [_f32(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                            -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                            2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1)]
_LOG_Q1, _LOG_Q2 = _f32(-2.12194440e-4), _f32(0.693359375)
_SQRTHF = _f32(0.707106781186547524)
_MIN_NORM = np.array(0x00800000, np.int32).view(_f32)
_FOPI = _f32(1.27323954473516)
_DP = [_f32(-0.78515625), _f32(-2.4187564849853515625e-4), _f32(-3.77489497744594108e-8)]
_SIN_P = [_f32(v) for v in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_COS_P = [_f32(v) for v in (2.443315711809948e-005, -1.388731625493765e-003,
                            4.166664568298827e-002)]
_HALF, _ONE = _f32(0.5), _f32(1.0)


def log_avx(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` for positive float32 ``x``, each multiply-add fused as GCC compiles it."""
    x = np.maximum(np.asarray(x, _f32), _MIN_NORM)
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(_f32) + _ONE
    x = ((bits & np.int32(~0x7F800000)) | _HALF.view(np.int32)).view(_f32)  # mantissa in [.5, 1)
    small = x < _SQRTHF
    e = e - np.where(small, _ONE, _f32(0))
    x = (x - _ONE) + np.where(small, x, _f32(0))
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = fma32(y, x, p)
    y = fma32(y * x, z, e * _LOG_Q1)
    y = y - z * _HALF
    return fma32(e, _LOG_Q2, x + y)


def sincos_avx(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` for float32 ``x``: (sin, cos), fused as ``log_avx``."""
    x = np.asarray(x, _f32)
    sign_sin = x.view(np.uint32) & np.uint32(0x80000000)
    x = np.abs(x)
    j = ((x * _FOPI).astype(np.int32) + 1) & ~1
    y = j.astype(_f32)
    sign_sin = sign_sin ^ ((j & 4).astype(np.uint32) << np.uint32(29))
    sign_cos = (~(j - 2) & 4).astype(np.uint32) << np.uint32(29)
    use_sin_poly = (j & 2) == 0  # |x| reduced into [0, pi/4]
    for dp in _DP:
        x = fma32(y, dp, x)
    z = x * x
    c = np.full_like(x, _COS_P[0])
    for p in _COS_P[1:]:
        c = fma32(c, z, p)
    c = fma32(c * z, z, -(z * _HALF)) + _ONE
    s = np.full_like(x, _SIN_P[0])
    for p in _SIN_P[1:]:
        s = fma32(s, z, p)
    s = fma32(s * z, x, x)
    sin = np.where(use_sin_poly, s, c)
    cos = np.where(use_sin_poly, c, s)
    return ((sin.view(np.uint32) ^ sign_sin).view(_f32),
            (cos.view(np.uint32) ^ sign_cos).view(_f32))
