"""Run the same program in chainrule and in PyTorch and compare values and gradients.

A program takes a namespace ``m`` (``m.lib`` is ``chainrule`` or ``torch``, ``m.nn``, ``m.F``)
and tensors, so one piece of code runs in both::

    compare(lambda m, x, y: m.lib.tanh(x @ y), [np_x, np_y])
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import chainrule as cr

REASON = "the PyTorch test oracle (torch==2.13.0) is missing"


class _Oracle:
    """PyTorch, imported when a test first touches it. Without torch only the tests that
    compare with it skip; the engine tests and gradchecks, which need no oracle, still run."""

    def __getattr__(self, name: str):
        return getattr(_load_torch(), name)


@functools.cache
def _load_torch():
    try:
        import torch as module
    except ImportError:
        pytest.skip(REASON)
    # one thread: the comparisons are small, where torch's thread pool only adds overhead (and
    # the suite already runs on every core through pytest -n)
    module.set_num_threads(1)
    return module


torch = _Oracle()

TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


def namespace(lib) -> types.SimpleNamespace:
    if lib is torch:
        return types.SimpleNamespace(lib=torch, nn=torch.nn, F=torch.nn.functional,
                                     optim=torch.optim)
    import importlib

    def optional(name):
        try:
            return importlib.import_module(name)
        except ImportError:
            return None

    return types.SimpleNamespace(lib=cr, nn=optional("chainrule.nn"),
                                 F=optional("chainrule.nn.functional"),
                                 optim=optional("chainrule.optim"))


def to_numpy(t) -> np.ndarray:
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def compare(program: Callable, arrays: Sequence[np.ndarray], *, requires_grad=None,
            dtype=None, rtol: float | None = None, atol: float | None = None,
            seed: int = 0) -> tuple:
    """Assert equal outputs and input gradients (for a random output gradient) in both
    libraries; return (chainrule outputs, torch outputs)."""
    arrays = [np.asarray(a) for a in arrays]
    if dtype is not None:
        arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    if requires_grad is None:
        requires_grad = [a.dtype.kind == "f" for a in arrays]
    tol = TOLERANCES[np.dtype(dtype or next((a.dtype for a in arrays if a.dtype.kind == "f"),
                                            np.float64)).type]
    tol = dict(rtol=tol["rtol"] if rtol is None else rtol,
               atol=tol["atol"] if atol is None else atol)
    xs = [cr.tensor(a, requires_grad=bool(r)) for a, r in zip(arrays, requires_grad)]
    ts = [torch.tensor(a, requires_grad=bool(r)) for a, r in zip(arrays, requires_grad)]
    out_cr = program(namespace(cr), *xs)
    out_t = program(namespace(torch), *ts)
    outs_cr = out_cr if isinstance(out_cr, (tuple, list)) else (out_cr,)
    outs_t = out_t if isinstance(out_t, (tuple, list)) else (out_t,)
    assert len(outs_cr) == len(outs_t)
    rng = np.random.default_rng(seed)
    grads = []
    for a, b in zip(outs_cr, outs_t):
        assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
        assert str(a.dtype) == str(b.dtype).replace("torch.", ""), (a.dtype, b.dtype)
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), **tol, err_msg="forward values")
        if b.requires_grad:
            assert a.requires_grad
            grads.append(rng.standard_normal(tuple(b.shape)).astype(to_numpy(a).dtype))
        else:
            grads.append(None)
    diff = [(a, b, g) for a, b, g in zip(outs_cr, outs_t, grads) if g is not None]
    if diff:
        cr.autograd.backward([a for a, _, _ in diff], [cr.tensor(g) for _, _, g in diff])
        torch.autograd.backward([b for _, b, _ in diff], [torch.tensor(g) for _, _, g in diff])
        for i, (x, t) in enumerate(zip(xs, ts)):
            if t.grad is None:
                assert x.grad is None or not np.any(x.grad.numpy()), f"input {i}"
                continue
            assert x.grad is not None, f"input {i} got no gradient"
            assert x.grad.dtype == x.dtype
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol,
                                       err_msg=f"gradient of input {i}")
    return outs_cr, outs_t
