"""The backward sweep: nodes run newest first (creation order is a topological order), no
recursion, and the engine knows no op by name.

Without ``create_graph`` the sweep runs in array mode: its buffers hold ndarrays and the rules
run on them; with it, Tensors and recorded rules (why: the docstring of ``function.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import cast

import numpy as np

from .._allocator import keep_freed_memory
from ..tensor import Tensor
from . import anomaly
from .function import Node, _root_array, _shares_memory, _wrap
from .grad_mode import set_grad_enabled
from .graph import post_accumulate_grad_hooks


def backward(tensors: Sequence[Tensor] | Tensor, grad_tensors=None, retain_graph=None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``.

    ``cr.autograd.backward([loss1, loss2])``
    """
    keep_freed_memory()  # training starts here: the next steps reuse this one's memory
    tensors = _as_list(tensors)
    grads = _root_grads(tensors, grad_tensors, "backward")
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
        _check_differentiable(inputs, "backward")
    _execute(_Sweep(tensors, grads, create_graph, inputs, capture=False),
             create_graph if retain_graph is None else retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned instead of accumulated.

    ``(gx,) = cr.autograd.grad(y, x, create_graph=True)``
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    _check_differentiable(inputs, "grad")
    grads = _root_grads(outputs, grad_outputs, "grad")
    sweep = _Sweep(outputs, grads, create_graph, inputs, capture=True)
    _execute(sweep, create_graph if retain_graph is None else retain_graph)
    result = []
    for t in inputs:
        g = sweep.captured.get(_target_key(t))
        if g is None:
            if materialize_grads:
                g = Tensor._make(np.zeros_like(t._data))
            elif not allow_unused:
                raise RuntimeError(
                    "grad: one of the differentiated Tensors (shape "
                    f"{tuple(t.shape)}) appears to not have been used in the graph. Set "
                    "allow_unused=True if this is the desired behavior.")
        result.append(g)
    return tuple(result)


def observe_backward(output: Tensor, gradient: Tensor,
                     observer: Callable[[Node, list, list | tuple], None]) -> None:
    """Run ``output``'s backward for a tool that reads it (``cr.inspect.explain``, ``draw``):
    the engine's own sweep, but the graph is kept and no ``.grad``, hook or retained gradient
    is touched. ``observer(node, incoming, outgoing)`` sees each node's summed incoming
    gradients (one per output, None where none came) and the checked gradient it sends to each
    input (None where none).

    ``observe_backward(loss, cr.ones_like(loss), lambda node, gin, gout: print(node.name()))``
    """
    if output.grad_fn is not None:
        _Sweep([output], [gradient], False, None, capture=False).observe(observer)
# the sweeps running on this thread, innermost last (a hook may run a backward of its own)
_running = threading.local()


def _execute(sweep: _Sweep, retain_graph: bool) -> None:
    stack = _running.__dict__.setdefault("sweeps", [])
    stack.append(sweep)
    try:
        sweep.run(retain_graph)
        sweep.finish()
    finally:
        stack.pop()


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` at the end of the backward pass running on this thread, after every
    leaf's ``.grad`` is written and before ``backward()`` returns (PyTorch's
    ``Variable._execution_engine.queue_callback``); call it from a hook:
    ``p.register_post_accumulate_grad_hook(lambda p: queue_callback(wait_for_buckets))``
    """
    stack = getattr(_running, "sweeps", None)
    if not stack:
        raise RuntimeError("queue_callback: final callbacks can only be installed during the "
                           "backward pass")
    stack[-1].callbacks.append(callback)


def _as_list(tensors) -> list:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _check_differentiable(inputs: list, op: str) -> None:
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: inputs[{i}] is {type(t).__name__}, expected a Tensor")
        if not t._rg:
            raise RuntimeError(f"{op}: one of the differentiated Tensors (inputs[{i}], shape "
                               f"{tuple(t.shape)}) does not require grad")


def _root_grads(tensors: list, grad_tensors, op: str) -> list:
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    else:
        grad_tensors = _as_list(grad_tensors)
        if len(grad_tensors) != len(tensors):
            raise RuntimeError(f"{op}: got {len(grad_tensors)} gradients for {len(tensors)} "
                               "tensors")
    grads = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: tensors[{i}] is {type(t).__name__}, expected a Tensor")
        if not t._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (got shape "
                    f"{tuple(t.shape)}); pass gradient= with the output's shape")
            g = Tensor._make(np.ones_like(t._data))
        else:
            if not isinstance(g, Tensor):
                g = Tensor(np.asarray(g, dtype=t._data.dtype))
            if g._data.shape != t._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{tuple(g.shape)} and output[{i}] has a shape of "
                                   f"{tuple(t.shape)}.")
            if g._data.dtype != t._data.dtype:
                g = g.to(t._data.dtype)
        grads.append(g)
    return grads


def _target_key(t: Tensor):
    return (id(t.grad_fn), t._output_nr) if t.grad_fn is not None else id(t)


def topological_order(roots: Sequence[Node]) -> list[Node]:
    """Every node reachable from ``roots``, each before the nodes it sends gradients to.

    Iterative post-order depth-first search, reversed: no recursion limit.
    """
    order: list[Node] = []
    visited: set[int] = set()
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, iter(root._edge_fns))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if isinstance(child, Node) and id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, iter(child._edge_fns)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


class _Sweep:
    """One backward pass: gradients flow from the roots to the leaves (or captured targets).

    A gradient in flight is an ndarray in array mode (``create_graph=False``) and a Tensor in
    Tensor mode; ``_wrap`` / ``_unwrap`` cross over where user code looks at it.
    """

    def __init__(self, roots: list, root_grads: list, create_graph: bool, targets, capture: bool):
        self.create_graph = create_graph
        self.arrays = not create_graph
        self.capture = capture
        self.captured: dict = {}
        self.targets = None if targets is None else {_target_key(t): t for t in targets}
        self.buffers: dict[int, list] = {}
        # id(leaf) -> [leaf, summed gradient, whether this sweep owns the sum's array]
        self.leaf_grads: dict[int, list] = {}
        # ids of gradient arrays that more than one holder may see: a leaf storing one copies it
        self.shared_arrays: set[int] = set()
        # nodes that have received a gradient and wait for their backward, as (-seq, node)
        self.ready: list[tuple[int, Node]] = []
        self.callbacks: list[Callable[[], None]] = []
        # id(leaf) -> gradients still to come, for leaves with post-accumulate-grad hooks
        self.leaf_uses = self._hooked_leaf_uses(roots) if post_accumulate_grad_hooks else None
        self.partial_leaves: dict[int, Tensor] = {}  # hooked leaves with gradients still to come
        root_nodes = []
        for t, g in zip(roots, root_grads):
            self.shared_arrays.add(id(_root_array(g._data)))  # the caller still holds it
            g = self._unwrap(g)
            if t.grad_fn is None:
                self._to_leaf(t, g)
            else:
                self._to_node(t.grad_fn, t._output_nr, g)
                root_nodes.append(t.grad_fn)
        self.needed = None if self.targets is None else self._needed_nodes(root_nodes)

    @staticmethod
    def _hooked_leaf_uses(roots: list) -> dict[int, int]:
        """How many gradients each leaf with post-accumulate-grad hooks receives here."""
        hooked = post_accumulate_grad_hooks
        uses: dict[int, int] = {}
        stack = []
        for t in roots:
            if t.grad_fn is not None:
                stack.append(t.grad_fn)
            elif id(t) in hooked:
                uses[id(t)] = uses.get(id(t), 0) + 1
        seen = {id(node) for node in stack}
        while stack:  # every node once, in any order: only the edge counts matter
            for child in stack.pop()._edge_fns:
                if isinstance(child, Node):
                    if id(child) not in seen:
                        seen.add(id(child))
                        stack.append(child)
                elif child is not None and id(child) in hooked:
                    uses[id(child)] = uses.get(id(child), 0) + 1
        return uses

    def _wrap(self, g) -> Tensor:
        return _wrap(g) if self.arrays else g

    def _unwrap(self, g: Tensor):
        return g._data if self.arrays else g

    def _needed_nodes(self, root_nodes: list[Node]) -> set[int]:
        """Nodes on some path to a target: the only ones whose backward must run."""
        targets = cast(dict, self.targets)  # set: only grad() with inputs asks
        needed: set[int] = set()
        for node in reversed(topological_order(root_nodes)):
            for child, nr in zip(node._edge_fns, node._edge_nrs):
                if child is None:
                    continue
                if isinstance(child, Node):
                    if id(child) in needed or (id(child), nr) in targets:
                        needed.add(id(node))
                        break
                elif id(child) in targets:
                    needed.add(id(node))
                    break
        return needed

    def run(self, retain_graph: bool) -> None:
        """Run the waiting node created last until none waits.

        Every consumer of a node's outputs was created after it, so when a node comes first
        its gradient is complete: no topological sort is needed (PyTorch orders by creation
        too).
        """
        buffers, needed, targets, ready = self.buffers, self.needed, self.targets, self.ready
        arrays = self.arrays
        checked = anomaly.enabled  # read once: the sweep runs in one mode
        # leaf gradients go straight into .grad unless hooks, grad() or create_graph sum first
        direct = targets is None and arrays
        # the one node the last step made ready while none other waited runs next without
        # the heap (every step of a chain)
        nxt = None
        with set_grad_enabled(self.create_graph):
            while nxt is not None or ready:
                if nxt is None:
                    node = heappop(ready)[1]
                else:
                    node, nxt = nxt, None
                grads = buffers.pop(id(node))
                if node._hooks_by_output or node._retained or targets:
                    self._visit_outputs(node, grads)
                    if needed is not None and id(node) not in needed:
                        continue
                if arrays:
                    outs = node._backward_arrays(grads)
                    if checked:
                        node._check_arrays(outs)
                else:
                    outs = node._backward(grads)
                if checked:
                    anomaly.check_backward(node, outs, grads)
                if not retain_graph and node._saved:
                    node._saved = None  # frees what it saved; a second backward raises
                if len(outs) > 1 and node.shares_grads:  # (a class attribute: read last)
                    self._mark_repeated(outs)
                # by index rather than zip(): a zip and its three iterators cost ~1.5k
                # instructions per node (outs holds one gradient per input)
                fns, nrs = node._edge_fns, node._edge_nrs
                i = -1
                for g in outs:
                    i += 1
                    child = fns[i]
                    if g is None or child is None:  # no gradient, or the input needs none
                        continue
                    if isinstance(child, Tensor):  # a leaf (Parameter is a Tensor too)
                        if direct and not child._hooks:
                            self._accumulate(child, g)
                        else:
                            self._to_leaf(child, g)
                        continue
                    # _to_node, inlined: the commonest edge of all
                    key = id(child)
                    slot = buffers.get(key)
                    if slot is None:
                        slot = buffers[key] = [None] * child._n_outputs
                        if ready or nxt is not None:
                            if nxt is not None:
                                heappush(ready, (-nxt._seq, nxt))
                                nxt = None
                            heappush(ready, (-child._seq, child))
                        else:
                            nxt = child
                    # out of place: g may be the array another node or leaf also received
                    nr = nrs[i]
                    slot[nr] = g if slot[nr] is None else slot[nr] + g
            self._finish_leaves()

    def observe(self, observer: Callable[[Node, list, list | tuple], None]) -> None:
        """Observer mode (``observe_backward``): ``run``'s order, rules and buffering, without
        its effects (hooks, retained and leaf gradients, freeing the graph)."""
        buffers, ready = self.buffers, self.ready
        with set_grad_enabled(False):
            while ready:
                node = heappop(ready)[1]
                grads = buffers.pop(id(node))
                outs = node._backward_arrays(grads)  # the sweep runs in array mode
                observer(node, [None if g is None else _wrap(g) for g in grads],
                         [None if g is None else _wrap(g) for g in outs])
                for child, nr, g in zip(node._edge_fns, node._edge_nrs, outs):
                    if g is not None and isinstance(child, Node):
                        self._to_node(child, nr, g)

    def _visit_outputs(self, node: Node, grads: list) -> None:
        """Tensor hooks, retain_grad and captured targets of a node's outputs."""
        for nr, g in enumerate(grads):
            if g is None:
                continue
            if node._hooks_by_output and nr in node._hooks_by_output:
                t = self._wrap(g)
                for hook in list(node._hooks_by_output[nr]):
                    replaced = hook(t)
                    if replaced is not None:
                        t = replaced
                g = grads[nr] = self._unwrap(t)
            if node._retained and nr in node._retained:
                tensor = node._retained[nr]()
                if tensor is not None:
                    self._accumulate(tensor, g)
                    self._mark_shared(g)  # g flows on to the inputs too
            key = (id(node), nr)
            if self.targets is not None and key in self.targets:
                if self.capture:
                    self.captured[key] = self._wrap(g)
                    self._mark_shared(g)
                elif not node._retained or nr not in node._retained:
                    self._accumulate(self.targets[key], g)
                    self._mark_shared(g)

    def _mark_shared(self, g) -> None:
        self.shared_arrays.add(id(_root_array(g if self.arrays else g._data)))

    def _mark_repeated(self, outs: list | tuple) -> None:
        """A rule that sends one array to several inputs (``Add``: ``g, g``) shares it.

        Rules otherwise return fresh arrays, or their incoming gradient or a view of it (the
        root array keeps its identity), so this, the roots and captured gradients are all the
        sharing there is.
        """
        arrays = outs if self.arrays else [None if g is None else g._data for g in outs]
        if len(arrays) == 2:  # Add's (g, g) or (g, its sum): no lists or sets
            a, b = arrays
            if a is not None and b is not None:
                root = _root_array(a)
                if root is _root_array(b):
                    self.shared_arrays.add(id(root))
            return
        if _shares_memory(arrays):  # rare: most rules return fresh arrays
            roots = [id(_root_array(a)) for a in arrays if a is not None]
            self.shared_arrays.update(k for k in roots if roots.count(k) > 1)

    def _to_node(self, node: Node, nr: int, g) -> None:
        slot = self.buffers.get(id(node))
        if slot is None:
            slot = self.buffers[id(node)] = [None] * node._n_outputs
            heappush(self.ready, (-node._seq, node))
        slot[nr] = g if slot[nr] is None else slot[nr] + g

    def _to_leaf(self, leaf: Tensor, g) -> None:
        if self.targets is None and self.arrays and not leaf._hooks:
            # straight into .grad (in place after the first contribution): holding every
            # weight's gradient until the sweep ends would double the peak memory
            self._accumulate(leaf, g)
            return
        # hooks must see the summed gradient once; grad() and create_graph sum first too
        entry = self.leaf_grads.get(id(leaf))
        if entry is None:
            self.leaf_grads[id(leaf)] = [leaf, g, False]
        elif entry[2]:  # a sum this sweep made: add in place (a weight used 1,000 times)
            np.add(entry[1], g, out=entry[1])
        else:
            entry[1] = entry[1] + g
            # with a graph every sum stays a recorded op; a 0-d sum may be a NumPy scalar
            entry[2] = self.arrays and type(entry[1]) is np.ndarray

    def _finish_leaves(self) -> None:
        for leaf, g, _ in self.leaf_grads.values():
            if leaf._hooks:
                t = self._wrap(g)
                for hook in list(leaf._hooks):
                    replaced = hook(t)
                    if replaced is not None:
                        t = replaced
                g = self._unwrap(t)
            if self.targets is not None:
                if id(leaf) not in self.targets:
                    continue
                if self.capture:
                    self.captured[id(leaf)] = self._wrap(g)
                    continue
            self._accumulate(leaf, g)

    def _accumulate(self, t: Tensor, g) -> None:
        """``t.grad += g``, owning its array (never an alias of another gradient): the one
        place a ``.grad`` is written."""
        grad = t.grad
        if not self.arrays:  # Tensor mode: every sum is a recorded op
            t.grad = g if grad is None else grad + g
        elif grad is None:
            if type(g) is not np.ndarray or not g.flags.writeable or (
                    not g.flags.c_contiguous) or id(_root_array(g)) in self.shared_arrays:
                # a copy (and a 0-d array for a NumPy scalar), C-contiguous as PyTorch lays out
                # a contiguous leaf's .grad (p.grad.view(-1) works)
                g = np.array(g, order="C")
            t.grad = Tensor._make(g)
        elif grad._rg or grad._data.shape != g.shape:
            t.grad = grad + _wrap(g)
        else:
            data = grad._data
            data += g  # in place (the operator: np.add's keyword parsing costs more)
            grad._vc[0] += 1
        if self.leaf_uses is not None and id(t) in self.leaf_uses:
            self._leaf_accumulated(t)

    def _leaf_accumulated(self, leaf: Tensor) -> None:
        """Run the leaf's post-accumulate-grad hooks once its last gradient of this sweep is in.

        A leaf used n times gets n direct accumulations; otherwise (tensor hooks, grad(),
        create_graph) it gets its summed gradient once, from ``_finish_leaves``.
        """
        leaf_uses = cast("dict[int, int]", self.leaf_uses)  # set: the caller found the leaf in it
        left = leaf_uses[id(leaf)] - 1
        direct = self.targets is None and not self.create_graph and not leaf._hooks
        if direct and left > 0:
            leaf_uses[id(leaf)] = left
            self.partial_leaves[id(leaf)] = leaf
            return
        del leaf_uses[id(leaf)]
        self.partial_leaves.pop(id(leaf), None)
        self._post_accumulate(leaf)

    @staticmethod
    def _post_accumulate(leaf: Tensor) -> None:
        entry = post_accumulate_grad_hooks.get(id(leaf))
        if entry is not None:
            for hook in list(entry[1]):
                hook(leaf)

    def finish(self) -> None:
        """After the sweep: hooks of leaves that some expected gradients never reached (a
        rule returned None, or ``inputs=`` skipped a branch), then the queued callbacks."""
        if not self.partial_leaves and not self.callbacks:
            return  # the common case: no grad-mode switch (two locked counter updates)
        with set_grad_enabled(self.create_graph):
            for leaf in list(self.partial_leaves.values()):
                self._post_accumulate(leaf)
            self.partial_leaves.clear()
            while self.callbacks:
                self.callbacks.pop(0)()
