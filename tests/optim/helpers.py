"""Run one optimizer configuration in chainrule and in PyTorch on identical gradients."""

from __future__ import annotations

import numpy as np

import chainrule as cr
import chainrule.optim as optim
from tests.oracle import torch

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}
SHAPES = [(3, 4), (5,), ()]


def initial_arrays(seed: int = 0, dtype=np.float64) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def gradient(i: int, x: np.ndarray) -> np.ndarray:
    """The gradient of a quadratic-ish objective: f(x) = sum((i + 1) x² + sin(3x) / 3 + x / 10)."""
    return (2 * (i + 1) * x + np.cos(3 * x) + 0.1).astype(x.dtype)


def build(lib, cls_name: str, arrays: list[np.ndarray], options):
    """Parameters and an optimizer; ``options`` is a dict of keyword arguments, or a list of
    groups ``{'params': [indices], ...}`` followed by the defaults as its last element."""
    if lib is cr:
        params = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
        cls = getattr(optim, cls_name)
    else:
        params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
        cls = getattr(torch.optim, cls_name)
    if isinstance(options, list):
        *groups, defaults = options
        groups = [dict(g, params=[params[i] for i in g["params"]]) for g in groups]
        return params, cls(groups, **defaults)
    return params, cls(params, **options)


def set_grads(cr_params, torch_params, skip=()) -> None:
    """The same gradient (computed from chainrule's current values) for both libraries."""
    for i, (p, tp) in enumerate(zip(cr_params, torch_params, strict=True)):
        if i in skip:
            continue
        g = gradient(i, p._data)
        p.grad = cr.tensor(g.copy())
        tp.grad = torch.tensor(g.copy())


def assert_same(cr_params, torch_params, dtype=np.float64, step=None) -> None:
    for i, (p, tp) in enumerate(zip(cr_params, torch_params, strict=True)):
        np.testing.assert_allclose(p._data, tp.detach().numpy(), **TOL[np.dtype(dtype).type],
                                   err_msg=f"parameter {i} after step {step}")
