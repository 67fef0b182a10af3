"""The benchmark suite (``make bench``): every framework in its own process, 1 and 2 threads,
medians after warm-up, written to ``benchmarks/RESULTS.md`` with versions, CPU and BLAS.

``python benchmarks/run.py`` (about 15 minutes here); ``--quick`` for a smoke run with few steps.
Peers come from ``benchmarks/requirements.txt``; one that is missing or fails is recorded in
RESULTS.md with the reason, and the rest still runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time

import _harness as H
import mlp_step
import op_overhead

PEERS = [
    ("numpy", None, "hand-written NumPy"),
    ("chainrule", "raw", "chainrule (raw Tensors)"),
    ("chainrule", "nn", "chainrule (nn + optim)"),
    ("torch", None, "PyTorch"),
    ("mygrad", None, "MyGrad"),
    ("autograd", None, "HIPS autograd"),
    ("tinygrad", None, "tinygrad"),
    ("jax", "eager", "JAX eager"),
    ("jax", "jit", "JAX jit"),
]
TINY_PEERS = PEERS + [("micrograd", None, "micrograd")]
CHAIN_PEERS = op_overhead.CHAIN_PEERS + [
    ("mygrad", None, "MyGrad"),
    ("autograd", None, "HIPS autograd"),
    ("tinygrad", None, "tinygrad"),
    ("jax", "eager", "JAX eager"),
    ("jax", "jit", "JAX jit (whole chain compiled: no per-op dispatch left)"),
]
# the 1,200-step memory run is skipped for peers whose step takes ~0.1 s or more
MEMORY_PEERS = [p for p in PEERS if p[0] not in ("tinygrad",) and p[1] != "eager"]
NUMPY_BASED = ("numpy", "chainrule", "mygrad", "autograd")


class Suite:
    def __init__(self, quick: bool, threads: tuple[int, ...]) -> None:
        self.quick = quick
        self.threads = threads
        self.steps = 10 if quick else 50
        self.warmup = 3 if quick else 10
        # the 1-thread step tables and the per-op chain carry the targets: best of 3
        # interleaved rounds there, one round elsewhere
        self.rounds = 1 if quick else 3
        self.results: dict[str, list] = {}
        self.log: list[str] = []

    def note(self, text: str) -> None:
        print(text, flush=True)
        self.log.append(text)

    def run(self) -> None:
        t0 = time.time()
        self.load_before = _load()
        overrides = H.blas_overrides_set()
        env_variants = [False, True] if overrides else [False]
        for threads in self.threads:
            for unset in env_variants if threads == 1 else [False]:
                tag = f"{threads}t" + ("-unset" if unset else "")
                self.note(f"MLP step, tiny MLP step [{tag}]")
                rounds = self.rounds if threads == 1 else 1
                self.results[f"mlp/{tag}"] = mlp_step.collect(
                    "mlp", PEERS, threads, unset, self.steps, self.warmup, rounds)
                self.results[f"tiny/{tag}"] = mlp_step.collect(
                    "tiny", TINY_PEERS, threads, unset, self.steps, self.warmup, rounds)
        self.note("per-op overhead (1,000-op chain)")
        self.results["chain"] = op_overhead.collect_chain(CHAIN_PEERS, self.steps, self.warmup,
                                                          rounds=self.rounds)
        self.note("deep chains (10k / 30k / 100k ops)")
        depths = (10_000, 100_000) if self.quick else op_overhead.DEPTHS
        self.results["deep"] = op_overhead.collect_deep(depths=depths,
                                                        steps=2 if self.quick else 5)
        self.note("memory over MLP steps")
        self.results["memory"] = self._memory()
        self.note("gradient checkpointing (64-layer MLP)")
        self.results["checkpoint"] = self._checkpoint()
        self.elapsed = time.time() - t0
        self.load_after = _load()

    def _memory(self) -> list[dict]:
        out = []
        for framework, variant, label in MEMORY_PEERS:
            r = H.run_worker(framework, "memory", 1, variant=variant,
                             flat_steps=300 if self.quick else 1000)
            r["label"] = label
            out.append(r)
        return out

    def _checkpoint(self) -> list[dict]:
        out = []
        for threads in self.threads:
            for variant in ("plain", "checkpoint"):
                r = H.run_worker("chainrule", "checkpoint", threads, variant=variant,
                                 steps=2 if self.quick else 10, depth=64, width=1024, batch=256)
                r["label"] = variant
                out.append(r)
        return out


def _load() -> str:
    try:
        import os

        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


# ---- RESULTS.md --------------------------------------------------------------------------

def _ok(rows):
    return {r["label"]: r for r in rows if "error" not in r}


def _machine(suite: Suite) -> str:
    numpy_row = next((r for r in suite.results.get("mlp/1t", []) if r.get("framework") ==
                      "numpy" and "error" not in r), {})
    blas = numpy_row.get("blas") or H.blas_info()
    blas_text = "; ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('prefix')}), "
                          f"kernel {b.get('architecture')}, {b.get('threading_layer')}"
                          for b in blas if b.get("internal_api")) or "not detected"
    overrides = H.blas_overrides_set()
    if overrides:
        o_text = (", ".join(f"`{k}={v}`" for k, v in overrides.items()) + " are set in this "
                  "environment. Every table of the MLP steps exists twice: as the environment "
                  "is, and with these variables removed from the benchmark subprocess's "
                  "environment only (the BLAS kernel column shows which kernel then ran). "
                  "Tests and CI never change them.")
    else:
        o_text = ("`OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` are not set in this environment, "
                  "so the figures \"as the environment is\" and \"with them unset\" are the same "
                  "run; where a machine sets them, `run.py` reports both.")
    versions = {}
    for rows in suite.results.values():
        for r in rows:
            if "error" not in r and r.get("framework"):
                versions.setdefault(r["framework"], r.get("version"))
    return "\n".join([
        f"- Date: {datetime.date.today().isoformat()}; run time {suite.elapsed / 60:.1f} min"
        + (" (`--quick`: few steps, smoke run only)" if suite.quick else ""),
        f"- CPU: {H.cpu_name()} ({platform.machine()}), "
        f"{_cpu_count()} cores visible, shared with other work: load average (1/5/15 min) "
        f"{suite.load_before} at the start, {suite.load_after} at the end. On a busy machine "
        "the 2-thread figures mostly measure contention for the second core (PyTorch's OpenMP "
        "pool suffers most); compare frameworks within one table, not across runs",
        f"- Python {platform.python_version()}; BLAS (threadpoolctl, NumPy's process): "
        f"{blas_text}",
        "- Threads: `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS` set to 1 (or 2) "
        "in each benchmark subprocess; `torch.set_num_threads`; JAX with "
        "`--xla_cpu_multi_thread_eigen=false` at 1 thread; threadpoolctl limits as well.",
        f"- BLAS kernel overrides: {o_text}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
    ])


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _failures(suite: Suite) -> str:
    seen = {}
    for key, rows in suite.results.items():
        for r in rows:
            if "error" in r:
                seen.setdefault((r.get("label") or r.get("framework"), r["error"]), []).append(key)
    if not seen:
        return "None: every framework ran every benchmark it was asked to."
    return "\n".join(f"- {label}: {err} (in {', '.join(sorted(set(keys)))})"
                     for (label, err), keys in seen.items())


def _targets(suite: Suite) -> str:
    rows = ["| target | chainrule | reference | met |", "|---|---:|---:|:---:|"]
    mlp, tiny, chain = (_ok(suite.results.get(k, [])) for k in ("mlp/1t", "tiny/1t", "chain"))
    cr_mlp = mlp.get("chainrule (nn + optim)") or mlp.get("chainrule (raw Tensors)")
    numpy_mlp = mlp.get("hand-written NumPy")
    if cr_mlp and numpy_mlp:
        ratio = cr_mlp["median_s"] / numpy_mlp["median_s"]
        rows.append(f"| MLP step <= 1.10x hand-written NumPy (1 thread) | "
                    f"{H.fmt_time(cr_mlp['median_s'])} ({ratio:.2f}x) | "
                    f"{H.fmt_time(numpy_mlp['median_s'])} | {'yes' if ratio <= 1.10 else 'no'} |")
    cr_tiny = tiny.get("chainrule (nn + optim)") or tiny.get("chainrule (raw Tensors)")
    torch_tiny = tiny.get("PyTorch")
    if cr_tiny and torch_tiny:
        ok = cr_tiny["median_s"] <= torch_tiny["median_s"]
        rows.append(f"| tiny-MLP step <= PyTorch | {H.fmt_time(cr_tiny['median_s'])} | "
                    f"{H.fmt_time(torch_tiny['median_s'])} | {'yes' if ok else 'no'} |")
    if chain.get("chainrule") and chain.get("PyTorch"):
        a, b = chain["chainrule"]["per_op_s"], chain["PyTorch"]["per_op_s"]
        rows.append(f"| per-op overhead <= PyTorch | {H.fmt_time(a)} | {H.fmt_time(b)} | "
                    f"{'yes' if a <= b else 'no'} |")
    mem = _ok(suite.results.get("memory", []))
    cr_mem = mem.get("chainrule (nn + optim)") or mem.get("chainrule (raw Tensors)")
    if cr_mem:
        # a leaked graph would hold >= 128 KiB (one activation) per step; the allowance
        # covers CPython's free lists, which tracemalloc counts as allocated
        per_step = cr_mem["traced_growth_bytes"] / cr_mem["steps_between"]
        flat = per_step < 1024 and cr_mem["cyclic_garbage_objects"] == 0
        rows.append(f"| no memory growth over 1,000 steps (gc disabled) | "
                    f"{H.fmt_bytes(cr_mem['traced_growth_bytes'])} traced over "
                    f"{cr_mem['steps_between']} steps, {cr_mem['cyclic_garbage_objects']} cyclic "
                    f"objects | < 1 KiB per step, 0 | {'yes' if flat else 'no'} |")
        t_mem = mem.get("PyTorch")
        if t_mem and cr_mem.get("rss_peak_100_kib") is not None:
            ok = cr_mem["rss_peak_100_kib"] <= t_mem["rss_peak_100_kib"]
            rows.append(f"| MLP peak memory <= PyTorch's (RSS high-water mark, 100 steps) | "
                        f"{H.fmt_bytes(cr_mem['rss_peak_100_kib'] * 1024)} | "
                        f"{H.fmt_bytes(t_mem['rss_peak_100_kib'] * 1024)} | "
                        f"{'yes' if ok else 'no'} |")
    ck = [r for r in suite.results.get("checkpoint", []) if "error" not in r
          and r.get("threads") == 1]
    plain = next((r for r in ck if r["label"] == "plain"), None)
    ckpt = next((r for r in ck if r["label"] == "checkpoint"), None)
    if plain and ckpt:
        mem_ratio = plain["kept_after_forward_bytes"] / ckpt["kept_after_forward_bytes"]
        time_ratio = ckpt["median_s"] / plain["median_s"]
        rows.append(f"| checkpointing: activations >= 4x lower for <= 1.4x time | "
                    f"{mem_ratio:.1f}x lower, {time_ratio:.2f}x time | — | "
                    f"{'yes' if mem_ratio >= 4 and time_ratio <= 1.4 else 'no'} |")
    return "\n".join(rows)


def _step_sections(suite: Suite, bench: str, title: str) -> str:
    parts = []
    for key in sorted(k for k in suite.results if k.startswith(bench + "/")):
        tag = key.split("/")[1]
        threads = tag.split("t")[0]
        env = (" — `OPENBLAS_CORETYPE`/`OPENBLAS_L2_SIZE` unset in the subprocess"
               if tag.endswith("unset") else "")
        rounds = max(len(r.get("round_medians_s", [])) for r in suite.results[key])
        how = (f"best of {rounds} interleaved rounds, each a median of {suite.steps} steps"
               if rounds > 1 else f"median of {suite.steps} steps")
        parts.append(f"#### {title}, {threads} thread{'s' if threads != '1' else ''}{env} "
                     f"({how})\n\n" + mlp_step.report(suite.results[key]))
    return "\n\n".join(parts)


def _memory_section(suite: Suite) -> str:
    lines = ["| framework | RSS peak, 100 steps | tracemalloc peak, 100 steps | RSS growth | "
             "tracemalloc growth | cyclic objects left for gc |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in suite.results.get("memory", []):
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | |")
            continue
        traced_note = "" if r["framework"] in NUMPY_BASED else " (own allocator: not seen)"
        rss = r["rss_peak_100_kib"]
        lines.append(
            f"| {r['label']} | {'—' if rss is None else H.fmt_bytes(rss * 1024)} | "
            f"{H.fmt_bytes(r['traced_peak_100_bytes'])}{traced_note} | "
            f"{H.fmt_bytes(r['rss_growth_kib'] * 1024)} | "
            f"{H.fmt_bytes(r['traced_growth_bytes'])} | {r['cyclic_garbage_objects']} |")
    return "\n".join(lines)


def _checkpoint_section(suite: Suite) -> str:
    rows = suite.results.get("checkpoint", [])
    lines = ["| threads | mode | segments | step (median) | kept after forward | peak during step "
             "| time vs plain | activations vs plain | same gradients |",
             "|---:|---|---:|---:|---:|---:|---:|---:|:---:|"]
    for threads in suite.threads:
        group = [r for r in rows if r.get("threads") == threads]
        plain = next((r for r in group if r.get("label") == "plain" and "error" not in r), None)
        for r in group:
            if "error" in r:
                lines.append(f"| {threads} | {r['label']} | failed: {r['error']} | | | | | | |")
                continue
            same = ("yes" if plain and r["grad_abs_sum"] == plain["grad_abs_sum"] else
                    ("no" if plain else "—"))
            t_ratio = f"{r['median_s'] / plain['median_s']:.2f}x" if plain else "—"
            m_ratio = (f"{plain['kept_after_forward_bytes'] / r['kept_after_forward_bytes']:.1f}x"
                       " lower" if plain and r is not plain else "1x")
            lines.append(
                f"| {threads} | {r['label']} | {r['segments'] if r['label'] != 'plain' else '—'}"
                f" | {H.fmt_time(r['median_s'])} | {H.fmt_bytes(r['kept_after_forward_bytes'])} |"
                f" {H.fmt_bytes(r['peak_step_bytes'])} | {t_ratio} | {m_ratio} | {same} |")
    return "\n".join(lines)


def render(suite: Suite) -> str:
    steps = suite.steps
    return f"""# chainrule benchmark results

