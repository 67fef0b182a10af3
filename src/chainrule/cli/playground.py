"""``chainrule playground``: train a network in the browser on chainrule, backprop on screen."""

from __future__ import annotations

import argparse

from . import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "playground", help="a local web app: train a network in the browser, backprop visible",
        description="Serve the playground (TF Playground on chainrule's engine: gradients, "
                    "explain per point, your own CSV data, export) and open the browser on it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind; only requests addressed to it are answered")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be from 1 to 65535, got {args.port}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"chainrule playground: serving on {args.host}: anyone who can reach it can use "
              f"it; it answers requests addressed to {args.host}:{args.port} only")
    try:
        from chainrule.playground import serve

        serve(args.host, args.port, open_browser=not args.no_browser)
    except ImportError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}") from None
    return 0
