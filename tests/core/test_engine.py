"""The backward engine: graph shapes, accumulation, retain/create graph, hooks, errors."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch


def leaf(values, dtype=cr.float64):
    return cr.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_x_times_x_accumulates_both_uses():
    x = leaf(3.0)
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_diamond_graph_sums_both_paths():
    x = leaf(2.0)
    a = x * 3          # da/dx = 3
    b = x.exp()        # db/dx = e^x
    y = a * b          # dy/dx = 3 e^x + 3x e^x
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 3 * np.exp(2) + 6 * np.exp(2), rtol=1e-15)


def test_shared_subexpression_reused_many_times():
    x = leaf([1.0, 2.0])
    h = x.tanh()
    y = (h * h + h * 3 - h.exp()).sum()
    y.backward()
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    th = t.tanh()
    (th * th + th * 3 - th.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-14)


def test_hundred_thousand_op_chain_backpropagates():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0000001 ** 100_000, rtol=1e-9)


def test_a_node_runs_once_with_every_path_summed_however_unequal_their_depths():
    # the engine runs nodes newest first; h's consumers (a 200-op branch, a 1-op branch and
    # one made after a second leaf was used) must all have delivered before h's hook fires
    x, w = leaf([0.5, -1.0]), leaf(0.3)
    h = x.tanh()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    deep = h
    for _ in range(100):
        deep = (deep * w).sin()
    y = (deep + h * 2 + (w * h).exp()).sum()
    y.backward()
    t, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in ([0.5, -1.0], 0.3))
    th = t.tanh()
    th.retain_grad()
    tdeep = th
    for _ in range(100):
        tdeep = (tdeep * tw).sin()
    (tdeep + th * 2 + (tw * th).exp()).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], th.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.item(), tw.grad.item(), rtol=1e-12)


def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, -2.0])
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2 + 2, 2 - 4])


def test_second_backward_through_freed_graph_raises():
    x = leaf(2.0)
    y = x.exp()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_graph_without_saved_tensors_can_backward_twice():
    x = leaf(2.0)
    y = x + 1  # nothing saved: PyTorch allows a second backward here too
    y.backward()
    y.backward()
    assert x.grad.item() == 2.0


def test_retain_graph_allows_second_backward():
    x = leaf(2.0)
    y = x.exp()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 2 * np.exp(2.0), rtol=1e-15)


def test_backward_on_non_scalar_needs_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(cr.tensor([1.0, 10.0], dtype=cr.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])


def test_backward_gradient_shape_mismatch_is_named():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2,\)"):
        (x * 2).backward(cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64))


def test_backward_from_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        cr.arange(3).requires_grad_()


def test_leaf_gradient_of_a_leaf_root():
    x = leaf(5.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    h = x * 2
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad.numpy(), h.detach().numpy())
    assert k.retains_grad and not h.retains_grad


def test_gradient_is_not_aliased_between_leaves_or_with_the_caller():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = cr.tensor([1.0, 1.0], dtype=cr.float64)
    (a + b).backward(g)
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])


def test_grad_keeps_the_leaf_dtype():
    x = leaf([1.0, 2.0], dtype=cr.float32)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == cr.float32


def test_detach_and_no_grad_cut_the_graph():
    x = leaf(2.0)
    y = x.detach() * x
    y.backward()
    assert x.grad.item() == 2.0
    with cr.no_grad():
        z = x * 2
    assert not z.requires_grad and z.grad_fn is None
    assert x.detach()._vc is x._vc  # detach shares memory and the version counter


def test_grad_mode_decorators_and_nesting():
    x = leaf(1.0)

    @cr.no_grad()
    def frozen(t):
        return t * 2

    assert not frozen(x).requires_grad
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            assert (x * 2).requires_grad
        with cr.set_grad_enabled(True):
            assert cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled()
    cr.set_grad_enabled(True)


def test_inplace_change_of_a_saved_tensor_raises_naming_op_and_versions():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = h.exp() * h  # Mul saves h
    with cr.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match=r"MulBackward.*version 1; expected version 0"):
        y.sum().backward()


def test_inplace_on_a_leaf_that_requires_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1.0)
    with cr.no_grad():
        x.add_(1.0)
    assert x._version == 1


def test_inplace_on_non_leaf_is_recorded():
    x = leaf([1.0, 2.0])
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for v in (x, t):
        h = v * 2
        h.mul_(v)
        h.add_(3.0)
        h.sigmoid().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-14)


def test_setitem_is_differentiable():
    x, v = leaf([1.0, 2.0, 3.0]), leaf(5.0)
    h = x * 1
    h[1] = v * 2
    (h * h).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 6.0])
    assert v.grad.item() == 2 * 2 * 10.0


def test_inplace_on_a_view_while_recording_is_refused():
    x = leaf([1.0, 2.0])
    h = x * 1
    view = h[:1]
    with pytest.raises(RuntimeError, match="shares memory"):
        view.mul_(2.0)


def test_tensor_hooks_see_and_replace_gradients():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x * 3
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_array_equal(seen[0], [30.0, 30.0])
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])
    handle.remove()
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_leaf_hook_runs_once_with_the_summed_gradient():
    x = leaf(1.0)
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 2 + x * 3).backward()
    assert calls == [5.0]


def test_autograd_grad_returns_without_accumulating():
    x, w = leaf([1.0, 2.0]), leaf(3.0)
    y = (w * x * x).sum()
    gx, gw = cr.autograd.grad(y, [x, w])
    np.testing.assert_array_equal(gx.numpy(), [6.0, 12.0])
    assert gw.item() == 5.0
    assert x.grad is None and w.grad is None


def test_autograd_grad_of_an_intermediate():
    x = leaf(2.0)
    h = x * 3
    y = h * h
    (gh,) = cr.autograd.grad(y, h)
    assert gh.item() == 12.0


def test_autograd_grad_unused_input():
    x, z = leaf(1.0), leaf(1.0)
    with pytest.raises(RuntimeError, match="not have been used"):
        cr.autograd.grad(x * 2, [x, z])
    gx, gz = cr.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None


def test_higher_order_derivatives():
    x = leaf(0.7)
    y = x.sin() * x ** 3
    (g1,) = cr.autograd.grad(y, x, create_graph=True)
    (g2,) = cr.autograd.grad(g1, x, create_graph=True)
    (g3,) = cr.autograd.grad(g2, x)
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ty = t.sin() * t ** 3
    (t1,) = torch.autograd.grad(ty, t, create_graph=True)
    (t2,) = torch.autograd.grad(t1, t, create_graph=True)
    (t3,) = torch.autograd.grad(t2, t)
    for a, b in ((g1, t1), (g2, t2), (g3, t3)):
        np.testing.assert_allclose(a.item(), b.item(), rtol=1e-13)


def test_backward_with_create_graph_gives_a_differentiable_grad():
    x = leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = cr.autograd.grad(x.grad.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [6.0, 12.0])


def test_backward_inputs_restricts_accumulation():
    x, w = leaf(2.0), leaf(3.0)
    (x * w).backward(inputs=[w])
    assert w.grad.item() == 2.0 and x.grad is None


def test_custom_function_with_non_tensor_arguments_and_two_outputs():
    class ScaleAndShift(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.scale = scale
            return x * scale, x + 1

        @staticmethod
        def backward(ctx, g_scaled, g_shifted):
            return g_scaled * ctx.scale + g_shifted, None

    x = leaf([1.0, 2.0])
    a, b = ScaleAndShift.apply(x, 4.0)
    assert a.grad_fn is b.grad_fn
    (a.sum() + b.sum() * 2).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    a, _ = ScaleAndShift.apply(x, 4.0)  # the unused output's gradient is materialised as zeros
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


def test_custom_function_wrong_gradient_shape_is_named():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return cr.ones(5, dtype=cr.float64)

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"BadBackward: grad shape \(5,\) != input shape \(2,"):
        Bad.apply(x).sum().backward()


def test_custom_function_wrong_number_of_gradients():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned 2 gradients, expected 1"):
        Bad.apply(leaf([1.0])).sum().backward()


def test_custom_function_saving_its_output_makes_no_cycle():
    class Exp(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    x = leaf(1.0)
    y = Exp.apply(x)
    node = weakref.ref(y.grad_fn)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.item(), np.e, rtol=1e-15)
    gc.disable()
    try:
        del y
        assert node() is None  # freed by reference counting, no cycle
    finally:
        gc.enable()


def test_graph_is_freed_by_reference_counting():
    gc.disable()
    try:
        x = leaf(np.ones(1000))
        h = (x * 2).exp()
        y = (h * h).sum()
        node = weakref.ref(h.grad_fn)
        y.backward()
        del h, y
        assert node() is None
    finally:
        gc.enable()


def test_numpy_operand_defers_to_tensor():
    x = leaf([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, cr.Tensor) and y.requires_grad
    z = np.float64(2.0) + x
    assert isinstance(z, cr.Tensor)


def test_engine_knows_no_op_by_name():
    import inspect

    from chainrule.autograd import engine

    source = inspect.getsource(engine)
    for op in ("Mul", "Add", "Matmul", "Sum", "Exp", "Sigmoid"):
        assert f"{op}(" not in source and f"{op}Backward" not in source


def test_ties_share_the_gradient_as_torch_does():
    data = np.array([[1.0, 3.0, 3.0, 3.0], [2.0, 2.0, 0.0, -1.0]])
    x = cr.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    (x.amax(1).sum() + x.max() + cr.maximum(x, x.flip(1)).sum()).backward()
    (t.amax(1).sum() + t.max() + torch.maximum(t, t.flip(1)).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-15)


def test_node_hook_sees_each_recorded_op_and_can_be_removed():
    seen = []
    handle = cr.autograd.graph.register_node_hook(
        lambda node, xs, outs, params: seen.append((node.name(), [x.shape for x in xs],
                                                    outs[0].shape, dict(params))))
    x = leaf([1.0, 2.0])
    y = (x * 3).sum(0)
    with cr.no_grad():
        x * 2  # records nothing, so no hook call
    handle.remove()
    x * 4
    assert seen == [("AffineBackward", [(2,)], (2,), {"scale": 3, "shift": 0}),
                    ("SumBackward", [(2,)], (), {"axes": (0,), "keepdim": False})]
    assert y.item() == 9.0


def test_observe_backward_reports_every_node_and_leaves_the_graph_and_grads_alone():
    from chainrule.autograd.engine import observe_backward

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    hidden = x * w
    hidden.retain_grad()
    hooked = []
    x.register_hook(lambda g: hooked.append(g))
    loss = (hidden * hidden + x).sum()
    seen = []

    def observer(node, incoming, outgoing):
        seen.append((node.name(), [None if g is None else g.tolist() for g in incoming],
                     [None if g is None else g.tolist() for g in outgoing]))

    observe_backward(loss, cr.tensor(1.0), observer)
    assert [name for name, _, _ in seen] == ["SumBackward", "AddBackward", "MulBackward",
                                             "MulBackward"]  # newest first, as backward runs
    assert seen[-1][1:] == ([[6.0, -4.0]], [[18.0, 4.0], [6.0, -8.0]])  # x * w: in, out
    assert x.grad is None and w.grad is None and hidden.grad is None and hooked == []
    loss.backward()  # the graph was kept
    assert x.grad.tolist() == [19.0, 5.0] and w.grad.tolist() == [6.0, -8.0]


def test_nodes_share_their_input_metadata_and_the_cache_stays_bounded(monkeypatch):
    # one _meta tuple per pattern of input shapes and dtypes (fewer objects for the collector)
    from chainrule.autograd import function

    x = cr.ones(2, 3, requires_grad=True)
    a, b = x * 2.0, x * 3.0
    assert a.grad_fn._meta is b.grad_fn._meta
    y = cr.ones(2, 3, dtype=cr.float64, requires_grad=True)
    c = (y * 2.0).grad_fn
    assert c.input_shape(0) == (2, 3) and c.input_dtype(0) == np.float64
    assert a.grad_fn.input_dtype(0) == np.float32
    m = (x * cr.ones(3, requires_grad=True)).grad_fn
    assert [m.input_shape(i) for i in range(2)] == [(2, 3), (3,)]
    monkeypatch.setattr(function, "_METAS", {})
    monkeypatch.setattr(function, "_METAS_MAX", 2)
    for n in range(1, 6):
        cr.ones(n, requires_grad=True).exp()
        assert len(function._METAS) <= 2


def test_no_op_defines_init():
    # Primitive.apply makes a node with cls() (cheaper than object.__new__), without arguments
    import chainrule.nn  # noqa: F401  (registers the layers' ops)
    from chainrule.autograd.function import Primitive

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ops = list(subclasses(Primitive))
    assert len(ops) > 50
    assert [op.__name__ for op in ops if op.__init__ is not object.__init__] == []