Written by `python benchmarks/run.py` (`make bench`); every figure below comes from that one run.
Each framework ran in its own subprocess; step times are medians of {steps} timed steps after
{suite.warmup} warm-up steps (p10-p90 beside them), with the garbage collector on as in a
training loop. All frameworks start from the same float32 weights and batch, so the "first loss"
column must agree to float32 precision: it does, or the row says otherwise.

## Machine

{_machine(suite)}

## Targets (issue 6)

{_targets(suite)}

## MLP 784-256-256-10 training step, batch 128, float32 (cross-entropy, SGD lr 0.01)

{_step_sections(suite, "mlp", "MLP step")}

## Tiny MLP 2-16-16-1 step, batch 32 (MSE, SGD): overhead-bound

{_step_sections(suite, "tiny", "Tiny MLP step")}

## Per-op overhead

{op_overhead.report_chain(suite.results.get("chain", []))}

"chainrule" is the default (anomaly mode off). "anomaly check removed" runs the same chain with
a copy of `Primitive.apply` from which the `if _anomaly.enabled:` lines are cut
(patched in the benchmark process only). Off, anomaly mode costs one module-attribute read per
recorded op; the medians of the two rows differ by whatever load the machine had during each
process, so compare the fastest deciles above.

## Deep chains (10k / 30k / 100k ops): time per op against depth, graph memory released

