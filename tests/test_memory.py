"""Graph memory: saved values released by backward, graphs freed by reference counting alone.

ARCHITECTURE.md invariants 3 and 8. No timing here: weakrefs, tracemalloc and gc assertions.
"""

import gc
import tracemalloc
import weakref
from contextlib import contextmanager

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.function import Node

N = 100_000  # elements per intermediate: 800 KB in float64, far above the graph's own objects
DEPTH = 100


@contextmanager
def _gc_off():
    """No cycle collector: only reference counting may free memory inside the block."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _traced():
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def _chain(x, w, depth=DEPTH, keep=None):
    """``depth`` multiplications: each Mul saves both inputs, so the graph holds every
    intermediate until backward frees it."""
    h = x
    for _ in range(depth):
        h = h * w
        if keep is not None:
            keep.append(weakref.ref(h._data))
    return h.sum()


def _leaves(rng):
    x = cr.tensor(rng.normal(size=N), requires_grad=True)
    w = cr.tensor(1 + rng.uniform(-1e-3, 1e-3, size=N), requires_grad=True)
    return x, w


def test_backward_frees_saved_intermediates_while_the_output_lives(rng):
    x, w = _leaves(rng)
    arrays = []
    with _gc_off(), _traced():
        base, _ = tracemalloc.get_traced_memory()
        loss = _chain(x, w, keep=arrays)
        held, _ = tracemalloc.get_traced_memory()
        loss.backward()
        after, _ = tracemalloc.get_traced_memory()
    step = N * 8
    assert held - base > 0.9 * DEPTH * step  # the graph held every intermediate
    # after backward: x.grad, w.grad and the graph's small node objects remain (the nodes live
    # as long as ``loss``), no array per depth
    assert after - base < 3 * step
    assert sum(ref() is not None for ref in arrays) <= 1  # at most the last (its data is
    assert loss.grad_fn is not None                       # referenced by nothing but loss)


def test_retain_graph_keeps_saved_values_until_the_output_goes(rng):
    x, w = _leaves(rng)
    arrays = []
    with _gc_off():
        loss = _chain(x, w, keep=arrays)
        loss.backward(retain_graph=True)
        assert all(ref() is not None for ref in arrays[:-1])
        g1 = x.grad.numpy().copy()
        loss.backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-15)
        del loss
        assert all(ref() is None for ref in arrays)


def test_dropping_the_output_frees_the_whole_graph_without_gc(rng):
    x, w = _leaves(rng)
    with _gc_off():
        loss = _chain(x, w)
        nodes = []
        node = loss.grad_fn
        while node is not None:  # walk the chain back to the leaves
            nodes.append(weakref.ref(node))
            edges = [e for e in node.next_functions if e is not None and isinstance(e[0], Node)]
            node = edges[0][0] if edges else None
        assert len(nodes) == DEPTH + 1  # DEPTH Muls and the Sum
        del loss, node, edges
        assert all(ref() is None for ref in nodes)


@pytest.mark.parametrize("backward_first", [True, False])
def test_no_reference_cycles_in_a_training_step(rng, backward_first):
    w1 = cr.tensor(rng.normal(size=(32, 16)) * 0.2, requires_grad=True)
    w2 = cr.tensor(rng.normal(size=(1, 32)) * 0.2, requires_grad=True)
    x = cr.tensor(rng.normal(size=(64, 16)))
    y = cr.tensor(rng.normal(size=(64, 1)))
    with _gc_off():
        gc.set_debug(gc.DEBUG_SAVEALL)  # whatever the collector finds lands in gc.garbage
        try:
            loss = (((x @ w1.T).relu().log_softmax(1) @ w2.T - y) ** 2).mean()
            if backward_first:
                loss.backward()
            del loss
            gc.collect()
            found = [o for o in gc.garbage if isinstance(o, (cr.Tensor, Node))]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert found == []


def test_training_loop_memory_is_flat_without_gc(rng):
    sizes = [(128, 64), (128, 128), (10, 128)]
    params = [cr.tensor(rng.normal(size=s) * s[1] ** -0.5, requires_grad=True) for s in sizes]
    x = cr.tensor(rng.normal(size=(64, 64)))
    target = cr.tensor(rng.integers(0, 10, size=64))
    one_hot = cr.tensor(np.eye(10)[target.numpy()])

    def step():
        h = x
        for i, p in enumerate(params):
            h = h @ p.T
            if i < len(params) - 1:
                h = h.relu()
        loss = -(h.log_softmax(1) * one_hot).sum(1).mean()
        loss.backward()
        with cr.no_grad():
            for p in params:
                p.sub_(0.01 * p.grad)
                p.grad = None

    def array_bytes():
        # NumPy traces its data buffers in a domain of their own: arrays only, none of
        # CPython's free lists of small objects (which tracemalloc counts as allocated)
        only_arrays = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
        snapshot = tracemalloc.take_snapshot().filter_traces([only_arrays])
        return sum(t.size for t in snapshot.traces)

    with _gc_off(), _traced():
        for _ in range(10):  # warm-up: first gradients, caches
            step()
        arrays_start, total_start = array_bytes(), tracemalloc.get_traced_memory()[0]
        for _ in range(60):
            step()
        arrays_end, total_end = array_bytes(), tracemalloc.get_traced_memory()[0]
    one_activation = 64 * 128 * 8  # a leaked graph would hold several of these every step
    assert arrays_end - arrays_start < one_activation  # 60 steps: not one array kept
    # small Python objects: free lists fill up to a fixed size, a leaked graph grows forever
    assert total_end - total_start < 8 * one_activation


def test_a_recorded_op_leaves_few_objects_for_the_cycle_collector():
    # Every object the graph holds that the cycle collector tracks is walked by each of its
    # full passes, which dominate the forward of a deep graph. A binary op (x * w) and a unary
    # one (tanh) hold 8 together: the two nodes, their edge and saved-value tuples, and the
    # product that tanh's input keeps alive with its version counter.
    x = cr.tensor(np.linspace(-1, 1, 10), requires_grad=True)
    w = cr.tensor(np.full(10, 1.0001), requires_grad=True)
    with _gc_off():
        gc.collect()  # also untracks tuples that hold no tracked object
        before = len(gc.get_objects())
        h = x
        for _ in range(500):
            h = (h * w).tanh()
        for _ in range(3):  # a tuple is untracked once what it holds is: a pass per level
            gc.collect()
        per_op = (len(gc.get_objects()) - before) / 1000
    assert per_op <= 4.1


@pytest.mark.parametrize("own", [None, (500, 5, 5)])
def test_first_backward_makes_full_collections_rarer_unless_the_program_chose(monkeypatch, own):
    from chainrule import _allocator

    saved = gc.get_threshold()
    monkeypatch.setattr(_allocator, "_done", False)
    try:
        gc.set_threshold(*(own or _allocator.GC_DEFAULTS))
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        assert gc.get_threshold() == (own or _allocator.GC_THRESHOLDS)
    finally:
        gc.set_threshold(*saved)
