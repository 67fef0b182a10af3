"""Averaging on one node through an MPI-3 shared-memory window (``MPI_Win_allocate_shared``).

When every rank of the group runs on one machine, each rank's gradient buckets live in a
window every rank can read and write. Averaging a bucket is then done by the ranks
themselves: after a barrier each rank sums its 1/N slice of the bucket over all ranks' copies,
divides that slice by N, and writes the result into every rank's copy; a second barrier ends
it. Each element is handled by one rank only (read from the N copies, written back into
them), in cache-sized pieces, with no message, scratch buffer or progress thread: about 60%
of the CPU time of MPI's all-reduce of the same buffers (benchmarks/README.md, issue 14). MPI
provides the memory and the ordering (``Win.Sync`` + ``Barrier``); nothing here is a protocol
of its own.

Lifecycle: freeing a window is collective, so no window is freed from a destructor. The
process group owns its windows (``process_group.allocate_shared``); a window whose arrays
are no longer referenced on any rank is freed at the next allocation or by
``destroy_process_group``, and every window left is freed at exit, before MPI finalises.
``window = allocate_shared(nbytes); a, peers = window.arrays(0, 10, np.float32); ...;
window.average(peers)``
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

# one rank's slice starts on its own cache line (no two ranks write the same line)
ALIGN_BYTES = 64
# the sum, the division and the copies of a piece run while it is in the core's L2 cache
# (256 KiB pieces: 20.6 ms of CPU per rank for 80 MB on 2 ranks; 4 MiB and unchunked 27 ms)
CHUNK_BYTES = 256 * 1024


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _pieces(lo: int, hi: int, elsewhere: Sequence[tuple[int, int, np.ndarray]]
            ) -> list[tuple[int, int, np.ndarray | None]]:
    """``[lo, hi)`` cut into the pieces of ``elsewhere`` and the gaps between them (None)."""
    pieces: list[tuple[int, int, np.ndarray | None]] = []
    position = lo
    for start, stop, source in sorted(elsewhere, key=lambda piece: piece[0]):
        if position < start:
            pieces.append((position, start, None))
        pieces.append((start, stop, source))
        position = stop
    if position < hi:
        pieces.append((position, hi, None))
    return pieces


def _divide(values: np.ndarray, size: int) -> None:
    """``values /= size``; by a power of two as a multiplication, which gives the same bits
    at half the cost."""
    if size & (size - 1) == 0:
        np.multiply(values, 1 / size, out=values)
    else:
        np.divide(values, size, out=values)


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

    def slice(self, n: int, itemsize: int) -> tuple[int, int]:
        """The elements ``[lo, hi)`` of an ``n``-element array that this rank reduces: a 1/N
        share, rounded up to whole cache lines (the last ranks' may be shorter or empty)."""
        share = _round_up(-(-n // self._size), max(1, ALIGN_BYTES // itemsize))
        return min(n, self._rank * share), min(n, (self._rank + 1) * share)

    def average(self, views: list[np.ndarray],
                elsewhere: Sequence[tuple[int, int, np.ndarray]] = ()) -> None:
        """Replace every rank's ``views[rank]`` with the mean over ranks, elementwise
        (collective). Each rank reduces its ``slice``, so all ranks end with the same bits.
        ``elsewhere``: ``(start, stop, array)`` pieces of this rank's slice whose values are in
        ``array`` instead of ``views[rank][start:stop]`` (never copied into the window: only
        this rank reads them)."""
        mine, itemsize = views[self._rank], views[0].itemsize
        if mine.size == 0:  # an empty bucket, on every rank
            return
        lo, hi = self.slice(mine.size, itemsize)
        others = [v for q, v in enumerate(views) if q != self._rank]
        chunk = max(1, CHUNK_BYTES // itemsize)
        self._barrier()  # every rank's values are in its part
        for start, stop, source in _pieces(lo, hi, elsewhere):
            for a in range(start, stop, chunk):
                b = min(stop, a + chunk)
                acc = mine[a:b]
                first = acc if source is None else source[a - start:b - start]
                if not others:  # one rank: the mean is its own values
                    if source is not None:
                        acc[...] = first
                    continue
                np.add(first, others[0][a:b], out=acc)
                for other in others[1:]:
                    np.add(acc, other[a:b], out=acc)
                _divide(acc, self._size)
                for other in others:
                    other[a:b] = acc
        self._barrier()  # every slice is in every part

    def _barrier(self) -> None:
        self._win.Sync()
        self._comm.Barrier()
        self._win.Sync()
