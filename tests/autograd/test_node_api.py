"""What a graph node tells the tools that read a graph: its inputs' metadata, its output count,
its forward parameters, whether it was freed, and its rule called as PyTorch's ``grad_fn(g)``."""

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch


class _ScaleBy(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor, x + factor

    @staticmethod
    def backward(ctx, g_product, g_sum):
        return g_product * ctx.factor + g_sum, None


def test_input_metadata_gives_shape_and_dtype_or_none_for_a_non_tensor_argument():
    x = cr.ones(2, 3, dtype=cr.float64, requires_grad=True)
    assert (x * x).grad_fn.input_metadata() == (((2, 3), np.dtype(np.float64)),) * 2
    product, _ = _ScaleBy.apply(x, 2.0)
    assert product.grad_fn.input_metadata() == (((2, 3), np.dtype(np.float64)), None)


def test_n_outputs_counts_the_forward_outputs():
    x = cr.ones(3, requires_grad=True)
    assert x.exp().grad_fn.n_outputs == 1
    assert _ScaleBy.apply(x, 2.0)[0].grad_fn.n_outputs == 2


def test_forward_params_repeat_the_forward_call():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.sum(1, keepdim=True)
    node = y.grad_fn
    params = node.forward_params()
    assert params  # sum over a dim has parameters
    again = type(node).forward(object.__new__(type(node)), x.detach().numpy(), **params)
    np.testing.assert_array_equal(again, y.detach().numpy())
    exp_params = x.exp().grad_fn.forward_params()
    assert exp_params == {}
    exp_params["changed"] = True  # a copy: the node's own parameters stay as they were
    assert x.tanh().grad_fn.forward_params() == {}


def test_freed_after_a_backward_that_does_not_retain_the_graph():
    x = cr.ones(3, requires_grad=True)
    kept = x * x  # saves x
    kept.sum().backward(retain_graph=True)
    assert not kept.grad_fn.freed
    freed = x * x
    freed.sum().backward()
    assert freed.grad_fn.freed


@pytest.mark.parametrize("program", ["mul", "exp", "sum"])
def test_calling_a_node_runs_its_rule_as_torch_does(program):
    def run(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([3.0, 0.25, -2.0], dtype=lib.float64, requires_grad=True)
        y = {"mul": lambda: x * w, "exp": lambda: x.exp(), "sum": lambda: x.sum()}[program]()
        grads = y.grad_fn(lib.ones_like(y) * 1.5)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return [g.detach().numpy() for g in grads]

    ours, theirs = run(cr), run(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-15)


def test_calling_a_node_with_the_wrong_number_of_gradients_is_an_error():
    x = cr.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="expected 1 gradient"):
        x.exp().grad_fn(cr.ones(3), cr.ones(3))
