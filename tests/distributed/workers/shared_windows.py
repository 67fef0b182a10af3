"""The shared-memory averaging and the windows' lifecycle, under mpiexec.

Every size (empty, under a cache line, uneven across 3 ranks, several pieces) in float32 and
float64 ends as the mean of the ranks' arrays on every rank, with the same bits everywhere.
A window is freed (collectively) only once no rank references its arrays, and at exit.
"""

import gc

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.distributed import process_group
from chainrule.distributed.shared import CHUNK_BYTES
from chainrule.nn.parallel import DistributedDataParallel

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
comm = process_group.comm()
assert process_group.shares_memory()

sizes = [0, 1, 15, 16, 17, 33, 1000, CHUNK_BYTES // 4 * world + 5]
for dtype in (np.float32, np.float64):
    window = process_group.allocate_shared(sum(n * 8 + 64 for n in sizes))
    offset = 0
    for n in sizes:
        mine, views = window.arrays(offset, n, dtype)
        offset += n * 8 + 64
        assert mine.dtype == dtype and mine.shape == (n,) and len(views) == world
        mine[...] = np.random.default_rng([rank, n]).normal(size=n)
        everyone = np.stack(comm.allgather(mine.copy()))
        window.average(views)
        tol = 1e-6 if dtype == np.float32 else 1e-14  # values of scale 1: rounding of sums
        np.testing.assert_allclose(mine, everyone.mean(0), rtol=tol, atol=tol,
                                   err_msg=f"{n} {dtype}")
        assert all(r.tobytes() == mine.tobytes() for r in comm.allgather(mine.copy())), n
        assert n == 0 or np.shares_memory(mine, views[rank])
del mine, views, window
first = len(process_group._windows)
assert first == 2, first

# the next allocation frees the two windows above: nothing references them any more
model = nn.Linear(4, 3)
ddp = DistributedDataParallel(model)
assert len(process_group._windows) == 1
ddp(cr.ones(2, 4) * (rank + 1)).sum().backward()
grad = model.weight.grad
np.testing.assert_allclose(grad._data, np.full((3, 4), 2 * (world + 1) / 2))
del ddp
gc.collect()
# the DDP is gone, but .grad still views its bucket: its window stays
DistributedDataParallel(nn.Linear(4, 3))
assert len(process_group._windows) == 2
dist.destroy_process_group()  # frees the second (unreferenced), keeps the first
assert len(process_group._windows) == 1
np.testing.assert_allclose(grad._data, np.full((3, 4), 2 * (world + 1) / 2))
model.zero_grad()  # .grad of weight and bias: None
del grad
gc.collect()
dist.init_process_group("mpi")
DistributedDataParallel(nn.Linear(4, 3))  # in the new group: the first is freed now
assert len(process_group._windows) == 1  # the new DDP's window, freed at exit
print(f"ok {rank}", flush=True)
