"""Hooks on the graph as it is built: ``register_node_hook`` sees every recorded op.

``handle = cr.autograd.graph.register_node_hook(lambda node, xs, outs, params: ...)``
"""

from __future__ import annotations

from collections.abc import Callable

from ..utils.hooks import RemovableHandle

# Read by the recording path of every op; nothing else runs while it is empty.
node_hooks: list[Callable] = []


def register_node_hook(hook: Callable):
    """Call ``hook(node, input_arrays, output_arrays, params)`` for each op recorded into a
    graph (ops under ``no_grad`` or on inputs needing no gradient record nothing).

    ``input_arrays`` holds one ndarray per forward argument (None for a non-tensor argument of
    a custom Function); ``params`` are the op's keyword parameters (``{}`` for a Function).
    """
    node_hooks.append(hook)
    return RemovableHandle(node_hooks, hook=hook)
