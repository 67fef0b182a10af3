"""The chain rule, step by step: ``explain(output)`` traces a graph's backward pass in words.

    w, x, y = (cr.tensor(v, requires_grad=True) for v in (2.0, 3.0, 10.0))
    print(cr.inspect.explain((w * x - y) ** 2, names={"w": w, "x": x, "y": y}))

For every node in backward order: its op, forward value, the local derivative with respect to
each input, the incoming gradient and the product sent to each input, with accumulation at
shared nodes shown. Renders as text (``str``), Markdown and HTML; ``.steps`` holds the numbers.
"""

from __future__ import annotations

import html as _html
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..autograd.engine import observe_backward
from ..tensor import Tensor
from . import _graph
from ._graph import display_name, fmt_literal, fmt_shape, keep_values, summarize

__all__ = ["Contribution", "Edge", "Explanation", "LeafGradient", "Step", "explain",
           "keep_values"]

# Derivative notation: d for the output's total derivative, ∂ for one op's local one. The
# formulas come from the ops themselves (``Node.formula`` and ``Node.derivatives``).
_TEMPLATE = string.Formatter()


@dataclass
class Edge:
    """What one input of a step receives: ``sent = incoming × local`` (summed to its shape)."""

    input: str  # the input's name
    rule: str  # the local derivative (or the backward rule) as a formula
    local: np.ndarray | None  # the local derivative's value, where it is one number per element
    sent: np.ndarray | None  # the gradient sent to the input (None: the input needs none)
    constant: bool = False  # the input needs no gradient (data, or requires_grad=False)
    summed: bool = False  # sent was summed over broadcast axes to the input's shape


@dataclass
class Contribution:
    """One term of an accumulated gradient: ``grad`` arrived from step ``source``."""

    source: str
    grad: np.ndarray


@dataclass
class Step:
    """One node of the backward pass."""

    index: int  # 1 = the output's node
    name: str  # the output's name (names joined by ', ' for a multi-output op)
    op: str  # the rule that ran, as grad_fn.name() says: Mul, Affine (for 2 * x), Tanh, ...
    expression: str  # e.g. "w * x"
    value: np.ndarray | None  # forward value (None where it was not kept)
    grad: np.ndarray | None  # the incoming gradient d(output)/d(this), accumulated
    contributions: list[Contribution] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)

    @property
    def accumulated(self) -> bool:
        return len(self.contributions) > 1


@dataclass
class LeafGradient:
    """A leaf's gradient: the sum of what every use of it received."""

    name: str
    value: np.ndarray
    grad: np.ndarray | None
    contributions: list[Contribution] = field(default_factory=list)


