"""``fit``: the training loop, with metrics, callbacks, progress, checkpoints and exact resume.

``history = fit(model, nn.CrossEntropyLoss(), opt, train_loader, epochs=10,
val_loader=val_loader, metrics=['accuracy'], checkpoint_dir='runs/ckpt')``
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .autograd.grad_mode import no_grad
from .progress import ProgressDisplay
from .random import get_rng_state, set_rng_state
from .tensor import Tensor

CHECKPOINT_FORMAT = "chainrule.fit/1"
Metric = Callable[[Tensor, Tensor], float]


# ---- metrics -------------------------------------------------------------------------------
def accuracy(output: Tensor, target: Tensor) -> float:
    """Fraction of correct predictions in a batch.

    Multi-class outputs ``(n, C)`` with ``C > 1``: the predicted class is the argmax of the
    last dimension; the target holds class indices, or one-hot/probability rows of the same
    shape as the output (then its argmax is the class). Single outputs ``(n,)`` or ``(n, 1)``
    are taken as logits (as ``BCEWithLogitsLoss`` expects): predicted 1 where the output is
    > 0, and the target counts as 1 where it is > 0.5.
    """
    out, t = _array(output), _array(target)
    if out.ndim >= 2 and out.shape[-1] > 1:
        pred = out.argmax(-1)
        if t.shape == out.shape:
            t = t.argmax(-1)
        if t.shape != pred.shape:
            raise ValueError(f"accuracy: target shape {t.shape} does not match output shape "
                             f"{out.shape} (expected class indices of shape {pred.shape})")
        return float(np.mean(pred == t))
    pred, t = out.reshape(-1) > 0, t.reshape(-1)
    if t.shape != pred.shape:
        raise ValueError(f"accuracy: target shape {_array(target).shape} does not match output "
                         f"shape {out.shape}")
    return float(np.mean(pred == (t > 0.5)))


def mse(output: Tensor, target: Tensor) -> float:
    """Mean squared error of a batch (shapes must match)."""
    out, t = _array(output), _array(target)
    if out.shape != t.shape:
        raise ValueError(f"mse: output shape {out.shape} != target shape {t.shape}")
    return float(np.mean((out.astype(np.float64) - t) ** 2))


def mae(output: Tensor, target: Tensor) -> float:
    """Mean absolute error of a batch (shapes must match)."""
    out, t = _array(output), _array(target)
    if out.shape != t.shape:
        raise ValueError(f"mae: output shape {out.shape} != target shape {t.shape}")
    return float(np.mean(np.abs(out.astype(np.float64) - t)))


METRICS: dict[str, Metric] = {"accuracy": accuracy, "mse": mse, "mae": mae}


def _array(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _resolve_metrics(metrics: Iterable[str | Metric]) -> list[tuple[str, Metric]]:
    resolved: list[tuple[str, Metric]] = []
    for m in metrics:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"fit: unknown metric {m!r}; built-in metrics are "
                                 f"{', '.join(METRICS)}, or pass a callable (output, target)")
            resolved.append((m, METRICS[m]))
        elif callable(m):
            resolved.append((getattr(m, "__name__", type(m).__name__), m))
        else:
            raise TypeError(f"fit: a metric must be a name or a callable (got {m!r})")
    names = [n for n, _ in resolved]
    clash = sorted({n for n in names if names.count(n) > 1 or n in ("loss", "lr")})
    if clash:
        raise ValueError(f"fit: metric names must be unique and not 'loss' or 'lr' "
                         f"(got {', '.join(clash)})")
    return resolved


# ---- history and the state callbacks see ----------------------------------------------------
class History:
    """Per-epoch records: ``history['loss']``, ``history['val_accuracy']``, ``history['lr']``.

    ``history.history`` is the underlying ``dict[str, list[float]]``; ``len(history)`` the
    number of epochs recorded.
    """

    def __init__(self, history: dict[str, list[float]] | None = None) -> None:
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (history or {}).items()}

    def append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __len__(self) -> int:
        return max((len(v) for v in self.history.values()), default=0)

    def last(self) -> dict[str, float]:
        """The most recent epoch's values."""
        return {k: v[-1] for k, v in self.history.items() if v}

    def state_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.history.items()}

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, keys={list(self.history)})"


