"""The ``chainrule`` command: ``chainrule demo | train | explain | vanishing | doctor | ...``.

Each subcommand lives in its own module here with ``register(subparsers)``, which adds its parser
and sets ``func`` (``run(args) -> int``). Bad options or data exit with status 2 and one line.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# Subcommands in the order ``--help`` lists them; a module not yet written is left out.
COMMANDS = ("demo", "train", "explain", "gradcheck", "vanishing", "doctor", "playground")


class UsageError(Exception):
    """Bad options or data: reported as one line on stderr, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule", description="Backpropagation you can see, check and trust.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return _end_job_on_error(int(args.func(args) or 0))
    except UsageError as e:
        from chainrule import distributed

        # before joining the job every rank finds the same bad option: rank 0 says it
        if distributed.is_initialized() or distributed.launched_rank() == 0:
            print(f"chainrule {args.command}: error: {e}", file=sys.stderr)
        return _end_job_on_error(2)
    except KeyboardInterrupt:
        return 130


def _end_job_on_error(code: int) -> int:
    """Under ``mpiexec``, a rank that stops with an error ends the whole job (MPI abort): the
    other ranks would otherwise wait for it in a collective forever."""
    if code != 0:
        from chainrule import distributed

        if distributed.is_initialized():
            sys.stderr.flush()
            distributed.abort(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
