"""gradcheck / gradgradcheck: analytical gradients against central differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    """An analytical gradient disagrees with its numerical estimate."""


def _outputs(fn: Callable, inputs: Sequence) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def _numerical_jacobian(fn, inputs, i: int, eps: float, n_out_total: int) -> np.ndarray:
    """d(all outputs, flattened)/d(inputs[i]) by two-sided differences: shape (out, in)."""
    x = inputs[i]._data
    jac = np.zeros((n_out_total, x.size))
    flat = x.reshape(-1)  # a view: writing it perturbs the input in place
    for k in range(x.size):
        orig = flat[k]
        flat[k] = orig + eps
        with no_grad():
            plus = np.concatenate([o._data.reshape(-1) for o in _outputs(fn, inputs)])
        flat[k] = orig - eps
        with no_grad():
            minus = np.concatenate([o._data.reshape(-1) for o in _outputs(fn, inputs)])
        flat[k] = orig
        jac[:, k] = (plus - minus) / (2 * eps)
    return jac


def _analytical_jacobian(outputs, inputs, diff_idx) -> list[np.ndarray]:
    """Row by row: backpropagate a one-hot gradient from every output element."""
    sizes = [o._data.size for o in outputs]
    total = sum(sizes)
    jacs = [np.zeros((total, inputs[i]._data.size)) for i in diff_idx]
    row = 0
    for o, size in zip(outputs, sizes):
        for k in range(size):
            seed = np.zeros(o._data.size, dtype=o._data.dtype)
            seed[k] = 1
            if not o._rg:
                row += 1
                continue
            gs = grad([o], [inputs[i] for i in diff_idx], [Tensor._make(seed.reshape(o.shape))],
                      retain_graph=True, allow_unused=True)
            for jac, g in zip(jacs, gs):
                if g is not None:
                    jac[row] = g._data.reshape(-1)
            row += 1
    return jacs


def _check_inputs(inputs: Sequence, op: str) -> list[int]:
    diff_idx = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise GradcheckError(f"{op}: input {i} is {t.dtype}; gradcheck needs float64 "
                                     "inputs for meaningful differences (use .double())")
            diff_idx.append(i)
    if not diff_idx:
        raise GradcheckError(f"{op}: no input requires grad")
    return diff_idx


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0) -> bool:
    """Compare ``fn``'s analytical Jacobian with central differences for every input that
    requires grad; the failure names the input and its worst element with both values.

    ``cr.autograd.gradcheck(lambda x: (x * x).sum(), (cr.randn(3, dtype=cr.float64,
    requires_grad=True),))``
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_idx = _check_inputs(inputs, "gradcheck")
    outputs = _outputs(fn, inputs)
    analytical = _analytical_jacobian(outputs, inputs, diff_idx)
    total = sum(o._data.size for o in outputs)
    for i, a in zip(diff_idx, analytical):
        n = _numerical_jacobian(fn, inputs, i, eps, total)
        if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=False):
            err = np.abs(a - n) - rtol * np.abs(n)
            row, col = np.unravel_index(np.nanargmax(np.where(np.isnan(err), np.inf, err)),
                                        err.shape)
            where = np.unravel_index(col, inputs[i].shape) if inputs[i].shape else ()
            message = (f"gradcheck: Jacobian mismatch for output element {row} with respect to "
                       f"input {i} (shape {tuple(inputs[i].shape)}), worst at element "
                       f"{tuple(int(w) for w in where)}: numerical {n[row, col]:.10g} vs "
                       f"analytical {a[row, col]:.10g} (atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """gradcheck of the gradient: checks second derivatives (backward built with
    ``create_graph=True``) against differences of first derivatives.

    ``cr.autograd.gradgradcheck(lambda x: x.tanh(), (x,))``
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_idx = _check_inputs(inputs, "gradgradcheck")
    outputs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True)
                        for o in outputs if o.requires_grad]
    grad_outputs = list(grad_outputs)
    n_out = len(grad_outputs)

    def first_derivatives(*args):
        xs, gos = args[:len(inputs)], args[len(inputs):]
        with enable_grad():  # also while the numerical Jacobian evaluates this under no_grad
            outs = [o for o in _outputs(fn, xs) if o.requires_grad]
            gs = grad(outs, [xs[i] for i in diff_idx], list(gos), create_graph=True,
                      allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivatives, tuple(inputs) + tuple(grad_outputs[:n_out]), eps=eps,
                     atol=atol, rtol=rtol, raise_exception=raise_exception)
