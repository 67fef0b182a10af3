"""Every op describes itself: the inspect tools (explain, draw) read its PyTorch name, whether
it is elementwise, and its forward and derivatives as formulas from the op class."""

from __future__ import annotations

import string

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn  # noqa: F401  (its ops are Primitives too)
from chainrule.autograd.function import MultiOutputPrimitive, Node, Primitive

METADATA = ("torch_name", "elementwise", "formula", "derivatives")


def _primitives() -> list[type]:
    found, stack = [], [Primitive]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub is not MultiOutputPrimitive:  # a base class, not an op
                found.append(sub)
            stack.append(sub)
    return found


def _declares(cls: type, attr: str) -> bool:
    """Whether ``cls`` or an op class it derives from sets ``attr`` (Node's default does not)."""
    bases = (MultiOutputPrimitive, Primitive, Node, object)
    return any(attr in vars(k) for k in cls.__mro__ if k not in bases)


def test_every_primitive_carries_the_metadata():
    ops = _primitives()
    assert {"Mul", "Affine", "Linear", "Embedding", "CrossEntropy"} <= {c.__name__ for c in ops}
    missing = [f"{cls.__name__}.{attr}" for cls in ops for attr in METADATA
               if not _declares(cls, attr)]
    assert missing == []


@pytest.mark.parametrize("cls", _primitives(), ids=lambda c: c.__name__)
def test_metadata_templates_are_well_formed(cls):
    if isinstance(vars(cls).get("formula"), str):
        list(string.Formatter().parse(cls.formula))  # raises on a malformed template
    derivatives = vars(cls).get("derivatives")
    if isinstance(derivatives, tuple):
        assert derivatives and all(isinstance(d, str) for d in derivatives)
        for d in derivatives:
            list(string.Formatter().parse(d))
    torch_name = vars(cls).get("torch_name")
    if isinstance(torch_name, str):
        assert torch_name.endswith("Backward0") or torch_name.endswith("Backward1")
    assert isinstance(vars(cls).get("elementwise", False), bool)


@pytest.mark.parametrize("program, name, torch_name", [
    (lambda x: 2 * x, "AffineBackward", "MulBackward0"),
    (lambda x: x + 1, "AffineBackward", "AddBackward0"),
    (lambda x: 1 - x, "AffineBackward", "RsubBackward1"),
    (lambda x: x / 3, "DivScalarBackward", "DivBackward0"),
    (lambda x: x ** 2, "PowScalarBackward", "PowBackward0"),
    (lambda x: x * x, "MulBackward", "MulBackward0"),
    (lambda x: x.sum(), "SumBackward", "SumBackward0"),
    (lambda x: x.sum(0), "SumBackward", "SumBackward1"),
    (lambda x: x.sign(), "PiecewiseBackward", "SignBackward0"),
    (lambda x: x.floor(), "PiecewiseBackward", "FloorBackward0"),
])
def test_grad_fn_names_the_rule_and_keeps_pytorchs_name(program, name, torch_name):
    x = cr.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    fn = program(x).grad_fn
    assert (fn.name(), fn.torch_name) == (name, torch_name)


def test_pytorch_names_match_the_oracle():
    from tests.oracle import torch

    cases = [lambda x: 2 * x, lambda x: x + 1, lambda x: 1 - x, lambda x: x / 3,
             lambda x: x ** 2, lambda x: x * x, lambda x: x.exp(), lambda x: x.tanh(),
             lambda x: x.sum(), lambda x: x.sum(0), lambda x: x.sign(), lambda x: x.abs(),
             lambda x: x.clamp(0, 1), lambda x: x.log1p(), lambda x: x.permute(1, 0),
             lambda x: x.flip(0), lambda x: x.cumsum(1), lambda x: x.softmax(1),
             lambda x: x.mean(), lambda x: x.mean(0), lambda x: x.mean(-1, keepdim=True)]
    data = np.array([[1.0, 2.0], [3.0, 4.0]])
    for program in cases:
        ours = program(cr.tensor(data, requires_grad=True)).grad_fn.torch_name
        theirs = type(program(torch.tensor(data, requires_grad=True)).grad_fn).__name__
        assert ours == theirs


def test_ops_read_their_inputs_through_public_accessors():
    x = cr.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    node = x.double().reshape(3, 2).grad_fn
    assert node.input_shape(0) == (2, 3) and node.input_dtype(0) == np.float64


INDEX_KEYS = ["[1:2]", "[:, 1:2]", "[1]", "[:, 1]", "[1, 0:2]", "[0:2, 1]", "[..., 1]",
              "[..., 1:3]", "[None]", "[:, None]", "[None, 1]", "[...]", "[:]", "[:, :]",
              "[::2]", "[-1]", "[2:1]", "[True]", "[1, ..., None]", "[[0, 1]]",
              "[m.tensor([0, 1]), 1]", "[1][0]", "[:, 1:2, 2]", "[np.int64(1)]"]


@pytest.mark.parametrize("key", INDEX_KEYS)
def test_indexing_nodes_carry_the_name_of_pytorchs_last_index_node(key):
    from tests.oracle import torch

    data = np.arange(60.0).reshape(3, 4, 5)
    names = []
    for m in (cr, torch):
        out = eval("x" + key, {"x": m.tensor(data, requires_grad=True), "m": m, "np": np})
        names.append(getattr(out.grad_fn, "torch_name", type(out.grad_fn).__name__))
    assert names[0] == names[1]
