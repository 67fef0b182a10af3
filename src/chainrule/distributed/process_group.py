"""The default process group on MPI: ``init_process_group``, ranks, ``barrier``, abort on error.

``dist.init_process_group("mpi"); rank, size = dist.get_rank(), dist.get_world_size()``
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

# where MPICH maps its shared-memory windows
SHM_DIRECTORY = "/dev/shm"
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")


class _Group:
    """The default group's state: its communicator, whether all its ranks share one node's
    memory, the thread that advances its non-blocking collectives, and the excepthook it
    replaced."""

    comm: Any = None
    one_node = False
    progress: Any = None
    previous_excepthook: Any = None
    exit_registered = False


_group = _Group()
# shared-memory windows (shared.SharedWindow), in allocation order, identical on every rank;
# they outlive a destroyed group while arrays of theirs are still referenced somewhere
_windows: list[Any] = []


def mpi() -> Any:
    """The ``mpi4py.MPI`` module (importing it initialises MPI), or an error naming the extra."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as e:  # no mpi4py, or no MPI library for it to load
        raise ImportError(f"chainrule.distributed needs mpi4py and an MPI library: "
                          f"pip install chainrule[distributed] ({e})") from e
    return MPI


def is_available() -> bool:
    """True when mpi4py and an MPI library can be loaded."""
    try:
        mpi()
    except ImportError:
        return False
    return True


# (world size, rank) as launchers tell each process: MPICH/Intel MPI (hydra) and PMI, Open MPI,
# MVAPICH, and Slurm's srun (set inside a job step only, not in the batch script itself)
_LAUNCHER_VARIABLES = (("PMI_SIZE", "PMI_RANK"),
                       ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
                       ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),
                       ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"))


def _launched() -> tuple[int, int]:
    for size, rank in _LAUNCHER_VARIABLES:
        if os.environ.get(size, "").isdigit():
            value = os.environ.get(rank, "0")
            return int(os.environ[size]), int(value) if value.isdigit() else 0
    return 1, 0


def launched_world_size() -> int:
    """The number of processes the MPI launcher started (1 without one), read from the
    environment without loading MPI: ``if launched_world_size() > 1: init_process_group()``."""
    return _launched()[0]


def launched_rank() -> int:
    """This process's rank as the launcher set it (0 without one), without loading MPI."""
    return _launched()[1]


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1,
                       **kwargs: Any) -> None:
    """Join the default process group: every process started by ``mpiexec`` (or ``srun``).

    Rank and world size come from the MPI environment alone (no address or port to set); the
    ``world_size``/``rank`` given, if any, must agree with it. Installs a ``sys.excepthook``
    that prints an uncaught exception with its rank and then aborts the whole job
    (``MPI_Abort``), so one failing process never leaves the others waiting in a collective.
    ``init_process_group(backend="mpi")``
    """
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not supported; chainrule "
                         "runs on MPI (backend='mpi')")
    if _group.comm is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    MPI = mpi()
    comm = MPI.COMM_WORLD.Dup()
    for name, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank())):
        if given not in (-1, None) and given != actual:
            comm.Free()
            raise ValueError(f"init_process_group: {name}={given} but the MPI environment has "
                             f"{name} {actual} (launch with mpiexec -n N)")
    _group.comm = comm
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    _group.one_node = node.Get_size() == comm.Get_size()
    node.Free()
    probe_comm = MPI.COMM_WORLD.Dup()  # collective, like the Dup above: every rank makes one
    if MPI.Query_thread() == MPI.THREAD_MULTIPLE:
        from .progress import Progress

        _group.progress = Progress(probe_comm, MPI.ANY_SOURCE, MPI.ANY_TAG)
    else:
        probe_comm.Free()  # without thread support, collectives advance inside MPI calls only
    if not _group.exit_registered:
        atexit.register(_close_at_exit)  # runs before mpi4py's own MPI_Finalize
        _group.exit_registered = True
    _group.previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_exception


def _close_at_exit() -> None:
    """Stop the progress thread and free every window (all ranks exit alike; a failing rank
    aborts the job instead)."""
    if _group.progress is not None:
        _group.progress.close()
    while _windows:
        _windows.pop(0).free()


