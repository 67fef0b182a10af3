"""draw(): nodes, labels, colours, rendering or DOT text, big graphs, collapse by module."""

from __future__ import annotations

import importlib
import re
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.inspect as ins
from chainrule.autograd.function import Function, Primitive
from chainrule.inspect.draw import (
    PALETTE,
    ZERO_FILL,
    GraphvizMissing,
    dot_available,
    draw,
    track_modules,
)

graphviz = pytest.importorskip("graphviz", reason="the graphviz package (chainrule[graph])")
# the module itself (the package attribute ``draw`` may be the function of the same name)
draw_module = importlib.import_module("chainrule.inspect.draw")
needs_dot = pytest.mark.skipif(not dot_available(), reason="graphviz's dot program is missing")
f64 = cr.float64


def worked_example():
    w, x, y = (cr.tensor(v, dtype=f64, requires_grad=True) for v in (2.0, 3.0, 10.0))
    return (w * x - y) ** 2, {"w": w, "x": x, "y": y}


def node_attrs(source: str, label_start: str) -> str:
    """The attribute text of the node whose label starts with ``label_start``."""
    m = re.search(r'\[label="' + re.escape(label_start) + r'[^"]*"[^\]]*\]', source)
    assert m, f"no node labelled {label_start!r} in:\n{source}"
    return m.group(0)


def count_nodes(source: str) -> int:
    return len(re.findall(r"^\s*n\d+ \[", source, flags=re.M))


def test_op_and_tensor_nodes_with_values_and_gradients():
    L, names = worked_example()
    g = draw(L, names=names)
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    for op in ("label=Mul", "label=Sub", "label=Pow"):
        assert op in src
    assert "w\nscalar float64\nvalue 2\ngrad -24" in src
    assert "t1\nscalar float64\nvalue 6\ngrad -8" in src
    assert "output\nscalar float64\nvalue 16\ngrad 1" in src
    assert count_nodes(src) == 3 + 3 + 3  # leaves, ops, op outputs
    assert src.count("->") == 8  # w, x -> Mul -> t1, y -> Sub -> t2 -> Pow -> output
    assert w_grad_untouched(names)


def w_grad_untouched(names) -> bool:
    return all(t.grad is None for t in names.values())


def test_colour_follows_gradient_magnitude():
    L, names = worked_example()
    src = draw(L, names=names).source
    assert f'fillcolor="{PALETTE[-1]}"' in node_attrs(src, "w\n")  # |grad| 24: the largest
    assert f'fillcolor="{PALETTE[0]}"' in node_attrs(src, "output\n")  # 1: the smallest
    x = cr.tensor([-1.0, 2.0], dtype=f64, requires_grad=True)
    dead = cr.relu(x - 5.0).sum()  # every unit dead: the gradient is exactly 0
    assert f'fillcolor="{ZERO_FILL}"' in node_attrs(draw(dead).source, "v1\n")
    assert "log scale" in src  # the legend


def test_grads_false_and_freed_graphs():
    L, names = worked_example()
    src = draw(L, names=names, grads=False).source
    assert "grad" not in src and "log scale" not in src
    L.backward()  # frees the graph: only the leaves' .grad is left to show
    src = draw(L, names=names).source
    assert "w\nscalar float64\nvalue 2\ngrad -24" in src
    assert "t1\nscalar float64\nvalue 6\"" in src or "t1\nscalar float64\"" in src


def test_big_tensors_show_shape_and_gradient_rms(rng):
    W = cr.tensor(rng.standard_normal((30, 20)), requires_grad=True)
    out = (cr.tensor(rng.standard_normal((5, 30))) @ W).sum()
    src = draw(out).source
    label = node_attrs(src, "v1\n")
    assert "(30, 20) float64" in label and "grad rms" in label and "value" not in label


