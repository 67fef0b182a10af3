"""Reading a computation graph without changing it, for ``explain`` and ``draw``.

``walk(output)`` collects the nodes (backward order), the leaves, every tensor's shape and what
is known of its forward value (the backward itself is the engine's ``observe_backward``);
``keep_values()`` and ``track_modules()`` record, while a graph is built, what each op saw and
which module created it. All walks are iterative.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..autograd.engine import topological_order
from ..autograd.function import Node, Primitive
from ..autograd.grad_mode import set_grad_enabled
from ..autograd.graph import register_node_hook
from ..tensor import Tensor


class GraphFreedError(RuntimeError):
    """The graph's saved values were freed by a backward pass without ``retain_graph=True``."""


def display_name(node: Node) -> str:
    """The rule that runs, as ``grad_fn.name()`` says without 'Backward': ``Affine`` for
    ``2 * x``, ``Tanh``, a Function's class name."""
    name = node.name()
    return name[:-len("Backward")] if name.endswith("Backward") else name


def tensor_key(t: Tensor):
    """The identity of a tensor in the graph: its (node, output index), or the leaf itself."""
    return (id(t.grad_fn), t._output_nr) if t.grad_fn is not None else id(t)


def edge_key(edge):
    child, nr = edge
    return (id(child), nr) if isinstance(child, Node) else id(child)


def const_key(node: Node, i: int):
    """A constant input (an edge of None: no gradient flows there) of ``node``."""
    return ("const", id(node), i)


@dataclass
class Graph:
    """What ``walk`` learnt: nodes root first, leaves, shapes, forward values and consumers."""

    root: Tensor
    nodes: list  # backward order: each node before the nodes it sends gradients to
    leaves: list  # leaf tensors that require grad, in order of first use
    meta: dict  # key -> (shape, dtype) of every tensor (node outputs and leaves)
    values: dict  # key -> ndarray, where the forward value is known
    consumers: dict  # key -> [(node, input index)], in forward order
    params: dict = field(default_factory=dict)  # id(node) -> forward keyword parameters, if kept

    @property
    def root_key(self):
        return tensor_key(self.root)

    def forward_nodes(self) -> list:
        return self.nodes[::-1]


def walk(output: Tensor) -> Graph:
    """Every node and leaf behind ``output``, with shapes and the forward values we can know."""
    root_nodes: list[Node] = [output.grad_fn] if output.grad_fn is not None else []
    nodes = topological_order(root_nodes)
    meta: dict = {tensor_key(output): (output._data.shape, output._data.dtype)}
    consumers: dict = {}
    leaves: list = []
    seen_leaves: set = set()
    if output.grad_fn is None and output._rg:
        leaves.append(output)
        seen_leaves.add(id(output))
    for node in reversed(nodes):  # forward order: consumers listed as the forward ran
        inputs_meta = node.input_metadata()
        for i, edge in enumerate(node.next_functions):
            if edge is None:
                continue
            key = edge_key(edge)
            consumers.setdefault(key, []).append((node, i))
            if inputs_meta and inputs_meta[i] is not None:
                meta.setdefault(key, inputs_meta[i][:2])
            child = edge[0]
            if not isinstance(child, Node) and id(child) not in seen_leaves:
                seen_leaves.add(id(child))
                leaves.append(child)
    graph = Graph(output, nodes, leaves, meta, {}, consumers)
    _collect_values(graph)
    return graph


# ---- forward values ----------------------------------------------------------------------------


def _collect_values(graph: Graph) -> None:
    """Known forward values: leaves, the output, what ops saved or kept, then recomputation."""
    values = graph.values
    for leaf in graph.leaves:
        values[id(leaf)] = leaf._data
    values[graph.root_key] = graph.root._data
    for node in graph.nodes:
        kept = _KEPT.get(node)
        if kept is not None:
            inputs, outputs, params = kept
            graph.params[id(node)] = params
            for nr, out in enumerate(outputs):
                if out is not None:
                    values.setdefault((id(node), nr), out)
            for i, (edge, arr) in enumerate(zip(node.next_functions, inputs)):
                if arr is not None:
                    values.setdefault(edge_key(edge) if edge is not None else const_key(node, i),
                                      arr)
        _values_from_saved(node, values)
    _recompute(graph)


