"""Data-parallel training on MPI (issue 14): an MLP 784-4096-4096-10, float32, batch 256 per
rank, one BLAS thread per rank, on 1 and 2 ranks.

``.venv/bin/python benchmarks/distributed.py`` (about 6 minutes on a quiet 2-core machine;
``--rounds 5 --steps 5``) prints, per world size and way of averaging, medians over
interleaved rounds (each round one ``mpiexec -n 1`` and one ``mpiexec -n 2`` job) with the
spread beside them. Each job wraps the model twice: DDP as it runs on one node (buckets in a
shared-memory window, averaged by the ranks) and DDP with ``shared_memory=False`` (MPI's
non-blocking all-reduce, what runs across nodes), their steps interleaved in the same job:

- step: one DDP training step (forward, backward with bucketed averaging, SGD step);
- compute: the same step under ``no_sync()`` (no communication), timed in the same job;
- alone: every gradient (80 MB) averaged by itself, nothing else: one blocking ``all_reduce``
  (MPI), or the ranks' average of an 80 MB shared window (shared memory);
- exposed: the median of step - compute over adjacent pairs, the communication that backward
  did not hide;
- hidden: 1 - exposed / alone;
- throughput: samples per second of the whole job, speed-up and scaling efficiency against
  one plain process (no DDP) running the same step;
- CPU and faults: rank 0's CPU time (all its threads, MPI's included) and minor page faults
  per DDP step (per plain step on one rank): figures that a loaded machine disturbs far less
  than wall-clock time. On two cores the ranks' CPU time is the step's time, so
  2 x plain CPU / DDP CPU predicts the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIZES = (784, 4096, 4096, 10)
BATCH = 256


def worker(steps: int) -> None:
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import nn, optim
    from chainrule.distributed.process_group import allocate_shared
    from chainrule.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    cr.manual_seed(0)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(SIZES, SIZES[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    # both wrap the same model: a DDP's hooks act only after its own forward
    ddps = {"shared": DistributedDataParallel(model, shared_memory=True),
            "mpi": DistributedDataParallel(model, shared_memory=False)}
    ddp = ddps["shared"]
    rng = np.random.default_rng(rank)
    x = cr.tensor(rng.normal(size=(BATCH, SIZES[0])).astype(np.float32))
    y = cr.tensor(rng.integers(0, SIZES[-1], BATCH))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=1e-3)

    usage: dict[str, list[tuple[float, int]]] = {"step_shared": [], "step_mpi": [],
                                                  "plain": []}

    def step(net, sync: bool, kind: str = "") -> float:
        dist.barrier()
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        optimizer.zero_grad()
        if sync:
            loss_fn(net(x), y).backward()
        else:
            with ddp.no_sync():
                loss_fn(net(x), y).backward()
        optimizer.step()
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        if kind:
            usage[kind].append((after.ru_utime + after.ru_stime - before.ru_utime
                                - before.ru_stime, after.ru_minflt - before.ru_minflt))
        return elapsed

    count = sum(p.numel() for p in model.parameters())
    flat = cr.zeros(count)
    window = allocate_shared(count * 4)
    _, views = window.arrays(0, count, np.float32)

    def all_reduce() -> float:
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat, op=dist.ReduceOp.AVG)
        return time.perf_counter() - start

    def shared_average() -> float:
        dist.barrier()
        start = time.perf_counter()
        window.average(views)
        return time.perf_counter() - start

    for net in ddps.values():
        step(net, True)  # warm-up: first touches of every buffer
    kinds = {"step_shared": lambda: step(ddps["shared"], True, "step_shared"),
             "step_mpi": lambda: step(ddps["mpi"], True, "step_mpi"),
             "compute": lambda: step(ddp, False),
             "alone_mpi": all_reduce, "alone_shared": shared_average}
    if world == 1:
        kinds["plain"] = lambda: step(model, True, "plain")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    order = list(kinds)
    for i in range(steps):  # interleaved, the order rotating, so noise hits every kind alike
        for kind in order[i % len(order):] + order[:i % len(order)]:
            times[kind].append(kinds[kind]())
    for path in ddps:
        times[f"exposed_{path}"] = [a - b for a, b in zip(times[f"step_{path}"],
                                                          times["compute"])]
    for kind, pairs in usage.items():
        if pairs:
            times[f"{kind}_cpu"] = [cpu for cpu, _ in pairs]
            times[f"{kind}_faults"] = [faults for _, faults in pairs]
    if rank == 0:
        print(json.dumps({"world": world, **{k: statistics.median(v) for k, v in times.items()
                                             if v}}), flush=True)


def _job(world: int, steps: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    mpiexec = Path(sys.executable).parent / "mpiexec"
    out = subprocess.run([str(mpiexec), "-n", str(world), sys.executable, __file__, "--worker",
                          "--steps", str(steps)], env=env, capture_output=True, text=True,
                         timeout=1800, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _spread(values: list[float], scale: float = 1e3) -> str:
    return (f"{statistics.median(values) * scale:8.1f} "
            f"[{min(values) * scale:.0f}-{max(values) * scale:.0f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per job and kind")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps)
        return
    rounds: dict[int, list[dict]] = {1: [], 2: []}
    for r in range(args.rounds):
        for world in rounds:
            rounds[world].append(_job(world, args.steps))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    plain = [job["plain"] for job in rounds[1]]
    base = BATCH / statistics.median(plain)
    print(f"MLP {'-'.join(map(str, SIZES))}, float32, batch {BATCH} per rank, 1 BLAS thread per "
          f"rank; medians of {args.rounds} rounds x {args.steps} steps [min-max of the round "
          f"medians], times in ms")
    plain_cpu = [job["plain_cpu"] for job in rounds[1]]
    print(f"one plain process (no DDP): step {_spread(plain)}, {base:.0f} samples/s, CPU "
          f"{_spread(plain_cpu)}, {statistics.median(j['plain_faults'] for j in rounds[1]):.0f} "
          "minor faults per step")
    print("| ranks | averaging | step | compute (no_sync) | averaging alone | exposed | hidden "
          "| samples/s | speed-up | efficiency | CPU per step (rank 0) | CPU speed-up | "
          "faults/step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for world, jobs in rounds.items():
        for path, label in (("shared", "shared memory"), ("mpi", "MPI all-reduce")):
            step = [j[f"step_{path}"] for j in jobs]
            exposed = statistics.median([j[f"exposed_{path}"] for j in jobs])
            alone = [j[f"alone_{path}"] for j in jobs]
            hidden = 1 - exposed / statistics.median(alone) if max(alone) > 0 else float("nan")
            throughput = world * BATCH / statistics.median(step)
            cpu = [j[f"step_{path}_cpu"] for j in jobs]
            cpu_speedup = world * statistics.median(plain_cpu) / statistics.median(cpu)
            faults = statistics.median(j[f"step_{path}_faults"] for j in jobs)
            print(f"| {world} | {label} | {_spread(step)} | "
                  f"{_spread([j['compute'] for j in jobs])} | {_spread(alone)} | "
                  f"{exposed * 1e3:.1f} | {max(0.0, min(1.0, hidden)):.0%} | "
                  f"{throughput:.0f} | {throughput / base:.2f}x | "
                  f"{throughput / base / world:.0%} | {_spread(cpu)} | {cpu_speedup:.2f}x | "
                  f"{faults:.0f} |")


if __name__ == "__main__":
    main()
