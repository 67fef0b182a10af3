"""Recorded events: the first bucket's reduction starts before the first layer's backward.

``ddp_overlap.py [--mpi]``: buckets averaged in shared memory (the ranks reduce slices during
backward), or by MPI's non-blocking all-reduce with ``--mpi``.
"""

import sys

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel

SHARED = "--mpi" not in sys.argv
dist.init_process_group()  # backend from the MPI environment alone
rank = dist.get_rank()
events = []
all_reduce = dist.all_reduce
reduce_bucket = DistributedDataParallel._reduce_bucket


def recording_all_reduce(tensor, *args, **kwargs):
    events.append(("all_reduce", tensor.numel()))
    return all_reduce(tensor, *args, **kwargs)


def recording_reduce_bucket(self, bucket):
    events.append(("reduce bucket", bucket.size))
    return reduce_bucket(self, bucket)


dist.all_reduce = recording_all_reduce
DistributedDataParallel._reduce_bucket = recording_reduce_bucket
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                      nn.Linear(512, 10))
ddp = DistributedDataParallel(model, bucket_cap_mb=1, shared_memory=SHARED)


def record_first_layer_backward(module, inputs, out):
    # the gradient reaching the first layer's output: that layer's backward runs right after
    out.register_hook(lambda g: events.append(("layer 0 backward",)))


model[0].register_forward_hook(record_first_layer_backward)
model[0].weight.register_post_accumulate_grad_hook(
    lambda p: events.append(("layer 0 weight grad",)))
loss = ddp(cr.randn(32, 64)).square().mean()
loss.backward()
events.append(("backward returned",))
names = [e[0] for e in events]
first = names.index("reduce bucket")
assert first < names.index("layer 0 backward") < names.index("layer 0 weight grad"), events
last_layer = model[4].weight.numel() + model[4].bias.numel() + model[2].bias.numel() \
    + model[2].weight.numel()
assert events[first] == ("reduce bucket", last_layer), events  # PyTorch's ~1 MiB first bucket
assert names.count("reduce bucket") == 2 and names[-1] == "backward returned", events
if SHARED:  # the ranks reduce the window themselves: no MPI all-reduce
    assert "all_reduce" not in names, events
else:  # each bucket's all-reduce starts as the bucket is reduced
    assert [e for e in events if e[0] == "all_reduce"] == [
        ("all_reduce", e[1]) for e in events if e[0] == "reduce bucket"], events
    assert names[first + 1] == "all_reduce", events
print(f"ok {rank}", flush=True)
