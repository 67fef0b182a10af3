"""Layers against PyTorch with copied weights (Linear, Embedding, BatchNorm1d, LayerNorm, ...),
gradchecks of the functional forms, Dropout statistics, and the layer primitives' errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.nn.pairs import copy_weights, run_pair
from tests.oracle import compare, namespace, torch

# ---- Linear --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_matches_torch(shape, bias, dtype, rng):
    ours = nn.Linear(3, 4, bias=bias, dtype=dtype)
    theirs = torch.nn.Linear(3, 4, bias=bias, dtype=getattr(torch, np.dtype(dtype).name))
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [rng.standard_normal(shape).astype(dtype)])


def test_linear_default_init_follows_torch_formula(rng):
    cr.manual_seed(0)
    layer = nn.Linear(200, 300)
    bound = 1 / math.sqrt(200)  # kaiming_uniform_(a=sqrt(5)) -> gain sqrt(1/3) * sqrt(3/fan_in)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert layer.weight.dtype == cr.float32 and layer.weight.shape == (300, 200)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)
    assert abs(w.mean()) < 0.02 * bound  # 60,000 draws: the mean's std is 0.0024 * bound
    t = torch.nn.Linear(200, 300)
    assert np.isclose(np.abs(t.weight.detach().numpy()).max(), bound, rtol=0.01)


def test_linear_is_seeded_by_manual_seed():
    cr.manual_seed(7)
    a = nn.Linear(3, 2).weight.detach().numpy().copy()
    cr.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.detach().numpy(), a)


@pytest.mark.parametrize("x_shape", [(3, 4), (4,), (2, 3, 4)])
def test_linear_gradcheck_and_double_backward(x_shape, rng):
    x = cr.tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(2), requires_grad=True)
    assert cr.autograd.gradcheck(F.linear, (x, w, b))
    assert cr.autograd.gradgradcheck(F.linear, (x, w, b))
    assert cr.autograd.gradgradcheck(lambda a, c: F.linear(a, c).tanh(), (x, w))


def test_linear_fast_and_graph_backward_agree(rng):
    x = cr.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(3), requires_grad=True)
    out = F.linear(x, w, b)
    g = cr.tensor(rng.standard_normal((5, 3)))
    fast = cr.autograd.grad(out, [x, w, b], g, retain_graph=True)
    graph = cr.autograd.grad(out, [x, w, b], g, create_graph=True)
    for a, c in zip(fast, graph):
        np.testing.assert_allclose(a.numpy(), c.detach().numpy(), rtol=1e-14)


def test_linear_errors():
    layer = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"linear: mat1 and mat2 shapes cannot be multiplied "
                                           r"\(4x5 and 3x2\)"):
        layer(cr.randn(4, 5))
    with pytest.raises(RuntimeError, match="float64.*float32.*same dtype"):
        layer(cr.randn(4, 3, dtype=cr.float64))


def test_linear_reads_a_weight_replaced_by_a_plain_attribute():
    # as the old-style weight_norm does: the parameter leaves _parameters, a computed tensor
    # takes its name
    layer = nn.Linear(2, 3)
    del layer.weight
    layer.weight = cr.ones(3, 2)
    out = layer(cr.ones(1, 2))
    np.testing.assert_array_equal(out.detach().numpy(), 2 + layer.bias.detach().numpy()[None])


def test_linear_output_does_not_alias_bias(rng):
    layer = nn.Linear(2, 2)
    before = layer.bias.detach().numpy().copy()
    out = layer(cr.randn(1, 2))
    out._data += 1
    np.testing.assert_array_equal(layer.bias.detach().numpy(), before)


# ---- shape layers --------------------------------------------------------------------------


def test_identity_flatten_unflatten(rng):
    a = rng.standard_normal((2, 3, 4))
    compare(lambda m, x: m.nn.Identity(54, unused=1)(x), [a])
    compare(lambda m, x: m.nn.Flatten()(x), [a])
    compare(lambda m, x: m.nn.Flatten(0, 1)(x), [a])
    compare(lambda m, x: m.nn.Unflatten(2, (2, 2))(x), [a])
    for build in (lambda m: m.nn.Flatten(0, 1), lambda m: m.nn.Unflatten(1, (3, 1)),
                  lambda m: m.nn.Identity()):
        assert repr(build(namespace(cr))) == repr(build(namespace(torch)))


# ---- Dropout -------------------------------------------------------------------------------


def test_dropout_statistics_and_scaling():
    cr.manual_seed(0)
    x = cr.ones(200, 500, dtype=cr.float64)
    out = F.dropout(x, p=0.3).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.005  # 100,000 draws: 5 standard errors is 0.007
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-15)
    assert abs(out.mean() - 1.0) < 0.01  # the expectation is preserved


def test_dropout_gradient_uses_the_same_mask(rng):
    cr.manual_seed(1)
    x = cr.tensor(rng.standard_normal((50, 40)), requires_grad=True)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    mask = out.detach().numpy() != 0
    np.testing.assert_array_equal(x.grad.numpy(), mask * 2.0)


def test_dropout_eval_and_edge_probabilities(rng):
    layer = nn.Dropout(0.4)
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    layer.eval()
    assert layer(x) is x  # the identity, as PyTorch
    layer.train()
    assert not np.array_equal(layer(x).detach().numpy(), x.detach().numpy())
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).detach().numpy(), 0.0)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="between 0 and 1, but got -0.1"):
        nn.Dropout(-0.1)
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))


def test_dropout_is_reproducible_and_takes_a_generator():
    x = cr.ones(10, 10)
    cr.manual_seed(3)
    a = F.dropout(x).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x).numpy(), a)
    g1, g2 = cr.Generator().manual_seed(5), cr.Generator().manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, generator=g1).numpy(),
                                  F.dropout(x, generator=g2).numpy())


# ---- Embedding -----------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_matches_torch(padding_idx, scale_grad_by_freq):
    ours = nn.Embedding(6, 3, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq,
                        dtype=cr.float64)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=torch.float64,
                                scale_grad_by_freq=scale_grad_by_freq)
    copy_weights(ours, theirs)
    idx = np.array([[0, 2, 5, 2], [1, 0, 5, 5]])
    run_pair(ours, theirs, [idx])
    assert repr(ours) == repr(theirs)
    if padding_idx is not None:
        row = padding_idx % 6
        np.testing.assert_array_equal(nn.Embedding(6, 3, padding_idx=padding_idx)
                                      .weight.detach().numpy()[row], 0.0)
        np.testing.assert_array_equal(ours.weight.grad.numpy()[row], 0.0)


def test_embedding_gradcheck_and_double_backward(rng):
    w = cr.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    idx = cr.tensor([[1, 1, 4], [0, 3, 1]])
    assert cr.autograd.gradcheck(lambda v: F.embedding(idx, v), (w,))
    assert cr.autograd.gradgradcheck(lambda v: F.embedding(idx, v).tanh(), (w,))


def test_embedding_from_pretrained_and_errors(rng):
    table = cr.tensor(rng.standard_normal((4, 2)))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(cr.tensor([3])).numpy(), table.numpy()[[3]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="index 4 is out of range for a weight with 4 rows"):
        emb(cr.tensor([0, 4]))
    with pytest.raises(RuntimeError, match="integer indices"):
        emb(cr.tensor([0.0]))
    with pytest.raises(NotImplementedError, match="embedding: max_norm"):  # F.embedding's check
        nn.Embedding(4, 2, max_norm=1.0)
    with pytest.raises(ValueError,
                       match=r"Embedding: padding_idx 4 must be within num_embeddings \(4\)"):
        nn.Embedding(4, 2, padding_idx=4)


# ---- BatchNorm1d ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_training_steps_then_eval_match_torch(shape, momentum, affine, rng):
    ours = nn.BatchNorm1d(3, momentum=momentum, affine=affine, dtype=cr.float64)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum, affine=affine, dtype=torch.float64)
    if affine:
        ours.weight._data[...] = rng.random(3) + 0.5
        ours.bias._data[...] = rng.standard_normal(3)
    copy_weights(ours, theirs)
    for step in range(4):
        x = rng.standard_normal(shape) * 2 + step
        run_pair(ours, theirs, [x], seed=step)
        for name, buf in theirs.named_buffers():
            np.testing.assert_allclose(ours.get_buffer(name).numpy(), buf.numpy(), rtol=1e-12,
                                       err_msg=name)
    assert ours.num_batches_tracked.item() == 4
    ours.eval()
    theirs.eval()
    run_pair(ours, theirs, [rng.standard_normal(shape)])
    assert ours.num_batches_tracked.item() == 4  # eval does not count batches


def test_batchnorm_without_running_stats_and_float32(rng):
    ours = nn.BatchNorm1d(4, track_running_stats=False)
    theirs = torch.nn.BatchNorm1d(4, track_running_stats=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_weights(ours, theirs)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    run_pair(ours, theirs, [x])
    ours.eval()
    theirs.eval()
    run_pair(ours, theirs, [x])  # still batch statistics: there are no running ones


def test_batchnorm_no_bias_repr_and_state_names():
    ours, theirs = nn.BatchNorm1d(5, bias=False), torch.nn.BatchNorm1d(5, bias=False)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(nn.BatchNorm1d(3, momentum=None)) == repr(torch.nn.BatchNorm1d(3, momentum=None))


def test_batchnorm_gradcheck(rng):
    x = cr.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = cr.tensor(rng.random(3) + 0.5, requires_grad=True)
    b = cr.tensor(rng.standard_normal(3), requires_grad=True)
    assert cr.autograd.gradcheck(
        lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True), (x, w, b))
    rm, rv = cr.tensor(rng.standard_normal(3)), cr.tensor(rng.random(3) + 0.5)
    assert cr.autograd.gradcheck(lambda a, c: F.batch_norm(a, rm, rv, c, None), (x, w))


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(cr.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(cr.randn(1, 3))
    with pytest.raises(ValueError, match="input has 4 channels.*num_features=3"):
        bn(cr.randn(2, 4))
    bn.eval()
    assert bn(cr.randn(1, 3)).shape == (1, 3)  # eval mode is fine with one sample


# ---- LayerNorm -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape,normalized", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((6,), [6])])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layernorm_matches_torch(shape, normalized, affine, bias, dtype, rng):
    ours = nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias, dtype=dtype)
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias,
                                dtype=getattr(torch, np.dtype(dtype).name))
    if affine:
        ours.weight._data[...] = rng.random(ours.weight.shape) + 0.5
        if bias:
            ours.bias._data[...] = rng.standard_normal(ours.bias.shape)
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [(rng.standard_normal(shape) * 3 + 1).astype(dtype)])
    assert repr(ours) == repr(theirs)


def test_layernorm_gradchecks_and_error(rng):
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = cr.tensor(rng.random(4) + 0.5, requires_grad=True)
    b = cr.tensor(rng.standard_normal(4), requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, c, d: F.layer_norm(a, (4,), c, d), (x, w, b))
    assert cr.autograd.gradgradcheck(lambda a: F.layer_norm(a, (4,)), (x,))
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 5\], but got "
                                           r"input of size \[3, 4\]"):
        F.layer_norm(x, (5,))
    for bad in (cr.ones(3, dtype=cr.float64), cr.ones(4, dtype=cr.float32)):
        with pytest.raises(RuntimeError, match=r"layer_norm: weight and bias must have the "
                                               r"normalized shape \[4\] and the input's dtype"):
            F.layer_norm(x, (4,), bad)


# ---- pad and one_hot -----------------------------------------------------------------------


PADS = [(1, 2), (0, 0, 2, 1), (1, 1, 1, 1, 1, 1), (-1, 2), (2, -1, -1, 1), (3, 0, 0, -2)]


@pytest.mark.parametrize("pad", PADS, ids=str)
@pytest.mark.parametrize("value", [None, 0.5])
def test_pad_matches_torch(pad, value, rng):
    a = rng.standard_normal((2, 3, 4))
    compare(lambda m, x: m.F.pad(x, pad, value=value), [a])


@pytest.mark.parametrize("pad", PADS, ids=str)
def test_pad_gradcheck(pad, rng):
    x = cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda v: F.pad(v, pad, value=1.5), (x,))
    assert cr.autograd.gradgradcheck(lambda v: F.pad(v, pad).tanh(), (x,))


def test_pad_errors():
    x = cr.randn(2, 3)
    with pytest.raises(RuntimeError, match="^Padding length must be divisible by 2$"):
        F.pad(x, (1,))
    with pytest.raises(RuntimeError, match="less than or equal to two times the input "
                                           "dimension but got padding length 6 and input of "
                                           "dimension 2"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(RuntimeError, match="negative output size"):
        F.pad(x, (-2, -2))
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode bicubic"):
        F.pad(x, (1, 1), mode="bicubic")


def test_one_hot_matches_torch_and_errors():
    idx = np.array([[0, 3], [2, 1]])
    for n in (-1, 5):
        out = F.one_hot(cr.tensor(idx), n)
        expected = torch.nn.functional.one_hot(torch.tensor(idx), n)
        assert out.dtype == cr.int64
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(cr.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(cr.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(cr.tensor([1.0]), 3)


def test_dropout_gradcheck_with_a_fixed_generator(rng):
    x = cr.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    assert cr.autograd.gradcheck(
        lambda v: F.dropout(v, 0.3, generator=cr.Generator().manual_seed(0)), (x,))


@pytest.mark.parametrize("shape, axes, keepdim", [
    ((4, 3, 5), (2,), True), ((4, 3, 5), (1, 2), False), ((4, 3, 5), (0,), False),
    ((4, 3, 5), (0, 1), True), ((4, 3, 5), (1,), True), ((0, 3), (1,), True), ((3,), (0,), False),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_sum_rows_is_numpys_sum(shape, axes, keepdim, dtype, rng):
    """Linear and layer norm sum over rows by a product with ones (leading or trailing axes of
    a contiguous float array), and by NumPy's sum otherwise (a middle axis, views, integers)."""
    from chainrule.ops.linalg import sum_rows

    a = (rng.standard_normal(shape) * 10).astype(dtype)
    for x in (a, a[::-1]):
        got, want = sum_rows(x, axes, keepdim), x.sum(axis=axes, keepdims=keepdim)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
