"""LeNet-5 training steps (``cnn_step.py``'s model, batch and optimizer) run STEPS times after
two warm-up steps: a deterministic per-step cost under callgrind, whatever the machine's load.

    cd benchmarks
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.1 python cnn_instructions.py 1
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.4 python cnn_instructions.py 4

per-step instructions = (Ir of the second - Ir of the first) / 3; ``--torch`` runs PyTorch's
step instead. Instructions count work, not memory stalls: time ratios still come from
``cnn_step.py``. Each framework starts from its own seeded initialisation (no PyTorch import in
chainrule's run).
"""

from __future__ import annotations

import argparse
import os

import _harness as H

for _var in H.THREAD_VARS:  # before NumPy and PyTorch load their thread pools
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
from cnn_step import BATCH, CLASSES, SIZE, _lenet, make_step  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("steps", type=int)
    p.add_argument("--torch", action="store_true", help="PyTorch's step instead of chainrule's")
    args = p.parse_args()
    if args.torch:
        import torch as lib
        import torch.nn as nn
        import torch.nn.functional as F

        lib.set_num_threads(1)
    else:
        import chainrule as lib  # type: ignore[no-redef]
        import chainrule.nn as nn  # type: ignore[no-redef]
        import chainrule.nn.functional as F  # type: ignore[no-redef]
    lib.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in _lenet(nn).state_dict().items()}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    step = make_step(lib, nn, F, state, x, y)
    for _ in range(2 + args.steps):
        step()


if __name__ == "__main__":
    main()
