"""Atomic file writes: whoever reads ``path`` sees the old file or the new one, never part of one.

    atomic_write("out/history.json", text)   # bytes, str, or a function writing to a binary file

Every file chainrule writes goes through here: a temporary file in the same directory, created
like a normal ``open`` would (mode 0o666 less the umask), filled, fsync'd, renamed over
``path``, then the directory fsync'd so the rename survives a crash. A write that is
interrupted (kill -9, power loss) can leave its temporary behind; the temporaries carry the
writer's pid and host, and the next write into that directory removes the ones whose writer is
gone, so nothing accumulates (a live writer's, another program's files are never touched).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# A writer on another machine (shared file system) cannot be asked whether it is alive, and a
# dead writer's pid can be reused: such temporaries are removed once nothing wrote them for a day.
STALE_AFTER_SECONDS = 24 * 3600
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(r"\..*\.chainrule-(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-[0-9a-f]{8}\.tmp")

Writer = Callable[[BinaryIO], object]


def atomic_write(path: str | os.PathLike[str], data: bytes | str | Writer) -> Path:
    """Write ``data`` (bytes, str as UTF-8, or a function that writes to a binary file) to
    ``path`` atomically and durably; return ``path``. The directory must exist, as for ``open``.
    ``atomic_write('loss.png', lambda f: fig.savefig(f, format='png'))``
    """
    path = Path(path)
    remove_stale_temporaries(path.parent)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as out:
            if callable(data):
                data(out)
            else:
                out.write(data.encode("utf-8") if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        _discard(tmp)
        raise
    return _publish(tmp, path)


def atomic_link(source: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Make ``path`` name the same file as ``source`` (a hard link renamed into place, so
    ``path`` always names a complete file); a copy where hard links are unsupported.
    ``atomic_link('ckpt/epoch-003.safetensors', 'ckpt/last.safetensors')``
    """
    path = Path(path)
    fd, tmp = _create_temporary(path)  # reserves a unique name; the link takes its place
    os.close(fd)
    try:
        os.unlink(tmp)
        os.link(source, tmp)
    except OSError:
        _discard(tmp)
        with open(source, "rb") as src:
            return atomic_write(path, lambda out: shutil.copyfileobj(src, out))
    return _publish(tmp, path)


def _publish(tmp: str, path: Path) -> Path:
    """Rename the complete temporary into place and make the rename durable."""
    try:
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    _fsync_directory(path.parent)
    return path


def _discard(tmp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries that interrupted chainrule writes left in ``directory``: only
    names of chainrule's own pattern, only when their writer process no longer runs on this
    machine (or nothing wrote to them for ``STALE_AFTER_SECONDS``). Best effort: an error
    here never fails the write that called it. Returns the paths removed."""
    removed = []
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match is None:
                continue
            with contextlib.suppress(OSError):
                if not entry.is_file(follow_symlinks=False):
                    continue
                idle = now - entry.stat(follow_symlinks=False).st_mtime
                if idle > STALE_AFTER_SECONDS or (match["host"] == _HOST
                                                  and not _process_alive(int(match["pid"]))):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _create_temporary(path: Path) -> tuple[int, str]:
    """Open a new file next to ``path`` as ``open(..., 'wb')`` would (mode 0o666 less the
    umask; ``mkstemp`` would make it 0o600), named so ``remove_stale_temporaries`` knows it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    stem = f".{path.name[:100]}.chainrule-{os.getpid()}-{_HOST}-"
    for _ in range(100):
        tmp = os.path.join(path.parent, f"{stem}{os.urandom(4).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file next to {path}")


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it runs, as another user
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); not possible, nor needed, everywhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
