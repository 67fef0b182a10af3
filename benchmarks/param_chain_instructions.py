"""chain_instructions.py with ops called with forward parameters (which each recorded node
keeps for ``Primitive.forward_params()``): ``h * 1.0001`` (Affine: scale, shift) alternating
with ``h.reshape(2, 5).reshape(10)`` (Reshape: shape), 1,500 ops, then ``sum``, backward; run
STEPS times after two warm-up steps, for a deterministic count under callgrind:

    cd benchmarks
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python param_chain_instructions.py 1
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python param_chain_instructions.py 6

per-op instructions = (Ir of the second - Ir of the first) / 5 / 1500. ``--no-gc`` disables
the cycle collector (to see its share: the kept parameter dicts that hold tuples are tracked).
"""

from __future__ import annotations

import argparse
import gc

import numpy as np

import chainrule as cr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("steps", type=int)
    p.add_argument("--no-gc", action="store_true", help="disable the cycle collector")
    args = p.parse_args()
    if args.no_gc:
        gc.disable()
    x = cr.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)

    def step() -> None:
        x.grad = None
        h = x
        for i in range(1000):
            h = h * 1.0001 if i % 2 == 0 else h.reshape(2, 5).reshape(10)
        h.sum().backward()

    for _ in range(2 + args.steps):
        step()


if __name__ == "__main__":
    main()
