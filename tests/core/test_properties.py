"""Property tests: any pair of mutually broadcastable shapes, any reduction axes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from tests.oracle import compare

BINARY = [
    lambda m, x, y: x + y,
    lambda m, x, y: x * y - y,
    lambda m, x, y: x / (y * y + 1),
    lambda m, x, y: m.lib.maximum(x, y) * x,
    lambda m, x, y: m.lib.where(x > y, x.tanh(), y.sigmoid()),
]

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 max_side=3),
       op=st.sampled_from(range(len(BINARY))), seed=st.integers(0, 2**16))
def test_broadcasting_binary_ops_match_torch(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    compare(BINARY[op], [a, b])


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 max_side=3), seed=st.integers(0, 2**16))
def test_gradient_shapes_equal_input_shapes(shapes, seed):
    rng = np.random.default_rng(seed)
    x, y = (cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes.input_shapes)
    (x * y + x).sum().backward()
    assert x.grad.shape == x.shape and y.grad.shape == y.shape


@SETTINGS
@given(data=st.data(), keepdim=st.booleans())
def test_reductions_over_any_axes_match_torch(data, keepdim):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3))
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    a = np.random.default_rng(len(shape)).standard_normal(shape)
    dim = tuple(axes)
    compare(lambda m, x: x.sum(dim, keepdim=keepdim) + x.mean(dim, keepdim=keepdim)
            + x.amax(dim, keepdim=keepdim) * x.logsumexp(dim, keepdim=keepdim), [a])


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(signature="(m,n),(n,p)->(m,p)", max_dims=3,
                                                 max_side=3), seed=st.integers(0, 2**16))
def test_batched_matmul_matches_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    compare(lambda m, x, y: x @ y, [a, b])