class Explanation:
    """The chain-rule trace of a graph. ``str(e)`` is text; also ``e.markdown()``, ``e.html()``,
    and ``e.steps`` (backward order), ``e.leaves`` and ``e.grads`` (name -> gradient)."""

    def __init__(self, output: str, seed: np.ndarray, steps: list[Step],
                 leaves: list[LeafGradient], precision: int = 4) -> None:
        self.output = output
        self.seed = seed
        self.steps = steps
        self.leaves = leaves
        self.precision = precision

    @property
    def grads(self) -> dict[str, np.ndarray | None]:
        return {leaf.name: leaf.grad for leaf in self.leaves}

    def step(self, name: str) -> Step:
        """The step that computed the tensor called ``name``."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"explain: no step computes {name!r}; steps: "
                       f"{', '.join(s.name for s in self.steps)}")

    def __repr__(self) -> str:
        return (f"<Explanation of {self.output}: {len(self.steps)} steps, "
                f"{len(self.leaves)} inputs>")

    def __str__(self) -> str:
        return self.text()

    # ---- pieces shared by the renderers --------------------------------------------------------
    def _s(self, a) -> str:
        if isinstance(a, tuple):  # a multi-output op: one summary per output
            return "(" + "; ".join(summarize(x, self.precision) for x in a) + ")"
        return summarize(a, self.precision)

    def _d(self, name: str) -> str:
        return f"d{self.output}/d{name}"

    def _incoming(self, step: Step) -> str:
        return self._sum_text(step.contributions, step.grad)

    def _sum_text(self, contributions: list[Contribution], total) -> str:
        if len(contributions) <= 1:
            return self._s(total)
        if len(contributions) <= 4:
            terms = " + ".join(f"{self._s(c.grad)} (from {c.source})" for c in contributions)
        else:
            sources = ", ".join(c.source for c in contributions[:3])
            terms = f"the sum of {len(contributions)} terms (from {sources}, …)"
        return f"{terms} = {self._s(total)}"

    def _edge_text(self, step: Step, e: Edge) -> tuple[str, str]:
        """(local derivative, what is sent) for one edge, as text."""
        if e.constant:
            return "constant", "no gradient needed"
        if e.local is not None:
            local_value = _uniform(e.local)
            value = self._s(local_value)
            local = f"∂{step.name}/∂{e.input} = " + (
                value if _same_number(e.rule, local_value) else f"{e.rule} = {value}")
        else:  # g, the incoming gradient, by its name
            g = self._d(step.name)
            local = "rule: " + re.sub(r"(?<!\w)g(ᵀ?)(?![A-Za-z0-9_])",
                                      lambda m: f"({g})ᵀ" if m.group(1) else g, e.rule)
        if e.sent is None:
            return local, "no gradient"
        if e.local is None:
            return local, self._s(e.sent)
        grad = step.grad
        if grad is not None and np.size(grad) == 1 and np.size(e.local) == 1:
            product = f"{self._s(grad)} × {self._s(e.local)}"
        else:  # tensors: name the factors, the values are shown above
            product = f"{self._d(step.name)} × ∂{step.name}/∂{e.input}"
        if e.summed:
            product = f"Σ({product}) over the broadcast axes"
        return local, f"{product} = {self._s(e.sent)}"

    def _counts(self) -> str:
        n, k = len(self.steps), len(self.leaves)
        return (f"{n} op{'s' if n != 1 else ''}, {k} input{'s' if k != 1 else ''} "
                "with gradients")

    def _unknown_values(self) -> bool:
        for s in self.steps:
            values = s.value if isinstance(s.value, tuple) else (s.value,)
            if any(v is None for v in values):
                return True
        return False

    def _seed_text(self) -> str:
        note = "" if self.seed.size == 1 else " (ones: as if the output were summed)"
        return f"{self._d(self.output)} = {self._s(self.seed)}{note}"

    # ---- text ---------------------------------------------------------------------------------
    def text(self) -> str:
        """Plain text: the forward pass, then each backward step, then the inputs' gradients."""
        lines = [f"Chain rule for {self.output}: {self._counts()}", ""]
        lines.append("Forward pass")
        width = max([len(leaf.name) for leaf in self.leaves] + [len(s.name) for s in self.steps]
                    + [1])
        for leaf in self.leaves:
            lines.append(f"  {leaf.name:<{width}} = {self._s(leaf.value)}")
        for s in reversed(self.steps):
            lines.append(f"  {s.name:<{width}} = {s.expression} = {self._s(s.value)}"
                         f"    [{s.op}]")
        if self._unknown_values():
            lines.append(f"  {_UNKNOWN_NOTE}")
        lines += ["", f"Backward pass, output to inputs: {self._seed_text()}"]
        for s in self.steps:
            lines.append(f"  [{s.index}] {s.name} = {s.expression}    ({s.op})")
            lines.append(f"      incoming  {self._d(s.name)} = {self._incoming(s)}")
            for e in s.edges:
                local, sent = self._edge_text(s, e)
                if e.constant:
                    lines.append(f"      → {e.input}: {local}, {sent}")
                else:
                    lines.append(f"      → {e.input}: {local};  sends {sent}")
        lines += ["", "Gradients of the inputs"]
        for leaf in self.leaves:
            total = self._sum_text(leaf.contributions, leaf.grad)
            lines.append(f"  {self._d(leaf.name)} = {total}")
        return "\n".join(lines)

    # ---- markdown -----------------------------------------------------------------------------
    def markdown(self) -> str:
        """GitHub-flavoured Markdown: tables for the forward pass, each step and the gradients."""
        def cell(text: str) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        out = [f"## Chain rule for `{self.output}`", "", f"{self._counts()}.", "",
               "### Forward pass", "", "| tensor | computed as | value | op |",
               "|---|---|---|---|"]
        for leaf in self.leaves:
            out.append(f"| `{cell(leaf.name)}` | input | {cell(self._s(leaf.value))} | |")
        for s in reversed(self.steps):
            out.append(f"| `{cell(s.name)}` | `{cell(s.expression)}` | {cell(self._s(s.value))} "
                       f"| {s.op} |")
        if self._unknown_values():
            out += ["", _UNKNOWN_NOTE + "."]
        out += ["", "### Backward pass", "", f"Seed: {cell(self._seed_text())}."]
        for s in self.steps:
            out += ["", f"**{s.index}. `{cell(s.name)} = {cell(s.expression)}`** ({s.op}): "
                    f"incoming {cell(self._d(s.name))} = {cell(self._incoming(s))}", "",
                    "| to | local derivative | sends |", "|---|---|---|"]
            for e in s.edges:
                local, sent = self._edge_text(s, e)
                out.append(f"| `{cell(e.input)}` | {cell(local)} | {cell(sent)} |")
        out += ["", "### Gradients of the inputs", "", "| input | gradient |", "|---|---|"]
        for leaf in self.leaves:
            out.append(f"| `{cell(leaf.name)}` | {cell(self._d(leaf.name))} = "
                       f"{cell(self._sum_text(leaf.contributions, leaf.grad))} |")
        return "\n".join(out) + "\n"

    # ---- html ---------------------------------------------------------------------------------
    def html(self, full: bool = True) -> str:
        """HTML: a standalone page (``full=True``) or a fragment to embed."""
        esc = _html.escape
        body = [f"<h2>Chain rule for <code>{esc(self.output)}</code></h2>",
                f"<p>{self._counts()}.</p>",
                "<h3>Forward pass</h3>", "<table class='cr'><tr><th>tensor</th>"
                "<th>computed as</th><th>value</th><th>op</th></tr>"]
        for leaf in self.leaves:
            body.append(f"<tr><td><code>{esc(leaf.name)}</code></td><td>input</td>"
                        f"<td>{esc(self._s(leaf.value))}</td><td></td></tr>")
        for s in reversed(self.steps):
            body.append(f"<tr><td><code>{esc(s.name)}</code></td><td><code>{esc(s.expression)}"
                        f"</code></td><td>{esc(self._s(s.value))}</td><td>{esc(s.op)}</td></tr>")
        body.append("</table>")
        if self._unknown_values():
            body.append(f"<p>{esc(_UNKNOWN_NOTE)}.</p>")
        body += ["<h3>Backward pass</h3>", f"<p>Seed: {esc(self._seed_text())}</p>"]
        for s in self.steps:
            acc = " <span class='acc'>accumulated</span>" if s.accumulated else ""
            body.append(f"<div class='step'><p><b>{s.index}.</b> <code>{esc(s.name)} = "
                        f"{esc(s.expression)}</code> ({esc(s.op)})<br>incoming "
                        f"<code>{esc(self._d(s.name))}</code> = {esc(self._incoming(s))}{acc}"
                        "</p><table class='cr'><tr><th>to</th><th>local derivative</th>"
                        "<th>sends</th></tr>")
            for e in s.edges:
                local, sent = self._edge_text(s, e)
                body.append(f"<tr><td><code>{esc(e.input)}</code></td><td>{esc(local)}</td>"
                            f"<td>{esc(sent)}</td></tr>")
            body.append("</table></div>")
        body += ["<h3>Gradients of the inputs</h3>",
                 "<table class='cr'><tr><th>input</th><th>gradient</th></tr>"]
        for leaf in self.leaves:
            body.append(f"<tr><td><code>{esc(leaf.name)}</code></td><td><code>"
                        f"{esc(self._d(leaf.name))}</code> = "
                        f"{esc(self._sum_text(leaf.contributions, leaf.grad))}</td></tr>")
        body.append("</table>")
        fragment = "\n".join(body)
        if not full:
            # scoped to the fragment, so a host page's own styles stay as they are
            style = _STYLE.replace("body{", ".chainrule-explain{")
            return f"<div class='chainrule-explain'>{style}{fragment}</div>"
        return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Chain rule for "
                f"{esc(self.output)}</title>{_STYLE}</head><body>\n{fragment}\n</body></html>\n")

    def _repr_html_(self) -> str:
        return self.html(full=False)


