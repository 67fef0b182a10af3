"""Data-parallel building blocks with ``torch.distributed``'s names, on MPI (``mpi4py``).

``import chainrule.distributed as dist; dist.init_process_group("mpi");
dist.all_reduce(t, op=dist.ReduceOp.AVG)``; launch with ``mpiexec -n 4 python train.py``.
Needs ``pip install chainrule[distributed]`` (mpi4py and the MPICH wheel, or a site MPI).
"""

from .collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    reduce_scatter,
)
from .process_group import (
    abort,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    launched_rank,
    launched_world_size,
)

__all__ = [
    "ReduceOp", "Work", "abort", "all_gather", "all_reduce", "barrier", "broadcast",
    "destroy_process_group", "get_backend", "get_rank", "get_world_size", "init_process_group",
    "is_available", "is_initialized", "launched_rank", "launched_world_size",
    "reduce_scatter",
]