@dataclass
class TrainState:
    """What every callback hook receives (the same object throughout one ``fit``).

    ``epoch`` is 0-based (the number of epochs completed before the current one), ``step`` the
    number of optimizer steps taken so far, ``batch`` the index within the epoch, ``loss`` the
    last batch's loss, ``output``/``target`` the last batch's (output detached), ``logs`` the
    epoch's results at ``on_epoch_end``. Set ``stop_training = True`` to stop after this epoch.
    """

    model: Any
    optimizer: Any
    loss_fn: Any
    scheduler: Any
    epochs: int
    history: History
    epoch: int = 0
    step: int = 0
    batch: int = 0
    loss: float | None = None
    output: Tensor | None = None
    target: Any = None
    logs: dict[str, float] = field(default_factory=dict)
    stop_training: bool = False


class Callback:
    """Base class with every hook as a no-op; any object defining some of them works as well.

    Order per batch: ``on_batch_begin``, forward, ``backward``, ``on_after_backward`` (the
    gradients are in ``.grad``, the optimizer has not stepped yet), ``optimizer.step``,
    ``on_batch_end``.
    """

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_begin(self, state: TrainState) -> None: ...
    def on_batch_begin(self, state: TrainState) -> None: ...
    def on_after_backward(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


_HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_after_backward",
          "on_batch_end", "on_epoch_end", "on_train_end")


class _Dispatch:
    """Each hook name -> the bound hooks of the callbacks that define it (looked up once)."""

    def __init__(self, callbacks: Sequence[Any]) -> None:
        self.hooks = {name: [getattr(cb, name) for cb in callbacks
                             if callable(getattr(cb, name, None))] for name in _HOOKS}

    def __call__(self, name: str, state: TrainState) -> None:
        for hook in self.hooks[name]:
            hook(state)


# ---- progress ------------------------------------------------------------------------------
def _format_logs(logs: dict[str, float]) -> str:
    parts = []
    for key, value in logs.items():
        if key == "lr":
            parts.append(f"lr {value:.3g}")
        else:
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


# ---- one epoch and evaluation ---------------------------------------------------------------
def split_batch(batch: Any, who: str = "fit", need_target: bool = True) -> tuple[tuple, Any]:
    """A batch as ``(inputs, target)``: ``(x, y)``, ``(x1, x2, ..., y)`` or ``((x1, x2), y)``;
    where no target is needed also ``(x,)`` or a Tensor (target None). ``fit``, ``evaluate``
    and ``cr.inspect.doctor`` read batches with it.

    ``inputs, target = split_batch((x1, x2, y))  # ((x1, x2), y)``
    """
    if isinstance(batch, Tensor) and not need_target:
        return (batch,), None
    if isinstance(batch, (list, tuple)) and (len(batch) >= 2 or len(batch) == 1
                                             and not need_target):
        inputs = tuple(batch[:-1]) if len(batch) >= 2 else tuple(batch)
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])  # the inputs given as one tuple
        return inputs, batch[-1] if len(batch) >= 2 else None
    forms = "(inputs..., target)" + ("" if need_target else ", (inputs,) or a Tensor")
    length = f" of length {len(batch)}" if isinstance(batch, (list, tuple)) else ""
    raise TypeError(f"{who}: each batch must be {forms}; got {type(batch).__name__}{length}")


def _batch_len(target: Any) -> int:
    shape = getattr(target, "shape", None)
    if shape is None:
        return len(target)
    return shape[0] if len(shape) else 1


