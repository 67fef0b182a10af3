"""Up-front estimates of a command's memory and time, so that sizes this machine cannot run are
refused in one line before any work: ``chainrule train --hidden 200000,200000`` says how much
memory it would need instead of swapping or dying minutes later.

The estimates err low (optimistic speed, the big arrays only): what is refused surely cannot
run, or would run far past the command's time limit.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

from . import UsageError

# Python overhead of one Linear layer's forward, backward and bookkeeping, in seconds: about
# 0.3 ms for `train` (forward, backward, optimizer step) and 1-2 ms for `vanishing` (which also
# records per-layer statistics), measured on a 2-core machine; a lower bound elsewhere.
TRAIN_LAYER_OVERHEAD = 3e-4
VANISHING_LAYER_OVERHEAD = 1e-3
# an SVD (vanishing's spectral norms) costs at least this many W**3 matmul-flops
SVD_FLOPS_PER_CUBE = 50


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@functools.cache
def flops_per_second() -> float:
    """This machine's float32 speed on a layer-like product (a batch of 32 through a 512-wide
    Linear: skinny products run far below the BLAS peak, more so on a busy machine), best of
    three (~1 ms)."""
    x, w = np.ones((32, 512), np.float32), np.ones((512, 512), np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        x @ w.T
        best = min(best, time.perf_counter() - start)
    return 2 * 32 * 512 * 512 / max(best, 1e-9)


def refuse_if_too_big(what: str, memory: float, seconds: float, time_limit: float,
                      advice: str) -> None:
    """UsageError when ``memory`` bytes exceed what is available or ``seconds`` the limit."""
    available = available_memory()
    if available is not None and memory > available:
        raise UsageError(f"{what} needs about {_bytes(memory)} of memory, more than the "
                         f"{_bytes(available)} this machine has available; {advice}")
    if seconds > time_limit:
        raise UsageError(f"{what} would take about {_duration(seconds)} on this machine "
                         f"(estimated), over the {_duration(time_limit)} limit; {advice}")


def _bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def check_mlp_training(sizes: list[int], optimizer_buffers: int, batch: int, n_train: int,
                       n_test: int, epochs: int, itemsize: int, time_limit: float,
                       advice: str) -> None:
    """``chainrule train``: an MLP of layer ``sizes`` (input, hidden..., output)."""
    params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    # weights + gradients + optimizer buffers, a checkpoint being written (~3x its payload),
    # and a batch's activations (pre- and post-activation, forward and backward)
    memory = itemsize * (params * (2 + optimizer_buffers) + 3 * params * (1 + optimizer_buffers)
                         + 4 * batch * sum(sizes))
    steps = -(-n_train // batch) + -(-n_test // batch)
    seconds = epochs * ((6 * n_train + 2 * n_test) * params / flops_per_second()
                        + steps * (len(sizes) - 1) * TRAIN_LAYER_OVERHEAD)
    refuse_if_too_big("this run", memory, seconds, time_limit, advice)


def check_deep_mlp_experiment(depth: int, width: int, batch: int, runs: int, itemsize: int,
                              time_limit: float, advice: str) -> None:
    """``chainrule vanishing``: ``runs`` networks of ``depth`` layers of ``width``, one batch
    each, one network alive at a time, plus each layer's spectral norm (a float64 SVD)."""
    per_layer = width * width + width
    memory = (itemsize * depth * (2 * per_layer + 4 * batch * width)
              + 8 * 3 * width * width)  # the SVD's copy and workspace
    flops = depth * (6 * batch * width * width + SVD_FLOPS_PER_CUBE * width ** 3)
    seconds = runs * (flops / flops_per_second() + depth * VANISHING_LAYER_OVERHEAD)
    refuse_if_too_big("this experiment", memory, seconds, time_limit, advice)
