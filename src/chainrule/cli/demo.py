"""``chainrule demo [--out DIR] [--epochs N] [--seed S]``: engine vs textbook backprop.

Trains a [1, 64, 32, 1] ReLU network on y = x² + noise twice from the same weights (autograd and
hand-written backprop), shows that the two agree, and writes report.html and PNGs.
"""

from __future__ import annotations

import argparse

from . import UsageError, writable_directory


def register(subparsers) -> None:
    from chainrule.demo import DEFAULT_EPOCHS

    p = subparsers.add_parser(
        "demo", help="train one network with autograd and by hand; compare",
        description="Fit y = x² + noise with a [1, 64, 32, 1] ReLU network twice from the same "
                    "initial weights (chainrule's engine, and NumPy backprop written by hand), "
                    "check that the loss curves agree and the gradients pass a gradient check, "
                    "and write report.html with figures.")
    p.add_argument("--out", metavar="DIR",
                   help="the run's directory (default: runs/demo-<timestamp>)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help=f"full-batch epochs (default {DEFAULT_EPOCHS})")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and weights (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.demo import DemoError, run_demo

    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.out is not None:
        writable_directory(args.out, "--out")
    try:
        result = run_demo(args.out, epochs=args.epochs, seed=args.seed,
                          progress=not args.no_progress)
    except DemoError as e:
        raise UsageError(str(e)) from None
    return 0 if result.agree and result.engine_gradcheck else 1
