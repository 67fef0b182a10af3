"""Gradient checkpointing: keep a segment's inputs, recompute its activations in backward.

``y = checkpoint(block, x)`` runs ``block`` without recording; backward re-runs it with grad
enabled (random state restored, so Dropout draws the same mask) and backpropagates through the
fresh graph. Memory for activations falls from O(layers) to O(segments + layers per segment) at
the price of one more forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import random as _random
from ..autograd.engine import backward as _backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """Forward under no_grad keeping only the inputs; backward recomputes and backpropagates.

    As PyTorch's reentrant checkpoint, backward calls ``backward`` on the recomputed graph, so
    tensors captured by ``fn`` (a layer's parameters) receive their gradients there.
    """

    @staticmethod
    def forward(ctx, fn, preserve_rng_state, n_args, *args):
        ctx.fn = fn
        ctx.rng_state = _random.get_rng_state() if preserve_rng_state else None
        # the trailing argument may be the anchor tensor added by checkpoint(): not fn's
        args = args[:n_args]
        ctx.tensor_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.plain_args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_slots])
        ctx.set_materialize_grads(False)
        outputs = fn(*args)
        outs = outputs if isinstance(outputs, tuple) else (outputs,)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"checkpoint: fn must return a Tensor or a tuple of Tensors, "
                                f"got {type(o).__name__}")
        return outputs

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple:  # ctx: attributes set by forward
        # The engine runs backward with grad mode == create_graph. The recomputed graph starts
        # at detached inputs, so a gradient built on it would not lead back to the real ones:
        # refuse rather than return a silently wrong second derivative.
        if is_grad_enabled():
            raise RuntimeError("checkpoint: backward with create_graph=True (double backward) "
                               "through a checkpointed segment is not supported; call fn "
                               "directly where higher-order gradients are needed")
        saved = ctx.saved_tensors  # raises if an input was modified in place since forward
        args = list(ctx.plain_args)
        inputs = []
        for slot, t in zip(ctx.tensor_slots, saved, strict=True):
            d = t.detach()
            if t.requires_grad:
                d.requires_grad_()
            args[slot] = d
            inputs.append(d)
        outer_state = _random.get_rng_state() if ctx.rng_state is not None else None
        if ctx.rng_state is not None:
            _random.set_rng_state(ctx.rng_state)
        try:
            with enable_grad():
                outputs = ctx.fn(*args)
        finally:
            if outer_state is not None:
                _random.set_rng_state(outer_state)
        if not isinstance(outputs, tuple):
            outputs = (outputs,)
        roots, root_grads = [], []
        for out, g in zip(outputs, grads, strict=True):
            if g is not None and isinstance(out, Tensor) and out.requires_grad:
                roots.append(out)
                root_grads.append(g)
        if roots:
            _backward(roots, root_grads)
        result: list[Any] = [None] * len(ctx.next_functions)
        for slot, d in zip(ctx.tensor_slots, inputs, strict=True):
            if d.requires_grad:
                result[3 + slot] = d.grad
        return tuple(result)


def checkpoint(fn: Callable, *args: Any, preserve_rng_state: bool = True) -> Any:
    """Call ``fn(*args)`` without keeping its activations; backward recomputes them.

    ``y = checkpoint(lambda h: layer2(layer1(h).relu()), x)``

    Gradients equal those of ``fn(*args)``. Tensors that ``fn`` uses without receiving them as
    arguments (parameters) get their ``.grad`` during the recomputation, as with PyTorch's
    reentrant checkpoint; for the same reason ``autograd.grad`` and ``backward(inputs=...)``
    through a checkpoint still accumulate into those tensors' ``.grad``, and double backward
    (``create_graph=True``) raises. ``preserve_rng_state`` restores the global generator
    (``cr.manual_seed``'s), not explicitly passed ``cr.Generator`` objects. When no argument
    requires grad the output still does (parameters inside ``fn`` may), even if nothing in
    ``fn`` turns out to need a gradient.
    """
    if not callable(fn):
        raise TypeError(f"checkpoint: fn must be callable, got {type(fn).__name__}")
    if not is_grad_enabled():
        return fn(*args)  # nothing is recorded anyway: a plain call is the same computation
    extra: tuple[Tensor, ...] = ()
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        # No input needs a gradient, but parameters inside fn may: anchor the node to the graph
        # through a scalar leaf so that backward reaches it (its own gradient is discarded).
        extra = (Tensor._make(np.zeros((), dtype=np.float32)).requires_grad_(),)
    return _Checkpoint.apply(fn, bool(preserve_rng_state), len(args), *args, *extra)


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, *,
                          preserve_rng_state: bool = True) -> Tensor:
    """Run ``functions`` (an ``nn.Sequential`` or a list of callables) in ``segments`` chunks,
    checkpointing every chunk but the last, whose graph backward needs at once anyway.

    ``out = checkpoint_sequential(model, segments=int(len(model) ** 0.5), input=x)``
    """
    funcs = _as_function_list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got "
                         f"{segments!r}")
    if not funcs:
        raise ValueError("checkpoint_sequential: functions is empty")
    if segments > len(funcs):
        raise ValueError(f"checkpoint_sequential: {segments} segments for {len(funcs)} "
                         "functions; expected segments <= number of functions")
    size = len(funcs) // segments
    bounds = [(k * size, (k + 1) * size) for k in range(segments - 1)]
    bounds.append(((segments - 1) * size, len(funcs)))
    x = input
    for start, end in bounds[:-1]:
        x = checkpoint(_run_chunk(funcs[start:end]), x, preserve_rng_state=preserve_rng_state)
    return _run_chunk(funcs[bounds[-1][0]:])(x)


def _as_function_list(functions: Any) -> list:
    if hasattr(functions, "children") and callable(functions.children):
        funcs = list(functions.children())  # nn.Sequential: its layers in order
    elif isinstance(functions, Iterable):
        funcs = list(functions)
    else:
        raise TypeError(f"checkpoint_sequential: functions must be an nn.Sequential or a list of "
                        f"callables, got {type(functions).__name__}")
    for i, f in enumerate(funcs):
        if not callable(f):
            raise TypeError(f"checkpoint_sequential: functions[{i}] is "
                            f"{type(f).__name__}, expected a callable")
    return funcs


def _run_chunk(funcs: list) -> Callable[[Tensor], Tensor]:
    def run(x):
        for f in funcs:
            x = f(x)
        return x

    return run
