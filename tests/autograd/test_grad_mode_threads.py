"""Grad mode is per thread, as PyTorch's: one thread's no_grad never changes another's graph."""

import threading

import numpy as np

import chainrule as cr


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, proceed = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with cr.no_grad():
            inside.set()
            proceed.wait(10)
            seen["holder"] = cr.is_grad_enabled()

    t = threading.Thread(target=holder)
    t.start()
    inside.wait(10)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    seen["main"] = cr.is_grad_enabled()
    proceed.set()
    t.join(10)
    assert seen == {"holder": False, "main": True}
    assert y.requires_grad and y.grad_fn is not None
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_threads_training_their_own_graphs_get_exact_gradients():
    errors, results = [], {}

    def train(seed):
        try:
            rng = np.random.default_rng(seed)
            a = rng.normal(size=(8, 3))
            for _ in range(200):
                w = cr.tensor(a, requires_grad=True)
                with cr.no_grad():
                    cr.tensor(a) * 2  # toggles this thread's mode only
                ((w * w).sum() * 0.5).backward()
                if not np.array_equal(w.grad.numpy(), a):
                    errors.append(seed)
            results[seed] = cr.is_grad_enabled()
        except Exception as e:  # recorded, then asserted on below
            errors.append(repr(e))

    threads = [threading.Thread(target=train, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert results == {0: True, 1: True, 2: True, 3: True}
    assert cr.is_grad_enabled()


def test_threads_off_counts_the_threads_with_grad_mode_off():
    # ops skip the thread-local read while no thread has grad mode off (grad_mode.threads_off)
    from chainrule.autograd import grad_mode

    start = grad_mode.threads_off
    with cr.no_grad():
        assert grad_mode.threads_off == start + 1
        with cr.no_grad(), cr.inference_mode():  # already off: counted once
            assert grad_mode.threads_off == start + 1
        with cr.enable_grad():
            assert grad_mode.threads_off == start
        x = cr.tensor([1.0], requires_grad=True)
        assert (x * x).grad_fn is None
    assert grad_mode.threads_off == start
    cr.set_grad_enabled(False)
    assert grad_mode.threads_off == start + 1
    cr.set_grad_enabled(True)
    assert grad_mode.threads_off == start
    off = threading.Event()

    def holder():
        with cr.no_grad():
            off.set()
            proceed.wait(10)

    proceed = threading.Event()
    t = threading.Thread(target=holder)
    t.start()
    off.wait(10)
    assert grad_mode.threads_off == start + 1
    x = cr.tensor([1.0], requires_grad=True)
    assert (x * x).grad_fn is not None  # this thread reads its own flag: on
    proceed.set()
    t.join(10)
    assert grad_mode.threads_off == start