_UNKNOWN_NOTE = ("? = a value the graph did not keep; build the graph under "
                 "chainrule.inspect.explain.keep_values() to see every value")

_STYLE = ("<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;"
          "color:#222}table.cr{border-collapse:collapse;margin:.3em 0 1em}"
          "table.cr td,table.cr th{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
          "font-size:.92em}table.cr th{background:#f3f3f3}div.step{margin-left:.5em}"
          ".acc{background:#ffe9b3;padding:0 .3em;border-radius:3px}</style>")


# ---- building the explanation ----------------------------------------------------------------


def explain(output: Tensor, names: Mapping[str, Tensor] | object | None = None,
            gradient: Tensor | None = None, precision: int = 4) -> Explanation:
    """The chain-rule trace of the graph ending at ``output``.

        e = cr.inspect.explain(loss, names={"w": w, "x": x}); print(e); e.grads["w"]

    ``names`` maps names to tensors (leaves or intermediates), or is an ``nn.Module`` whose
    parameters are named; the output is called ``L`` unless named, other tensors ``v1, v2, ...``
    (inputs), ``t1, t2, ...`` (intermediates) and constants by their value. ``gradient`` seeds
    the backward pass (default: ones). The graph is left as it was: ``.grad`` is not touched and
    ``backward()`` still works afterwards. Build it under ``keep_values()`` to see every
    forward value (constants included).
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise ValueError(
            f"explain: the output (shape {fmt_shape(output.shape)}) does not require grad, so "
            "there is no graph to explain; create the inputs with requires_grad=True")
    if output._data.dtype.kind not in "fc":
        raise TypeError(f"explain: the output must be a floating tensor, got {output.dtype}")
    if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 16:
        raise ValueError(f"explain: precision must be an integer from 0 to 16, got {precision!r}")
    seed = _seed(output, gradient)
    graph = _graph.walk(output)
    _graph.check_alive(graph, "explain")
    label = _Names(graph, _graph.named_tensors(names))

    steps: list[Step] = []
    incoming: dict = {}  # key -> [Contribution], for node outputs and leaves
    index: dict[int, int] = {}  # id(node) -> its step number
    for node in graph.nodes:
        index[id(node)] = len(index) + 1
    root_key = graph.root_key
    if root_key != id(output):
        incoming[root_key] = [Contribution("seed", seed._data)]

    def visit(node, grads, outs) -> None:
        name = ", ".join(label.output(node, nr) for nr in range(node.n_outputs))
        inputs = [label.input(node, i) for i in range(len(node.next_functions))]
        local = _graph.local_derivatives(node, graph)
        fields = _Fields(node, inputs, name, graph)
        rules = _rules(node, fields, local is not None)
        step = Step(index=index[id(node)], name=name, op=display_name(node),
                    expression=_expression(node, fields),
                    value=_value(node, graph), grad=_grad_of(grads),
                    contributions=list(incoming.pop((id(node), 0), [])) if node.n_outputs == 1
                    else [], inputs=inputs)
        inputs_meta = node.input_metadata()
        for i, (edge, g) in enumerate(zip(node.next_functions, outs)):
            meta = inputs_meta[i] if inputs_meta else None
            loc = local[i] if local is not None and i < len(local) else None
            summed = bool(loc is not None and meta is not None
                          and tuple(meta[0]) != tuple(np.shape(loc)))
            sent = None if g is None else g._data
            step.edges.append(Edge(input=inputs[i], rule=rules[i],
                                   local=None if edge is None else loc, sent=sent,
                                   constant=edge is None, summed=summed))
            if edge is not None and sent is not None:
                incoming.setdefault(_graph.edge_key(edge), []).append(
                    Contribution(name, sent))
        steps.append(step)

    observe_backward(output, seed, visit)
    steps.sort(key=lambda s: s.index)  # the engine ran them newest first; number them by graph
    leaves = []
    for leaf in graph.leaves:
        if id(leaf) == id(output):
            contributions = [Contribution("seed", seed._data)]
        else:
            contributions = incoming.get(id(leaf), [])
        total = _total(contributions)
        leaves.append(LeafGradient(label.key(id(leaf)), leaf._data, total, contributions))
    return Explanation(label.key(root_key), seed._data, steps, leaves, precision)


def _seed(output: Tensor, gradient) -> Tensor:
    if gradient is None:
        return Tensor._make(np.ones_like(output._data))
    g = gradient if isinstance(gradient, Tensor) else Tensor(np.asarray(gradient))
    if g._data.shape != output._data.shape:
        raise ValueError(f"explain: gradient shape {fmt_shape(g.shape)} != output shape "
                         f"{fmt_shape(output.shape)}")
    return Tensor._make(g._data.astype(output._data.dtype, copy=False))


def _same_number(rule: str, local) -> bool:
    """Whether a rule is just the local derivative's value ('' or '0.5' for 0.5)."""
    if not rule:
        return True
    try:
        return np.size(local) == 1 and float(rule) == float(np.asarray(local).reshape(()))
    except ValueError:
        return False


