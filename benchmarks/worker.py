"""Measure one framework on one benchmark in this process and print the result as one JSON line.

``python benchmarks/worker.py chainrule mlp --threads 1`` (the runner sets the thread variables
in the environment before this interpreter starts, so they hold before NumPy loads).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import sys
import time
import tracemalloc

import _harness as H

FRAMEWORKS = {
    "chainrule": "chainrule_impl", "numpy": "numpy_impl", "torch": "torch_impl",
    "mygrad": "mygrad_impl", "autograd": "autograd_impl", "tinygrad": "tinygrad_impl",
    "jax": "jax_impl", "micrograd": "micrograd_impl", "tape-floor": "tape_floor_impl",
}
BENCHES = ("mlp", "tiny", "op_chain", "deep_chain", "memory", "checkpoint")


def _load(framework: str, threads: int):
    module = importlib.import_module("peers." + FRAMEWORKS[framework])
    if hasattr(module, "set_threads"):
        module.set_threads(threads)
    H.pin_threads(threads)
    return module


def _builder_kwargs(args) -> dict:
    kwargs = {}
    if args.framework == "chainrule" and args.variant:
        kwargs["variant"] = args.variant
    if args.framework == "jax":
        kwargs["jit"] = args.variant == "jit"
    return kwargs


def bench_step(module, args, tiny: bool) -> dict:
    sizes, batch = (H.TINY_SIZES, H.TINY_BATCH) if tiny else (H.MLP_SIZES, H.MLP_BATCH)
    weights, x, labels, targets = H.mlp_problem(sizes, batch)
    builder = getattr(module, "tiny_step" if tiny else "mlp_step", None)
    if builder is None:
        return {"error": "not implemented for this framework"}
    step = builder(weights, x, targets if tiny else labels, H.LR, **_builder_kwargs(args))
    first_loss = step()  # also compiles (jit) and warms caches
    result = H.time_steps(step, args.steps, args.warmup)
    result["first_loss"] = first_loss
    result["last_loss"] = step()
    return result


def bench_op_chain(module, args) -> dict:
    kwargs = _builder_kwargs(args)
    if args.framework == "chainrule":
        kwargs["anomaly"] = args.anomaly
    step = module.op_chain(args.n_ops, args.size, **kwargs)
    step()
    result = H.time_steps(step, args.steps, args.warmup)
    result["per_op_s"] = result["median_s"] / args.n_ops
    return result


def bench_deep_chain(module, args) -> dict:
    """Forward and backward times of a ``depth``-op chain, peak memory, and what backward
    leaves behind while the output is still referenced."""
    if not hasattr(module, "deep_chain"):
        return {"error": "not implemented for this framework"}
    forward, backward = module.deep_chain(args.depth, args.size)
    # memory first, in a fresh process: later runs reuse freed pages and hide the peak
    gc.collect()
    rss0, _ = H.rss_kib()
    H.reset_peak_rss()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    loss = forward()
    graph_bytes = tracemalloc.get_traced_memory()[0] - base
    backward(loss)
    left_bytes, peak = tracemalloc.get_traced_memory()
    _, hwm = H.rss_kib()
    del loss
    after_del = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    memory = {
        "traced_peak_bytes": peak - base,
        "graph_bytes_after_forward": graph_bytes,
        "bytes_left_after_backward": left_bytes - base,  # ``loss`` still referenced
        "bytes_after_del": after_del,
        "rss_peak_kib": hwm - rss0,
    }
    backward(forward())  # warm-up
    fwd_times, bwd_times = [], []
    for _ in range(args.steps):
        gc.collect()
        t0 = time.perf_counter()
        loss = forward()
        t1 = time.perf_counter()
        backward(loss)
        t2 = time.perf_counter()
        fwd_times.append(t1 - t0)
        bwd_times.append(t2 - t1)
        del loss
    result = {"forward_s": _median(fwd_times), "backward_s": _median(bwd_times),
              "n": args.steps}
    result.update(memory)
    return result


def bench_memory(module, args) -> dict:
    """Peak over 100 MLP steps (RSS high-water mark and tracemalloc), then growth over 1,000
    steps with the garbage collector disabled (only reference counting frees memory)."""
    weights, x, labels, _ = H.mlp_problem()
    step = module.mlp_step(weights, x, labels, H.LR, **_builder_kwargs(args))
    gc.collect()
    rss0, _ = H.rss_kib()
    resettable = H.reset_peak_rss()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(100):
        step()
    _, hwm = H.rss_kib()
    current, peak = tracemalloc.get_traced_memory()
    result = {"rss_peak_100_kib": (hwm - rss0) if resettable else None,
              "traced_peak_100_bytes": peak - base}
    gc.collect()
    gc.disable()
    try:
        for _ in range(100):
            step()
        rss_a, _ = H.rss_kib()
        traced_a, _ = tracemalloc.get_traced_memory()
        for _ in range(args.flat_steps - 200):
            step()
        rss_b, _ = H.rss_kib()
        traced_b, _ = tracemalloc.get_traced_memory()
        uncollected = gc.collect()  # what reference counting alone could not free
    finally:
        gc.enable()
        tracemalloc.stop()
    result.update({"rss_growth_kib": rss_b - rss_a, "traced_growth_bytes": traced_b - traced_a,
                   "steps_between": args.flat_steps - 200, "cyclic_garbage_objects": uncollected})
    return result


def bench_checkpoint(module, args) -> dict:
    """A deep MLP with and without checkpoint_sequential: time per step, memory kept after
    forward (the activations backward needs), peak during the step, identical gradients."""
    import numpy as np

    import chainrule as cr
    from chainrule.utils.checkpoint import checkpoint_sequential

    depth, width, batch = args.depth, args.width, args.batch
    rng = np.random.default_rng(0)
    params = []
    for _ in range(depth):
        bound = 1 / math.sqrt(width)
        params.append((cr.tensor(rng.uniform(-bound, bound, (width, width)).astype(np.float32),
                                 requires_grad=True),
                       cr.tensor(rng.uniform(-bound, bound, width).astype(np.float32),
                                 requires_grad=True)))
    x = cr.tensor(rng.normal(size=(batch, width)).astype(np.float32))
    layers = [_layer(w, b) for w, b in params]
    segments = args.segments or max(1, round(math.sqrt(depth)))

    def forward():
        if args.variant == "checkpoint":
            return checkpoint_sequential(layers, segments, x)
        h = x
        for layer in layers:
            h = layer(h)
        return h

    def step():
        out = forward()
        (out * out).mean().backward()

    step()  # allocates every .grad; later steps accumulate into them in place
    with cr.no_grad():
        for w, b in params:
            w.grad.zero_()
            b.grad.zero_()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    # one trace over forward and backward: activations freed during backward count as freed
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    out = forward()
    kept, fwd_peak = (m - base for m in tracemalloc.get_traced_memory())
    tracemalloc.reset_peak()
    (out * out).mean().backward()
    bwd_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del out
    grad_sum = float(sum(float(np.abs(w.grad.numpy()).sum()) for w, _ in params))
    return {"median_s": _median(times), "n": args.steps, "segments": segments,
            "kept_after_forward_bytes": kept, "peak_step_bytes": max(fwd_peak, bwd_peak),
            "grad_abs_sum": grad_sum}


def _layer(w, b):
    def layer(h):
        return (h @ w.T + b).relu()

    return layer


def _median(xs: list) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("framework", choices=sorted(FRAMEWORKS))
    p.add_argument("bench", choices=BENCHES)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--variant", default=None)
    p.add_argument("--n-ops", type=int, default=1000)
    p.add_argument("--size", type=int, default=10)
    p.add_argument("--depth", type=int, default=100_000)
    p.add_argument("--anomaly", choices=("off", "on", "core"), default="off")
    p.add_argument("--flat-steps", type=int, default=1000)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--segments", type=int, default=None)
    args = p.parse_args(argv)
    module = _load(args.framework, args.threads)
    run = {"mlp": lambda: bench_step(module, args, tiny=False),
           "tiny": lambda: bench_step(module, args, tiny=True),
           "op_chain": lambda: bench_op_chain(module, args),
           "deep_chain": lambda: bench_deep_chain(module, args),
           "memory": lambda: bench_memory(module, args),
           "checkpoint": lambda: bench_checkpoint(module, args)}[args.bench]
    result = run()
    result.update({
        "framework": args.framework, "bench": args.bench, "variant": args.variant,
        "threads": args.threads, "version": module.version(),
        "python": sys.version.split()[0], "blas": H.blas_info(),
        "blas_overrides": H.blas_overrides_set(),
        "thread_env": {v: os.environ.get(v) for v in H.THREAD_VARS[:3]},
    })
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
