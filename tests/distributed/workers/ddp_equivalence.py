"""N ranks on shards of each global batch end K optimizer steps with the parameters of one
process on the whole batch: SGD and Adam, float64 and float32, plain, with no_sync gradient
accumulation, and with BatchNorm.

``ddp_equivalence.py [--mpi]``: buckets averaged in shared memory (with 3 ranks the slices
are uneven, some empty), or by MPI's all-reduce with ``--mpi``.

BatchNorm without SyncBatchNorm (PyTorch's DDP too) normalises each rank's shard with that
shard's statistics, and broadcasts rank 0's running statistics before every forward. The one-
process reference therefore runs the shards one after another through the same weights, takes
the mean of their losses, and keeps the running statistics that shard 0 produced.
"""

import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn, optim
from chainrule.nn.parallel import DistributedDataParallel

SHARED = "--mpi" not in sys.argv
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
STEPS, PER_RANK, MICRO = 3, 4, 2
TOL = {np.float64: 1e-10, np.float32: 1e-5}


def assert_close(actual: np.ndarray, desired: np.ndarray, tol: float, label: str) -> None:
    """Relative to each element and to the tensor's scale: a float32 weight that crosses zero
    differs from the reference by rounding of the others' size, not of its own."""
    np.testing.assert_allclose(actual, desired, rtol=tol, atol=tol * np.abs(desired).max(),
                               err_msg=label)


def make_model(kind: str, seed: int, dtype) -> nn.Module:
    cr.manual_seed(seed)
    if kind == "batchnorm":
        # no bias before BatchNorm: its gradient is exactly zero, so Adam would amplify rounding
        model = nn.Sequential(nn.Linear(5, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(),
                              nn.Linear(8, 2))
    else:
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                              nn.Linear(8, 2))
    return model.to(dtype)


def batches(step: int, dtype):
    """The global batches of one optimizer step (MICRO of them for gradient accumulation)."""
    rng = np.random.default_rng(step)
    n = PER_RANK * world
    return [(cr.tensor(rng.normal(size=(n, 5)).astype(dtype)),
             cr.tensor(rng.normal(size=(n, 2)).astype(dtype))) for _ in range(MICRO)]


def shard(t: cr.Tensor, r: int) -> cr.Tensor:
    return t[r * PER_RANK:(r + 1) * PER_RANK]


def make_optimizer(name: str, params):
    return optim.SGD(params, lr=0.1, momentum=0.9) if name == "sgd" else \
        optim.Adam(params, lr=0.01)


def distributed_run(kind: str, opt: str, dtype, mode: str) -> nn.Module:
    model = make_model(kind, seed=100 + rank, dtype=dtype)  # rank 0's weights get broadcast
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.0001,  # several buckets
                                  shared_memory=SHARED)
    optimizer = make_optimizer(opt, ddp.parameters())
    loss_fn = nn.MSELoss()
    for step in range(STEPS):
        optimizer.zero_grad()
        micro = batches(step, dtype) if mode == "no_sync" else batches(step, dtype)[:1]
        for i, (x, y) in enumerate(micro):
            if i < len(micro) - 1:
                with ddp.no_sync():
                    loss_fn(ddp(shard(x, rank)), shard(y, rank)).backward()
            else:
                loss_fn(ddp(shard(x, rank)), shard(y, rank)).backward()
        optimizer.step()
    return model


def reference_run(kind: str, opt: str, dtype, mode: str) -> nn.Module:
    model = make_model(kind, seed=100, dtype=dtype)
    optimizer = make_optimizer(opt, model.parameters())
    loss_fn = nn.MSELoss()
    for step in range(STEPS):
        optimizer.zero_grad()
        micro = batches(step, dtype) if mode == "no_sync" else batches(step, dtype)[:1]
        for x, y in micro:
            if kind == "batchnorm":
                losses, kept = [], None
                for r in range(world):
                    losses.append(loss_fn(model(shard(x, r)), shard(y, r)))
                    if r == 0:
                        kept = {k: v._data.copy() for k, v in model.named_buffers()}
                for k, v in model.named_buffers():
                    v._data[...] = kept[k]
                (sum(losses) / world).backward()
            else:
                loss_fn(model(x), y).backward()
        optimizer.step()
    return model


for kind, mode in (("mlp", "plain"), ("mlp", "no_sync"), ("batchnorm", "plain")):
    for opt in ("sgd", "adam"):
        for dtype in (np.float64, np.float32):
            ours = distributed_run(kind, opt, dtype, mode)
            want = reference_run(kind, opt, dtype, mode)
            label = f"{kind} {mode} {opt} {dtype.__name__}"
            for (name, p), (_, q) in zip(ours.named_parameters(), want.named_parameters()):
                assert p.dtype == dtype, label
                assert_close(p._data, q._data, TOL[dtype], f"{label}: {name}")
            if rank == 0:
                for (name, b), (_, c) in zip(ours.named_buffers(), want.named_buffers()):
                    assert_close(b._data, c._data, TOL[dtype], f"{label}: buffer {name}")
print(f"ok {rank}", flush=True)
