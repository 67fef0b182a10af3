"""``view`` refuses what PyTorch's refuses (a shape the strides cannot express), ``contiguous``
copies a non-contiguous tensor, ``flip`` copies, and a leaf's ``.grad`` is C-contiguous: each
against torch on the same layouts."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch

LAYOUTS = {
    "transposed": lambda m, x: x.transpose(0, 2),
    "permuted": lambda m, x: x.permute(1, 2, 0),
    "sliced_last": lambda m, x: x[..., 1:3],
    "strided": lambda m, x: x[:, ::2],
    "expanded": lambda m, x: x[:, :1].expand(2, 3, 4),
    "split_last": lambda m, x: x.split(2, 2)[1],
    "unsqueezed_transposed": lambda m, x: x.transpose(1, 2).unsqueeze(1),
    "selected": lambda m, x: x[:, 1],
}


def _shapes(numel: int, rng: np.random.Generator) -> list[tuple]:
    """Every factorisation into up to 4 dims (some with a -1 or a 1), shuffled."""
    def splits(n, depth):
        if depth == 1:
            return [(n,)]
        return [(d, *rest) for d in range(1, n + 1) if n % d == 0
                for rest in splits(n // d, depth - 1)] + [(n,)]
    found = {s for depth in (1, 2, 3, 4) for s in splits(numel, depth)}
    shapes = sorted(found)
    shapes += [s[:-1] + (-1,) for s in shapes if len(s) > 1]
    shapes += [(1,) + s for s in shapes[:5]]
    return [shapes[i] for i in rng.permutation(len(shapes))]


def _outcome(fn):
    try:
        return tuple(fn().shape)
    except RuntimeError as e:
        assert "view size is not compatible" in str(e)
        return "refused"


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_view_accepts_and_refuses_as_torch(layout):
    x = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = LAYOUTS[layout](cr, cr.tensor(x)), LAYOUTS[layout](torch, torch.tensor(x))
    assert ours.is_contiguous() == theirs.is_contiguous()
    refused = 0
    for shape in _shapes(ours.numel(), np.random.default_rng(0)):
        expected = _outcome(lambda shape=shape: theirs.view(shape))
        assert _outcome(lambda shape=shape: ours.view(shape)) == expected, shape
        assert _outcome(lambda shape=shape: ours.view(*shape)) == expected, shape
        refused += expected == "refused"
        if expected != "refused":
            np.testing.assert_array_equal(ours.view(shape).numpy(), theirs.view(shape).numpy())
    if not theirs.is_contiguous() and layout != "selected":
        assert refused  # the layout is one torch refuses for some shape: the test can fail


def test_contiguous_copies_then_views_as_torch():
    x = cr.arange(6.0, requires_grad=True)
    t = x.reshape(2, 3).t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.stride() == (2, 1)
    assert c.contiguous() is c
    flat = c.view(-1)
    np.testing.assert_array_equal(flat.detach().numpy(), [0, 3, 1, 4, 2, 5])
    (flat * cr.arange(6.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 4, 1, 3, 5])
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        t.view_as(flat)


def test_flip_copies_as_torch():
    for lib in (cr, torch):
        x = lib.arange(3.0)
        y = x.flip(0)
        y[0] = 100.0
        y.add_(1)
        assert x.tolist() == [0.0, 1.0, 2.0] and y.tolist() == [101.0, 2.0, 1.0]
        assert y.is_contiguous() and y.view(3, 1).shape == (3, 1)


@pytest.mark.parametrize("program", [
    lambda m, x: x.mean(0).sum(),
    lambda m, x: x.transpose(0, 2).exp().sum(),
    lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1).sum(),
    lambda m, x: m.nn.functional.interpolate(x, scale_factor=2).sum(),
])
def test_leaf_grad_is_contiguous_as_torch(program):
    """``torch.cat([p.grad.view(-1) for p in ...])`` works: .grad is laid out as its leaf."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    program(cr, ours).backward()
    program(torch, theirs).backward()
    assert ours.grad.stride() == theirs.grad.stride()
    np.testing.assert_allclose(ours.grad.view(-1).numpy(), theirs.grad.view(-1).numpy(),
                               rtol=1e-12)
