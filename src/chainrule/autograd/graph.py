"""Hooks on the graph as it is built: ``register_node_hook`` sees every op its thread records.

``handle = cr.autograd.graph.register_node_hook(lambda node, xs, outs, params: ...)``
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class _NodeHooks(threading.local):
    def __init__(self) -> None:
        self.hooks: list[Callable] = []


# Per thread, as PyTorch's graph hooks (saved_tensors_hooks) and grad mode: explain's
# keep_values() or draw's track_modules() in one thread never sees another thread's ops.
# Read by the recording path of every op; nothing else runs while the list is empty.
local = _NodeHooks()


def register_node_hook(hook: Callable):
    """Call ``hook(node, input_arrays, output_arrays, params)`` for each op that the calling
    thread records into a graph (ops under ``no_grad`` or on inputs needing no gradient record
    nothing; other threads' ops are not seen).

    ``input_arrays`` holds one ndarray per forward argument (None for a non-tensor argument of
    a custom Function); ``params`` are the op's keyword parameters (``{}`` for a Function).
    """
    from ..tensor import RemovableHandle  # tensor.py imports the ops, which import this

    local.hooks.append(hook)
    return RemovableHandle(local.hooks, hook)
