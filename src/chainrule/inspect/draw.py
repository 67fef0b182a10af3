"""Draw a computation graph with graphviz: ``g = cr.inspect.draw(loss); g.write("graph.svg")``.

Op nodes (boxes) and tensor nodes (shape, a value for small tensors, the gradient), coloured by
gradient magnitude; ``collapse='module'`` draws each module as one box (build the graph under
``track_modules(model)``), so a model of thousands of ops stays legible. Renders to SVG/PNG
when graphviz's ``dot`` program is installed, and as DOT text otherwise.
"""

from __future__ import annotations

import math
import os
import pathlib
import shutil
from collections.abc import Mapping

import numpy as np

from ..autograd.engine import observe_backward
from ..tensor import Tensor
from . import _graph
from ._graph import display_name, fmt_number, fmt_shape, summarize, track_modules

__all__ = ["GraphvizMissing", "draw", "dot_available", "track_modules"]

# Fill colours from small to large gradient RMS (ColorBrewer "Oranges", log scale).
PALETTE = ("#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603")
ZERO_FILL = "#dde6f0"  # an exact zero gradient (a dead unit, a masked path)
OP_FILL = "#eeeeee"
MODULE_FILL = "#e8f0fa"
RENDER_FORMATS = ("svg", "png", "pdf")


class GraphvizMissing(ImportError):
    """The ``graphviz`` Python package is not installed."""


def dot_available() -> bool:
    """Whether graphviz's ``dot`` program is on the PATH (needed to render SVG/PNG)."""
    return shutil.which("dot") is not None


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissing(
            "draw needs the graphviz Python package: pip install chainrule[graph] (and "
            "graphviz's dot program, e.g. apt-get install graphviz, to render SVG/PNG)"
        ) from None
    return graphviz


def _graph_class():
    """A graphviz.Digraph that shows itself in Jupyter and writes SVG/PNG or DOT text."""
    graphviz = _graphviz()
    cached = getattr(_graph_class, "cls", None)
    if cached is not None:
        return cached

    class ComputationGraph(graphviz.Digraph):
        """The drawn graph: a ``graphviz.Digraph`` plus ``write(path)`` and ``_repr_svg_``."""

        def svg(self) -> str:
            """The graph as SVG text (needs graphviz's ``dot``)."""
            return self.pipe(format="svg").decode("utf-8")

        def _repr_svg_(self) -> str | None:
            return self.svg() if dot_available() else None

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs) -> dict:
            if dot_available():
                return {"image/svg+xml": self.svg()}
            return {"text/plain": self.source}

        def write(self, path: str | os.PathLike) -> pathlib.Path:
            """Render to ``path`` (.svg, .png or .pdf) when ``dot`` is installed; otherwise,
            and for any other suffix, write the DOT text (to ``path`` with suffix .dot).
            Returns the path written."""
            from ..atomic import atomic_write

            path = pathlib.Path(path)
            fmt = path.suffix.lstrip(".").lower()
            if fmt in RENDER_FORMATS and dot_available():
                return atomic_write(path, self.pipe(format=fmt))
            if fmt != "dot":
                path = path.with_suffix(".dot")
            return atomic_write(path, self.source)

    _graph_class.cls = ComputationGraph
    return ComputationGraph


