"""Unused parameters (reported by name, or handled), different shapes across ranks, and .grad
accumulating across synchronised backwards (it is a view of the bucket after the first).

``ddp_errors.py [bucket_cap_mb] [--mpi]``: in shared memory (the default on one node) every
gradient is packed; with ``--mpi`` buckets are averaged by MPI's all-reduce, and with a cap of
0 every gradient is larger than a bucket and is reduced in its own array instead of being
packed.
"""

import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.nn.parallel import distributed as ddp_module

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
SHARED = "--mpi" not in sys.argv
CAPS = [float(a) for a in sys.argv[1:] if a != "--mpi"]
CAP = CAPS[0] if CAPS else None


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2)
        self.sometimes = nn.Linear(3, 2)
        self.never = nn.Linear(3, 2)

    def forward(self, x, branch):
        out = self.used(x)
        return out + self.sometimes(x) if branch else out


def expect_error(make, message):
    try:
        make()
    except RuntimeError as e:
        assert message in str(e), e
    else:
        raise AssertionError(f"no error containing {message!r}")


cr.manual_seed(0)
x = cr.randn(4, 3)
ddp = DistributedDataParallel(Branchy(), bucket_cap_mb=CAP, shared_memory=SHARED)
expect_error(lambda: ddp(x, True).sum().backward(),
             "these parameters received no gradient in this backward: never.weight, never.bias")

model = Branchy()
ddp = DistributedDataParallel(model, bucket_cap_mb=CAP, find_unused_parameters=True,
                              shared_memory=SHARED)
ddp(x * (rank + 1), rank == 0).sum().backward()  # 'sometimes' is used on rank 0 only
assert model.never.weight.grad is None and model.never.bias.grad is None
reference = Branchy()
reference.load_state_dict(model.state_dict())
reference(x, True).sum().backward()  # rank 0's gradient of 'sometimes'
np.testing.assert_allclose(model.sometimes.weight.grad._data,
                           reference.sometimes.weight.grad._data / world, rtol=1e-6)
mean_scale = sum(range(1, world + 1)) / world
np.testing.assert_allclose(model.used.weight.grad._data,
                           reference.used.weight.grad._data * mean_scale, rtol=1e-6)

expect_error(lambda: DistributedDataParallel(nn.Linear(3 + (rank == 1), 2)),
             "rank 1's parameters differ from rank 0's (name, shape, dtype): "
             "('weight', (2, 3), 'float32') vs ('weight', (2, 4), 'float32')")

model, reference = nn.Linear(3, 2), nn.Linear(3, 2)
# rank 0's weights (the ranks' generators differ now)
ddp = DistributedDataParallel(model, bucket_cap_mb=CAP, shared_memory=SHARED)
reference.load_state_dict(model.state_dict())
for k in range(3):  # no zero_grad: every backward adds its mean over the ranks
    ddp(x * (rank + 1) * (k + 1)).square().sum().backward()
    for r in range(world):
        reference(x * (r + 1) * (k + 1)).square().sum().div(world).backward()
    np.testing.assert_allclose(model.weight.grad._data, reference.weight.grad._data, rtol=1e-5)
if CAP == 0 and not SHARED:  # every gradient was reduced in its own array: nothing packed
    assert not any(bucket.offsets for bucket in ddp._buckets)
else:  # .grad is a view of its bucket
    assert np.shares_memory(model.weight.grad._data, ddp._buckets[-1].flat._data)
    assert model.weight.grad._data.size == ddp._buckets[-1].flat._data.size - (CAP != 0) * 2


class WithEmpty(nn.Module):  # an empty parameter: with a cap of 0, an empty bucket
    def __init__(self):
        super().__init__()
        self.empty = nn.Parameter(cr.zeros(0))
        self.weight = nn.Parameter(cr.ones(3))

    def forward(self, x):
        return (x * self.weight).sum() + self.empty.sum()


model = WithEmpty()
ddp = DistributedDataParallel(model, bucket_cap_mb=CAP, shared_memory=SHARED)
ddp(x[0] * (rank + 1)).backward()
np.testing.assert_allclose(model.weight.grad._data, x[0]._data * (world + 1) / 2, rtol=1e-6)
assert model.empty.grad.shape == (0,)
if CAP == 0:
    assert [b.size for b in ddp._buckets] == ([3, 0] if SHARED else [0, 0])
assert ddp.shared_memory is SHARED
# on one node the default is shared memory, unless the window would not fit in it
assert DistributedDataParallel(nn.Linear(3, 2)).shared_memory is True
ddp_module.shared_memory_fits = lambda nbytes: False
assert DistributedDataParallel(nn.Linear(3, 2)).shared_memory is False
expect_error(lambda: DistributedDataParallel(nn.Linear(3, 2), shared_memory=True),
             "shared_memory=True needs 0.0 MiB per rank in /dev/shm, which has less free")
print(f"ok {rank}", flush=True)
