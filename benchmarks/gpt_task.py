"""Issue 13's GPT task: a character-level GPT learns Python's own standard library source, under
chainrule and under PyTorch, and must reach a validation loss within 0.05 nats of PyTorch's.

One program text (``examples/tiny_gpt.py``, the imports swapped for torch's), one recipe: PyTorch
draws the initial weights and chainrule loads its state_dict, both read the same batches (the
window starts are drawn once by NumPy), AdamW with a cosine schedule, float32, one thread. It
prints both validation losses (the mean over fixed held-out windows), their difference, the
wall time of each library, and a sample of text each model generates.

``python benchmarks/gpt_task.py`` (about 2-5 minutes per library on one quiet core)
``python benchmarks/gpt_task.py --steps 50`` (a smoke run)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import sys
import time

import _harness as H
import numpy as np

# Modules whose source is the corpus: present on every machine that has Python.
CORPUS_MODULES = ("argparse", "textwrap", "difflib", "pprint", "string", "heapq", "functools",
                  "dataclasses", "shlex", "fractions")
TOLERANCE_NATS = 0.05


def corpus() -> str:
    """The modules' source, ASCII only (a few docstrings quote accented letters: a vocabulary
    of 90 rather than 160 characters, most of them seen once)."""
    text = "\n".join(inspect.getsource(importlib.import_module(m)) for m in CORPUS_MODULES)
    return text.encode("ascii", "ignore").decode("ascii")


def train_and_evaluate(lib, program: dict, model, data: np.ndarray, starts: np.ndarray,
                       val_starts: np.ndarray, context: int, lr: float) -> dict:
    """Train ``model`` on the windows at ``starts`` (one row per step), then the mean
    cross-entropy over the windows at ``val_starts`` (one row per batch)."""
    def window(rows: np.ndarray):
        offsets = rows[:, None] + np.arange(context + 1)
        tokens = data[offsets]
        return lib.tensor(tokens[:, :-1]), lib.tensor(tokens[:, 1:])

    optimizer = program["configure_optimizer"](model, lr=lr, weight_decay=0.1)
    schedule = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(starts),
                                                        eta_min=lr / 10)
    began = time.perf_counter()
    losses = []
    for rows in starts:
        losses.append(program["train_step"](model, optimizer, *window(rows)))
        schedule.step()
    seconds = time.perf_counter() - began
    model.eval()
    with lib.no_grad():
        val = []
        for rows in val_starts:
            x, y = window(rows)
            logits = model(x)
            val.append(lib.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)),
                                                       y.view(-1)).item())
    model.train()
    return {"losses": losses, "val_loss": float(np.mean(val)), "seconds": seconds}


def run(steps: int = 2000, width: int = 64, heads: int = 4, layers: int = 2, context: int = 64,
        batch: int = 32, lr: float = 3e-3, val_batches: int = 50, sample_chars: int = 200,
        seed: int = 0) -> dict:
    """Both libraries through the same recipe; returns their losses, validation losses,
    times and samples."""
    import torch

    import chainrule as cr

    text = corpus()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, split - context - 1, (steps, batch))
    val_starts = rng.integers(split, len(data) - context - 1, (val_batches, batch))

    programs = {"chainrule": H.load_example("tiny_gpt.py", "chainrule"),
                "torch": H.load_example("tiny_gpt.py", "torch")}
    shape = dict(width=width, heads=heads, layers=layers, context=context)
    torch.manual_seed(seed)
    models = {"torch": programs["torch"]["GPT"](len(chars), **shape)}
    models["chainrule"] = programs["chainrule"]["GPT"](len(chars), **shape)
    models["chainrule"].load_state_dict({k: cr.tensor(v.numpy().copy())
                                         for k, v in models["torch"].state_dict().items()})
    results = {"vocab": len(chars), "characters": len(text),
               "parameters": sum(p.numel() for p in models["torch"].parameters())}
    for name, lib in (("chainrule", cr), ("torch", torch)):
        result = train_and_evaluate(lib, programs[name], models[name], data, starts,
                                    val_starts, context, lr)
        prompt = lib.tensor([[stoi["d"]]])
        generated = programs[name]["generate"](models[name], prompt, sample_chars,
                                               lib.Generator().manual_seed(seed))
        result["sample"] = "".join(chars[i] for i in generated[0].tolist())
        results[name] = result
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    H.pin_threads(1)
    import torch
    torch.set_num_threads(1)
    r = run(args.steps, args.width, args.heads, args.layers, args.context, args.batch, args.lr,
            seed=args.seed)
    print(f"corpus: source of {', '.join(CORPUS_MODULES)} ({r['characters']:,} characters, "
          f"vocabulary {r['vocab']}); GPT {args.layers} layers, {args.heads} heads, width "
          f"{args.width}, context {args.context}, {r['parameters']:,} parameters; batch "
          f"{args.batch}, {args.steps} steps, AdamW lr {args.lr} cosine, float32, 1 thread\n")
    print(f"uniform guess: {math.log(r['vocab']):.4f} nats")
    for name in ("chainrule", "torch"):
        losses = r[name]["losses"]
        print(f"{name:9s}  first loss {losses[0]:.6f}  last train loss {losses[-1]:.4f}  "
              f"validation loss {r[name]['val_loss']:.4f}  ({r[name]['seconds']:.0f} s)")
    gap = abs(r["chainrule"]["val_loss"] - r["torch"]["val_loss"])
    verdict = "within" if gap <= TOLERANCE_NATS else "NOT within"
    print(f"validation gap {gap:.4f} nats: {verdict} {TOLERANCE_NATS}")
    for name in ("chainrule", "torch"):
        print(f"\n{name} sample:\n{r[name]['sample']}")
    return 0 if gap <= TOLERANCE_NATS else 1


if __name__ == "__main__":
    sys.exit(main())