def draw(output: Tensor, grads: bool = True, collapse: str | None = None,
         names: Mapping[str, Tensor] | object | None = None, rankdir: str = "TB",
         max_values: int = 4):
    """The computation graph behind ``output`` as a ``graphviz.Digraph``.

        g = cr.inspect.draw(loss, names={"w": w}); g.write("graph.svg")

    ``grads=True`` runs the graph's backward privately (nothing accumulates in ``.grad``) and
    colours each tensor by its gradient's RMS; after a ``backward()`` that freed the graph only
    the leaves' ``.grad`` is shown. ``collapse='module'`` draws each module as one box; the graph
    must be built under ``track_modules(model)``. Tensors with at most ``max_values`` elements
    show their values.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"draw: expected a Tensor, got {type(output).__name__}")
    if collapse not in (None, "module"):
        raise ValueError(f"draw: collapse must be None or 'module', got {collapse!r}")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw: rankdir must be TB, LR, BT or RL, got {rankdir!r}")
    cls = _graph_class()
    graph = _graph.walk(output)
    labels = _labels(graph, names)
    gradients = _gradients(graph) if grads else {}
    if collapse == "module":
        tags = {id(n): _graph.MODULE_OF.get(n) for n in graph.nodes}
        if graph.nodes and not any(tags.values()):
            raise ValueError(
                "draw: collapse='module' needs to know which module made each op: build the "
                "graph under chainrule.inspect.draw.track_modules(model), e.g.\n"
                "    with track_modules(model):\n        loss = loss_fn(model(x), y)")
    else:
        tags = {}
    dot = cls(name="chainrule", graph_attr={"rankdir": rankdir, "fontname": "Helvetica",
                                           "fontsize": "11"},
              node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
              edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"})
    _Drawer(dot, graph, labels, gradients, tags, max_values).draw()
    return dot


# ---- gradients --------------------------------------------------------------------------------


class _GradSummary:
    """What the drawing needs of a gradient: its RMS, max |g| and, for small ones, the values."""

    __slots__ = ("rms", "values", "zero")

    def __init__(self, g: np.ndarray, keep: int = 8) -> None:
        g64 = np.asarray(g, dtype=np.float64)
        self.rms = float(np.sqrt(np.mean(g64 * g64))) if g64.size else 0.0
        self.zero = not np.any(g64)
        self.values = g if g.size <= keep else None


def _gradients(graph: _graph.Graph) -> dict:
    """key -> _GradSummary for every tensor whose gradient is known."""
    out: dict = {}
    try:
        _graph.check_alive(graph, "draw")
    except _graph.GraphFreedError:
        for leaf in graph.leaves:  # freed by backward(): the leaves' .grad is what is left
            if leaf.grad is not None:
                out[id(leaf)] = _GradSummary(leaf.grad._data)
        return out
    leaf_sums: dict = {}

    def visit(node, grads, outs) -> None:
        for nr, g in enumerate(grads):
            if g is not None:
                out[(id(node), nr)] = _GradSummary(g._data)
        for edge, g in zip(node.next_functions, outs):
            if g is not None and edge is not None and not isinstance(edge[0], _graph.Node):
                key = id(edge[0])
                leaf_sums[key] = g._data if key not in leaf_sums else leaf_sums[key] + g._data

    seed = Tensor._make(np.ones_like(graph.root._data))
    if graph.root.grad_fn is None:
        leaf_sums[id(graph.root)] = seed._data
    observe_backward(graph.root, seed, visit)
    for key, g in leaf_sums.items():
        out[key] = _GradSummary(g)
    return out


def _colour_scale(gradients: dict) -> tuple[float, float] | None:
    logs = [math.log10(s.rms) for s in gradients.values() if s.rms > 0 and math.isfinite(s.rms)]
    if not logs:
        return None
    return min(logs), max(logs)


def _fill(summary: _GradSummary | None, scale) -> tuple[str, str]:
    """(fill colour, font colour) for a gradient summary."""
    if summary is None or scale is None:
        return "#ffffff", "#000000"
    if summary.zero:
        return ZERO_FILL, "#000000"
    if not math.isfinite(summary.rms):
        return "#d62728", "#ffffff"  # NaN or Inf: the colour of an alarm
    lo, hi = scale
    t = 0.5 if hi - lo < 1e-12 else (math.log10(summary.rms) - lo) / (hi - lo)
    i = min(len(PALETTE) - 1, max(0, int(round(t * (len(PALETTE) - 1)))))
    return PALETTE[i], "#ffffff" if i >= 5 else "#000000"


# ---- labels -----------------------------------------------------------------------------------


def _labels(graph: _graph.Graph, names) -> dict:
    given = {_graph.tensor_key(t): name for name, t in _graph.named_tensors(names)}
    labels = dict(given)
    k = 0
    for leaf in graph.leaves:
        if id(leaf) not in labels:
            k += 1
            labels[id(leaf)] = f"v{k}"
    k = 0
    for node in graph.forward_nodes():
        for nr in range(node.n_outputs):
            if (id(node), nr) not in labels:
                k += 1
                labels[(id(node), nr)] = f"t{k}"
    root = graph.root_key
    if root not in given:
        labels[root] = "output" if graph.root.grad_fn is not None else labels[root]
    return labels


def _shape(shape) -> str:
    return "scalar" if len(shape) == 0 else fmt_shape(shape)


class _Drawer:
    """Adds nodes and edges to ``dot``, iteratively, full or collapsed by module."""

    def __init__(self, dot, graph, labels, gradients, tags, max_values) -> None:
        self.dot, self.graph, self.labels = dot, graph, labels
        self.gradients, self.tags, self.max_values = gradients, tags, max_values
        self.scale = _colour_scale(gradients)
        self.ids: dict = {}

    def _id(self, key) -> str:
        if key not in self.ids:
            self.ids[key] = f"n{len(self.ids)}"
        return self.ids[key]

    def _tensor_label(self, key) -> str:
        shape, dtype = self.graph.meta.get(key, ((), None))
        lines = [self.labels.get(key, "?"), f"{_shape(shape)} {np.dtype(dtype).name}"
                 if dtype is not None else _shape(shape)]
        value = self.graph.values.get(key)
        if value is not None and np.size(value) <= self.max_values:
            lines.append("value " + summarize(value, 4, self.max_values))
        g = self.gradients.get(key)
        if g is not None:
            if g.values is not None and np.size(g.values) <= self.max_values:
                lines.append("grad " + summarize(g.values, 4, self.max_values))
            else:
                lines.append(f"grad rms {fmt_number(g.rms, 3)}")
        return "\n".join(lines)

    def _tensor_node(self, key, leaf: bool) -> str:
        node_id = self._id(("tensor", key))
        fill, font = _fill(self.gradients.get(key), self.scale)
        attrs = {"shape": "box", "style": "filled,rounded", "fillcolor": fill,
                 "fontcolor": font}
        if leaf:
            attrs["penwidth"] = "2"
        if key == self.graph.root_key:
            attrs["peripheries"] = "2"
        self.dot.node(node_id, self._tensor_label(key), **attrs)
        return node_id

    def _op_node(self, node) -> str:
        node_id = self._id(("op", id(node)))
        self.dot.node(node_id, display_name(node), shape="ellipse", fillcolor=OP_FILL,
                      fontsize="9", height="0.3")
        return node_id

    def draw(self) -> None:
        if self.tags:
            self._draw_collapsed()
        else:
            self._draw_full()
        self._legend()

    def _draw_full(self) -> None:
        graph = self.graph
        for leaf in graph.leaves:
            self._tensor_node(id(leaf), leaf=True)
        for node in graph.forward_nodes():
            op_id = self._op_node(node)
            for edge in node.next_functions:
                if edge is None:
                    continue
                src = self._id(("tensor", _graph.edge_key(edge)))
                self.dot.edge(src, op_id)
            for nr in range(node.n_outputs):
                key = (id(node), nr)
                if key in graph.consumers or key == graph.root_key:
                    out_id = self._tensor_node(key, leaf=False)
                    self.dot.edge(op_id, out_id)

    def _draw_collapsed(self) -> None:
        graph, tags = self.graph, self.tags
        owner: dict = {}  # id(node) -> drawn id (its module's box, or its own op node)
        members: dict = {}  # module path -> [nodes]
        for node in graph.forward_nodes():
            tag = tags.get(id(node))
            if tag is None:
                owner[id(node)] = self._op_node(node)
            else:
                members.setdefault(tag, []).append(node)
                owner[id(node)] = self._id(("module", tag[0]))
        # parameters used by one module only are drawn inside its box
        absorbed: dict = {}
        for leaf in graph.leaves:
            users = {owner[id(n)] for n, _ in graph.consumers.get(id(leaf), [])}
            if len(users) == 1:
                user = next(iter(users))
                tag = next((t for t in members if self._id(("module", t[0])) == user), None)
                if tag is not None:
                    absorbed.setdefault(tag, []).append(leaf)
                    owner[("leaf", id(leaf))] = user
                    continue
            owner[("leaf", id(leaf))] = self._tensor_node(id(leaf), leaf=True)
        clusters = _Clusters(self.dot)
        for tag, nodes in members.items():
            path, kind = tag
            params = absorbed.get(tag, [])
            lines = [f"{path} ({kind})", f"{len(nodes)} op{'s' if len(nodes) != 1 else ''}"]
            worst = None
            for leaf in params:
                g = self.gradients.get(id(leaf))
                name = self.labels.get(id(leaf), "param").rsplit(".", 1)[-1]
                text = f"{name} {fmt_shape(leaf.shape)}"
                if g is not None:
                    text += f"  grad rms {fmt_number(g.rms, 3)}"
                    worst = g if worst is None or g.rms > worst.rms else worst
                lines.append(text)
            if worst is None:  # no parameters: colour by the gradient of what it outputs
                outs = [self.gradients.get((id(n), 0)) for n in nodes[-1:]]
                worst = outs[0] if outs else None
            fill, font = _fill(worst, self.scale)
            target = clusters.parent_of(path)
            target.node(self._id(("module", path)), "\n".join(lines), shape="box",
                        style="filled", fillcolor=fill if worst is not None else MODULE_FILL,
                        fontcolor=font, penwidth="1.5")
        clusters.close()
        seen = set()
        for node in graph.forward_nodes():
            dst = owner[id(node)]
            for edge in node.next_functions:
                if edge is None:
                    continue
                child = edge[0]
                src = owner[id(child)] if isinstance(child, _graph.Node) else \
                    owner[("leaf", id(child))]
                if src == dst or (src, dst) in seen:
                    continue
                seen.add((src, dst))
                shape = self.graph.meta.get(_graph.edge_key(edge), ((), None))[0]
                self.dot.edge(src, dst, label=_shape(shape))
        root = graph.root_key
        if graph.root.grad_fn is not None:
            out_id = self._tensor_node(root, leaf=False)
            self.dot.edge(owner[id(graph.root.grad_fn)], out_id)

    def _legend(self) -> None:
        if self.scale is None:
            return
        lo, hi = self.scale
        self.dot.attr(label=f"fill: gradient RMS, log scale, light {10 ** lo:.1e} → dark "
                            f"{10 ** hi:.1e}; blue-grey = exactly 0; thick border = leaf",
                      labelloc="b", fontsize="9")


class _Clusters:
    """Nested graphviz clusters for module paths ('layers.0' inside 'layers'), built without
    recursion and attached deepest first."""

    def __init__(self, dot) -> None:
        self.dot = dot
        self.subgraphs: dict = {}

    def parent_of(self, path: str):
        parts = path.split(".")
        if len(parts) < 2:
            return self.dot
        parent = ".".join(parts[:-1])
        for k in range(1, len(parts)):
            prefix = ".".join(parts[:k])
            if prefix not in self.subgraphs:
                sub = type(self.dot)(name=f"cluster_{len(self.subgraphs)}")
                sub.attr(label=prefix, style="rounded,dashed", color="#888888", fontsize="10")
                self.subgraphs[prefix] = sub
        return self.subgraphs[parent]

    def close(self) -> None:
        for prefix in sorted(self.subgraphs, key=lambda p: -p.count(".")):
            parts = prefix.split(".")
            target = self.dot if len(parts) == 1 else self.subgraphs[".".join(parts[:-1])]
            target.subgraph(self.subgraphs[prefix])
