"""The ``chainrule`` command: ``chainrule demo | train | explain | vanishing | doctor | ...``.

Each subcommand lives in its own module here with ``register(subparsers)``, which adds its parser
and sets ``func`` (``run(args) -> int``). Every error ends in ``main``, the one place that turns it
into one line on stderr and exit status 2: never a traceback (``CHAINRULE_TRACEBACK=1`` shows it).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

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
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`chainrule ... | head`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as e:
        if os.environ.get("CHAINRULE_TRACEBACK") and not isinstance(e, UsageError):
            raise
        from chainrule import distributed

        # before joining the job every rank finds the same bad option: rank 0 says it
        if distributed.is_initialized() or distributed.launched_rank() == 0:
            print(f"chainrule {args.command}: error: {error_line(e, args)}", file=sys.stderr)
        return _end_job_on_error(2)


def error_line(e: Exception, args: argparse.Namespace) -> str:
    """What went wrong and what to change, in one line."""
    if isinstance(e, UsageError):
        return str(e)
    out = getattr(args, "out", None)
    if isinstance(e, OSError):
        where = f" ({e.filename})" if e.filename else f" (writing into {out})" if out else ""
        advice = {errno.ENOSPC: "free some space there", errno.EDQUOT: "free some space there",
                  errno.EROFS: "nothing can be written there",
                  errno.EACCES: "check the permissions", errno.EPERM: "check the permissions",
                  }.get(e.errno or 0, "check the path")
        return (f"{e.strerror or e}{where}: {advice}"
                + (", or choose another --out" if out else ""))
    message = str(e).splitlines()[0] if str(e) else ""
    if isinstance(e, MemoryError):  # what the up-front estimate (cli/limits.py) let through
        return (f"out of memory{f' ({message})' if message else ''}: the sizes given need more "
                "memory than this machine has; use smaller sizes")
    return (f"internal error ({type(e).__name__}: {message}); please report it with the "
            "command line (CHAINRULE_TRACEBACK=1 shows the traceback)")


def writable_directory(path: str, option: str) -> Path:
    """``path`` as a directory that exists (created if needed) and takes a file, or the
    UsageError saying why not: checked before minutes of work, not after."""
    directory = Path(path)
    if not path:
        raise UsageError(f"{option}: the directory name is empty")
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{option}: {directory} exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as e:
        raise UsageError(f"{option}: cannot write into {directory}: {e.strerror or e}; choose "
                         "another directory") from None
    return directory


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
