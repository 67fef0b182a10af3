"""Loss functions and their gradients with respect to the network output, keyed by name.

Each loss maps ``(y_hat, y)`` to a float and its gradient ``dL/dy_hat`` (same shape as y_hat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

CLIP_EPS = 1e-12
"""Probabilities are clipped to [eps, 1 - eps] before a log, so log(0) never happens.

eps is 1e-12, or the dtype's machine epsilon when that is larger (float32: 1.2e-7), so that
1 - eps is still distinct from 1.
"""


@dataclass(frozen=True)
class Loss:
    """A loss ``fn(y_hat, y) -> float`` with its gradient ``grad(y_hat, y) = dL/dy_hat``."""

    name: str
    fn: Callable[[Array, Array], float]
    grad: Callable[[Array, Array], Array]


def _check_same_shape(y_hat: Array, y: Array, loss: str) -> None:
    # (m, 1) against (m,) would silently broadcast to (m, m): a classic bug, so refuse it.
    if y_hat.shape != y.shape:
        raise ValueError(f"{loss}: y must have the output's shape {y_hat.shape}, got {y.shape}")


def _clip(p: Array, upper: bool = True) -> Array:
    eps = max(CLIP_EPS, float(np.finfo(p.dtype).eps))
    return np.clip(p, eps, 1.0 - eps) if upper else np.maximum(p, eps)


def one_hot(labels: Array, n_classes: int, dtype: np.dtype | type = np.float64) -> Array:
    """Integer class labels of shape (m,) -> one-hot rows of shape (m, n_classes).

    ``one_hot(np.array([2, 0]), 3)`` is ``[[0, 0, 1], [1, 0, 0]]``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"class labels must be a 1-D integer array, got shape {labels.shape} "
            f"and dtype {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"class labels must lie in [0, {n_classes - 1}], "
            f"got values from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((labels.size, n_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def _as_one_hot(p: Array, y: Array) -> Array:
    """Accept y as one-hot rows like p, or as integer labels of shape (m,)."""
    y = np.asarray(y)
    if y.ndim == 1 and p.ndim == 2:
        return one_hot(y, p.shape[1], dtype=p.dtype)
    return y


def mse(y_hat: Array, y: Array) -> float:
    """L = (1/N) sum (y_hat - y)^2, the mean over all N = y.size elements."""
    _check_same_shape(y_hat, y, "mse")
    return float(np.mean((y_hat - y) ** 2))


def mse_grad(y_hat: Array, y: Array) -> Array:
    """dL/dy_hat = 2 (y_hat - y) / N.

    The factor 2 and the division by N (all elements, not the batch size m) both come from the
    definition above. The common textbook shortcut (y_hat - y) / m is a different gradient: a
    gradient check exposes the mismatch.
    """
    _check_same_shape(y_hat, y, "mse")
    return 2.0 * (y_hat - y) / y.size


def bce(p: Array, y: Array) -> float:
    """L = -(1/N) sum [y log p + (1 - y) log(1 - p)], p clipped to [eps, 1 - eps] (CLIP_EPS)."""
    _check_same_shape(p, y, "bce")
    p = _clip(p)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def bce_grad(p: Array, y: Array) -> Array:
    """dL/dp = (1/N) [-y / p + (1 - y) / (1 - p)] = (p - y) / (N p (1 - p)).

    Uses the clipped p, which keeps it finite; it is the exact gradient wherever p is at least
    eps away from 0 and 1.
    """
    _check_same_shape(p, y, "bce")
    p = _clip(p)
    return (-y / p + (1.0 - y) / (1.0 - p)) / y.size


def cross_entropy(p: Array, y: Array) -> float:
    """L = -(1/m) sum_i sum_j y_ij log p_ij, the mean over the batch of m rows.

    y is one-hot of p's shape (m, n), or integer class labels of shape (m,); p is clipped
    below at eps (CLIP_EPS) so log(0) never happens.
    """
    y = _as_one_hot(p, y)
    _check_same_shape(p, y, "cross_entropy")
    return float(-np.sum(y * np.log(_clip(p, upper=False))) / p.shape[0])


def cross_entropy_grad(p: Array, y: Array) -> Array:
    """dL/dp_ij = -y_ij / (m p_ij)."""
    y = _as_one_hot(p, y)
    _check_same_shape(p, y, "cross_entropy")
    return -y / _clip(p, upper=False) / p.shape[0]


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("mse", mse, mse_grad),
        Loss("bce", bce, bce_grad),
        Loss("cross_entropy", cross_entropy, cross_entropy_grad),
    )
}