class _Meter:
    """Sample-weighted running means of the loss and metrics."""

    def __init__(self, names: Sequence[str]) -> None:
        self.sums = dict.fromkeys(("loss", *names), 0.0)
        self.count = 0

    def add(self, n: int, values: dict[str, float]) -> None:
        self.count += n
        for key, value in values.items():
            self.sums[key] += value * n

    def reduce_across_ranks(self) -> None:
        """Sum the sums and counts of every rank (under mpiexec): the means become the whole
        job's sample-weighted means."""
        from . import distributed as dist

        if not dist.is_initialized() or dist.get_world_size() == 1:
            return
        totals = Tensor(np.array([*self.sums.values(), self.count], np.float64))
        dist.all_reduce(totals)
        self.sums = dict(zip(self.sums, totals._data[:-1].tolist()))
        self.count = int(totals._data[-1])

    def means(self, prefix: str = "") -> dict[str, float]:
        return {prefix + k: (v / self.count if self.count else math.nan)
                for k, v in self.sums.items()}


def evaluate(model: Any, loss_fn: Callable, loader: Iterable, metrics: Iterable[str | Metric] = ()
             ) -> dict[str, float]:
    """Mean loss and metrics over ``loader`` in eval mode without gradients (training mode is
    restored): ``evaluate(model, nn.CrossEntropyLoss(), test_loader, ['accuracy'])``."""
    return _evaluate(model, loss_fn, loader, _resolve_metrics(metrics))


def _evaluate(model: Any, loss_fn: Callable, loader: Iterable,
              resolved: list[tuple[str, Metric]], across_ranks: bool = False
              ) -> dict[str, float]:
    meter = _Meter([n for n, _ in resolved])
    was_training = getattr(model, "training", True)
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                inputs, target = split_batch(batch, "evaluate")
                output = model(*inputs)
                values = {"loss": float(loss_fn(output, target).item())}
                values.update({name: float(fn(output, target)) for name, fn in resolved})
                meter.add(_batch_len(target), values)
    finally:
        model.train(was_training)
    if across_ranks:  # fit's validation: every rank evaluates its share
        meter.reduce_across_ranks()
    if meter.count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return meter.means()


def _is_plateau(scheduler: Any) -> bool:
    try:
        from .optim.lr_scheduler import ReduceLROnPlateau
    except ImportError:
        return type(scheduler).__name__ == "ReduceLROnPlateau"
    return isinstance(scheduler, ReduceLROnPlateau)


# ---- checkpoints ---------------------------------------------------------------------------
class ResumeError(ValueError):
    """``fit(resume=path)``: the checkpoint is unreadable or does not fit this model/optimizer."""


def _loader_rng(loader: Any) -> dict | None:
    gen = getattr(loader, "generator", None)
    return gen.get_state() if gen is not None else None


def _unwrap(model: Any) -> Any:
    """The model inside a DistributedDataParallel: checkpoints do not depend on the ranks."""
    from .nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _rank() -> int:
    from . import distributed as dist

    return dist.get_rank() if dist.is_initialized() else 0


def _save_checkpoint(directory: Path, state: TrainState, train_loader: Any, val_loader: Any
                     ) -> Path:
    from .atomic import atomic_link
    from .serialization import save

    payload = {
        "format": CHECKPOINT_FORMAT,
        "epoch": state.epoch + 1,  # epochs completed
        "step": state.step,
        "model": _unwrap(state.model).state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
        "rng": get_rng_state(),
        "train_loader_rng": _loader_rng(train_loader),
        "val_loader_rng": _loader_rng(val_loader),
        "history": state.history.state_dict(),
    }
    path = directory / f"epoch-{state.epoch + 1:03d}.safetensors"
    save(payload, path)
    atomic_link(path, directory / "last.safetensors")
    return path


