"""Activation functions with their derivatives, as small tables keyed by name (NumPy only).

Hidden activations act elementwise, so backprop needs only f'(z): dZ = dA * f'(Z).
Output activations give a vector-Jacobian product instead, because softmax mixes a row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

LEAKY_SLOPE = 0.01  # the slope of leaky_relu for z < 0 (PyTorch's default too)
# Python floats, not NumPy scalars: they keep float32 arrays float32 (NEP 50).
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """An elementwise activation ``a = fn(z)`` with its derivative ``derivative(z) = f'(z)``."""

    name: str
    fn: Callable[[Array], Array]
    derivative: Callable[[Array], Array]


@dataclass(frozen=True)
class OutputActivation:
    """An output activation ``a = fn(z)`` with its vector-Jacobian product.

    ``vjp(z, a, g)`` returns ``dL/dz = J^T g`` for one batch row at a time, where
    ``g = dL/da`` and ``J = da/dz``; for an elementwise ``f`` that is just ``g * f'(z)``.
    """

    name: str
    fn: Callable[[Array], Array]
    vjp: Callable[[Array, Array, Array], Array]


# --- the error function, exact to double precision -------------------------------------------
# NumPy has no erf, SciPy is not a dependency, and np.vectorize(math.erf) is a slow Python loop.
# W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the
# error function", Math. Comp. 23, 1969; Netlib specfun CALERF) are accurate to about one unit
# in the last place of a float64, and vectorise with np.polyval. Coefficients: highest power
# first, as np.polyval wants them.

# fmt: off
# |x| <= 0.46875:  erf(x) = x * P1(x^2) / Q1(x^2)
_P1 = (1.85777706184603153e-1, 3.16112374387056560e0, 1.13864154151050156e2,
       3.77485237685302021e2, 3.20937758913846947e3)
_Q1 = (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
       2.84423683343917062e3)
# 0.46875 < |x| <= 4:  erfc(x) = exp(-x^2) * P2(x) / Q2(x)
_P2 = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e0,
       6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
       1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3)
_Q2 = (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
       1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
       3.43936767414372164e3, 1.23033935480374942e3)
# |x| > 4:  erfc(x) = exp(-x^2) / x * (1/sqrt(pi) - t * P3(t) / Q3(t)),  t = 1/x^2
_P3 = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
       1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)
_Q3 = (1.0, 2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
       6.05183413124413191e-2, 2.33520497626869185e-3)
# fmt: on
_INV_SQRT_PI = 5.6418958354775628695e-1
_ERFC_ZERO_BEYOND = 26.6  # erfc(x) underflows to 0.0 in float64 for x above this


def _exp_minus_square(y: Array) -> Array:
    """exp(-y^2) without the rounding error of forming y^2 (Cody's split: y = ys + (y - ys))."""
    ys = np.trunc(y * 16.0) / 16.0  # ys^2 is exact in float64
    return np.exp(-ys * ys) * np.exp(-(y - ys) * (y + ys))


def _erf_parts(x: Array) -> tuple[Array, Array, Array]:
    """Split |x| into the small range (return erf(|x|)) and the rest (return erfc(|x|))."""
    y = np.abs(x)
    small = y <= 0.46875
    erf_small = np.zeros_like(y)
    erfc_large = np.zeros_like(y)  # stays 0.0 past _ERFC_ZERO_BEYOND, where it underflows

    ys = y[small]
    erf_small[small] = ys * np.polyval(_P1, ys * ys) / np.polyval(_Q1, ys * ys)

    mid = ~small & (y <= 4.0)
    ym = y[mid]
    erfc_large[mid] = _exp_minus_square(ym) * np.polyval(_P2, ym) / np.polyval(_Q2, ym)

    big = (y > 4.0) & (y < _ERFC_ZERO_BEYOND)
    yb = y[big]
    t = 1.0 / (yb * yb)
    tail = (_INV_SQRT_PI - t * np.polyval(_P3, t) / np.polyval(_Q3, t)) / yb
    erfc_large[big] = _exp_minus_square(yb) * tail

    erfc_large[np.isnan(y)] = np.nan
    return small, erf_small, erfc_large


