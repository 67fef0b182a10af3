"""glibc's allocator and the cycle collector tuned once for training loops: freed arrays stay in
the process for reuse, and a deep graph is not walked over and over.

By default glibc serves large blocks (the activations and gradients of a layer) with ``mmap``
and returns freed memory to the OS, so every training step faults the same pages in again:
~750 minor page faults per step of a 784-256-256-10 MLP written with raw Tensors, measured in
benchmarks/RESULTS.md. Fixed thresholds (blocks up to 128 MiB from the heap, the heap's top
trimmed only beyond 512 MiB free) make a step reuse the previous step's memory: 0 faults, and
the peak stays the step's own peak. They cover wide layers too: a 4096x4096 float32 gradient
is 64 MiB, and a step of the data-parallel MLP in benchmarks/distributed.py frees ~200 MiB at
once (with 32 / 64 MiB it faulted 1,100 pages per step on one rank and 9,300 per rank on two,
where MPI's 34 MB reduction scratch buffer came back from the OS at every all-reduce).
Called by the first backward; elsewhere (musl, macOS, Windows) it does nothing.

The same call makes the cycle collector's full passes rarer (one per 100 collections of
generation 1 instead of Python's 10), unless the program set its own thresholds: a recorded
graph is ~4 tracked objects per op, and each full pass walks all of them and the whole heap
besides. The forward of a 100k-op chain spent about a third of its time in 4 full passes (0
with this setting: 0.43 -> 0.28 s in one process, benchmarks/RESULTS.md); a training step
makes no cyclic garbage (the memory benchmark counts 0 cyclic objects). Young collections come
after 10,000 new tracked objects instead of 700: a step's graph (a 1,000-op step records ~5,000)
is then mostly freed before any collection walks it (each object was walked twice, in the young
and the middle generation: ~1k of the ~48k instructions an op of the 1,000-op chain cost), and
young cycles wait for 10,000 allocations rather than 700.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 128 << 20
TRIM_THRESHOLD = 512 << 20
# the cycle collector's thresholds: Python's defaults (3.8-3.13), and ours (see above)
GC_DEFAULTS = (700, 10, 10)
GC_THRESHOLDS = (10_000, 10, 100)

_done = False


def keep_freed_memory() -> None:
    """Set the thresholds once per process (``mallopt``, where glibc is; the cycle collector's,
    where the program kept Python's defaults)."""
    global _done
    if _done:
        return
    _done = True
    if gc.get_threshold() == GC_DEFAULTS:
        gc.set_threshold(*GC_THRESHOLDS)
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