def _uniform(a):
    """A tensor whose elements are all equal, as that one number (ones -> 1)."""
    a = np.asarray(a)
    if a.size > 1 and a.dtype.kind in "fc" and np.all(a == a.reshape(-1)[0]):
        return a.reshape(-1)[0]
    return a


def _total(contributions: list[Contribution]):
    total = None
    for c in contributions:
        total = c.grad if total is None else total + c.grad
    return total


def _grad_of(grads: list):
    if len(grads) == 1:
        return None if grads[0] is None else grads[0]._data
    return tuple(None if g is None else g._data for g in grads)


def _value(node, graph):
    if node.n_outputs == 1:
        return graph.values.get((id(node), 0))
    return tuple(graph.values.get((id(node), nr)) for nr in range(node.n_outputs))


class _Names:
    """Readable names: the user's, else L (output), v1.. (inputs), t1.. (intermediates),
    constants by value (c1.. where the value is unknown or not a single number)."""

    def __init__(self, graph: _graph.Graph, given: list) -> None:
        self.graph = graph
        self.names: dict = {}
        self.by_data: dict = {}  # id(array) -> name: constants are known by their array only
        for name, t in given:
            self.names.setdefault(_graph.tensor_key(t), name)
            self.by_data.setdefault(id(t._data), name)
        used = set(self.names.values())
        self._counters = {"v": 0, "t": 0, "c": 0}
        self._used = used
        root = graph.root_key
        if root not in self.names:
            self.names[root] = self._fresh("L") if "L" in used else "L"
            used.add(self.names[root])
        for leaf in graph.leaves:
            if id(leaf) not in self.names:
                self.names[id(leaf)] = self._next("v")
        for node in graph.forward_nodes():
            for nr in range(node.n_outputs):
                if (id(node), nr) not in self.names:
                    self.names[(id(node), nr)] = self._next("t")

    def _fresh(self, base: str) -> str:
        k = 1
        while f"{base}{k}" in self._used:
            k += 1
        return f"{base}{k}"

    def _next(self, prefix: str) -> str:
        while True:
            self._counters[prefix] += 1
            name = f"{prefix}{self._counters[prefix]}"
            if name not in self._used:
                self._used.add(name)
                return name

    def key(self, key) -> str:
        return self.names[key]

    def output(self, node, nr: int) -> str:
        return self.names.get((id(node), nr), "?")

    def input(self, node, i: int) -> str:
        edge = node.next_functions[i]
        if edge is not None:
            return self.names.get(_graph.edge_key(edge), "?")
        key = _graph.const_key(node, i)
        if key not in self.names:
            value = self.graph.values.get(key)
            if value is not None and id(value) in self.by_data:
                self.names[key] = self.by_data[id(value)]
            elif value is not None and np.size(value) == 1:
                self.names[key] = fmt_literal(np.asarray(value).reshape(()))
            elif node.input_metadata() and node.input_metadata()[i] is None:
                self.names[key] = "(not a tensor)"
            else:
                self.names[key] = self._next("c")
        return self.names[key]


