"""Collectives on Tensors, in place on their arrays (MPI ``IN_PLACE``, no Python objects).

``dist.all_reduce(t, op=dist.ReduceOp.AVG)``; ``work = dist.all_reduce(t, async_op=True);
work.wait()``
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .process_group import _check_group, comm, mpi, progress


class ReduceOp(enum.Enum):
    """How ``all_reduce``/``reduce_scatter`` combine the ranks' values (PyTorch's numbering)."""

    SUM = 0
    AVG = 1  # the sum divided by the world size (floating-point tensors)
    PRODUCT = 2
    MIN = 3
    MAX = 4


_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD",
            ReduceOp.MIN: "MIN", ReduceOp.MAX: "MAX"}


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` blocks until it is done and its
    result is in the tensor; ``is_completed()`` asks without blocking."""

    def __init__(self, request: Any, finish: Callable[[], None] | None = None,
                 progress: Any = None) -> None:
        self._request = request
        self._finish = finish
        self._done = False
        self._progress = progress
        if progress is not None:
            progress.started()

    def _complete(self) -> None:
        self._done = True
        if self._progress is not None:
            self._progress.finished()
        if self._finish is not None:
            self._finish()
            self._finish = None

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            self._request.Wait()
            self._complete()
        return True


def _run(start: Callable[[], Any], finish: Callable[[], None] | None, async_op: bool
         ) -> Work | None:
    """Start the non-blocking MPI call; return its Work (advanced by the progress thread until
    waited for), or wait for it at once (PyTorch returns None)."""
    if async_op:
        return Work(start(), finish, progress())
    Work(start(), finish).wait()
    return None


def _tensor(t: Any, op: str, name: str = "tensor") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    return t


def _buffer(t: Tensor) -> tuple[np.ndarray, Callable[[], None] | None]:
    """A contiguous array MPI can write into, and how to copy it back when it is a copy."""
    data = t._data
    if data.flags.c_contiguous and data.flags.writeable:
        return data, None
    buf = np.ascontiguousarray(data)

    def copy_back() -> None:
        data[...] = buf
    return buf, copy_back


def _chain(*steps: Callable[[], None] | None) -> Callable[[], None]:
    def run() -> None:
        for step in steps:
            if step is not None:
                step()
    return run


def _averaging(buf: np.ndarray, op: ReduceOp, c: Any) -> Callable[[], None] | None:
    """For ``AVG``: divide the MPI sum by the world size once it has arrived."""
    if op is not ReduceOp.AVG:
        return None
    size = c.Get_size()

    def average() -> None:
        np.divide(buf, size, out=buf)
    return average


def _modified(t: Tensor) -> Callable[[], None]:
    def bump() -> None:
        t._vc[0] += 1  # written in place, as any in-place op
    return bump


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` across all ranks with ``op``; every rank ends with the result, in
    place: ``dist.all_reduce(grad, op=dist.ReduceOp.AVG)``."""
    _check_group(group)
    t = _tensor(tensor, "all_reduce")
    if not isinstance(op, ReduceOp):
        raise ValueError(f"all_reduce: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), "
                         f"got {op!r}")
    if op is ReduceOp.AVG and t._data.dtype.kind != "f":
        raise ValueError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got "
                         f"{t.dtype}")
    MPI, c = mpi(), comm()
    buf, copy_back = _buffer(t)
    mpi_op = getattr(MPI, _MPI_OPS[op])
    return _run(lambda: c.Iallreduce(MPI.IN_PLACE, buf, mpi_op),
                _chain(_averaging(buf, op, c), copy_back, _modified(t)), async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False
              ) -> Work | None:
    """Overwrite ``tensor`` on every rank with rank ``src``'s: ``dist.broadcast(w, src=0)``."""
    _check_group(group)
    t = _tensor(tensor, "broadcast")
    c = comm()
    if not 0 <= src < c.Get_size():
        raise ValueError(f"broadcast: src {src} is not a rank of the group (world size "
                         f"{c.Get_size()})")
    buf, copy_back = _buffer(t)
    return _run(lambda: c.Ibcast(buf, root=src), _chain(copy_back, _modified(t)), async_op)


def _check_list(tensors: Sequence[Tensor], like: Tensor, op: str, name: str, size: int) -> None:
    if len(tensors) != size:
        raise ValueError(f"{op}: {name} must hold one tensor per rank ({size}), got "
                         f"{len(tensors)}")
    for i, t in enumerate(tensors):
        _tensor(t, op, f"{name}[{i}]")
        if t._data.shape != like._data.shape or t._data.dtype != like._data.dtype:
            raise ValueError(f"{op}: {name}[{i}] has shape {tuple(t.shape)} and dtype "
                             f"{t.dtype}, expected {tuple(like.shape)} and {like.dtype}")


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Rank ``i``'s ``tensor`` into ``tensor_list[i]`` on every rank:
    ``out = [cr.empty_like(t) for _ in range(world)]; dist.all_gather(out, t)``."""
    _check_group(group)
    t = _tensor(tensor, "all_gather")
    c = comm()
    _check_list(tensor_list, t, "all_gather", "tensor_list", c.Get_size())
    send = np.ascontiguousarray(t._data)
    gathered = np.empty((c.Get_size(), *send.shape), send.dtype)

    def scatter_out() -> None:
        for out, part in zip(tensor_list, gathered):
            out._data[...] = part
            out._vc[0] += 1
    return _run(lambda: c.Iallgather(send, gathered), scatter_out, async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    """Combine ``input_list[i]`` across ranks with ``op`` into rank ``i``'s ``output``:
    ``dist.reduce_scatter(out, [chunk_for_rank0, chunk_for_rank1])``."""
    _check_group(group)
    out = _tensor(output, "reduce_scatter", "output")
    if not isinstance(op, ReduceOp):
        raise ValueError(f"reduce_scatter: op must be a ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and out._data.dtype.kind != "f":
        raise ValueError(f"reduce_scatter: ReduceOp.AVG needs a floating-point tensor, got "
                         f"{out.dtype}")
    MPI, c = mpi(), comm()
    _check_list(input_list, out, "reduce_scatter", "input_list", c.Get_size())
    send = np.stack([t._data for t in input_list]) if input_list else None
    buf, copy_back = _buffer(out)
    return _run(lambda: c.Ireduce_scatter_block(send, buf, getattr(MPI, _MPI_OPS[op])),
                _chain(_averaging(buf, op, c), copy_back, _modified(out)), async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank has reached this call."""
    _check_group(group)
    c = comm()
    return _run(c.Ibarrier, None, async_op)
