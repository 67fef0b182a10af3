"""``chainrule train``: fit an MLP to a built-in dataset, then write plots and a checkpoint.

``chainrule train --data moons --hidden 64,32 --activation relu --optimizer adam --lr 0.01
--epochs 50 --batch-size 32 --seed 0 --out runs/moons``
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

from . import UsageError, writable_directory
from .limits import check_mlp_training

# option name -> (class name in chainrule.nn / chainrule.optim, default learning rate)
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU",
               "leaky_relu": "LeakyReLU", "elu": "ELU", "silu": "SiLU"}
OPTIMIZERS = {"sgd": ("SGD", 0.1), "adam": ("Adam", 1e-3), "adamw": ("AdamW", 1e-3),
              "rmsprop": ("RMSprop", 1e-3), "adagrad": ("Adagrad", 1e-2)}
# buffers per parameter each optimizer keeps (with the defaults `train` uses), for the estimate
OPTIMIZER_BUFFERS = {"sgd": 0, "adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1}
TIME_LIMIT = 3600  # seconds: `train` is for the built-in datasets; longer runs belong in a script


def register(subparsers: argparse._SubParsersAction) -> None:
    # Values are parsed in run(), not by argparse, so a bad one is a one-line UsageError.
    p = subparsers.add_parser(
        "train", help="train an MLP on a built-in dataset",
        description="Train an MLP (Linear + activation) on a built-in dataset: cross-entropy "
                    "for classification, MSE for regression. Writes loss/accuracy plots "
                    "(PNG), history.json and checkpoints into --out.")
    p.add_argument("--data", metavar="NAME", help="dataset: regression, xor, moons, circles, "
                   "spiral, blobs, digits, mnist1d (the last two need chainrule[datasets])")
    p.add_argument("--hidden", default="64,32", metavar="SIZES",
                   help="hidden layer widths, comma-separated (default 64,32; '' for none)")
    p.add_argument("--activation", default="relu", metavar="NAME",
                   help=f"{', '.join(ACTIVATIONS)} (default relu)")
    p.add_argument("--optimizer", default=None, metavar="NAME",
                   help=f"{', '.join(OPTIMIZERS)} (default adam; with --resume, the "
                        "checkpoint's)")
    p.add_argument("--lr", default=None, metavar="LR",
                   help="learning rate (default: 0.1 for sgd, 0.01 adagrad, else 0.001; with "
                        "--resume, the checkpoint's)")
    p.add_argument("--epochs", default="20", metavar="N", help="total epochs (default 20)")
    p.add_argument("--batch-size", default="32", metavar="B", help="batch size (default 32)")
    p.add_argument("--seed", default="0", metavar="S", help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR", help="output directory (created if needed)")
    p.add_argument("--resume", metavar="CKPT",
                   help="continue from a checkpoint written by an earlier run (up to --epochs)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


# ---- option parsing --------------------------------------------------------------------------
def _int(value: str, option: str, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: expected an integer, got {value!r}") from None
    if number < minimum:
        raise UsageError(f"{option}: must be >= {minimum}, got {number}")
    return number


def _hidden(value: str) -> list[int]:
    if value.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(s) for s in value.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise UsageError(f"--hidden: expected comma-separated positive integers like 64,32, "
                         f"got {value!r}")
    return sizes


def _lr(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        lr = float(value)
    except ValueError:
        raise UsageError(f"--lr: expected a number, got {value!r}") from None
    if not lr > 0 or lr == float("inf"):
        raise UsageError(f"--lr: must be a positive number, got {value!r}")
    return lr


def _choice(value: str, option: str, choices: dict) -> str:
    key = value.lower()
    if key not in choices:
        raise UsageError(f"{option}: unknown {option[2:]} {value!r}; choose one of "
                         f"{', '.join(choices)}")
    return key


# ---- the run ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.data import DATASETS, DataLoader, load_dataset
    from chainrule.training import ResumeError, evaluate, fit
    from chainrule.utils.data import DistributedSampler

    if not args.data:
        raise UsageError(f"--data is required; choose one of {', '.join(DATASETS)}")
    if args.out is None:
        raise UsageError("--out DIR is required")
    hidden = _hidden(args.hidden)
    activation = _choice(args.activation, "--activation", ACTIVATIONS)
    opt_choice = None if args.optimizer is None else _choice(args.optimizer, "--optimizer",
                                                              OPTIMIZERS)
    lr_choice = _lr(args.lr)
    epochs = _int(args.epochs, "--epochs", 1)
    batch_size = _int(args.batch_size, "--batch-size", 1)
    seed = _int(args.seed, "--seed", 0)
    done = 0
    if args.resume is None:
        opt_name = opt_choice or "adam"
        lr = OPTIMIZERS[opt_name][1] if lr_choice is None else lr_choice
    else:
        checkpoint = _read_checkpoint(args.resume)
        done = checkpoint["epoch"]
        if done >= epochs:
            raise UsageError(f"--epochs {epochs}: {args.resume} has already trained {done} "
                             f"epoch{'s' if done != 1 else ''}; give --epochs {done + 1} or more "
                             "to train further")
        opt_name, lr = _resumed_optimizer(checkpoint, args.resume, opt_choice, lr_choice)

    if args.data not in DATASETS:
        raise UsageError(f"--data: unknown dataset {args.data!r}; choose one of "
                         f"{', '.join(DATASETS)}")
    rank, world = _join_mpi_job()
    try:
        # the real datasets keep their fixed split; the synthetic ones follow --seed
        data = load_dataset(args.data) if args.data in ("digits", "mnist1d") \
            else load_dataset(args.data, seed=seed)
    except (ImportError, ValueError) as e:
        raise UsageError(f"--data {args.data}: {e}") from None
    check_mlp_training([data.num_features, *hidden, data.num_outputs],
                       OPTIMIZER_BUFFERS[opt_name], batch_size, len(data.train),
                       len(data.test), epochs - done, cr.get_default_dtype().itemsize,
                       TIME_LIMIT, "use smaller --hidden sizes, fewer --epochs or a larger "
                       "--batch-size")
    out = writable_directory(args.out, "--out")

    cr.manual_seed(seed)
    model = _mlp(nn, data.num_features, hidden, data.num_outputs, ACTIVATIONS[activation])
    optimizer = getattr(optim, OPTIMIZERS[opt_name][0])(model.parameters(), lr=lr)
    classify = data.task == "classification"
    loss_fn = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    metrics = ["accuracy"] if classify else []
    # epoch e's order is randperm(seed + e), however many ranks share it: a run resumes on
    # any number of ranks
    train_loader = DataLoader(data.train, batch_size, sampler=DistributedSampler(
        data.train, num_replicas=world, rank=rank, shuffle=True, seed=seed))
    # every rank evaluates the whole (small) test set: a padded share would count some twice
    test_loader = DataLoader(data.test, batch_size)
    if world > 1:
        from chainrule.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    say = print if rank == 0 else _silent

    shape = _model_summary(data.num_features, hidden, activation, data.num_outputs)
    ranks = f" per rank, {world} ranks" if world > 1 else ""
    resumed = f" (resuming after epoch {done})" if args.resume is not None else ""
    say(f"chainrule train: {data.name} ({data.task}, {len(data.train)} train / "
        f"{len(data.test)} test), MLP {shape}, {opt_name} lr {lr:g}, {epochs} epochs"
        f"{resumed}, batch {batch_size}{ranks}, seed {seed}")
    try:
        history = fit(model, loss_fn, optimizer, train_loader, epochs=epochs,
                      val_loader=test_loader, metrics=metrics, checkpoint_dir=out / "checkpoints",
                      resume=args.resume, progress=not args.quiet)
    except ResumeError as e:
        raise UsageError(f"--resume: {str(e).splitlines()[0]}") from None

    final = evaluate(model, loss_fn, test_loader, metrics)
    if rank != 0:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "history.json", {"data": data.name, "history": history.state_dict(),
                                       "test": final})
    plots = _plots(history, out, classify, data.name)
    print("final: " + "  ".join(f"train {k} {v:.4f}" for k, v in history.last().items()
                                if not k.startswith("val_") and k != "lr")
          + "  " + "  ".join(f"test {k} {v:.4f}" for k, v in final.items()))
    written = [*plots, out / "history.json", out / "checkpoints" / "last.safetensors"]
    print("wrote: " + ", ".join(str(p) for p in written if p.exists()))
    return 0


def _join_mpi_job() -> tuple[int, int]:
    """(rank, world size): under ``mpiexec -n N`` with N > 1 this process joins the job."""
    from chainrule import distributed as dist

    if dist.launched_world_size() <= 1:
        return 0, 1
    try:
        dist.init_process_group("mpi")
    except ImportError as e:
        raise UsageError(f"started by an MPI launcher, but {e}") from None
    return dist.get_rank(), dist.get_world_size()


def _silent(*args: Any) -> None:
    pass


def _read_checkpoint(path: str) -> dict:
    """The checkpoint ``--resume`` names, read up front to check it against the options."""
    from chainrule.serialization import load
    from chainrule.training import CHECKPOINT_FORMAT

    if not Path(path).is_file():
        raise UsageError(f"--resume: no such checkpoint file: {path}")
    try:
        ckpt = load(path)
    except (OSError, ValueError, TypeError, RuntimeError, RecursionError, KeyError) as e:
        raise UsageError(f"--resume: {path} is not a readable checkpoint: "
                         f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    optimizer = ckpt.get("optimizer") if isinstance(ckpt, dict) else None
    groups = optimizer.get("param_groups") if isinstance(optimizer, dict) else None
    if (not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT
            or isinstance(ckpt.get("epoch"), bool) or not isinstance(ckpt.get("epoch"), int)
            or not isinstance(groups, list) or not groups or not isinstance(groups[0], dict)
            or not isinstance(groups[0].get("lr"), (int, float))):
        raise UsageError(f"--resume: {path} is not a training checkpoint written by "
                         "`chainrule train` (or fit)")
    return ckpt


def _resumed_optimizer(ckpt: dict, path: str, choice: str | None, lr: float | None
                       ) -> tuple[str, float]:
    """The checkpoint's optimizer and learning rate; a UsageError naming both if the command
    line asks for others (a resumed run continues the saved one, it does not switch)."""
    import chainrule as cr
    from chainrule import optim

    saved = ckpt["optimizer"]["param_groups"][0]
    saved_lr = float(saved["lr"])
    name = None
    probe = [cr.zeros(1, requires_grad=True)]  # only the hyper-parameters are compared
    for candidate, (cls, default_lr) in OPTIMIZERS.items():
        fresh = getattr(optim, cls)(probe, lr=default_lr).param_groups[0]
        if all(k in saved and _same(saved[k], v) for k, v in fresh.items()
               if k not in ("params", "lr")):
            name = candidate
            break
    if name is None:
        raise UsageError(f"--resume: {path} was trained with an optimizer `chainrule train` "
                         f"does not make ({', '.join(OPTIMIZERS)} with their defaults); resume "
                         "it with fit() in Python")
    if choice is not None and choice != name:
        raise UsageError(f"--optimizer {choice}: {path} was trained with --optimizer {name} "
                         f"(lr {saved_lr:g}); resume with --optimizer {name}, or start a new run "
                         "without --resume")
    if lr is not None and lr != saved_lr:
        raise UsageError(f"--lr {lr:g}: {path} was trained with --optimizer {name} at lr "
                         f"{saved_lr:g}; resume with --lr {saved_lr:g} (or leave --lr out), or "
                         "start a new run without --resume")
    return name, saved_lr


def _same(saved: Any, value: Any) -> bool:
    """A hyper-parameter equal to a loaded one (tuples may come back as lists)."""
    if isinstance(value, tuple):
        return isinstance(saved, (tuple, list)) and list(saved) == list(value)
    return saved == value


def _model_summary(n_in: int, hidden: list[int], activation: str, n_out: int) -> str:
    return " -> ".join(str(n) for n in [n_in, *hidden, n_out]) + f" ({activation})"


def _mlp(nn: Any, n_in: int, hidden: list[int], n_out: int, activation: str):
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), getattr(nn, activation)()]
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


# ---- outputs -----------------------------------------------------------------------------------
def _write_json(path: Path, obj: Any) -> None:
    from chainrule.atomic import atomic_write

    atomic_write(path, json.dumps(obj, indent=2).encode())


def _plots(history: Any, out: Path, classify: bool, name: str) -> list[Path]:
    """loss.png (and accuracy.png for classification); no pyplot, so no global state."""
    from chainrule.atomic import atomic_write

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        print("chainrule train: plots skipped (matplotlib missing): pip install chainrule[plot]",
              file=sys.stderr)
        return []
    written = []
    panels = [("loss", "loss")] + ([("accuracy", "accuracy")] if classify else [])
    for key, label in panels:
        fig = Figure(figsize=(6, 4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], marker="o", markersize=3, label=f"train {label}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], marker="o", markersize=3,
                    label=f"test {label}")
        ax.set_title(f"{name}: {label}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if key == "loss" and min(min(history[key]), min(history.history.get("val_loss",
                                                                          [1]))) > 0:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out / f"{key}.png"
        atomic_write(path, functools.partial(fig.savefig, format="png"))
        written.append(path)
    return written
