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
from chainrule.nn.parallel.distributed import UNCOPIED_BYTES

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
comm = process_group.comm()
assert process_group.shares_memory()

sizes = [0, 1, 15, 16, 17, 33, 1000, CHUNK_BYTES // 4 * world + 5]
for dtype in (np.float32, np.float64):
    window = process_group.allocate_shared(2 * sum(n * 8 + 64 for n in sizes))
    offset = 0
    for n, kept_elsewhere in [(n, k) for n in sizes for k in (False, True)]:
        mine, views = window.arrays(offset, n, dtype)
        offset += n * 8 + 64
        assert mine.dtype == dtype and mine.shape == (n,) and len(views) == world
        values = np.random.default_rng([rank, n]).normal(size=n).astype(dtype)
        everyone = np.stack(comm.allgather(values))
        mine[...] = values
        elsewhere = []
        lo, hi = window.slice(n, mine.itemsize)
        if kept_elsewhere and hi - lo > 2:  # two pieces of this rank's slice kept outside
            cuts = (lo, lo + 1, (lo + hi) // 2, hi - 1)
            elsewhere = [(cuts[0], cuts[1], values[cuts[0]:cuts[1]].copy()),
                         (cuts[2], cuts[3], values[cuts[2]:cuts[3]].copy())]
            for start, stop, _ in elsewhere:
                mine[start:stop] = np.nan  # never read
        window.average(views, elsewhere[::-1])
        tol = 1e-6 if dtype == np.float32 else 1e-14  # values of scale 1: rounding of sums
        np.testing.assert_allclose(mine, everyone.mean(0), rtol=tol, atol=tol,
                                   err_msg=f"{n} {dtype}")
        assert all(r.tobytes() == mine.tobytes() for r in comm.allgather(mine.copy())), n
        assert n == 0 or np.shares_memory(mine, views[rank])
del mine, views, window
first = len(process_group._windows)
assert first == 2, first

# the next allocation frees the two windows above: nothing references them any more
small = nn.Linear(4, 3)
ddp = DistributedDataParallel(small)
assert len(process_group._windows) == 1
ddp(cr.ones(2, 4) * (rank + 1)).sum().backward()
grad = small.weight.grad
np.testing.assert_allclose(grad._data, np.full((3, 4), 2 * (world + 1) / 2))
del ddp
gc.collect()
# the DDP is gone, but .grad still views its bucket: its window stays
DistributedDataParallel(nn.Linear(4, 3))
assert len(process_group._windows) == 2
# a gradient large enough that this rank's slice of it is reduced where it lies (not copied)
big = nn.Linear(512, 512, bias=False)
ddp = DistributedDataParallel(big)  # frees the previous DDP's window
assert len(process_group._windows) == 2
assert (ddp._buckets[0].slice[1] - ddp._buckets[0].slice[0]) * 4 >= UNCOPIED_BYTES
cr.manual_seed(0)
x = cr.randn(8, 512)  # the same on every rank
ddp(x * (rank + 1)).sum().backward()
np.testing.assert_allclose(big.weight.grad._data,
                           np.tile(x._data.sum(0), (512, 1)) * (world + 1) / 2, rtol=1e-5,
                           atol=1e-5)
del big, ddp
gc.collect()
dist.destroy_process_group()  # frees the last (unreferenced), keeps the first
assert len(process_group._windows) == 1
np.testing.assert_allclose(grad._data, np.full((3, 4), 2 * (world + 1) / 2))
small.zero_grad()  # .grad of weight and bias: None
del grad
gc.collect()
dist.init_process_group("mpi")
DistributedDataParallel(nn.Linear(4, 3))  # in the new group: the first is freed now
assert len(process_group._windows) == 1  # the new DDP's window, freed at exit
print(f"ok {rank}", flush=True)