def _restore(path: str | os.PathLike, state: TrainState, train_loader: Any, val_loader: Any
             ) -> None:
    from .serialization import load

    try:
        ckpt = load(path)
    except (OSError, ValueError) as e:
        raise ResumeError(f"cannot resume: {e}") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ResumeError(f"{os.fspath(path)}: not a training checkpoint written by fit "
                          f"(expected format {CHECKPOINT_FORMAT!r})")
    try:
        _unwrap(state.model).load_state_dict(ckpt["model"])
        state.optimizer.load_state_dict(ckpt["optimizer"])
        if (state.scheduler is None) != (ckpt["scheduler"] is None):
            raise ValueError("the checkpoint was written " + (
                "without a scheduler but one was given" if ckpt["scheduler"] is None
                else "with a scheduler but none was given"))
        if state.scheduler is not None:
            state.scheduler.load_state_dict(ckpt["scheduler"])
        for loader, key in ((train_loader, "train_loader_rng"), (val_loader, "val_loader_rng")):
            gen = getattr(loader, "generator", None)
            if (gen is None) != (ckpt[key] is None):
                raise ValueError(f"{key.rsplit('_', 1)[0]} generator: the checkpoint has "
                                 f"{'none' if ckpt[key] is None else 'one'}, the loader "
                                 f"{'none' if gen is None else 'one'}")
            if gen is not None:
                gen.set_state(ckpt[key])
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        raise ResumeError(f"cannot resume from {os.fspath(path)}: {e}") from e
    set_rng_state(ckpt["rng"])
    state.epoch, state.step = int(ckpt["epoch"]), int(ckpt["step"])
    state.history.history = History(ckpt["history"]).history


