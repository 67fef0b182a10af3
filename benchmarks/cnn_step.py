"""One training step of LeNet-5 (conv 5x5 -> max pool -> conv 5x5 -> max pool -> 3 linear
layers), batch 64, 28x28, float32, cross-entropy + SGD with momentum, one thread: chainrule vs
PyTorch CPU (issue 13's target: chainrule <= 1.5x PyTorch).

``python benchmarks/cnn_step.py [--rounds 7 --steps 20]`` prints a table: per framework the
median step time over rounds (each round's figure is the median of ``--steps`` timed steps),
the spread of the round medians (min-max), and the ratio chainrule / PyTorch (median of the
per-round ratios). Rounds interleave the frameworks in one process, so a noisy moment hits both;
both start from the same weights and batch, so the printed first losses must agree.

Page faults per step are printed because they decide the figure: with glibc's default
thresholds the large im2col buffers go back to the OS after each step (mmap for a request at or
above its dynamic threshold, heap trimming otherwise), and touching fresh pages again costs
milliseconds per step (~2,500 faults, ratio ~1.5x). chainrule sets fixed thresholds at its first
backward (``chainrule/_allocator.py``), so the column buffers are reused: 0 faults per step.
A figure with faults above 0 means that setting did not take effect (not glibc, or overridden).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import _harness as H

for _var in H.THREAD_VARS:  # before NumPy and PyTorch load their thread pools
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

BATCH, SIZE, CLASSES, LR = 64, 28, 10, 0.01


def problem(seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """LeNet-5's weights (PyTorch's init, drawn by PyTorch) and one batch of images and labels."""
    import torch

    torch.manual_seed(seed)
    state = {k: v.numpy().copy() for k, v in torch_model(torch).state_dict().items()}
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    return state, x, y


def _lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, CLASSES))


def torch_model(torch):
    return _lenet(torch.nn)


def make_step(lib, nn, F, state, x, y):
    """A closure running one training step of ``lib`` (chainrule or torch); returns the loss."""
    model = _lenet(nn)
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    xs, ys = lib.tensor(x), lib.tensor(y)

    def step():
        loss = F.cross_entropy(model(xs), ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (>= 5)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per round")
    p.add_argument("--warmup", type=int, default=5)
    args = p.parse_args(argv)

    import torch

    import chainrule as cr
    import chainrule.nn as cnn
    import chainrule.nn.functional as cF

    torch.set_num_threads(1)
    H.pin_threads(1)
    state, x, y = problem()
    steps = {"chainrule": make_step(cr, cnn, cF, state, x, y),
             "PyTorch": make_step(torch, torch.nn, torch.nn.functional, state, x, y)}
    first = {name: float(step().item()) for name, step in steps.items()}
    medians: dict[str, list[float]] = {name: [] for name in steps}
    faults: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            timed = H.time_steps(step, args.steps, args.warmup)
            medians[name].append(timed["median_s"])
            faults[name].append(timed["page_faults_per_step"])
    ratios = [a / b for a, b in zip(medians["chainrule"], medians["PyTorch"])]
    print(f"LeNet-5 training step, batch {BATCH}, {SIZE}x{SIZE}, float32, one thread; "
          f"{args.rounds} interleaved rounds of {args.steps} steps ({H.cpu_name()})\n")
    print("| framework | step (median of round medians) | spread (min-max) | first loss | "
          "page faults / step |")
    print("|---|---:|---:|---:|---:|")
    for name, ms in medians.items():
        print(f"| {name} | {H.fmt_time(statistics.median(ms))} | {H.fmt_time(min(ms))}-"
              f"{H.fmt_time(max(ms))} | {first[name]:.6f} | "
              f"{statistics.median(faults[name]):.0f} |")
    print(f"\nchainrule / PyTorch: {statistics.median(ratios):.2f}x (per-round ratios "
          f"{min(ratios):.2f}-{max(ratios):.2f}; target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
