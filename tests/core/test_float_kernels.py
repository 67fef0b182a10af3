"""The fused multiply-adds that reproduce PyTorch's compiled kernels round once, exactly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from chainrule._float_kernels import fma32, fma64


def _nearest(exact: Fraction, dtype) -> float:
    """``exact`` rounded to nearest, ties to even, in ``dtype``."""
    guess = dtype(float(exact))
    around = [np.nextafter(guess, dtype(-np.inf)), guess, np.nextafter(guess, dtype(np.inf))]
    bits = np.int64 if dtype is np.float64 else np.int32
    return min(around, key=lambda v: (abs(Fraction(float(v)) - exact),
                                      int(np.array(v, dtype).view(bits)) & 1))


def _cases(dtype, rng):
    a, b, c = (rng.standard_normal(1500) for _ in range(3))
    yield a, b * 1e-3, c * 1e-3
    yield a, b * 1e6, c * 1e6
    yield a, b, -(a * b) * (1 + rng.integers(-3, 4, 1500) * 2.0 ** -40)  # cancellation
    ones = np.ones(1500)  # sums that land on a float32 midpoint
    yield ones * (1 + 2.0 ** -12), 1 + np.arange(1500) * 2.0 ** -23, ones * 2.0 ** -30


@pytest.mark.parametrize("dtype, fma", [(np.float32, fma32), (np.float64, fma64)])
def test_one_rounding(dtype, fma):
    rng = np.random.default_rng(0)
    for a, b, c in _cases(dtype, rng):
        a, b, c = a.astype(dtype), b.astype(dtype), c.astype(dtype)
        want = [_nearest(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)), dtype)
                for x, y, z in zip(a, b, c)]
        np.testing.assert_array_equal(fma(a, b, c), np.array(want, dtype))
