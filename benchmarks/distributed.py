"""Data-parallel training on MPI (issue 14): an MLP 784-4096-4096-10, float32, batch 256 per
rank, one BLAS thread per rank, on 1 and 2 ranks.

``.venv/bin/python benchmarks/distributed.py`` (about 5 minutes on a quiet 2-core machine;
``--rounds 5 --steps 5``) prints, per world size, medians over interleaved rounds (each round
one ``mpiexec -n 1`` and one ``mpiexec -n 2`` job) with the spread beside them:

- step: one DDP training step (forward, backward with bucketed all-reduces, SGD step);
- compute: the same step under ``no_sync()`` (no communication), timed in the same job;
- all-reduce: every gradient (80 MB) averaged by one blocking ``all_reduce``, nothing else;
- exposed: the median of step - compute over adjacent pairs, the communication that backward
  did not hide;
- hidden: 1 - exposed / all-reduce;
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
    ddp = DistributedDataParallel(model)
    rng = np.random.default_rng(rank)
    x = cr.tensor(rng.normal(size=(BATCH, SIZES[0])).astype(np.float32))
    y = cr.tensor(rng.integers(0, SIZES[-1], BATCH))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=1e-3)

    usage: dict[str, list[tuple[float, int]]] = {"step": [], "plain": []}

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

    flat = cr.zeros(sum(p.numel() for p in model.parameters()))

    def all_reduce() -> float:
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat, op=dist.ReduceOp.AVG)
        return time.perf_counter() - start

    step(ddp, True)  # warm-up: first touches of every buffer
    times: dict[str, list[float]] = {"step": [], "compute": [], "all_reduce": [], "plain": []}
    kinds = {"step": lambda: step(ddp, True, "step"), "compute": lambda: step(ddp, False),
             "all_reduce": all_reduce}
    if world == 1:
        kinds["plain"] = lambda: step(model, True, "plain")
    order = list(kinds)
    for i in range(steps):  # interleaved, the order rotating, so noise hits every kind alike
        for kind in order[i % len(order):] + order[:i % len(order)]:
            times[kind].append(kinds[kind]())
    times["exposed"] = [a - b for a, b in zip(times["step"], times["compute"])]
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
    print("| ranks | step | compute (no_sync) | all-reduce alone | exposed | hidden | "
          "samples/s | speed-up | efficiency | CPU per step (rank 0) | CPU speed-up | "
          "faults/step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for world, jobs in rounds.items():
        step = [j["step"] for j in jobs]
        exposed = statistics.median([j["exposed"] for j in jobs])
        reduce = statistics.median([j["all_reduce"] for j in jobs])
        hidden = 1 - exposed / reduce if reduce > 0 else float("nan")
        throughput = world * BATCH / statistics.median(step)
        cpu = [j["step_cpu"] for j in jobs]
        cpu_speedup = world * statistics.median(plain_cpu) / statistics.median(cpu)
        print(f"| {world} | {_spread(step)} | {_spread([j['compute'] for j in jobs])} | "
              f"{_spread([j['all_reduce'] for j in jobs])} | {exposed * 1e3:.1f} | "
              f"{max(0.0, min(1.0, hidden)):.0%} | {throughput:.0f} | "
              f"{throughput / base:.2f}x | {throughput / base / world:.0%} | {_spread(cpu)} | "
              f"{cpu_speedup:.2f}x | {statistics.median(j['step_faults'] for j in jobs):.0f} |")


if __name__ == "__main__":
    main()