{op_overhead.report_deep(suite.results.get("deep", []))}

## Memory over MLP steps

Peak over the first 100 steps above the level before them (RSS high-water mark via
`/proc/self/clear_refs`; tracemalloc sees Python and NumPy allocations only), then growth between
step 200 and step 1,000 with `gc.disable()` (only reference counting frees anything), and what
`gc.collect()` then finds.

{_memory_section(suite)}

## Gradient checkpointing: 64-layer MLP, width 1024, batch 256, float32

`checkpoint_sequential(layers, segments=8, x)` (sqrt(64) segments) vs the plain forward; loss
`(out * out).mean()`, backward, gradients accumulated in place after a first step. "Kept after
forward" is the memory the graph holds for backward (tracemalloc), i.e. the activations; "peak
during step" is the highest level above the parameters and gradients.

{_checkpoint_section(suite)}

## Failures and skips

{_failures(suite)}

Skipped by design: tinygrad and JAX eager in the 1,200-step memory run (0.02-0.1 s per step);
micrograd beyond the tiny MLP (scalar engine).

## Reproduce

```
.venv/bin/pip install -r benchmarks/requirements.txt   # peers; tinygrad also needs clang
.venv/bin/python benchmarks/run.py                     # this file (run time at the top)
.venv/bin/python benchmarks/op_overhead.py             # chainrule vs PyTorch per-op, deep chains
.venv/bin/python benchmarks/mlp_step.py                # chainrule vs NumPy vs PyTorch MLP step
```
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few steps: check the suite runs")
    p.add_argument("--threads", default="1,2", help="thread counts to run, e.g. 1,2")
    p.add_argument("--out", default=str(H.HERE / "RESULTS.md"))
    p.add_argument("--json", default=None, help="also dump the raw results here")
    args = p.parse_args(argv)
    suite = Suite(args.quick, tuple(int(t) for t in args.threads.split(",")))
    suite.run()
    from chainrule.atomic import atomic_write  # here: the runner itself measures nothing

    atomic_write(args.out, render(suite))
    if args.json:
        atomic_write(args.json, json.dumps(suite.results, indent=1))
    print(f"wrote {args.out} in {suite.elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
