"""fit on N ranks (DDP, DistributedSampler, batch B per rank) equals fit in one process with
batch N*B: the same history (the job's sample-weighted means) and weights; rank 0 alone writes
checkpoints. argv[1]: a directory; rank r is given the checkpoint directory argv[1]/rank<r>."""

import sys
from pathlib import Path

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn, optim
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.training import fit
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
PER_RANK, STEPS = 4, 3
rng = np.random.default_rng(0)
n = PER_RANK * world * STEPS
X = rng.normal(size=(n, 3))
data = TensorDataset(cr.tensor(X), cr.tensor((X.sum(1) > 0).astype(np.int64)))
V = rng.normal(size=(2 * world * 5, 3))
val = TensorDataset(cr.tensor(V), cr.tensor((V.sum(1) > 0).astype(np.int64)))


def run(replicas: int, this_rank: int, batch: int, wrap: bool, directory):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(data, batch, sampler=DistributedSampler(
        data, num_replicas=replicas, rank=this_rank, seed=3))
    val_loader = DataLoader(val, 5, sampler=DistributedSampler(
        val, num_replicas=replicas, rank=this_rank, shuffle=False))
    history = fit(DistributedDataParallel(model) if wrap else model, nn.CrossEntropyLoss(),
                  optimizer, loader, epochs=3, val_loader=val_loader, metrics=["accuracy"],
                  checkpoint_dir=directory, progress=False)
    return model, history


directory = Path(sys.argv[1]) / f"rank{rank}"
model, history = run(world, rank, PER_RANK, True, directory)
reference, expected = run(1, 0, PER_RANK * world, False, None)
for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
    np.testing.assert_allclose(history[key], expected[key], rtol=1e-10, err_msg=key)
for p, q in zip(model.parameters(), reference.parameters()):
    np.testing.assert_allclose(p._data, q._data, rtol=1e-10, atol=1e-12)
if rank == 0:
    written = sorted(p.name for p in directory.iterdir())
    assert written == ["epoch-001.safetensors", "epoch-002.safetensors",
                       "epoch-003.safetensors", "last.safetensors"], written
else:
    assert not directory.exists(), f"rank {rank} wrote {directory}"
print(f"ok {rank}", flush=True)
