"""Per-op overhead and deep chains: chainrule vs PyTorch, each in its own process, one thread.

``python benchmarks/op_overhead.py`` prints, in one run:
- forward + backward cost per op of a 1,000-op chain on a 10-element tensor (``h * w`` and
  ``tanh`` alternating, then ``sum``), chainrule with anomaly mode off (the default), on, and
  with the anomaly check cut out of the recording path (what the check costs when off);
- a 100,000-op chain: forward and backward time, memory held by the graph, what is left after
  backward, and backward time at 10k / 30k / 100k ops (linear in depth).
"""

from __future__ import annotations

import argparse
import sys

import _harness as H

CHAIN_OPS, CHAIN_SIZE = 1000, 10
DEPTHS = (10_000, 30_000, 100_000)

# (framework, variant, label); the variant of chainrule is its anomaly mode
CHAIN_PEERS = [
    ("chainrule", "off", "chainrule"),
    ("chainrule", "core", "chainrule, anomaly check removed (prototype)"),
    ("chainrule", "on", "chainrule, detect_anomaly() on"),
    ("torch", None, "PyTorch"),
]
DEEP_PEERS = [("chainrule", None, "chainrule"), ("torch", None, "PyTorch")]


def collect_chain(peers=CHAIN_PEERS, steps=50, warmup=10, threads=1, unset=False,
                  timeout=240, rounds=1) -> list[dict]:
    """One worker per framework (and round); see ``_harness.best_of_rounds``."""
    def job(framework, variant):
        options = {"steps": steps, "warmup": warmup, "n_ops": CHAIN_OPS, "size": CHAIN_SIZE}
        if framework == "chainrule":
            options["anomaly"] = variant
        elif variant is not None:
            options["variant"] = variant
        return lambda: H.run_worker(framework, "op_chain", threads, unset, timeout, **options)

    return H.best_of_rounds([(label, job(fw, variant)) for fw, variant, label in peers], rounds)


def collect_deep(peers=DEEP_PEERS, depths=DEPTHS, steps=5, threads=1) -> list[dict]:
    results = []
    for framework, _variant, label in peers:
        for depth in depths:
            r = H.run_worker(framework, "deep_chain", threads, depth=depth, steps=steps,
                             size=CHAIN_SIZE)
            r["label"], r["depth"] = label, depth
            results.append(r)
    return results


def report_chain(results: list[dict]) -> str:
    torch = next((r for r in results if r.get("framework") == "torch" and "error" not in r),
                 None)
    rounds = max((len(r.get("round_medians_s", [])) for r in results), default=1)
    lines = [f"{CHAIN_OPS}-op chain on a {CHAIN_SIZE}-element float32 tensor, forward + "
             "backward, per op (median of the steps, best of "
             f"{rounds} interleaved round{'s' if rounds > 1 else ''}; p10-p90 in brackets):", "",
             "| framework | per op | step | vs PyTorch |", "|---|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | | |")
            continue
        ratio = f"{r['per_op_s'] / torch['per_op_s']:.2f}x" if torch else "—"
        lines.append(f"| {r['label']} | {H.fmt_time(r['per_op_s'])} | "
                     f"{H.fmt_time(r['median_s'])} [{H.fmt_time(r['p10_s'])}-"
                     f"{H.fmt_time(r['p90_s'])}] | {ratio} |")
    ok = {r["label"]: r for r in results if "error" not in r}
    default = ok.get("chainrule")
    core = ok.get("chainrule, anomaly check removed (prototype)")
    if default and core:
        lines += ["", "Anomaly mode off vs the check removed, fastest decile per op (least "
                  f"disturbed by other load): {H.fmt_time(default['p10_s'] / CHAIN_OPS)} vs "
                  f"{H.fmt_time(core['p10_s'] / CHAIN_OPS)}."]
    return "\n".join(lines)


def report_deep(results: list[dict]) -> str:
    lines = ["Chains of 10k / 30k / 100k ops (`h * w` and `tanh` alternating on 10 elements): "
             "medians of the timed runs; memory from tracemalloc (Python and NumPy allocations: "
             "PyTorch's own graph lives in C++ and does not show there) and the RSS high-water "
             "mark (process-wide, above the level before the measured forward).", "",
             "| framework | depth | forward | backward | backward per op | graph after forward "
             "| left after backward (output alive) | left after `del` | RSS peak |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['label']} | {r['depth']:,} | failed: {r['error']} "
                         "| | | | | | |")
            continue
        lines.append(
            f"| {r['label']} | {r['depth']:,} | {H.fmt_time(r['forward_s'])} | "
            f"{H.fmt_time(r['backward_s'])} | {H.fmt_time(r['backward_s'] / r['depth'])} | "
            f"{H.fmt_bytes(r['graph_bytes_after_forward'])} | "
            f"{H.fmt_bytes(r['bytes_left_after_backward'])} | "
            f"{H.fmt_bytes(r['bytes_after_del'])} | {H.fmt_bytes(r['rss_peak_kib'] * 1024)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=50, help="timed steps of the 1,000-op chain")
    p.add_argument("--deep-steps", type=int, default=5, help="timed runs per deep chain")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best is kept")
    args = p.parse_args(argv)
    print(report_chain(collect_chain(steps=args.steps, rounds=args.rounds)))
    print()
    print(report_deep(collect_deep(steps=args.deep_steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
