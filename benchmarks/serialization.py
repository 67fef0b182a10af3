"""Peak memory and time of ``cr.save`` / ``cr.load`` over the payload size (issue 11, item 5).

    .venv/bin/python benchmarks/serialization.py            # 5 interleaved rounds, 200 MB
    .venv/bin/python benchmarks/serialization.py --mb 50 --rounds 7

Each measurement runs in a fresh process (so one round's heap does not shape the next). The
payload is a state dict of float32 tensors (a few large, many small, like a model's). Figures
are peak memory during the call over the payload size, counting the payload itself (held by the
caller during ``save``, returned by ``load``), so the ideal is 1.0x:

- RSS: the kernel's high-water mark (reset through ``/proc/self/clear_refs``) minus the RSS
  before the payload existed (so the interpreter and NumPy do not count);
- traced: tracemalloc's peak (Python and NumPy allocations) over the same span.

Medians over the rounds, with the min and max beside them.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import _harness as H


def _payload(mb: int):
    import chainrule as cr

    gen = cr.Generator(0)
    n = mb * 2**20 // 4
    big = [n // 2, n // 4, n // 8]  # three large weights, the rest in 64 small ones
    small = (n - sum(big)) // 64
    sizes = big + [small] * 64
    return {"model": {f"layer{i}.weight": cr.randn(s, generator=gen)
                      for i, s in enumerate(sizes)}, "epoch": 3}, sum(sizes) * 4


def _measure(op: str, mb: int, path: Path) -> dict:
    import chainrule as cr

    gc.collect()
    H.reset_peak_rss()
    rss_start, _ = H.rss_kib()
    tracemalloc.start()
    if op == "save":
        obj, nbytes = _payload(mb)
        gc.collect()
        H.reset_peak_rss()
        tracemalloc.reset_peak()
        t0 = time.perf_counter()
        cr.save(obj, path)
    else:
        nbytes = path.stat().st_size
        t0 = time.perf_counter()
        obj = cr.load(path)
    seconds = time.perf_counter() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    _, rss_peak = H.rss_kib()
    tracemalloc.stop()
    return {"seconds": seconds, "rss": (rss_peak - rss_start) * 1024 / nbytes,
            "traced": traced_peak / nbytes}


def _one(op: str, mb: int, path: str) -> None:
    print(json.dumps(_measure(op, mb, Path(path))))


def _run(op: str, mb: int, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", op, "--mb", str(mb),
                          "--path", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(values: list[float], unit: str) -> str:
    return (f"{statistics.median(values):.2f}{unit} "
            f"[{min(values):.2f}-{max(values):.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="payload size in MiB")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", choices=("save", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.mb, args.path)
        return
    results: dict[str, list[dict]] = {"save": [], "load": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.safetensors"
        for _ in range(args.rounds):  # interleaved: save then load, every round
            for op in ("save", "load"):
                results[op].append(_run(op, args.mb, path))
    print(f"payload {args.mb} MiB of float32 tensors, {args.rounds} rounds "
          "(median [min-max]); peak memory over payload, the payload included")
    for op, rows in results.items():
        print(f"  {op}: RSS {_summary([r['rss'] for r in rows], 'x')}   "
              f"traced {_summary([r['traced'] for r in rows], 'x')}   "
              f"time {_summary([r['seconds'] for r in rows], ' s')}")


if __name__ == "__main__":
    main()