class _Fields:
    """The fields of an op's formula templates (``Node.formula``), as text: the inputs' and the
    output's names, the output's shape and dtype, input 0's shape, and the op's attributes (or
    the forward parameters kept by ``keep_values``) by name; '?' for what is unknown."""

    def __init__(self, node, inputs: list[str], out: str, graph: _graph.Graph) -> None:
        self.node = node
        self.inputs = inputs
        self.params = graph.params.get(id(node), {})
        shape, dtype = graph.meta.get((id(node), 0), ("?", "?"))
        self.special = {"inputs": ", ".join(inputs), "out": out,
                        "shape": "?" if shape == "?" else fmt_shape(shape),
                        "dtype": "?" if dtype == "?" else str(np.dtype(dtype)),
                        "input_shape": "the input's shape"}
        if node.input_metadata() and node.input_metadata()[0] is not None:
            self.special["input_shape"] = fmt_shape(node.input_shape(0))

    def __getitem__(self, key: str) -> str:
        if key in self.special:
            return self.special[key]
        if key in self.params:
            return _as_text(self.params[key])
        return _as_text(getattr(self.node, key, "?"))

    def format(self, template: str) -> str:
        # vformat only indexes its kwargs (kwargs[key]); typeshed asks for a whole Mapping
        return _TEMPLATE.vformat(template, self.inputs, self)  # type: ignore[call-overload]


def _as_text(value) -> str:
    """An op's attribute as one would type it: 2, 0.5, (1, 0), sign, None."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_)):
        return fmt_literal(value)
    if isinstance(value, tuple):
        return str(tuple(int(v) if isinstance(v, np.integer) else v for v in value))
    if callable(value):
        return getattr(value, "__name__", "?")
    return str(value)


def _expression(node, fields: _Fields) -> str:
    """The forward as the user wrote it: ``w * x``, ``sum(t1, dim=0)``."""
    if node.formula is None:  # a user's Function that does not describe itself
        return f"{type(node).__name__}({fields['inputs']})"
    return fields.format(node.formula)


def _rules(node, fields: _Fields, has_local: bool) -> list[str]:
    """The local derivative (or backward rule) for each input, as a formula."""
    n = len(fields.inputs)
    if has_local and not node.elementwise:
        return [""] * n  # scalars through a non-elementwise op: the value says it all
    table = node.derivatives
    if table is None:
        return ["its local derivative" if node.elementwise else "its backward rule"] * n
    return [fields.format(table[min(i, len(table) - 1)]) for i in range(n)]