# ---- the loop --------------------------------------------------------------------------------
def fit(model: Any, loss_fn: Callable, optimizer: Any, train_loader: Iterable, *, epochs: int,
        val_loader: Iterable | None = None, scheduler: Any = None,
        metrics: Iterable[str | Metric] = (), callbacks: Sequence[Any] = (),
        checkpoint_dir: str | os.PathLike | None = None,
        resume: str | os.PathLike | None = None, progress: bool = True) -> History:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch ``History``.

    Each epoch: ``model.train()``; per batch ``(inputs..., target)``: ``zero_grad``, forward,
    ``loss_fn(output, target)``, ``backward``, callbacks' ``on_after_backward``,
    ``optimizer.step()``; then validation (``evaluate``), ``scheduler.step()`` once (a
    ``ReduceLROnPlateau`` gets ``val_loss``, else ``loss``), a checkpoint, callbacks.

    History keys: ``loss`` and each metric (sample-weighted means over the epoch's training
    batches, in train mode, as Keras reports them), ``val_loss`` and ``val_<metric>`` with a
    ``val_loader``, ``lr`` (group 0's learning rate during the epoch). Metrics are names from
    ``METRICS`` (``'accuracy'``, ``'mse'``, ``'mae'``) or callables ``(output, target) -> float``.

    ``checkpoint_dir``: after every epoch ``epoch-NNN.safetensors`` (and ``last.safetensors``)
    with the model, optimizer and scheduler state, the global RNG state, the loaders' generator
    states, the epoch, step and history. ``resume=path`` restores all of that and continues up
    to ``epochs`` in total, giving bit-for-bit the weights of an uninterrupted run (a
    ``UserWarning`` says so when the checkpoint has already trained that many).
    ``progress``: a rich bar on a terminal, one plain line per epoch otherwise.

    Under ``mpiexec -n N`` (after ``init_process_group``; ``model`` a
    ``DistributedDataParallel``, the loader's sampler a ``DistributedSampler``, whose epoch fit
    sets): every rank trains on its share, the history holds the whole job's sample-weighted
    means, and rank 0 alone prints progress and writes checkpoints (of the unwrapped model, so
    a run on N ranks resumes on M). Callbacks run on every rank.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer (got {epochs!r})")
    resolved = _resolve_metrics(metrics)
    state = TrainState(model=model, optimizer=optimizer, loss_fn=loss_fn, scheduler=scheduler,
                       epochs=int(epochs), history=History())
    if resume is not None:
        _restore(resume, state, train_loader, val_loader)
        if state.epoch >= state.epochs:
            warnings.warn(f"fit: {os.fspath(resume)} has already trained {state.epoch} "
                          f"epoch{'s' if state.epoch != 1 else ''} and epochs={state.epochs} is "
                          f"the total, so nothing is trained; give epochs={state.epoch + 1} or "
                          "more to train further", UserWarning, stacklevel=2)
    writer = _rank() == 0  # under mpiexec, rank 0 alone prints and writes
    directory = None
    if checkpoint_dir is not None and writer:
        directory = Path(checkpoint_dir)
        directory.mkdir(parents=True, exist_ok=True)
    dispatch = _Dispatch(list(callbacks))
    plateau = scheduler is not None and _is_plateau(scheduler)
    bar = ProgressDisplay(progress and writer)
    try:
        dispatch("on_train_begin", state)
        while state.epoch < state.epochs and not state.stop_training:
            lr = _current_lr(optimizer)
            dispatch("on_epoch_begin", state)
            t0 = time.perf_counter()
            meter = _train_epoch(state, train_loader, resolved, dispatch, bar)
            meter.reduce_across_ranks()
            logs = meter.means()
            if val_loader is not None:
                logs.update({f"val_{k}": v for k, v in
                             _evaluate(model, loss_fn, val_loader, resolved, True).items()})
            if lr is not None:
                logs["lr"] = lr
            if scheduler is not None:
                if plateau:
                    scheduler.step(logs["val_loss"] if val_loader is not None else logs["loss"])
                else:
                    scheduler.step()
            state.history.append(logs)
            state.logs = logs
            bar.line(f"epoch {state.epoch + 1}/{state.epochs}  {_format_logs(logs)}  "
                     f"({(state.batch + 1) / max(time.perf_counter() - t0, 1e-9):.1f} steps/s)")
            if directory is not None:
                _save_checkpoint(directory, state, train_loader, val_loader)
            dispatch("on_epoch_end", state)
            state.epoch += 1
        dispatch("on_train_end", state)
    finally:
        bar.close()
    return state.history


def _current_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if groups and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return None


def _train_epoch(state: TrainState, loader: Iterable, metrics: list[tuple[str, Metric]],
                 dispatch: _Dispatch, bar) -> _Meter:
    model, optimizer, loss_fn = state.model, state.optimizer, state.loss_fn
    meter = _Meter([n for n, _ in metrics])
    model.train()
    sampler = getattr(loader, "sampler", None)
    # a DistributedSampler: this epoch's permutation
    if sampler is not None and hasattr(sampler, "set_epoch"):
        sampler.set_epoch(state.epoch)
    batches = iter(loader)  # a shuffling loader draws this epoch's order here
    total = len(loader) if isinstance(loader, Sized) else None
    bar.start(f"epoch {state.epoch + 1}/{state.epochs}", total)
    t0 = time.perf_counter()
    state.batch = -1
    for i, batch in enumerate(batches):
        state.batch = i
        inputs, target = split_batch(batch)
        dispatch("on_batch_begin", state)
        optimizer.zero_grad()
        output = model(*inputs)
        loss = loss_fn(output, target)
        state.loss = float(loss.item())
        state.output, state.target = output.detach(), target
        loss.backward()
        dispatch("on_after_backward", state)
        optimizer.step()
        state.step += 1
        values = {"loss": state.loss}
        values.update({name: float(fn(state.output, target)) for name, fn in metrics})
        meter.add(_batch_len(target), values)
        if bar.live:
            speed = (i + 1) / max(time.perf_counter() - t0, 1e-9)
            bar.update(i + 1, f"{speed:.1f} steps/s  {_format_logs(meter.means())}")
        dispatch("on_batch_end", state)
    if state.batch < 0:
        raise ValueError("fit: the training loader yielded no batches")
    return meter
