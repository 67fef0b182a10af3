"""Tensor.register_post_accumulate_grad_hook and engine.queue_callback, against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.engine import queue_callback
from tests.oracle import torch


def _program(lib, w, b, x):
    """w used twice (tied), b once, x needs no gradient."""
    h = lib.tanh(x @ w + b)
    return ((h @ w.T) ** 2).sum() + (w * w).sum()


def _record(lib, tensor, make):
    rng = np.random.default_rng(0)
    arrays = {"w": rng.normal(size=(3, 3)), "b": rng.normal(size=3)}
    x = tensor(rng.normal(size=(4, 3)))
    leaves = {k: make(v) for k, v in arrays.items()}
    seen = []
    for name, leaf in leaves.items():
        leaf.register_post_accumulate_grad_hook(
            lambda p, name=name: seen.append((name, p.grad.detach().numpy().copy())))
    for _ in range(2):  # the second backward accumulates onto the first
        _program(lib, leaves["w"], leaves["b"], x).backward()
    return seen


def test_fires_once_per_backward_with_the_accumulated_gradient_as_pytorch():
    ours = _record(cr, cr.tensor, lambda a: cr.tensor(a, requires_grad=True))
    theirs = _record(torch, torch.tensor, lambda a: torch.tensor(a, requires_grad=True))
    assert sorted(n for n, _ in ours) == sorted(n for n, _ in theirs) == ["b", "b", "w", "w"]
    for name in ("w", "b"):
        for (_, g_ours), (_, g_theirs) in zip([s for s in ours if s[0] == name],
                                              [s for s in theirs if s[0] == name]):
            np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-12)


@pytest.mark.parametrize("path", ["direct", "tensor hook", "create_graph"])
def test_a_leaf_used_many_times_fires_once_after_its_last_gradient(path):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad._data.copy()))
    if path == "tensor hook":
        w.register_hook(lambda g: g * 10)
    loss = sum(((w * k) ** 2).sum() for k in range(1, 6))
    loss.backward(create_graph=path == "create_graph")
    want = 2 * w._data * sum(k * k for k in range(1, 6)) * (10 if path == "tensor hook" else 1)
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], want)


def test_handle_removes_and_grad_does_not_fire():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(calls.append)
    cr.autograd.grad((w * w).sum(), w)  # no .grad is accumulated, as in PyTorch
    assert calls == []
    (w * w).sum().backward()
    assert calls == [w]
    handle.remove()
    (w * w).sum().backward()
    assert calls == [w]


def test_non_leaf_and_no_grad_tensors_are_refused():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_post_accumulate_grad_hook(print)


def test_queue_callback_runs_after_every_leaf_before_backward_returns():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    events = []

    def queue(p):
        events.append(("hook", p is a))
        if p is a:
            queue_callback(lambda: events.append(("callback", a.grad is not None,
                                                  b.grad is not None)))
    a.register_post_accumulate_grad_hook(queue)
    b.register_post_accumulate_grad_hook(queue)
    (a.sum() * b.sum()).backward()
    assert events[-1] == ("callback", True, True)
    assert sorted(events[:-1]) == [("hook", False), ("hook", True)]
    (a.sum() * b.sum()).backward()  # callbacks run once: a second backward queues its own
    assert [e[0] for e in events].count("callback") == 2


def test_queue_callback_outside_backward_raises():
    with pytest.raises(RuntimeError, match="only be installed during the backward pass"):
        queue_callback(lambda: None)
