"""Run a chainrule module and a PyTorch module holding the same weights; compare everything."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.oracle import TOLERANCES, torch


def copy_weights(module_cr, module_torch) -> None:
    """Load the chainrule module's state into the torch module (same names, same values)."""
    state = {k: torch.tensor(np.array(v.numpy())) for k, v in module_cr.state_dict().items()}
    module_torch.load_state_dict(state)


def run_pair(module_cr, module_torch, inputs: list[np.ndarray], *, seed: int = 0,
             grad_inputs: bool = True, tol: dict | None = None) -> tuple:
    """Forward both modules on the same inputs, backward the same random output gradient, and
    assert equal outputs, input gradients and parameter gradients (by name)."""
    float_dtype = next((a.dtype for a in inputs if a.dtype.kind == "f"), np.float64)
    tol = tol or TOLERANCES[np.dtype(float_dtype).type]
    xs = [cr.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    ts = [torch.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    out_cr, out_t = module_cr(*xs), module_torch(*ts)
    assert tuple(out_cr.shape) == tuple(out_t.shape)
    assert str(out_cr.dtype) == str(out_t.dtype).replace("torch.", "")
    np.testing.assert_allclose(out_cr.detach().numpy(), out_t.detach().numpy(), **tol,
                               err_msg="forward")
    if out_t.requires_grad:
        g = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(
            out_cr.dtype)
        out_cr.backward(cr.tensor(g))
        out_t.backward(torch.tensor(g))
        for i, (x, t) in enumerate(zip(xs, ts)):
            if t.grad is not None:
                np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol,
                                           err_msg=f"grad of input {i}")
        params_t = dict(module_torch.named_parameters())
        for name, p in module_cr.named_parameters():
            pt = params_t[name]
            if pt.grad is None:
                assert p.grad is None or not np.any(p.grad.numpy()), name
            else:
                np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), **tol,
                                           err_msg=f"grad of {name}")
    return out_cr, out_t
