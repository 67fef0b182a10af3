"""Which modes are per thread is PyTorch's choice, and concurrent training in threads gives
exactly the single-threaded numbers."""

import sys
import threading

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.autograd.graph import register_node_hook
from chainrule.inspect._graph import MODULE_OF, track_modules
from chainrule.utils.data import DataLoader, TensorDataset
from tests.oracle import torch


def _in_new_thread(fn):
    seen = {}
    t = threading.Thread(target=lambda: seen.update(fn()))
    t.start()
    t.join(30)
    return seen


def _modes(lib):
    return {"grad": lib.is_grad_enabled(), "anomaly": lib.is_anomaly_enabled()
            if lib is torch else lib.autograd.is_anomaly_enabled(),
            "float64 default": lib.get_default_dtype() in (lib.float64, np.float64)}


def test_which_modes_are_per_thread_matches_torch():
    """Flipped in this thread, a new thread sees: grad mode at its default (per thread),
    anomaly mode and the default dtype as set here (process-wide), in both libraries."""
    seen = {}
    for name, lib, anomaly in (("torch", torch, torch.autograd.set_detect_anomaly),
                               ("chainrule", cr, cr.autograd.set_detect_anomaly)):
        lib.set_grad_enabled(False)  # as a function, not a context manager
        anomaly(True)
        lib.set_default_dtype(lib.float64)
        try:
            seen[name] = _in_new_thread(lambda lib=lib: _modes(lib))
        finally:
            lib.set_grad_enabled(True)
            anomaly(False)
            lib.set_default_dtype(lib.float32)
    assert seen["chainrule"] == seen["torch"] == {
        "grad": True, "anomaly": True, "float64 default": True}


def test_graph_hooks_see_only_their_own_threads_ops_as_torch():
    """PyTorch's graph hooks (saved_tensors_hooks) are per thread; so is register_node_hook."""
    def record(lib, hooked):
        x = lib.ones(2, requires_grad=True)
        (x * x).sum()
        return hooked

    calls = {"torch": [], "chainrule": []}
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: calls["torch"].append(threading.current_thread().name) or t, lambda t: t):
        _in_new_thread(lambda: {"_": record(torch, None)})
    handle = register_node_hook(
        lambda *args: calls["chainrule"].append(threading.current_thread().name))
    try:
        _in_new_thread(lambda: {"_": record(cr, None)})
        record(cr, None)
    finally:
        handle.remove()
    assert calls["torch"] == []
    assert calls["chainrule"] == ["MainThread", "MainThread"]  # mul and sum, of this thread


def test_track_modules_in_one_thread_tags_none_of_anothers_nodes():
    inside, done = threading.Event(), threading.Event()

    class Pause(nn.Module):  # holds the tracking thread inside a module's forward
        def forward(self, x):
            inside.set()
            done.wait(10)
            return x.tanh()

    tracked = nn.Sequential(nn.Linear(3, 3), Pause())
    other_nodes = []

    def other():
        inside.wait(10)
        out = nn.Linear(3, 2)(cr.ones(4, 3)).sum()
        other_nodes.extend([out.grad_fn, out.grad_fn.next_functions[0][0]])
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with track_modules(tracked):
        y = tracked(cr.ones(1, 3)).sum()
    t.join(10)
    assert len(other_nodes) == 2 and not any(node in MODULE_OF for node in other_nodes)
    assert y.grad_fn.next_functions[0][0] in MODULE_OF  # the tracked thread's tanh


def _train(seed: int, steps_per_epoch_check: list | None = None) -> dict:
    """A small classifier trained with nn + optim + DataLoader, with evaluation under no_grad
    and gradient clipping: every mode and piece of state a training loop touches."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    model = nn.Sequential(nn.Linear(5, 16), nn.LayerNorm(16), nn.Tanh(), nn.Linear(16, 3))
    init = np.random.default_rng(seed + 100)
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(cr.tensor(init.normal(scale=0.5, size=p.shape).astype(np.float32)))
    opt = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=16, shuffle=True,
                        generator=cr.Generator().manual_seed(seed))
    evals = []
    for _ in range(4):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        with cr.no_grad():
            model.eval()
            evals.append(loss_fn(model(cr.tensor(x)), cr.tensor(y)).item())
    return {"evals": evals, **{k: v.numpy().copy() for k, v in model.state_dict().items()}}


def test_threads_training_their_own_models_give_the_single_threaded_numbers():
    seeds = list(range(6))
    alone = {s: _train(s) for s in seeds}
    results, errors = {}, []

    def worker(seed):
        try:
            for _ in range(2):
                results.setdefault(seed, []).append(_train(seed))
        except Exception as e:  # recorded, then asserted on below
            errors.append(f"{seed}: {e!r}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in seeds]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: interleave inside every op
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert cr.is_grad_enabled()
    for s in seeds:
        for run in results[s]:
            assert run["evals"] == alone[s]["evals"]
            for k in alone[s]:
                np.testing.assert_array_equal(run[k], alone[s][k], err_msg=f"seed {s} {k}")
