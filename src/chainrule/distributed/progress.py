"""A thread that keeps non-blocking collectives moving while the caller computes.

MPI advances a collective only inside MPI calls, so an all-reduce started during backward
would otherwise sit still until ``wait()``. While any is in flight, this thread pokes MPI's
progress engine (``Iprobe`` on a communicator of its own, never touching the requests the
caller waits on) every half millisecond; NumPy's kernels release the GIL, so it runs beside
them. It sleeps on a condition when nothing is in flight.
"""

from __future__ import annotations

import threading
import time
from typing import Any

POLL_SECONDS = 0.0005


class Progress:
    def __init__(self, probe_comm: Any, any_source: int, any_tag: int) -> None:
        self._comm = probe_comm
        self._probe_args = (any_source, any_tag)
        self._in_flight = 0
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="chainrule-mpi-progress",
                                         daemon=True)
        self._thread.start()

    def started(self) -> None:
        with self._changed:
            self._in_flight += 1
            self._changed.notify()

    def finished(self) -> None:
        with self._changed:
            self._in_flight -= 1

    def close(self) -> None:
        """Stop the thread and free its communicator (before MPI finalises; idempotent)."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify()
        self._thread.join()
        self._comm.Free()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._in_flight and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
            self._comm.Iprobe(*self._probe_args)
            time.sleep(POLL_SECONDS)
