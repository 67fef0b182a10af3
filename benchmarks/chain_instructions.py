"""The 1,000-op chain (``h * w`` and ``tanh`` alternating, then ``sum``, backward) run STEPS times
after two warm-up steps: a deterministic per-op cost under callgrind, whatever the machine's load.

    cd benchmarks
    export PYTHONHASHSEED=0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python chain_instructions.py 1
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python chain_instructions.py 6

per-op instructions = (Ir of the second - Ir of the first) / 5 / 1000. ``--forward`` stops before
backward (the forward's share, graph freed included). OpenBLAS is held to one thread (set below,
before NumPy loads): its idle threads' spinning made the counts differ by up to 5k per op from
run to run; with it, and ``PYTHONHASHSEED=0``, repeated runs agree within ~0.1k.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread setting)

import chainrule as cr  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("steps", type=int)
    p.add_argument("--forward", action="store_true", help="forward only")
    args = p.parse_args()
    x = cr.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)
    w = cr.full((10,), 1.0001, requires_grad=True)

    def step() -> None:
        x.grad = w.grad = None
        h = x
        for i in range(1000):
            h = h * w if i % 2 == 0 else h.tanh()
        loss = h.sum()
        if not args.forward:
            loss.backward()

    for _ in range(2 + args.steps):
        step()


if __name__ == "__main__":
    main()