@needs_dot
def test_write_svg_png_and_repr(tmp_path):
    L, names = worked_example()
    g = draw(L, names=names)
    svg = g.write(tmp_path / "g.svg")
    assert svg.suffix == ".svg" and "<svg" in svg.read_text()
    png = g.write(tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in g._repr_svg_()
    assert "image/svg+xml" in g._repr_mimebundle_()


def test_without_dot_writes_dot_text(tmp_path, monkeypatch):
    monkeypatch.setattr(draw_module.shutil, "which", lambda name: None)
    assert not dot_available()
    L, names = worked_example()
    g = draw(L, names=names)
    written = g.write(tmp_path / "g.svg")
    assert written == tmp_path / "g.dot"
    assert written.read_text().startswith("digraph chainrule {")
    assert g._repr_svg_() is None
    assert g._repr_mimebundle_() == {"text/plain": g.source}


def test_missing_graphviz_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.delattr(draw_module._graph_class, "cls", raising=False)
    L, _ = worked_example()
    with pytest.raises(GraphvizMissing, match=r"pip install chainrule\[graph\]"):
        draw(L)


def test_ten_thousand_node_graph_iteratively():
    x = cr.tensor(0.5, dtype=f64, requires_grad=True)
    h = x
    for _ in range(5000):
        h = cr.tanh(h * 1.01)
    src = draw(h).source
    assert src.count("label=Tanh") == 5000
    assert count_nodes(src) == 1 + 10_000 + 10_000


def test_bad_arguments():
    L, _ = worked_example()
    with pytest.raises(TypeError, match="draw: expected a Tensor"):
        draw(3.0)
    with pytest.raises(ValueError, match="collapse must be None or 'module'"):
        draw(L, collapse="layer")
    with pytest.raises(ValueError, match="rankdir"):
        draw(L, rankdir="up")
    with pytest.raises(ValueError, match="track_modules"):
        draw(L, collapse="module")


def test_public_name_resolves_every_time():
    L, _ = worked_example()
    for _ in range(3):
        assert isinstance(ins.draw(L), graphviz.Digraph)


# ---- collapse='module' ----------------------------------------------------------------------


class TinyModule:
    """Enough of nn.Module for track_modules: named_modules, named_parameters, __call__."""

    def __init__(self, **children) -> None:
        self.children = children

    def named_modules(self, prefix: str = ""):
        stack = [(prefix, self)]
        while stack:
            path, m = stack.pop(0)
            yield path, m
            stack.extend((f"{path}.{k}" if path else k, c) for k, c in m.children.items())

    def named_parameters(self):
        for path, m in self.named_modules():
            for k, v in vars(m).items():
                if isinstance(v, cr.Tensor) and v.requires_grad:
                    yield (f"{path}.{k}" if path else k), v

    def __call__(self, *args):
        return self.forward(*args)


class Linear(TinyModule):
    def __init__(self, n_in: int, n_out: int, rng) -> None:
        super().__init__()
        self.weight = cr.tensor(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in),
                                requires_grad=True)
        self.bias = cr.zeros(n_out, dtype=f64, requires_grad=True)

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Tanh(TinyModule):
    def forward(self, x):
        return cr.tanh(x)


class Stack(TinyModule):
    def forward(self, x):
        for m in self.children.values():
            x = m(x)
        return x


def deep_model(blocks: int, rng) -> Stack:
    inner = {}
    for i in range(blocks):
        inner[str(2 * i)] = Linear(4, 4, rng)
        inner[str(2 * i + 1)] = Tanh()
    return Stack(layers=Stack(**inner), head=Linear(4, 1, rng))


def test_collapse_by_module_keeps_a_3000_node_model_legible(rng):
    model = deep_model(600, rng)
    x = cr.tensor(rng.standard_normal((8, 4)))
    with track_modules(model):
        loss = (model(x) ** 2).mean()
    full = draw(loss, names=model).source
    assert count_nodes(full) > 3000 * 2  # ops and their outputs
    src = draw(loss, names=model, collapse="module").source
    # one box per module (1201), the loss's two ops (** 2, mean) and the output: nothing else
    assert count_nodes(src) == 1201 + 2 + 1
    assert 'label="layers.0 (Linear)\n' in src and "weight (4, 4)  grad rms" in src
    assert 'label="head (Linear)\n' in src
    assert "label=layers" in src  # the Stack of layers is a cluster around its children
    assert re.search(r'n\d+ -> n\d+ \[label="\(8, 4\)"\]', src)
    # the wrapper is gone after the block: modules are as before, no node is tagged anymore
    assert "forward" not in vars(model.children["head"])
    with_tags = loss * 2.0
    assert draw_module._graph.MODULE_OF.get(with_tags.grad_fn) is None


def test_track_modules_with_forward_hooks(rng):
    """Modules with forward pre-hooks and hooks (nn.Module's API) are tracked through them."""

    class Handle:
        def __init__(self, hooks, fn):
            self.hooks, self.fn = hooks, fn

        def remove(self):
            self.hooks.remove(self.fn)

    class Hooked(TinyModule):
        def __init__(self, inner):
            super().__init__(inner=inner)
            self.pre, self.post = [], []

        def register_forward_pre_hook(self, fn):
            self.pre.append(fn)
            return Handle(self.pre, fn)

        def register_forward_hook(self, fn):
            self.post.append(fn)
            return Handle(self.post, fn)

        def __call__(self, x):
            for fn in self.pre:
                fn(self, (x,))
            out = self.children["inner"](x)
            for fn in self.post:
                fn(self, (x,), out)
            return out

    model = Hooked(Linear(3, 2, rng))
    x = cr.tensor(rng.standard_normal((4, 3)))
    with track_modules(model):
        out = model(x).sum()
    src = draw(out, collapse="module").source
    assert 'label="inner (Linear)\n' in src
    assert model.pre == [] and model.post == []


def test_track_modules_with_chainrule_nn(rng):
    import chainrule.nn as nn

    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    with track_modules(model):
        loss = model(cr.randn(4, 3)).pow(2).mean()
    src = draw(loss, collapse="module", names=model).source
    assert 'label="0 (Linear)\n' in src and 'label="2 (Linear)\n' in src
    assert "weight (5, 3)" in src


def test_recording_path_restored_after_tracking(rng):
    before = (Primitive.__dict__["apply"], Function.__dict__["apply"])
    with track_modules(deep_model(1, rng)):
        pass
    assert (Primitive.__dict__["apply"], Function.__dict__["apply"]) == before
    with pytest.raises(TypeError, match="track_modules: expected an nn.Module"):
        with track_modules(object()):
            pass
