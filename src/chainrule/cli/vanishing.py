"""``chainrule vanishing``: deep MLPs side by side, gradient norms per layer, and a plot."""

from __future__ import annotations

import argparse
import os

from . import UsageError, writable_directory
from .limits import check_deep_mlp_experiment

ACTIVATIONS = "sigmoid,tanh,relu,gelu"
TIME_LIMIT = 300  # seconds: an experiment to watch; deeper studies belong in a script


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "vanishing", help="the vanishing-gradient experiment: deep MLPs, one batch",
        description="Build one deep MLP per activation, run one batch forward and backward, "
                    "and print each layer's weight-gradient norm side by side with the "
                    "first/last ratio; sigmoid is compared with the 0.25^(depth-1) bound. "
                    "Writes a plot to DIR.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--depth", type=int, default=10, help="number of Linear layers")
    p.add_argument("--width", type=int, default=32, help="units per layer")
    p.add_argument("--activations", default=ACTIVATIONS,
                   help="comma-separated: sigmoid, tanh, relu, gelu, leaky_relu, elu, silu")
    p.add_argument("--residual", action="store_true", help="add a residual connection per block")
    p.add_argument("--norm", choices=["layer"], default=None,
                   help="LayerNorm after every activation")
    p.add_argument("--init", choices=["auto", "default", "he", "xavier"], default="auto",
                   help="auto: He for ReLU-like, Xavier for sigmoid/tanh")
    p.add_argument("--batch", type=int, default=64, help="examples in the batch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="DIR", default=".", help="where to write the plot")
    p.add_argument("--no-plot", action="store_true", help="print the numbers only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..inspect.vanishing import run_experiment

    activations = [a.strip().lower() for a in args.activations.split(",") if a.strip()]
    if args.depth >= 2 and args.width >= 1 and args.batch >= 1:  # else run_experiment says why
        import chainrule as cr

        runs = len(activations) * (2 if args.residual or args.norm else 1)
        check_deep_mlp_experiment(args.depth, args.width, args.batch, runs,
                                  cr.get_default_dtype().itemsize, TIME_LIMIT,
                                  "use a smaller --depth, --width or --batch, or fewer "
                                  "--activations")
    if not args.no_plot:
        writable_directory(args.out, "--out")
    try:
        experiment = run_experiment(args.depth, args.width, activations,
                                    residual=args.residual, norm=args.norm, init=args.init,
                                    batch=args.batch, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(experiment.report())
    if args.no_plot:
        return 0
    name = "vanishing" + ("-residual" if args.residual else "") + \
        ("-layernorm" if args.norm else "") + ".png"
    try:
        path = experiment.plot(os.path.join(args.out, name))
    except ImportError as e:
        print(f"\nplot skipped: {e}")
        return 0
    except OSError as e:
        raise UsageError(f"cannot write the plot to {args.out!r}: {e.strerror}") from None
    print(f"\nplot: {path}")
    return 0
