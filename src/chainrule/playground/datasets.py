"""The playground's data sets, as TF Playground draws them, on the plane [-6, 6]².

``xy, target = generate(config)``: ``target`` holds class indices (classification) or values in
[-1, 1] (regression). ``split(n, ratio, seed)`` picks the training points.
"""

from __future__ import annotations

import numpy as np

from .validation import Config

RADIUS = 5.0
EXTENT = 6.0  # the plane shown is [-EXTENT, EXTENT]²


def _circle(rng: np.random.Generator, n: int, noise: float):
    half = n // 2
    r = np.concatenate([rng.uniform(0, RADIUS * 0.5, half),
                        rng.uniform(RADIUS * 0.7, RADIUS, n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    xy = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    xy_noisy = xy + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    inside = np.hypot(xy_noisy[:, 0], xy_noisy[:, 1]) < RADIUS * 0.5
    return xy, inside.astype(np.int64)


def _xor(rng: np.random.Generator, n: int, noise: float):
    xy = rng.uniform(-5, 5, (n, 2))
    xy += np.where(xy > 0, 0.3, -0.3)
    xy_noisy = xy + rng.uniform(-5, 5, (n, 2)) * noise
    return xy, (xy_noisy[:, 0] * xy_noisy[:, 1] >= 0).astype(np.int64)


def _gauss(rng: np.random.Generator, n: int, noise: float):
    spread = 0.5 + 3.5 * noise / 0.5  # TF Playground's variance scale: noise 0..0.5 -> 0.5..4
    half = n // 2
    centers = np.array([[2.0, 2.0]] * half + [[-2.0, -2.0]] * (n - half))
    xy = centers + rng.normal(0, np.sqrt(spread), (n, 2))
    return xy, np.array([1] * half + [0] * (n - half), dtype=np.int64)


def _spiral(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = [n // classes + (k < n % classes) for k in range(classes)]
    xs, labels = [], []
    for k, m in enumerate(counts):
        i = np.arange(m) / m
        r = i * RADIUS
        t = 1.75 * i * 2 * np.pi + 2 * np.pi * k / classes
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        xs.append(xy + rng.uniform(-1, 1, (m, 2)) * noise)
        labels.append(np.full(m, k, dtype=np.int64))
    # two classes: TF Playground's order (the spiral that starts at angle 0 is positive)
    target = np.concatenate(labels)
    return np.concatenate(xs), (1 - target if classes == 2 else target)


def _plane(rng: np.random.Generator, n: int, noise: float):
    xy = rng.uniform(-EXTENT, EXTENT, (n, 2))
    noisy = xy + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    return xy, np.clip((noisy[:, 0] + noisy[:, 1]) / 10, -1, 1)


_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _multigauss(rng: np.random.Generator, n: int, noise: float):
    xy = rng.uniform(-EXTENT, EXTENT, (n, 2))
    noisy = xy + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    label = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        bump = sign * np.clip(1 - np.hypot(noisy[:, 0] - cx, noisy[:, 1] - cy) / 2, 0, 1)
        label = np.where(np.abs(bump) > np.abs(label), bump, label)
    return xy, label


def generate(config: Config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``config.points`` points of ``config.dataset`` drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    noise = config.noise / 100
    n = config.points
    if config.dataset == "spiral":
        return _spiral(rng, n, noise, config.classes)
    make = {"circle": _circle, "xor": _xor, "gauss": _gauss, "plane": _plane,
            "multigauss": _multigauss}[config.dataset]
    return make(rng, n, noise)


def split(n: int, train_ratio: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): a shuffle of ``range(n)`` cut at ``train_ratio`` percent."""
    order = np.random.default_rng(seed).permutation(n)
    cut = max(1, min(n - 1, round(n * train_ratio / 100)))
    return np.sort(order[:cut]), np.sort(order[cut:])


def features(xy: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The network's input columns, in ``names``' order: x1, x2, x1², x2², x1·x2, sin x1, ..."""
    x1, x2 = xy[:, 0], xy[:, 1]
    columns = {"x1": x1, "x2": x2, "x1sq": x1 * x1, "x2sq": x2 * x2, "x1x2": x1 * x2,
               "sinx1": np.sin(x1), "sinx2": np.sin(x2)}
    return np.stack([columns[name] for name in names], axis=1).astype(np.float32)
