"""Gradient checkpointing: the same gradients as the plain run, with activations not kept."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential


def _dropout(h, p=0.5):
    # Dropout drawn from the global generator, as nn.Dropout does: the mask must be redrawn
    # identically when backward recomputes the segment.
    keep = (cr.rand(*h.shape) >= p).to(h.dtype)
    return h * keep / (1 - p)


class _MLP:
    """Raw-tensor layers (float64) so the tests need nothing but the core."""

    def __init__(self, widths, seed=0):
        rng = np.random.default_rng(seed)
        self.params = []
        self.layers = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            w = cr.tensor(rng.normal(0, n_in ** -0.5, (n_out, n_in)), requires_grad=True)
            b = cr.tensor(rng.normal(0, 0.1, n_out), requires_grad=True)
            self.params += [w, b]
            last = i == len(widths) - 2
            self.layers.append(self._layer(w, b, last))

    @staticmethod
    def _layer(w, b, last):
        def layer(h):
            h = h @ w.T + b
            return h if last else _dropout(h.tanh(), 0.3)

        return layer

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def grads(self):
        return [p.grad.numpy().copy() for p in self.params]


def _run(model, x, forward, seed=7):
    model.zero_grad()
    if x.requires_grad:
        x.grad = None
    cr.manual_seed(seed)
    out = forward(x)
    (out ** 2).sum().backward()
    return out.detach().numpy().copy(), model.grads(), (x.grad.numpy().copy() if
                                                         x.requires_grad else None)


def _plain(model):
    def forward(x):
        for layer in model.layers:
            x = layer(x)
        return x

    return forward


def _assert_same(a, b):
    out_a, grads_a, gx_a = a
    out_b, grads_b, gx_b = b
    np.testing.assert_array_equal(out_a, out_b)
    assert len(grads_a) == len(grads_b)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        np.testing.assert_array_equal(ga, gb)
    if gx_a is None:
        assert gx_b is None
    else:
        np.testing.assert_array_equal(gx_a, gx_b)


@pytest.mark.parametrize("segments", [1, 2, 3, 6])
def test_sequential_gradients_equal_plain_with_dropout(rng, segments):
    model = _MLP([5, 8, 8, 8, 8, 8, 3])
    x = cr.tensor(rng.normal(size=(4, 5)), requires_grad=True)
    plain = _run(model, x, _plain(model))
    ckpt = _run(model, x, lambda h: checkpoint_sequential(model.layers, segments, h))
    _assert_same(plain, ckpt)


def test_checkpoint_gradients_equal_plain_for_params_and_input(rng):
    model = _MLP([4, 6, 6, 2])
    x = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    block = _plain(model)
    plain = _run(model, x, block)
    ckpt = _run(model, x, lambda h: checkpoint(block, h))
    _assert_same(plain, ckpt)
    assert all(np.abs(g).sum() > 0 for g in ckpt[1])  # every parameter got a real gradient


def test_dropout_mask_differs_without_preserved_rng_state(rng):
    # The counterpart of the test above: without restoring the state, recomputation draws a new
    # mask, so the gradients differ. This shows the restore is what makes them equal.
    model = _MLP([4, 16, 16, 2])
    x = cr.tensor(rng.normal(size=(8, 4)), requires_grad=True)
    block = _plain(model)
    plain = _run(model, x, block)
    loose = _run(model, x, lambda h: checkpoint(block, h, preserve_rng_state=False))
    np.testing.assert_array_equal(plain[0], loose[0])  # forward is the same draw
    assert not np.array_equal(plain[1][0], loose[1][0])


def test_backward_leaves_the_global_random_stream_where_it_was(rng):
    model = _MLP([3, 4, 2])
    x = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    block = _plain(model)
    cr.manual_seed(11)
    checkpoint(block, x).sum().backward()
    after_ckpt = cr.rand(5).numpy()
    cr.manual_seed(11)
    block(x).sum().backward()
    after_plain = cr.rand(5).numpy()
    np.testing.assert_array_equal(after_ckpt, after_plain)


def test_input_without_grad_still_gives_parameter_gradients(rng):
    model = _MLP([4, 6, 6, 2])
    x = cr.tensor(rng.normal(size=(3, 4)))  # data: requires no gradient
    block = _plain(model)
    plain = _run(model, x, block)
    ckpt = _run(model, x, lambda h: checkpoint_sequential(model.layers, 3, h))
    _assert_same(plain, ckpt)
    single = _run(model, x, lambda h: checkpoint(block, h))
    _assert_same(plain, single)


def test_under_no_grad_is_a_plain_call(rng):
    model = _MLP([4, 6, 2])
    x = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    block = _plain(model)
    with cr.no_grad():
        cr.manual_seed(3)
        y = checkpoint(block, x)
        cr.manual_seed(3)
        ref = block(x)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


def test_nested_checkpoints_equal_plain(rng):
    model = _MLP([4, 6, 6, 6, 6, 2])
    x = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    layers = model.layers

    def inner(h):
        return layers[2](layers[1](h))

    def outer(h):
        h = layers[0](h)
        h = checkpoint(inner, h)
        return layers[3](h)

    def forward(h):
        return layers[4](checkpoint(outer, h))

    _assert_same(_run(model, x, _plain(model)), _run(model, x, forward))


def test_activations_inside_a_segment_are_not_kept(rng):
    w = cr.tensor(rng.normal(size=(6, 6)), requires_grad=True)
    x = cr.tensor(rng.normal(size=(2, 6)), requires_grad=True)
    seen = []

    def block(h):
        mid = (h @ w).tanh()
        seen.append(weakref.ref(mid._data))
        return (mid @ w).sum(1)

    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # freed by reference counting alone, as ARCHITECTURE.md invariant 8 requires
    try:
        y_plain = block(x)
        assert seen[0]() is not None  # the plain graph keeps the activation for backward
        y_ckpt = checkpoint(block, x)
        assert seen[1]() is None  # checkpoint dropped it right after forward
        y_ckpt.sum().backward()
        assert seen[2]() is None  # the recomputed one is freed once its backward ran
        del y_plain
        assert seen[0]() is None
    finally:
        if was_enabled:
            gc.enable()


def test_multiple_outputs_and_non_tensor_arguments(rng):
    x = cr.tensor(rng.normal(size=(3,)), requires_grad=True)
    y = cr.tensor(rng.normal(size=(3,)), requires_grad=True)

    def fn(a, scale, b):
        return (a * b * scale).exp(), a - b

    def grads(call):
        x.grad = y.grad = None
        first, second = call()
        (first.sum() + 3 * second.sum()).backward()
        return x.grad.numpy().copy(), y.grad.numpy().copy()

    plain = grads(lambda: fn(x, 0.5, y))
    ckpt = grads(lambda: checkpoint(fn, x, 0.5, y))
    for a, b in zip(plain, ckpt, strict=True):
        np.testing.assert_array_equal(a, b)
    # only one output used: the other's gradient is absent, not an error
    x.grad = None
    checkpoint(fn, x, 0.5, y)[1].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))


def test_gradcheck_through_checkpoint(rng):
    w = cr.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    x = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)

    def fn(x, w):
        return checkpoint(lambda a, b: (a @ b).tanh() * a, x, w)

    assert cr.autograd.gradcheck(fn, (x, w))


def test_input_modified_in_place_after_forward_raises(rng):
    x = cr.tensor(rng.normal(size=(3,)), requires_grad=True)
    h = x * 1.0
    y = checkpoint(lambda a: a.exp(), h)
    with cr.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_second_backward_needs_retain_graph(rng):
    x = cr.tensor(rng.normal(size=(3,)), requires_grad=True)
    y = checkpoint(lambda a: a.exp(), x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-15)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_double_backward_is_refused(rng):
    x = cr.tensor(rng.normal(size=(3,)), requires_grad=True)
    y = checkpoint(lambda a: a ** 3, x).sum()
    with pytest.raises(RuntimeError, match="checkpoint: backward with create_graph=True"):
        cr.autograd.grad(y, x, create_graph=True)


def test_bad_arguments_raise_clear_errors():
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="checkpoint: fn must be callable"):
        checkpoint(3, x)
    with pytest.raises(TypeError, match="checkpoint: fn must return a Tensor"):
        checkpoint(lambda a: a.sum().item(), x)
    layers = [lambda a: a * 2, lambda a: a + 1]
    with pytest.raises(ValueError, match="3 segments for 2 functions"):
        checkpoint_sequential(layers, 3, x)
    with pytest.raises(ValueError, match="segments must be a positive int"):
        checkpoint_sequential(layers, 0, x)
    with pytest.raises(TypeError, match=r"functions\[1\] is int"):
        checkpoint_sequential([layers[0], 5], 1, x)


def test_sequential_accepts_a_module_with_children(rng):
    class Seq:  # what checkpoint_sequential reads from nn.Sequential: children() in order
        def __init__(self, *fs):
            self.fs = fs

        def children(self):
            return iter(self.fs)

    x = cr.tensor(rng.normal(size=(3,)), requires_grad=True)
    out = checkpoint_sequential(Seq(lambda a: a * 2, lambda a: a.exp(), lambda a: a - 1), 2, x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.detach().numpy()), rtol=1e-15)
