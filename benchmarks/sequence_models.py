"""Training steps of issue 13's sequence models, chainrule vs PyTorch, float32, one thread, each
framework in its own process, interleaved rounds:

- LSTM: 2 layers, hidden 256, sequence 64, batch 32 (target: <= 2x PyTorch)
- GPT: 4 layers, 4 heads, width 128, context 64, batch 16 (target: <= 1.3x PyTorch)

The models are the examples' (``examples/char_lstm.py``, ``examples/tiny_gpt.py``) run under
each library by swapping the imports, from the same weights and batch, so the printed first
losses must agree. ``python benchmarks/sequence_models.py [--rounds 5 --steps 20]``

On a busy machine, ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python
benchmarks/sequence_models.py --in-process lstm --rounds 9 --steps 3`` alternates both
frameworks inside one process (an A/B for development, disturbed alike for both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import _harness as H

VOCAB = 65
MODELS = {
    "lstm": ("char_lstm.py", "CharLSTM", dict(embed=64, hidden=256, layers=2), 32, 64),
    "gpt": ("tiny_gpt.py", "GPT", dict(width=128, heads=4, layers=4, context=64), 16, 64),
}


def build(framework: str, model_name: str):
    """The model's training step under ``framework`` (weights drawn by NumPy, the same in
    both) and its first loss."""
    import numpy as np
    if framework == "torch":
        import torch as lib
        lib.set_num_threads(1)
    else:
        import chainrule as lib
    file, cls, kwargs, batch, length = MODELS[model_name]
    program = H.load_example(file, framework)
    model = program[cls](VOCAB, **kwargs)
    rng = np.random.default_rng(0)
    model.load_state_dict({k: lib.tensor(rng.standard_normal(tuple(v.shape)).astype(
        np.float32) * 0.05 if v.dtype == lib.float32 else v.numpy())
        for k, v in model.state_dict().items()})
    optimizer = program["configure_optimizer"](model, lr=1e-3, weight_decay=0.1)
    tokens = rng.integers(0, VOCAB, (batch, length + 1))
    x, y = lib.tensor(tokens[:, :-1]), lib.tensor(tokens[:, 1:])

    def step():
        return program["train_step"](model, optimizer, x, y)

    return step, step()


def worker(framework: str, model_name: str, steps: int, warmup: int) -> dict:
    """Inside a fresh process: time ``steps`` training steps, print a JSON line."""
    H.pin_threads(1)
    step, first_loss = build(framework, model_name)
    result = H.time_steps(step, steps, warmup)
    result.update(framework=framework, model=model_name, first_loss=first_loss)
    return result


def in_process(model_name: str, rounds: int, steps: int, warmup: int) -> int:
    """Both frameworks in this one process (start it with the BLAS thread variables set to 1),
    alternating rounds of ``steps`` steps: an A/B comparison that a busy machine disturbs
    alike for both, for development; the figures to quote come from separate processes."""
    H.pin_threads(1)
    built = {fw: build(fw, model_name) for fw in ("chainrule", "torch")}
    medians: dict[str, list] = {fw: [] for fw in built}
    for step, _ in built.values():
        for _ in range(warmup):
            step()
    for _ in range(rounds):
        for fw, (step, _) in built.items():
            medians[fw].append(H.time_steps(step, steps, 0)["median_s"])
    ratios = [a / b for a, b in zip(medians["chainrule"], medians["torch"])]
    print(f"{model_name}, in one process, {rounds} interleaved rounds of {steps} steps: "
          f"chainrule {H.fmt_time(statistics.median(medians['chainrule']))}, PyTorch "
          f"{H.fmt_time(statistics.median(medians['torch']))}, ratio median "
          f"{statistics.median(ratios):.2f}x (min-max {min(ratios):.2f}-{max(ratios):.2f}x); "
          f"first loss {built['chainrule'][1]:.6f} / {built['torch'][1]:.6f}")
    return 0


def run(framework: str, model_name: str, steps: int, warmup: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", framework, model_name, "--steps", str(steps),
           "--warmup", str(warmup)]
    proc = subprocess.run(cmd, env=H.worker_env(1), capture_output=True, text=True,
                          timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    p.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "MODEL"), help=argparse.SUPPRESS)
    p.add_argument("--in-process", choices=sorted(MODELS), metavar="MODEL",
                   help="A/B both frameworks in this process (set OMP_NUM_THREADS=1 etc.)")
    args = p.parse_args(argv)
    if args.in_process:
        return in_process(args.in_process, args.rounds, args.steps, args.warmup)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.steps, args.warmup)))
        return 0
    medians: dict[tuple, list] = {}
    first: dict[tuple, float] = {}
    for _ in range(args.rounds):
        for model_name in MODELS:
            for framework in ("chainrule", "torch"):
                r = run(framework, model_name, args.steps, args.warmup)
                if "error" in r:
                    print(f"{framework} {model_name}: {r['error']}")
                    return 1
                medians.setdefault((model_name, framework), []).append(r["median_s"])
                first[(model_name, framework)] = r["first_loss"]
    print(f"float32, 1 thread, median step of {args.steps} after {args.warmup} warm-up, "
          f"{args.rounds} interleaved rounds (median of round medians, min-max):\n")
    print("| model | chainrule | PyTorch | ratio (median) | ratio min-max | first loss "
          "(chainrule / PyTorch) |\n|---|---:|---:|---:|---:|---|")
    for model_name in MODELS:
        ours, theirs = medians[(model_name, "chainrule")], medians[(model_name, "torch")]
        ratios = [a / b for a, b in zip(ours, theirs)]
        print(f"| {model_name} | {H.fmt_time(statistics.median(ours))} | "
              f"{H.fmt_time(statistics.median(theirs))} | {statistics.median(ratios):.2f}x | "
              f"{min(ratios):.2f}-{max(ratios):.2f}x | {first[(model_name, 'chainrule')]:.6f} / "
              f"{first[(model_name, 'torch')]:.6f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
