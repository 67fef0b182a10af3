"""Issue 17: the cost of drawing PyTorch's random numbers in NumPy.

Times chainrule and PyTorch (one thread) on the same draws, interleaved round by round, and
prints the median and the spread (min-max) of 7 rounds of each:
``.venv/bin/python benchmarks/random_draws.py``.
"""

from __future__ import annotations

import statistics
import time

import chainrule as cr
import chainrule.nn.functional as F

ROUNDS = 7


def _cases(lib, functional):
    x = lib.ones(256, 1024)
    return {
        "rand(10**6)": lambda: lib.rand(10 ** 6),
        "randn(10**6) float32": lambda: lib.randn(10 ** 6),
        "randn(10**5) float64": lambda: lib.randn(10 ** 5, dtype=lib.float64),
        "randn(8) x 1000": lambda: [lib.randn(8) for _ in range(1000)],
        "randperm(60_000)": lambda: lib.randperm(60_000),
        "dropout(256x1024, 0.1)": lambda: functional.dropout(x, 0.1),
        "Linear(1024, 1024)": lambda: (lib.nn.Linear(1024, 1024)),
    }


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ours, theirs = _cases(cr, F), _cases(torch, torch.nn.functional)
    print(f"{'draw':<24} {'chainrule ms (min-max)':>26} {'PyTorch ms (min-max)':>24}")
    for name in ours:
        a, b = [], []
        for _ in range(ROUNDS):
            a.append(_time(ours[name]) * 1e3)
            b.append(_time(theirs[name]) * 1e3)
        print(f"{name:<24} {statistics.median(a):>10.2f} ({min(a):.2f}-{max(a):.2f})"
              f"{statistics.median(b):>12.2f} ({min(b):.2f}-{max(b):.2f})")


if __name__ == "__main__":
    main()
