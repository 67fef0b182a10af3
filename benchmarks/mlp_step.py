"""One training step of an MLP 784-256-256-10, batch 128, float32 (cross-entropy, SGD), one thread:
chainrule vs the same network written by hand in NumPy vs PyTorch, each in its own process.

``python benchmarks/mlp_step.py`` prints the medians and the ratios to hand-written NumPy. Every
framework starts from the same weights and batch, so the losses printed must agree.
"""

from __future__ import annotations

import argparse
import sys

import _harness as H

# (framework, variant, label)
MLP_PEERS = [
    ("numpy", None, "hand-written NumPy"),
    ("chainrule", "raw", "chainrule (raw Tensors)"),
    ("chainrule", "nn", "chainrule (nn + optim)"),
    ("tape-floor", None, "bare Python tape (floor)"),
    ("torch", None, "PyTorch"),
]


def collect(bench="mlp", peers=MLP_PEERS, threads=1, unset=False, steps=50, warmup=10,
            rounds=1) -> list[dict]:
    """One worker per framework (and round); see ``_harness.best_of_rounds``."""
    def job(framework, variant):
        return lambda: H.run_worker(framework, bench, threads, unset, steps=steps,
                                    warmup=warmup, variant=variant)

    return H.best_of_rounds([(label, job(fw, variant)) for fw, variant, label in peers], rounds)


def report(results: list[dict], floor_label="hand-written NumPy", ref_label="PyTorch") -> str:
    ok = {r["label"]: r for r in results if "error" not in r}
    floor, ref = ok.get(floor_label), ok.get(ref_label)
    lines = [f"| framework | step (median) | p10-p90 | vs {floor_label} | vs {ref_label} | "
             "first loss | page faults / step | BLAS kernel | medians of all rounds |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | | | | |")
            continue
        kernel = ", ".join(f"{b.get('internal_api')} {b.get('architecture')}"
                           for b in r.get("blas", []) if b.get("internal_api")) or "—"
        vs_floor = f"{r['median_s'] / floor['median_s']:.2f}x" if floor else "—"
        vs_ref = f"{r['median_s'] / ref['median_s']:.2f}x" if ref else "—"
        lines.append(f"| {r['label']} | {H.fmt_time(r['median_s'])} | "
                     f"{H.fmt_time(r['p10_s'])}-{H.fmt_time(r['p90_s'])} | {vs_floor} | "
                     f"{vs_ref} | {r['first_loss']:.6f} | {r['page_faults_per_step']:.0f} | "
                     f"{kernel} | "
                     + " / ".join(H.fmt_time(m) for m in r.get("round_medians_s", [])) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best is kept")
    args = p.parse_args(argv)
    print(f"MLP 784-256-256-10, batch 128, float32, {args.threads} thread(s), median of "
          f"{args.steps} steps after warm-up, best of {args.rounds} interleaved rounds:\n")
    print(report(collect(threads=args.threads, steps=args.steps, rounds=args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