def _values_from_saved(node: Node, values: dict) -> None:
    edge_keys = [edge_key(e) if e is not None else None for e in node.next_functions]
    unmatched = []
    for role, t in node.saved_values():
        if role == "output":
            values.setdefault(tensor_key(t), t._data)
        elif role == "input":
            key = tensor_key(t)
            if key in edge_keys:
                values.setdefault(key, t._data)
            else:
                unmatched.append(t)
    # A saved input that matches no edge is a constant (needs no gradient): give it to the
    # edge-less input of the same shape and dtype.
    inputs_meta = node.input_metadata()
    for i, edge in enumerate(node.next_functions):
        if edge is not None or not unmatched or not inputs_meta or inputs_meta[i] is None:
            continue
        shape, dtype = inputs_meta[i][:2]
        for t in unmatched:
            if t._data.shape == shape and t._data.dtype == dtype:
                values.setdefault(const_key(node, i), t._data)
                unmatched.remove(t)
                break


def _recompute(graph: Graph) -> None:
    """Re-run the forward of ops whose output is unknown but whose inputs are known."""
    values = graph.values
    for node in graph.forward_nodes():
        if (id(node), 0) in values or not isinstance(node, Primitive) or node.n_outputs != 1:
            continue
        arrays = []
        for i, edge in enumerate(node.next_functions):
            key = edge_key(edge) if edge is not None else const_key(node, i)
            if key not in values:
                break
            arrays.append(values[key])
        else:
            out = _rerun_forward(node, arrays, graph)
            if out is not None:
                values[(id(node), 0)] = out


def _rerun_forward(node: Primitive, arrays: list, graph: Graph) -> np.ndarray | None:
    """The op's forward called again, as the engine called it, on the input arrays."""
    cls = type(node)
    shape = graph.meta.get((id(node), 0), (None, None))[0]
    scratch = object.__new__(cls)  # a throwaway context: the real node stays untouched
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(cls.forward(scratch, *arrays, **node.forward_params()))
    except Exception:  # noqa: BLE001  (best effort: an unknown value is shown as unknown)
        return None
    if shape is not None and out.shape != tuple(shape):
        return None
    return out


# ---- reading the backward ---------------------------------------------------------------------


def check_alive(graph: Graph, who: str) -> None:
    for node in graph.nodes:
        if node.freed:
            raise GraphFreedError(
                f"{who}: the graph's saved values were freed by an earlier backward() "
                f"(first freed node: {node.name()}). Call {who} before backward(), or "
                "backward(retain_graph=True).")


def local_derivatives(node: Node, graph: Graph) -> tuple | None:
    """d out / d input for each input where that is one number per element, else None.

    True for elementwise ops (any shapes) and for any op whose inputs and output are scalars.
    Computed as the node's own rule applied to a gradient of ones, before un-broadcasting.
    """
    if node.n_outputs != 1:
        return None
    shape, dtype = graph.meta.get((id(node), 0), (None, None))
    if shape is None:
        return None
    scalars = int(np.prod(shape)) == 1 and all(
        m is not None and int(np.prod(m[0])) == 1 for m in node.input_metadata())
    if not node.elementwise and not scalars:
        return None
    if np.dtype(dtype).kind not in "fc":
        return None
    ones = Tensor._make(np.ones(shape, dtype))
    with set_grad_enabled(False):
        raw = node(ones)
    if not isinstance(raw, tuple):
        raw = (raw,)
    return tuple(g._data if isinstance(g, Tensor) else None for g in raw)


# ---- names -------------------------------------------------------------------------------------


def named_tensors(names) -> list[tuple[str, Tensor]]:
    """``[(name, tensor)]`` from a mapping name -> Tensor, or a module's ``named_parameters()``."""
    if names is None:
        return []
    if hasattr(names, "named_parameters") and not isinstance(names, Mapping):
        items = list(names.named_parameters())
    elif isinstance(names, Mapping):
        items = list(names.items())
    else:
        raise TypeError(f"names: expected a mapping name -> Tensor or an nn.Module, got "
                        f"{type(names).__name__}")
    for name, t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"names: {name!r} maps to {type(t).__name__}, expected a Tensor")
    return [(str(name), t) for name, t in items]


# ---- recording while the graph is built ---------------------------------------------------------