def erf(x: Array) -> Array:
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, in float64.

    ``erf(np.array([0.5]))`` agrees with ``math.erf(0.5)`` to ~1e-16 (Cody 1969).
    """
    x = np.asarray(x, dtype=np.float64)
    small, erf_small, erfc_large = _erf_parts(x)
    return np.sign(x) * np.where(small, erf_small, 1.0 - erfc_large)


def erfc(x: Array) -> Array:
    """The complementary error function erfc(x) = 1 - erf(x), accurate in the tail x >> 0."""
    x = np.asarray(x, dtype=np.float64)
    small, erf_small, erfc_large = _erf_parts(x)
    # erfc(-y) = 2 - erfc(y): the subtraction is benign because erfc(y) <= 1 there.
    large = np.where(x < 0, 2.0 - erfc_large, erfc_large)
    return np.where(small, 1.0 - np.sign(x) * erf_small, large)


# --- hidden activations: a = f(z), and f'(z) ------------------------------------------------


def relu(z: Array) -> Array:
    """relu(z) = max(z, 0)."""
    return np.maximum(z, 0)


def relu_derivative(z: Array) -> Array:
    """relu'(z) = 1 if z > 0 else 0 (0 at the kink, as PyTorch does)."""
    return (z > 0).astype(z.dtype)


def leaky_relu(z: Array) -> Array:
    """leaky_relu(z) = z if z > 0 else 0.01 z."""
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_derivative(z: Array) -> Array:
    """leaky_relu'(z) = 1 if z > 0 else 0.01."""
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def sigmoid(z: Array) -> Array:
    """sigmoid(z) = 1 / (1 + exp(-z)), computed without overflow for any z.

    exp is only ever taken of -|z| <= 0, so it cannot overflow; for z < 0 the algebraically
    equal form exp(z) / (1 + exp(z)) is used.
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_derivative(z: Array) -> Array:
    """sigmoid'(z) = s (1 - s) with s = sigmoid(z)."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: Array) -> Array:
    """tanh(z)."""
    return np.tanh(z)


def tanh_derivative(z: Array) -> Array:
    """tanh'(z) = 1 - tanh(z)^2."""
    return 1.0 - np.tanh(z) ** 2


def swish(z: Array) -> Array:
    """swish(z) = z * sigmoid(z) (also called SiLU)."""
    return z * sigmoid(z)


def swish_derivative(z: Array) -> Array:
    """swish'(z) = s + z s (1 - s) = s (1 + z (1 - s)) with s = sigmoid(z)."""
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _normal_cdf(z: Array) -> Array:
    """Phi(z) = 0.5 (1 + erf(z / sqrt 2)), computed as 0.5 erfc(-z / sqrt 2).

    The erfc form keeps full relative precision for z << 0, where 1 + erf(...) would cancel.
    """
    return (0.5 * erfc(-np.asarray(z, dtype=np.float64) / _SQRT_2)).astype(z.dtype)


def gelu(z: Array) -> Array:
    """gelu(z) = z Phi(z) = 0.5 z (1 + erf(z / sqrt 2)), the exact (not tanh-approximated) form."""
    return z * _normal_cdf(z)


def gelu_derivative(z: Array) -> Array:
    """gelu'(z) = Phi(z) + z phi(z), with phi(z) = exp(-z^2 / 2) / sqrt(2 pi) the normal density."""
    density = np.exp(-0.5 * z * z) / _SQRT_2PI
    return _normal_cdf(z) + z * density


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", relu, relu_derivative),
        Activation("leaky_relu", leaky_relu, leaky_relu_derivative),
        Activation("sigmoid", sigmoid, sigmoid_derivative),
        Activation("tanh", tanh, tanh_derivative),
        Activation("swish", swish, swish_derivative),
        Activation("gelu", gelu, gelu_derivative),
    )
}


# --- output activations: a = g(z), and dL/dz = J^T dL/da ----------------------------------


def linear(z: Array) -> Array:
    """linear(z) = z (regression outputs)."""
    return z


def linear_vjp(z: Array, a: Array, g: Array) -> Array:
    """dL/dz = dL/da, since da/dz = I."""
    return g


def sigmoid_vjp(z: Array, a: Array, g: Array) -> Array:
    """dL/dz = dL/da * a (1 - a): sigmoid acts elementwise, so its Jacobian is diagonal."""
    return g * a * (1.0 - a)


def softmax(z: Array) -> Array:
    """softmax(z)_j = exp(z_j) / sum_k exp(z_k) over each row.

    The row maximum is subtracted first: softmax is unchanged by it, and exp cannot overflow.
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_vjp(z: Array, a: Array, g: Array) -> Array:
    """dL/dz = J^T g with J_jk = a_j (delta_jk - a_k), i.e. dL/dz = a * (g - sum_k g_k a_k).

    Written as a product with the row sum, so the (n x n) Jacobian is never built.
    """
    return a * (g - (g * a).sum(axis=1, keepdims=True))


OUTPUT_ACTIVATIONS: dict[str, OutputActivation] = {
    a.name: a
    for a in (
        OutputActivation("linear", linear, linear_vjp),
        OutputActivation("sigmoid", sigmoid, sigmoid_vjp),
        OutputActivation("softmax", softmax, softmax_vjp),
    )
}