def _free_released_windows(c: Any) -> None:
    """Free (collectively) the windows that no rank uses any more."""
    if not _windows:
        return
    released = np.array([w.released() for w in _windows], np.int8)
    c.Allreduce(mpi().IN_PLACE, released, op=mpi().MIN)
    for window, free in list(zip(_windows, released)):
        if free:
            window.free()
            _windows.remove(window)


def shares_memory() -> bool:
    """True when every rank of the default group runs on one node (one shared memory)."""
    comm()
    return _group.one_node


def shared_memory_fits(nbytes: int) -> bool:
    """Whether ``nbytes`` more per rank fit in the node's shared-memory file system, where
    MPICH maps windows (a container's is often only 64 MB; touching memory beyond it kills the
    process). Collective: every rank gets the same answer; True when it cannot be told."""
    c = comm()
    try:
        stat = os.statvfs(SHM_DIRECTORY)
        fits = stat.f_bavail * stat.f_frsize >= nbytes * c.Get_size()
    except OSError:
        fits = True
    return bool(c.allreduce(fits, op=mpi().LAND))


def allocate_shared(nbytes: int) -> Any:
    """A ``shared.SharedWindow`` of ``nbytes`` per rank, owned by the process group
    (collective; the group must be on one node). Windows no rank references any more are
    freed first: ``window = allocate_shared(sum_of_bucket_bytes)``."""
    from .shared import SharedWindow

    c = comm()
    if not _group.one_node:
        raise RuntimeError("shared memory needs every rank on one node; this group spans "
                           "several (use MPI's all-reduce)")
    _free_released_windows(c)
    window = SharedWindow(mpi(), c, nbytes)
    _windows.append(window)
    return window


def _abort_on_exception(exc_type, exc, tb) -> None:
    """Print the traceback prefixed with the rank, then end every process of the job."""
    rank = _group.comm.Get_rank() if _group.comm is not None else "?"
    lines = traceback.format_exception(exc_type, exc, tb)
    sys.stderr.write("".join(f"[rank {rank}] {line}" for chunk in lines
                             for line in chunk.splitlines(keepends=True)))
    sys.stderr.flush()
    abort(1)


def abort(code: int = 1) -> None:
    """End every process of the job with exit status ``code`` (``MPI_Abort``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    # the launcher forwards what a rank printed through its own pipes, and Abort tears those
    # down at once: a moment's grace lets the rank's last message (its error) reach the user
    time.sleep(0.2)
    mpi().COMM_WORLD.Abort(code)


def is_initialized() -> bool:
    return _group.comm is not None


def comm() -> Any:
    """The default group's communicator, or PyTorch's error when there is none."""
    if _group.comm is None:
        raise ValueError(_NOT_INITIALIZED)
    return _group.comm


def progress() -> Any:
    """The default group's progress thread (None when MPI lacks THREAD_MULTIPLE)."""
    return _group.progress


def _check_group(group: Any) -> None:
    if group is not None:
        raise ValueError("chainrule.distributed supports the default group only (group=None)")


def get_rank(group: Any = None) -> int:
    _check_group(group)
    return comm().Get_rank()


def get_world_size(group: Any = None) -> int:
    _check_group(group)
    return comm().Get_size()


def get_backend(group: Any = None) -> str:
    _check_group(group)
    comm()
    return "mpi"


def destroy_process_group(group: Any = None) -> None:
    """Leave the default group and restore the excepthook; ``init_process_group`` may follow.

    Shared-memory windows that no rank references any more are freed (collectively); one
    still viewed (a ``.grad`` left as a view of a DDP bucket) stays until a later group frees
    it or the interpreter exits. MPI itself stays initialised until the interpreter exits (MPI
    cannot start twice).
    """
    _check_group(group)
    _free_released_windows(comm())
    comm().Free()
    _group.comm = None
    if _group.progress is not None:
        _group.progress.close()
        _group.progress = None
    if sys.excepthook is _abort_on_exception:
        sys.excepthook = _group.previous_excepthook
    _group.previous_excepthook = None
