"""Small synthetic datasets, the same numbers for the same seed: ``X, y = make_moons(seed=0)``.

Each ``make_*`` returns ``(X, y)`` Tensors: ``X`` float32 of shape ``(n, features)``; ``y`` int64
class labels of shape ``(n,)``, or float32 of shape ``(n, 1)`` for regression. They draw from
their own ``numpy.random.default_rng(seed)`` and never touch the global generator.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _check(name: str, n_samples: int, noise: float, minimum: int = 1) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < minimum:
        raise ValueError(f"{name}: n_samples must be an integer >= {minimum} "
                         f"(got {n_samples!r})")
    if not noise >= 0:
        raise ValueError(f"{name}: noise must be >= 0 (got {noise!r})")


def _pack(x: np.ndarray, y: np.ndarray, gen: np.random.Generator) -> tuple[Tensor, Tensor]:
    # Shuffle so that a plain split or an unshuffled loader does not see one class at a time.
    perm = gen.permutation(len(x))
    return Tensor(x[perm].astype(np.float32)), Tensor(y[perm])


def _counts(n_samples: int, n_classes: int) -> list[int]:
    """``n_samples`` spread over classes as evenly as possible (earlier classes get the rest)."""
    return [n_samples // n_classes + (c < n_samples % n_classes) for c in range(n_classes)]


def make_regression(n_samples: int = 100, noise: float = 0.1, seed: int = 0
                    ) -> tuple[Tensor, Tensor]:
    """``y = x**2 + N(0, noise**2)`` for ``x`` uniform on [-2, 2]; shapes ``(n, 1)`` and ``(n, 1)``.

    ``X, y = make_regression(100, noise=0.1, seed=0)``
    """
    _check("make_regression", n_samples, noise)
    gen = np.random.default_rng(seed)
    x = gen.uniform(-2.0, 2.0, size=(n_samples, 1))
    y = x ** 2 + noise * gen.standard_normal((n_samples, 1))
    return Tensor(x.astype(np.float32)), Tensor(y.astype(np.float32))


def make_xor(n_samples: int = 200, noise: float = 0.0, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Points uniform in [-1, 1]^2, class 1 where the coordinates' signs differ (XOR).

    ``noise`` is the std of Gaussian jitter added to the points after labelling.
    """
    _check("make_xor", n_samples, noise)
    gen = np.random.default_rng(seed)
    x = gen.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    x = x + noise * gen.standard_normal(x.shape)
    return _pack(x, y, gen)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), classes 0 and 1."""
    _check("make_moons", n_samples, noise, minimum=2)
    gen = np.random.default_rng(seed)
    n_out, n_in = _counts(n_samples, 2)
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.repeat(np.arange(2, dtype=np.int64), [n_out, n_in])
    x = x + noise * gen.standard_normal(x.shape)
    return _pack(x, y, gen)


def make_circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0
                 ) -> tuple[Tensor, Tensor]:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1)."""
    _check("make_circles", n_samples, noise, minimum=2)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1) (got {factor!r})")
    gen = np.random.default_rng(seed)
    n_out, n_in = _counts(n_samples, 2)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.repeat(np.arange(2, dtype=np.int64), [n_out, n_in])
    x = x + noise * gen.standard_normal(x.shape)
    return _pack(x, y, gen)


def make_spiral(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int = 0
                ) -> tuple[Tensor, Tensor]:
    """``n_classes`` interleaved spiral arms (the CS231n spiral); ``noise`` jitters the angle."""
    _check("make_spiral", n_samples, noise, minimum=max(int(n_classes), 1))
    if n_classes < 2:
        raise ValueError(f"make_spiral: n_classes must be >= 2 (got {n_classes!r})")
    gen = np.random.default_rng(seed)
    xs, ys = [], []
    for c, count in enumerate(_counts(n_samples, n_classes)):
        r = np.linspace(0.0, 1.0, count)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, count) + noise * gen.standard_normal(count)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ys.append(np.full(count, c, dtype=np.int64))
    return _pack(np.concatenate(xs), np.concatenate(ys), gen)


def make_blobs(n_samples: int = 300, n_classes: int = 3, n_features: int = 2, std: float = 1.0,
               seed: int = 0) -> tuple[Tensor, Tensor]:
    """Isotropic Gaussian clusters (std ``std``) around centres drawn uniformly in [-5, 5]."""
    _check("make_blobs", n_samples, std, minimum=max(int(n_classes), 1))
    if n_classes < 2 or n_features < 1:
        raise ValueError(f"make_blobs: need n_classes >= 2 and n_features >= 1 (got "
                         f"n_classes={n_classes!r}, n_features={n_features!r})")
    gen = np.random.default_rng(seed)
    centres = gen.uniform(-5.0, 5.0, size=(n_classes, n_features))
    counts = _counts(n_samples, n_classes)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    x = centres[y] + std * gen.standard_normal((n_samples, n_features))
    return _pack(x, y, gen)
