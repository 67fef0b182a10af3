"""Averaging on one node through an MPI-3 shared-memory window (``MPI_Win_allocate_shared``).

When every rank of the group runs on one machine, each rank's gradient buckets live in a
window every rank can read and write. Averaging a bucket is then done by the ranks
themselves: after a barrier each rank sums its 1/N slice of the bucket over all ranks' copies,
divides that slice by N, and writes the result into every rank's copy; a second barrier ends
it. Every byte is read once and written N times by one rank, in cache-sized pieces, with no
message, scratch buffer or progress thread, which costs about half of MPI's all-reduce of the
same buffers (benchmarks/README.md, issue 14). MPI provides the memory and the ordering
(``Win.Sync`` + ``Barrier``); nothing here is a protocol of its own.

Lifecycle: freeing a window is collective, so no window is freed from a destructor. The
process group owns its windows (``process_group.allocate_shared``); a window whose arrays
are no longer referenced on any rank is freed at the next allocation or by
``destroy_process_group``, and every window left is freed at exit, before MPI finalises.
``window = allocate_shared(nbytes); a, peers = window.arrays(0, 10, np.float32); ...;
window.average(peers)``
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# one rank's slice starts on its own cache line (no two ranks write the same line)
ALIGN_BYTES = 64
# the sum, the division and the copies of a piece run while it is in the core's L2 cache
# (256 KiB pieces: 20.6 ms of CPU per rank for 80 MB on 2 ranks; 1 MiB and unchunked 27 ms)
CHUNK_BYTES = 256 * 1024


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def aligned(nbytes: int) -> int:
    """``nbytes`` rounded up to a whole number of cache lines."""
    return _round_up(nbytes, ALIGN_BYTES)


class SharedWindow:
    """One shared-memory window of ``nbytes`` per rank, locked for its whole life (passive
    target: ranks load and store at will, ordered by ``Win.Sync`` and barriers)."""

    def __init__(self, MPI: Any, comm: Any, nbytes: int) -> None:
        nbytes = aligned(nbytes)  # the next rank's part starts on a cache line too
        self._comm = comm
        self._win = MPI.Win.Allocate_shared(max(nbytes, 1), 1, comm=comm)
        self._win.Lock_all()
        self._rank, self._size = comm.Get_rank(), comm.Get_size()
        # every array handed out is a view of one of these: their reference counts tell when
        # nothing outside this object uses the memory any more
        self._roots = [np.frombuffer(self._win.Shared_query(q)[0], np.uint8, count=nbytes)
                       for q in range(self._size)]
        self._roots[self._rank][...] = 0
        self._unused_refcounts = self._refcounts()

    def _refcounts(self) -> list[int]:
        return [sys.getrefcount(root) for root in self._roots]

    def released(self) -> bool:
        """No array of this window is referenced outside it on this rank."""
        return self._win is not None and self._refcounts() == self._unused_refcounts

    def free(self) -> None:
        """Free the window (collective: every rank frees the same windows in the same order)."""
        if self._win is None:
            return
        self._roots = []
        self._win.Unlock_all()
        self._win.Free()
        self._win = None

    def arrays(self, offset: int, size: int, dtype: Any) -> tuple[np.ndarray, list[np.ndarray]]:
        """``size`` elements of ``dtype`` at byte ``offset`` of every rank's part: this rank's
        array, and the list of all ranks' (for ``average``)."""
        dtype = np.dtype(dtype)
        stop = offset + size * dtype.itemsize
        views = [root[offset:stop].view(dtype) for root in self._roots]
        return views[self._rank], views

    def average(self, views: list[np.ndarray]) -> None:
        """Replace every rank's ``views[rank]`` with the mean over ranks, elementwise
        (collective). Each rank reduces its slice, so all ranks end with the same bits."""
        n, size, rank = views[0].size, self._size, self._rank
        if n == 0:
            return
        per_line = max(1, ALIGN_BYTES // views[0].itemsize)
        share = _round_up(-(-n // size), per_line)
        lo, hi = min(n, rank * share), min(n, (rank + 1) * share)
        chunk = max(per_line, CHUNK_BYTES // views[0].itemsize)
        mine = views[rank]
        others = [v for q, v in enumerate(views) if q != rank]
        self._barrier()  # every rank's gradients are in its part
        for start in range(lo, hi, chunk):
            stop = min(hi, start + chunk)
            acc = mine[start:stop]
            for other in others:
                np.add(acc, other[start:stop], out=acc)
            np.divide(acc, size, out=acc)
            for other in others:
                other[start:stop] = acc
        self._barrier()  # every slice is in every part

    def _barrier(self) -> None:
        self._win.Sync()
        self._comm.Barrier()
        self._win.Sync()