@contextlib.contextmanager
def observe_recording(observer: Callable) -> Iterator[None]:
    """Call ``observer(node, input_arrays, output_arrays, params)`` for every node recorded
    inside the block (``cr.autograd.graph.register_node_hook`` for the block's duration)."""
    handle = register_node_hook(observer)
    try:
        yield
    finally:
        handle.remove()


# node -> (input arrays, output arrays, forward parameters), for the nodes keep_values() saw;
# arrays only (never Tensors): no reference from an array back to a node
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _keep(node: Node, inputs: tuple, outputs: tuple, params: dict) -> None:
    _KEPT[node] = (inputs, outputs, dict(params))


@contextlib.contextmanager
def keep_values() -> Iterator[None]:
    """Make every op recorded inside the block keep its input and output arrays, so that
    ``explain`` shows every forward value (constants included)::

        with keep_values():
            loss = (w * x + 1) ** 2
        print(explain(loss))

    Costs the memory of every intermediate value while the graph lives.
    """
    with observe_recording(_keep):
        yield


# node -> (module path, module class name), for draw(collapse='module')
MODULE_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def track_modules(model) -> Iterator[None]:
    """Tag every node created inside ``model``'s submodules with the innermost module's name,
    for ``draw(..., collapse='module')``::

        with track_modules(model):
            loss = loss_fn(model(x), y)
        draw(loss, collapse="module")
    """
    if not hasattr(model, "named_modules"):
        raise TypeError(f"track_modules: expected an nn.Module, got {type(model).__name__}")
    stack: list = []
    undo: list = []

    def enter(path: str, module) -> None:
        stack.append((path or type(module).__name__, type(module).__name__))

    def leave() -> None:
        if stack:
            stack.pop()

    for path, module in model.named_modules():
        if hasattr(module, "register_forward_pre_hook") and hasattr(
                module, "register_forward_hook"):
            h1 = module.register_forward_pre_hook(
                lambda m, inputs, _p=path: enter(_p, m))
            h2 = module.register_forward_hook(lambda m, inputs, output: leave())
            undo.extend([h1.remove, h2.remove])
        else:
            undo.append(_wrap_forward(module, path, enter, leave))

    def tag(node, inputs, outputs, params) -> None:
        if stack and node not in MODULE_OF:
            MODULE_OF[node] = stack[-1]

    try:
        with observe_recording(tag):
            yield
    finally:
        for fn in reversed(undo):
            fn()


def _wrap_forward(module, path: str, enter, leave) -> Callable[[], None]:
    """Push/pop the module around its ``forward`` (for modules without pre-hooks)."""
    original = module.forward

    def forward(*args, **kwargs):
        enter(path, module)
        try:
            return original(*args, **kwargs)
        finally:
            leave()

    object.__setattr__(module, "forward", forward)

    def restore() -> None:
        if "forward" in vars(module):
            object.__delattr__(module, "forward")

    return restore


# ---- numbers and tensors as short text ---------------------------------------------------------


def fmt_number(v, precision: int = 4) -> str:
    """6 -> '6', 0.41998 -> '0.4200', 1.5e-07 -> '1.500e-07'."""
    v = float(v)
    if not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))  # also turns -0.0 into '0'
    a = abs(v)
    if 1e-3 <= a < 1e5:
        return f"{v:.{precision}f}"
    return f"{v:.{max(precision - 1, 0)}e}"


def fmt_literal(v) -> str:
    """A number as one would type it: 0.5, 2, 1e-08."""
    if v is None:
        return "None"
    v = float(v)
    if np.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def summarize(a, precision: int = 4, max_values: int = 6) -> str:
    """A number for a single value; shape and a few values (plus the norm) for a tensor."""
    if a is None:
        return "?"
    a = np.asarray(a)
    if a.size == 1:
        return fmt_number(a.reshape(()), precision)
    if a.dtype.kind not in "fciub":
        return f"{a.dtype} {tuple(a.shape)}"
    flat = a.reshape(-1)
    if a.size <= max_values:
        if a.ndim == 1:
            return "[" + ", ".join(fmt_number(v, precision) for v in flat) + "]"
        return f"{tuple(a.shape)} [" + ", ".join(fmt_number(v, precision) for v in flat) + "]"
    head = ", ".join(fmt_number(v, precision) for v in flat[:3])
    norm = float(np.linalg.norm(flat.astype(np.float64)))
    return f"{tuple(a.shape)} [{head}, …] ‖·‖={fmt_number(norm, precision)}"


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
