"""sort / topk / argsort indices, scatter's reduce, repeat_interleave of counts, and the errors
of bad input, against PyTorch (the gradients are the op table's)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch

TIES = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, 0.0, -1.0, 0.0, 5.0, -1.0]])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_stable_sort_of_ties_gives_torchs_values_and_indices(descending, dim):
    ours = cr.sort(cr.tensor(TIES), dim=dim, descending=descending, stable=True)
    theirs = torch.sort(torch.tensor(TIES), dim=dim, descending=descending, stable=True)
    assert type(ours).__name__ == "ValuesIndices" and ours._fields == ("values", "indices")
    assert ours.indices.dtype == cr.int64
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(
        cr.tensor(TIES).argsort(dim=dim, descending=descending, stable=True).numpy(),
        torch.tensor(TIES).argsort(dim=dim, descending=descending, stable=True).numpy())


def test_nan_sorts_as_the_largest_value_as_in_torch():
    a = np.array([1.0, np.nan, -2.0, 0.5])
    for descending in (False, True):
        ours = cr.tensor(a).sort(descending=descending)
        theirs = torch.tensor(a).sort(descending=descending)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk_indices_and_int_inputs_match_torch(largest):
    a = np.random.default_rng(0).permutation(24).reshape(4, 6)
    ours = cr.tensor(a).topk(3, 0, largest=largest)
    theirs = torch.tensor(a).topk(3, 0, largest=largest)
    assert ours.values.dtype == cr.int64 and ours.indices.dtype == cr.int64
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_add_and_multiply_match_torch_and_refuse_gradients():
    x, idx, src = np.arange(1.0, 7.0).reshape(2, 3), [[0, 0, 2], [1, 1, 1]], np.full((2, 3), 2.0)
    for reduce in ("add", "multiply"):
        ours = cr.tensor(x).scatter(1, cr.tensor(idx), cr.tensor(src), reduce=reduce)
        theirs = torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(src), reduce=reduce)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # recorded as PyTorch's NotImplemented node: the forward runs, backward raises
    names = []
    for lib in (cr, torch):
        out = lib.tensor(x, requires_grad=True).scatter(1, lib.tensor(idx), 1.0, reduce="add")
        assert out.requires_grad
        names.append(getattr(out.grad_fn, "torch_name", type(out.grad_fn).__name__))
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not "
                                               "implemented"):
            out.sum().backward()
    assert names == ["NotImplemented"] * 2


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_family_grad_fn_names_are_pytorchs():
    def programs(lib):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        idx, src = lib.tensor([[0, 2], [1, 0]]), lib.ones(2, 2, dtype=lib.float64)
        rows = lib.tensor([1, 0])
        return [x.scatter(1, idx, src), x.scatter(1, idx, 2.5), lib.scatter(x, 1, idx, src),
                lib.scatter(x, 1, idx, value=1.5), (x * 1).scatter_(1, idx, src),
                (x * 1).scatter_(1, idx, 0.5), x.scatter(1, idx, src, reduce="multiply"),
                x.scatter_add(1, idx, src), (x * 1).scatter_add_(1, idx, src),
                lib.scatter_add(x, 1, idx, src), x.index_add(0, rows, x),
                (x * 1).index_add_(0, rows, x), x.gather(1, idx), x[None, 0].scatter(
                    1, lib.tensor([[0]]), 2.0)]

    ours = [t.grad_fn.torch_name for t in programs(cr)]
    theirs = [type(t.grad_fn).__name__ for t in programs(torch)]
    assert ours == theirs
    assert "ScatterBackward1" in ours and "ScatterBackward0" in ours


def test_in_place_variants_write_into_the_tensor():
    for lib in (cr, torch):
        x = lib.zeros(2, 3, dtype=lib.float64)
        assert x.scatter_add_(1, lib.tensor([[0, 0], [2, 1]]), lib.ones(2, 2,
                              dtype=lib.float64)) is x
        x.index_add_(0, lib.tensor([1]), lib.full((1, 3), 5.0, dtype=lib.float64), alpha=2)
        x.scatter_(0, lib.tensor([[0]]), 7.0)
        if lib is cr:
            ours = x.numpy()
    np.testing.assert_array_equal(ours, x.numpy())


def test_repeat_interleave_of_counts_alone_is_arange_repeated():
    counts = [2, 0, 3]
    np.testing.assert_array_equal(cr.repeat_interleave(cr.tensor(counts)).numpy(),
                                  torch.repeat_interleave(torch.tensor(counts)).numpy())


@pytest.mark.parametrize("program", [
    lambda m, x: x.split(split_size=2, dim=1), lambda m, x: x.split(split_size=[1, 3], dim=-1),
    lambda m, x: m.split(x, split_size_or_sections=2, dim=1),
    lambda m, x: m.split(tensor=x, split_size_or_sections=[3], dim=0),
    lambda m, x: x.chunk(chunks=2, dim=1), lambda m, x: m.chunk(input=x, chunks=3, dim=-1),
    lambda m, x: x.unbind(dim=1), lambda m, x: m.unbind(input=x, dim=0),
    lambda m, x: x.tensor_split(3, dim=1), lambda m, x: m.tensor_split(x, sections=2),
    lambda m, x: m.tensor_split(input=x, indices=[1, 3], dim=-1),
    lambda m, x: x.tensor_split(m.tensor([2, 0, -1]), 1), lambda m, x: x.tensor_split(m.tensor(5)),
    lambda m, x: [x.scatter(dim=1, index=m.tensor([[0], [1], [3]]), src=x)],
    lambda m, x: [x.scatter(dim=1, index=m.tensor([[0], [1], [3]]), value=2.0)],
    lambda m, x: [m.scatter(input=x, dim=1, index=m.tensor([[0], [1], [3]]), value=2.0)],
    lambda m, x: [m.scatter_add(input=x, dim=0, index=m.tensor([[0, 2]]), src=x)],
    lambda m, x: [x.index_add(dim=0, index=m.tensor([0]), source=x[:1], alpha=2)],
    lambda m, x: [m.baddbmm(input=x[None], batch1=x[None, :, :2], batch2=x[None, :2], beta=0.5,
                            alpha=2)],
    lambda m, x: [x[None].baddbmm(batch1=x[None, :, :2], batch2=x[None, :2], alpha=2)],
])
def test_split_scatter_and_baddbmm_take_torchs_keywords(program):
    x = np.random.default_rng(0).standard_normal((3, 4))
    ours, theirs = program(cr, cr.tensor(x)), program(torch, torch.tensor(x))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):  # baddbmm: BLAS may round the product's last bit apart
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("beta", [0, 0.0, False])
def test_baddbmm_with_beta_zero_ignores_nan_and_inf_in_input_as_torch(beta):
    rng = np.random.default_rng(0)
    x = np.array([np.nan, np.inf, -np.inf])
    a, b = rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 4, 3))
    results = []
    for lib in (cr, torch):
        xs = [lib.tensor(v, requires_grad=True) for v in (x, a, b)]
        out = lib.baddbmm(*xs, beta=beta, alpha=-1.5)
        out.backward(lib.ones_like(out))
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in xs])
        name = getattr(out.grad_fn, "torch_name", type(out.grad_fn).__name__)
        assert name == "BaddbmmBackward0"
    assert np.isfinite(results[0][0]).all()
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: cr.ones(3, 4).topk(5), r"topk.*k out of range.*\(3, 4\)"),
    (lambda: cr.ones(3, 4).sort(2), r"sort: dimension out of range"),
    (lambda: cr.ones(3, 4).scatter(1, cr.tensor([[0, 4]]), 1.0), r"scatter.*index 4 is out of "
     r"bounds for dimension 1 with size 4"),
    (lambda: cr.ones(3, 4).scatter(1, cr.tensor([0, 1]), 1.0),
     r"scatter.*same number of dimensions.*\(2,\).*\(3, 4\)"),
    (lambda: cr.ones(3, 4).scatter(0, cr.tensor([[0, 1]]).int(), 1.0), r"int64.*int32"),
    (lambda: cr.ones(3, 4).scatter_add(0, cr.tensor([[0, 1]]), cr.ones(1, 2).double()),
     r"scatter_add.*float32.*float64"),
    (lambda: cr.ones(3, 4).scatter_add(0, cr.tensor([[0, 1, 2]]), cr.ones(1, 2)),
     r"scatter_add.*\(1, 3\).*src \(1, 2\)"),
    (lambda: cr.ones(3, 4).index_add(0, cr.tensor([0, 3]), cr.ones(2, 4)),
     r"index_add: index 3 is out of bounds for dimension 0 with size 3"),
    (lambda: cr.ones(3, 4).index_add(1, cr.tensor([0, 1]), cr.ones(3, 3)),
     r"index_add.*source of shape \(3, 3\).*\(3, 4\).*expected \(3, 2\)"),
    (lambda: cr.ones(3, 4).repeat_interleave(cr.tensor([1, 2]), dim=0),
     r"repeat_interleave.*\(3, 4\).*\(2,\)"),
    (lambda: cr.ones(3).repeat_interleave(-1), r"repeats can not be negative"),
    (lambda: cr.ones(3).roll((1, 2), 0), r"roll.*shifts and dimensions must align"),
    (lambda: cr.baddbmm(cr.ones(2, 3, 2), cr.ones(2, 3, 4), cr.ones(3, 4, 2)),
     r"baddbmm.*\[2, 4\] but got: \[3, 4\]"),
    (lambda: cr.baddbmm(cr.ones(5, 2), cr.ones(2, 3, 4), cr.ones(2, 4, 2)),
     r"baddbmm: input of shape \(5, 2\) does not broadcast to.*\(2, 3, 2\)"),
    (lambda: cr.baddbmm(cr.ones(3, 2).double(), cr.ones(2, 3, 4), cr.ones(2, 4, 2)),
     r"baddbmm: Input dtypes must be the same, got: input float64, batch1: float32, batch2: "
     r"float32 \(shapes \(3, 2\), \(2, 3, 4\), \(2, 4, 2\)\)"),
    (lambda: cr.ones(3).split(0), r"split_size can only be 0 if dimension size is 0"),
    (lambda: cr.ones(4).split([1, 2]), r"split_with_sizes.*sum exactly to 4"),
    (lambda: cr.tensor(1.0).unbind(), r"unbind.*no dimensions"),
    (lambda: cr.tensor(1.0).tensor_split(2), r"tensor_split expected at least a 1-dimensional"),
    (lambda: cr.ones(3).tensor_split(0), r"number of sections must be larger than 0, got 0"),
    (lambda: cr.ones(3).tensor_split(cr.tensor([[1]])),
     r"tensor_split .* one-dimensional tensor of integers, but got a tensor of shape \(1, 1\)"),
    (lambda: cr.ones(3).tensor_split(2, dim=1), r"tensor_split: dimension out of range"),
])
def test_bad_input_names_the_op_and_what_was_expected(call, message):
    with pytest.raises((RuntimeError, IndexError), match=message):
        call()


@pytest.mark.parametrize("spec", [2.0, [1.5], True, None])
def test_tensor_split_refuses_what_is_not_sections_or_indices(spec):
    with pytest.raises(TypeError, match="tensor_split"):
        cr.tensor_split(cr.ones(4), spec)
