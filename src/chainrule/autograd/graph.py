"""Hooks on the graph as it is built: ``register_node_hook`` sees every op its thread records.

``handle = cr.autograd.graph.register_node_hook(lambda node, xs, outs, params: ...)``
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..utils.hooks import RemovableHandle


class _NodeHooks(threading.local):
    def __init__(self) -> None:
        self.hooks: list[Callable] = []


# Per thread, as PyTorch's graph hooks (saved_tensors_hooks) and grad mode: explain's
# keep_values() or draw's track_modules() in one thread never sees another thread's ops.
# Read by the recording path of every op; nothing else runs while the list is empty.
local = _NodeHooks()
# Whether any thread ever registered a node hook: until one has, the recording path skips the
# thread-local read (~600 instructions per op; benchmarks/RESULTS.md, issue 16).
ever_registered = False


def register_node_hook(hook: Callable):
    """Call ``hook(node, input_arrays, output_arrays, params)`` for each op that the calling
    thread records into a graph (ops under ``no_grad`` or on inputs needing no gradient record
    nothing; other threads' ops are not seen).

    ``input_arrays`` holds one ndarray per forward argument (None for a non-tensor argument of
    a custom Function); ``params`` are the op's keyword parameters (``{}`` for a Function).
    """
    global ever_registered
    ever_registered = True
    local.hooks.append(hook)
    return RemovableHandle(local.hooks, hook=hook)


# id(leaf) -> (weak reference to the leaf, its hooks); the engine looks here once per backward
# and only for leaves while it is not empty, so tensors carry no slot for a rare feature
post_accumulate_grad_hooks: dict[int, tuple] = {}


def register_post_accumulate_grad_hook(leaf, hook: Callable):
    """``leaf.register_post_accumulate_grad_hook(hook)``: see ``Tensor``'s method."""
    import weakref

    if leaf.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not leaf._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    entry = post_accumulate_grad_hooks.get(id(leaf))
    if entry is None:
        key, hooks = id(leaf), post_accumulate_grad_hooks  # locals: the callback may run
        ref = weakref.ref(leaf, lambda _: hooks.pop(key, None))  # while the interpreter exits
        entry = hooks[key] = (ref, [])
    entry[1].append(hook)
    return RemovableHandle(entry[1], hook=hook)
