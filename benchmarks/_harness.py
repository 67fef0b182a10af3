"""Shared benchmark machinery: subprocess launch with pinned threads, timing, memory, machine info.

Every framework is measured in a process of its own (``worker.py``), started by ``run_worker``
with the thread variables set before anything imports NumPy.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# Set on some machines to force an OpenBLAS kernel; it can halve NumPy's matmul speed, so the
# runner reports figures with the environment as it is and with these unset in the worker only.
BLAS_OVERRIDE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---- launching ---------------------------------------------------------------------------

def worker_env(threads: int, unset_blas_overrides: bool = False) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    # XLA (JAX) sizes its own pools from the core count: one intra-op thread when asked.
    flags = env.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1").strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if unset_blas_overrides:
        for var in BLAS_OVERRIDE_VARS:
            env.pop(var, None)
    return env


def blas_overrides_set() -> dict:
    return {v: os.environ[v] for v in BLAS_OVERRIDE_VARS if v in os.environ}


def run_worker(framework: str, bench: str, threads: int = 1, unset_blas_overrides: bool = False,
               timeout: float = 900, **options) -> dict:
    """Run one (framework, benchmark) in a fresh interpreter; return its JSON result, or a dict
    with ``error`` saying why it failed (missing package, crash, timeout)."""
    cmd = [sys.executable, str(HERE / "worker.py"), framework, bench, "--threads", str(threads)]
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = worker_env(threads, unset_blas_overrides)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"framework": framework, "bench": bench, "threads": threads,
                "variant": options.get("variant"), "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"framework": framework, "bench": bench, "threads": threads,
                "variant": options.get("variant"), "error": f"exit {proc.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def best_of_rounds(jobs: list[tuple[str, Callable[[], dict]]], rounds: int) -> list[dict]:
    """Run every ``(label, job)`` ``rounds`` times, interleaved (A B C A B C ...), and keep for
    each label the round with the lowest median: on a machine shared with other work, load that
    comes and goes then hits every framework alike instead of whichever ran during it. A job
    that fails is not retried."""
    best: dict[str, dict] = {}
    medians: dict[str, list] = {}
    for _ in range(rounds):
        for label, job in jobs:
            if label in best and "error" in best[label]:
                continue
            r = job()
            r["label"] = label
            if "error" in r:
                best[label] = r
                continue
            medians.setdefault(label, []).append(r["median_s"])
            if label not in best or r["median_s"] < best[label]["median_s"]:
                best[label] = r
    out = []
    for label, _ in jobs:
        r = best[label]
        r["round_medians_s"] = medians.get(label, [])
        out.append(r)
    return out


# ---- inside a worker -----------------------------------------------------------------------

def pin_threads(threads: int) -> None:
    """Belt and braces after the environment variables: cap every BLAS pool threadpoolctl sees."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads)


def time_steps(step: Callable[[], object], steps: int, warmup: int) -> dict:
    """Median, 10th and 90th percentile of ``steps`` timed calls after ``warmup`` untimed ones.

    The garbage collector stays on, as in a training loop: a framework whose graphs are
    reference cycles pays for collecting them inside its steps.
    """
    for _ in range(warmup):
        step()
    times = []
    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    times.sort()
    # minor page faults: memory the allocator handed back to the OS and takes again each step
    # (glibc trims the heap after large frees); they can cost more than the arithmetic
    return {"median_s": statistics.median(times), "p10_s": times[len(times) // 10],
            "p90_s": times[(len(times) * 9) // 10], "n": len(times),
            "page_faults_per_step": faults / len(times)}


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_kib() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) in KiB, from /proc/self/status."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1])
    return values.get("VmRSS", -1), values.get("VmHWM", -1)


# ---- describing the machine ------------------------------------------------------------------

def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict]:
    """What threadpoolctl sees loaded in this process (call after importing the framework)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl not installed"}]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer",
            "prefix")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


# ---- the shared problem instances ------------------------------------------------------------

MLP_SIZES = (784, 256, 256, 10)
MLP_BATCH = 128
TINY_SIZES = (2, 16, 16, 1)
TINY_BATCH = 32
LR = 0.01


def mlp_problem(sizes=MLP_SIZES, batch=MLP_BATCH, seed=0):
    """Weights (PyTorch's Linear init: U(-1/sqrt(fan_in), +)), inputs and integer labels, all
    float32, identical for every framework so their losses can be compared."""
    import numpy as np

    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(n_in)
        w = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, n_out).astype(np.float32)
        weights.append((w, b))
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=batch).astype(np.int64)
    targets = rng.normal(size=(batch, sizes[-1])).astype(np.float32)  # for the MSE (tiny) MLP
    return weights, x, labels, targets


# ---- the examples under either library ----------------------------------------------------

EXAMPLE_IMPORTS = {"import chainrule as cr\n": "import torch as cr\n",
                   "import chainrule.nn as nn\n": "import torch.nn as nn\n",
                   "import chainrule.nn.functional as F\n": "import torch.nn.functional as F\n"}


def load_example(file: str, framework: str) -> dict:
    """The definitions of ``examples/<file>``, with torch's imports swapped in when
    ``framework == 'torch'``: one program text, two libraries."""
    path = HERE.parent / "examples" / file
    source = path.read_text()
    if framework == "torch":
        for ours, theirs in EXAMPLE_IMPORTS.items():
            source = source.replace(ours, theirs)
    program = {"__name__": f"bench_{framework}"}
    exec(compile(source, str(path), "exec"), program)
    return program
