"""DistributedDataParallel: gradients averaged across ranks in buckets, overlapped with backward.

``model = DistributedDataParallel(model); loss_fn(model(x), y).backward()`` (every rank on its
shard of the batch; after ``backward`` each ``.grad`` is the mean over ranks).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ... import distributed as dist
from ...autograd.engine import queue_callback
from ...autograd.grad_mode import is_grad_enabled
from ...distributed.process_group import (
    SHM_DIRECTORY,
    allocate_shared,
    shared_memory_fits,
    shares_memory,
)
from ...distributed.shared import aligned
from ...tensor import Tensor
from ..module import Module

# PyTorch's, with the default cap: a small first bucket starts communicating early
FIRST_BUCKET_BYTES = 1024 * 1024
# in shared memory, a gradient's part in this rank's slice is left in place from this size
# (below it, the bookkeeping costs more than the copy it saves)
UNCOPIED_BYTES = 256 * 1024


class _Bucket:
    """Gradients reduced together, packed into one flat buffer (a slice each). Through MPI, a
    gradient larger than a whole bucket (``own``) is reduced where it lies, in its own array:
    packing exists to send few messages, and copying a large gradient costs a pass over memory
    that evicts the cache for nothing. In shared memory everything is packed: the copy and
    the ranks' reduction of the window cost less than MPI's all-reduce in place."""

    def __init__(self, params: list[tuple[int, Tensor]], dtype: np.dtype, cap: int,
                 pack_all: bool) -> None:
        self.indices = [i for i, _ in params]
        self.own = [] if pack_all else [i for i, p in params if p._data.nbytes > cap]
        self.offsets: dict[int, tuple[int, int]] = {}
        size = 0
        for i, p in params:
            if i not in self.own:
                self.offsets[i] = (size, size + p._data.size)
                size += p._data.size
        self.size = size
        self.dtype = dtype
        self.flat = Tensor._make(np.zeros(0, dtype))  # set by the DDP: its own or shared
        self.shared: list[np.ndarray] | None = None  # every rank's flat, in a shared window
        self.slice = (0, 0)  # the part of flat this rank reduces, in shared memory
        self.elsewhere: list[tuple[int, int, np.ndarray]] = []  # of it, not copied in
        self.own_grads: dict[int, Tensor] = {}  # this backward's, averaged in place
        self.pending = 0
        self.works: list[Any] = []


class DistributedDataParallel(Module):
    """Data parallelism across MPI ranks, as PyTorch's DDP.

    At construction the parameters and buffers are broadcast from rank 0, after checking that
    every rank holds the same parameter names and shapes. During ``backward``, each
    parameter's gradient is divided by the world size and copied into its bucket (buckets fill
    in reverse parameter order, the order backward produces them; with the default cap of 25
    MiB the first holds ~1 MiB); a full bucket starts a non-blocking all-reduce (sum) at once,
    so communication overlaps the rest of the backward pass, and ``backward()`` returns after
    every bucket has arrived and been written back to ``.grad``. A gradient larger than a
    whole bucket is not copied: it is divided and reduced in place, in its own array.
    ``broadcast_buffers``: buffers (BatchNorm's running statistics) are broadcast from rank 0
    before each forward; batch statistics stay per rank (no SyncBatchNorm). Under
    ``no_sync()`` gradients only accumulate locally. A parameter that gets no gradient is an
    error naming it, unless ``find_unused_parameters=True``: then its gradient counts as zero
    on that rank. After a synchronised backward each packed ``.grad`` is a view of its bucket
    (PyTorch's ``gradient_as_bucket_view=True``: no copy back); ``device_ids``,
    ``output_device``, ``dim``, ``gradient_as_bucket_view`` and ``static_graph`` are accepted
    for compatibility (CPU only).

    How a bucket is averaged depends on where the ranks run. When they all share one node's
    memory and the window fits in it (``shared_memory=None``, the default, checks both; a
    container's ``/dev/shm`` may be too small), the buckets live in an MPI-3
    shared-memory window and a full bucket is averaged by the ranks themselves, during
    backward: after a barrier each rank sums its 1/N slice over every rank's bucket, divides
    it by N and writes it into every rank's bucket (``chainrule.distributed.shared``); all
    gradients are packed, however large. Across nodes, or with ``shared_memory=False``, each
    gradient is divided by N on its way into the bucket and a full bucket starts MPI's
    non-blocking all-reduce (sum), as described above. ``shared_memory=True`` insists on
    shared memory (an error across nodes). The window is allocated here (a collective call,
    as construction is) and owned by the process group: it is freed once no rank references
    its buckets (at the next DDP construction or ``destroy_process_group``), or at exit.
    ``ddp = DistributedDataParallel(model, bucket_cap_mb=25)``
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, init_sync: bool = True,
                 process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, shared_memory: bool | None = None) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        if process_group is not None:
            raise ValueError("DistributedDataParallel: only the default process group is "
                             "supported (process_group=None)")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2**20)
        self._first_bucket_bytes_cap = FIRST_BUCKET_BYTES if bucket_cap_mb is None \
            else self.bucket_bytes_cap
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._rank, self._world = dist.get_rank(), dist.get_world_size()
        named = list(module.named_parameters())
        self._check_shapes_match(named)
        if init_sync:
            for tensor in [p for _, p in named] + list(module.buffers()):
                dist.broadcast(tensor, src=0)
        self._names = [n for n, p in named if p.requires_grad]
        self._params = [p for _, p in named if p.requires_grad]
        self.shared_memory = self._choose_averaging(shared_memory)
        self._buckets = self._assign_buckets()
        self._window = self._place_buckets()
        self._bucket_of = {i: b for b in self._buckets for i in b.indices}
        self._syncing = False  # this backward averages gradients
        self._ready: list[bool] = []
        self._next_bucket = 0
        self._callback_queued = False
        for i, p in enumerate(self._params):
            p.register_post_accumulate_grad_hook(_hook(self, i))

    def _choose_averaging(self, requested: bool | None) -> bool:
        """Shared memory when every rank is on one node and the window fits (or an error
        when ``requested`` and it cannot be), else MPI's all-reduce."""
        if requested is False:
            return False
        if not shares_memory():
            if requested:
                raise RuntimeError("DistributedDataParallel: shared_memory=True needs every rank "
                                   "on one node; these ranks span several nodes")
            return False
        need = sum(aligned(p._data.nbytes) for p in self._params)
        if shared_memory_fits(need):
            return True
        if requested:
            raise RuntimeError(f"DistributedDataParallel: shared_memory=True needs "
                               f"{need / 2**20:.1f} MiB per rank in {SHM_DIRECTORY}, which has "
                               "less free (a container's: docker run --shm-size)")
        return False

    def _check_shapes_match(self, named: Sequence[tuple[str, Tensor]]) -> None:
        from ...distributed.process_group import comm

        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in named]
        everyone = comm().allgather(mine)  # metadata only: a few names and shapes
        for rank, theirs in enumerate(everyone):
            if theirs == everyone[0]:
                continue
            diff = [f"{a} vs {b}" for a, b in zip(everyone[0], theirs) if a != b]
            if len(theirs) != len(everyone[0]):
                diff.append(f"{len(everyone[0])} vs {len(theirs)} parameters")
            raise RuntimeError(f"DistributedDataParallel: rank {rank}'s parameters differ from "
                               f"rank 0's (name, shape, dtype): {'; '.join(diff[:5])}")

    def _assign_buckets(self) -> list[_Bucket]:
        """Reverse parameter order, one run per dtype, a bucket closing once it reaches the cap
        (PyTorch's assignment): the last layers' gradients, computed first, go first."""
        open_by_dtype: dict[Any, tuple[list, int, int]] = {}  # dtype -> (params, bytes, count)
        buckets: list[tuple[list, Any]] = []
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            params, size, closed = open_by_dtype.get(p.dtype, ([], 0, 0))
            params.append((i, p))
            size += p._data.nbytes
            cap = self._first_bucket_bytes_cap if closed == 0 else self.bucket_bytes_cap
            if size >= cap:
                buckets.append((params, p.dtype))
                params, size, closed = [], 0, closed + 1
            open_by_dtype[p.dtype] = (params, size, closed)
        buckets += [(params, dtype) for dtype, (params, _, _) in open_by_dtype.items() if params]
        buckets.sort(key=lambda b: -b[0][0][0])  # in the order their first gradient arrives
        return [_Bucket(params, np.dtype(dtype), self.bucket_bytes_cap, self.shared_memory)
                for params, dtype in buckets]

    def _place_buckets(self) -> Any:
        """Give every bucket its flat buffer: an array of its own, or its place in a shared
        window (allocated collectively; the buckets one after another, each starting on a
        cache line). Returns the window, or None."""
        if not self.shared_memory:
            for bucket in self._buckets:
                bucket.flat = Tensor._make(np.zeros(bucket.size, bucket.dtype))
            return None
        window = allocate_shared(
            sum(aligned(b.size * b.dtype.itemsize) for b in self._buckets))
        offset = 0
        for bucket in self._buckets:
            mine, bucket.shared = window.arrays(offset, bucket.size, bucket.dtype)
            bucket.slice = window.slice(bucket.size, bucket.dtype.itemsize)
            bucket.flat = Tensor._make(mine)
            offset += aligned(mine.nbytes)
        return window

    # ---- forward ---------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.require_forward_param_sync:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            self._prepare_for_backward()
        self.require_forward_param_sync = sync
        return self.module(*inputs, **kwargs)

    def _prepare_for_backward(self) -> None:
        if self._callback_queued:
            raise RuntimeError("DistributedDataParallel: the previous backward is still "
                               "reducing gradients; call backward() before the next forward")
        self._syncing = True
        self._ready = [False] * len(self._params)
        self._next_bucket = 0
        for bucket in self._buckets:
            bucket.pending = len(bucket.indices)
            bucket.works = []
            bucket.own_grads = {}
            bucket.elsewhere = []

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside only accumulate ``.grad`` locally; the first
        synchronised backward after them averages the accumulated gradients:
        ``with ddp.no_sync(): loss_fn(ddp(x1), y1).backward()``."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ---- backward: buckets -----------------------------------------------------------------
    def _grad_ready(self, index: int) -> None:
        if not self._syncing or self._ready[index]:
            return
        if not self._callback_queued:
            self._callback_queued = True
            queue_callback(self._finish_reduction)
        self._mark_ready(index, self._params[index].grad)
        self._launch_ready_buckets()

    def _mark_ready(self, index: int, grad: Tensor | None) -> None:
        """Divide the gradient by the world size (the all-reduce then sums: PyTorch's order),
        on its way into the bucket's flat buffer, or in place when it is reduced where it
        lies."""
        self._ready[index] = True
        bucket = self._bucket_of[index]
        bucket.pending -= 1
        if index in bucket.offsets:
            start, stop = bucket.offsets[index]
            view = bucket.flat._data[start:stop]
            if grad is None:
                view[...] = 0  # unused here: contributes zero to the mean
            elif bucket.shared is None:
                np.divide(grad._data.reshape(-1), self._world, out=view)
            elif not _same_memory(grad._data, view):  # not accumulated in the bucket already
                self._pack_shared(bucket, grad._data.reshape(-1), start, stop)
            return
        param = self._params[index]
        if grad is None:
            grad = Tensor._make(np.zeros(param._data.shape, bucket.dtype))
        elif _reducible_in_place(grad, bucket.dtype):
            np.divide(grad._data, self._world, out=grad._data)
        else:  # a view, a recorded Tensor (create_graph) or another dtype: a contiguous copy
            grad = Tensor._make(np.divide(grad._data, self._world, dtype=bucket.dtype))
        bucket.own_grads[index] = grad

    def _pack_shared(self, bucket: _Bucket, grad: np.ndarray, start: int, stop: int) -> None:
        """Copy a gradient into the window for the other ranks (the ranks divide after
        summing). The part in this rank's own slice is read only by this rank: when large,
        it stays where it is and the reduction reads it from there (a pass saved)."""
        view = bucket.flat._data[start:stop]
        lo, hi = max(start, bucket.slice[0]), min(stop, bucket.slice[1])
        if (hi - lo) * grad.itemsize < UNCOPIED_BYTES:
            view[...] = grad
            return
        view[:lo - start] = grad[:lo - start]
        view[hi - start:] = grad[hi - start:]
        bucket.elsewhere.append((lo, hi, grad[lo - start:hi - start]))

    def _launch_ready_buckets(self) -> None:
        """Start every full bucket whose predecessors have started: all ranks must issue the
        collectives in the same order."""
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            self._reduce_bucket(buckets[self._next_bucket])
            self._next_bucket += 1
        if self._next_bucket and buckets[self._next_bucket - 1].works:
            # a poke of MPI's progress engine: all there is when MPI lacks THREAD_MULTIPLE
            buckets[self._next_bucket - 1].works[-1].is_completed()

    def _reduce_bucket(self, bucket: _Bucket) -> None:
        """Average a full bucket: in shared memory at once (the ranks meet at a barrier, each
        reduces a slice), else by starting MPI's non-blocking all-reduces (sums)."""
        if bucket.shared is not None:
            self._window.average(bucket.shared, bucket.elsewhere)
            bucket.elsewhere = []
            return
        tensors = [bucket.flat] if bucket.offsets else []
        tensors += [bucket.own_grads[i] for i in bucket.own]
        bucket.works = [dist.all_reduce(t, async_op=True) for t in tensors]

    def _finish_reduction(self) -> None:
        """End of backward: wait for every bucket and write the averages into ``.grad``."""
        self._callback_queued = False
        self._syncing = False
        unused = [i for i, ready in enumerate(self._ready) if not ready]
        if unused and not self.find_unused_parameters:
            for bucket in self._buckets[:self._next_bucket]:
                for work in bucket.works:
                    work.wait()
            names = ", ".join(self._names[i] for i in unused)
            raise RuntimeError(
                f"DistributedDataParallel: on rank {self._rank} these parameters received no "
                f"gradient in this backward: {names}. Make sure every parameter takes part in "
                "the loss, or pass find_unused_parameters=True")
        used_somewhere = None
        if self.find_unused_parameters:
            used = Tensor(np.array(self._ready, np.int32))
            for i in unused:
                self._mark_ready(i, None)
            self._launch_ready_buckets()
            dist.all_reduce(used, op=dist.ReduceOp.MAX)
            used_somewhere = used._data
        for bucket in self._buckets:
            for work in bucket.works:
                work.wait()
            for i in bucket.indices:
                if used_somewhere is not None and not used_somewhere[i]:
                    continue  # unused on every rank: .grad stays as it is (None), as PyTorch
                p = self._params[i]
                if i in bucket.own_grads:
                    if p.grad is not bucket.own_grads[i]:
                        p.grad = bucket.own_grads[i]
                    continue
                flat = bucket.flat._data
                start, stop = bucket.offsets[i]
                mean = flat[start:stop].reshape(p._data.shape)
                if p.grad is None or not _same_memory(p.grad._data, mean):
                    # .grad becomes a view of the bucket (PyTorch's gradient_as_bucket_view):
                    # no copy back; a later backward accumulates into it in place
                    p.grad = Tensor._make(mean)
                else:
                    p.grad._vc[0] += 1
            bucket.own_grads = {}


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` and ``b`` are the same elements of the same buffer (``.grad`` is already this
    view of its bucket)."""
    return a.__array_interface__["data"][0] == b.__array_interface__["data"][0] \
        and a.size == b.size and a.flags.c_contiguous and b.flags.c_contiguous


def _reducible_in_place(grad: Tensor, dtype: np.dtype) -> bool:
    """The accumulated gradient's own array can take the division and the all-reduce."""
    data = grad._data
    return (not grad._rg and data.dtype == dtype and data.flags.c_contiguous
            and data.flags.writeable)


def _hook(ddp: DistributedDataParallel, index: int):
    """The parameter's post-accumulate-grad hook; a weak reference, so that parameters and
    their DDP wrapper form no reference cycle."""
    ref = weakref.ref(ddp)

    def ready(_param: Tensor) -> None:
        owner = ref()
        if owner is not None:
            owner._grad_ready(index)
    return ready
