"""Tensor creation, dtypes and promotion, attributes, conversions and clear errors."""

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch


def test_python_floats_take_the_default_dtype_arrays_keep_theirs():
    assert cr.tensor(1.5).dtype == cr.float32
    assert cr.tensor([1, 2]).dtype == cr.int64
    assert cr.tensor([True]).dtype == cr.bool
    assert cr.tensor(np.zeros(2)).dtype == cr.float64
    assert cr.tensor([1.0], dtype=cr.float64).dtype == cr.float64
    assert cr.zeros(2, 3).dtype == cr.float32 and cr.zeros(2, 3).shape == (2, 3)
    assert cr.arange(5).dtype == cr.int64 and cr.arange(0, 1, 0.25).shape == (4,)


def test_set_default_dtype():
    try:
        cr.set_default_dtype(cr.float64)
        assert cr.tensor(1.0).dtype == cr.float64 and cr.randn(2).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError):
        cr.set_default_dtype(cr.int64)


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    t, s = cr.tensor(a), cr.from_numpy(a)
    a[0] = 1
    assert t[0].item() == 0 and s[0].item() == 1


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_from_numpy_shares_both_ways_as_torch(lib):
    m = cr if lib == "chainrule" else torch
    a = np.arange(6.0).reshape(2, 3)
    t = m.from_numpy(a)
    t.add_(1)
    t[1, 2] = -1.0
    assert a.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, -1.0]]
    assert t.numpy() is not None and np.shares_memory(t.numpy(), a)
    assert str(t.dtype).replace("torch.", "") == "float64"
    view = m.from_numpy(a[:, 1:])  # a strided array stays a view, as in PyTorch
    a[0, 1] = 9.0
    assert view[0, 0].item() == 9.0 and not view.is_contiguous()


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3), lambda m: m.ones((2,)), lambda m: m.full((2, 2), 7.0),
    lambda m: m.eye(3), lambda m: m.arange(2, 11, 3), lambda m: m.linspace(0, 1, 5),
    lambda m: m.zeros_like(m.ones(2, dtype=m.float64)), lambda m: m.arange(3.0),
    lambda m: m.full((2,), 3),
])
def test_creation_matches_torch(make):
    a, b = make(cr), make(torch)
    assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype).replace("torch.", "")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7)


def test_random_creation_is_seeded():
    cr.manual_seed(3)
    a = cr.randn(4)
    cr.manual_seed(3)
    b = cr.randn(4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    r = cr.randint(0, 5, (1000,))
    assert r.dtype == cr.int64 and r.min().item() >= 0 and r.max().item() <= 4
    u = cr.rand(1000)
    assert 0 <= u.min().item() and u.max().item() < 1


@pytest.mark.parametrize("x_dtype, y_dtype, y_zero_dim", [
    (np.float32, np.float64, False), (np.float32, np.float64, True),
    (np.int64, np.float64, True), (np.int64, np.float32, False), (np.bool_, np.int64, False),
    (np.bool_, np.float32, True), (np.float64, np.int64, True),
])
def test_type_promotion_matches_torch(x_dtype, y_dtype, y_zero_dim):
    x = np.ones(3, dtype=x_dtype)
    y = np.ones(() if y_zero_dim else 3, dtype=y_dtype)
    ours = (cr.tensor(x) + cr.tensor(y)).dtype
    theirs = (torch.tensor(x) + torch.tensor(y)).dtype
    assert str(ours) == str(theirs).replace("torch.", "")


@pytest.mark.parametrize("scalar", [2, 2.5, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_python_scalars_keep_the_tensor_dtype_within_its_category(scalar, dtype):
    x = np.ones(2, dtype=dtype)
    ops = [lambda a: a + scalar, lambda a: scalar * a]
    if not isinstance(scalar, bool):
        ops.append(lambda a: a - scalar)
    for op in ops:
        assert str(op(cr.tensor(x)).dtype) == str(op(torch.tensor(x)).dtype).replace(
            "torch.", "")


def test_integer_division_gives_float_and_floor_division_stays_integer():
    a, b = cr.tensor([7, -7]), cr.tensor([2, 2])
    assert (a / b).dtype == cr.float32
    np.testing.assert_array_equal((a // b).numpy(), [3, -4])
    np.testing.assert_array_equal((a % b).numpy(), [1, 1])


def test_comparisons_give_bool_and_no_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == cr.bool and not m.requires_grad
    np.testing.assert_array_equal(m.numpy(), [False, True])
    np.testing.assert_array_equal((~m).numpy(), [True, False])
    np.testing.assert_array_equal((m | ~m).numpy(), [True, True])


def test_attributes():
    x = cr.zeros(2, 3, 4)
    assert x.ndim == x.dim() == 3 and x.numel() == 24 and x.size() == (2, 3, 4)
    assert x.size(-1) == 4 and x.device == cr.device("cpu") and str(x.device) == "cpu" and x.is_leaf
    assert cr.tensor(3.5).item() == 3.5 and cr.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    assert x.double().dtype == cr.float64 and x.long().dtype == cr.int64
    assert x.type_as(cr.tensor([1])).dtype == cr.int64 and x.float().dtype == cr.float32
    assert len(x) == 2 and [t.shape for t in x] == [(3, 4), (3, 4)]


def test_repr_shows_grad_fn_and_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * x).endswith("grad_fn=<MulBackward>)")
    # the rule that runs, and PyTorch's name where it differs
    assert repr(x * 2).endswith("grad_fn=<AffineBackward (PyTorch: MulBackward0)>)")
    assert "dtype=float64" in repr(cr.tensor(np.zeros(1)))


def test_numpy_of_a_tensor_that_requires_grad_raises():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]


def test_item_of_many_elements_raises():
    with pytest.raises(RuntimeError, match="3 elements"):
        cr.zeros(3).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.zeros(3))


@pytest.mark.parametrize("bad, pattern", [
    (lambda: cr.ones(3, 4) @ cr.ones(5, 2), r"matmul: shapes \(3, 4\) and \(5, 2\)"),
    (lambda: cr.ones(3, 4) + cr.ones(2, 4), r"add: .*broadcast.*\(3, 4\) float32, \(2, 4\)"),
    (lambda: cr.ones(3).reshape(2, 2), r"reshape: shape \[2, 2\] is invalid.*\(3,\)"),
    (lambda: cr.ones(2, 3).expand(4, 4), "expanded size"),
    (lambda: cr.ones(2).sum(3), "dimension out of range"),
    (lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 4)], 0), r"cat: sizes.*\(2, 4\)"),
    (lambda: cr.ones(3)[5], r"out of range.*\(3,\)"),
    (lambda: cr.stack([cr.ones(2), cr.ones(3)]), "equal size"),
    (lambda: cr.ones(2, 3).mm(cr.ones(3)), "mm: expected 2-D"),
    (lambda: cr.ones(2).permute(1, 0), "permute"),
])
def test_errors_name_the_op_and_shapes(bad, pattern):
    with pytest.raises((RuntimeError, IndexError, ValueError), match=pattern):
        bad()


def test_bool_subtraction_is_refused_as_in_torch():
    with pytest.raises(RuntimeError, match="bool"):
        cr.ones(2) - True


def test_inplace_ops_bump_the_version_and_check_dtype_and_shape():
    x = cr.zeros(3)
    x.add_(1).mul_(3).sub_(1).div_(2)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0, 1.0])
    assert x._version == 4
    x.zero_()
    x.fill_(2.5)
    x.clamp_(max=1.0)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0, 1.0])
    x += 1
    assert x._version == 8
    with pytest.raises(RuntimeError, match="can't be cast"):
        cr.zeros(2, dtype=cr.int64).add_(1.5)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        cr.zeros(2).add_(cr.ones(3, 2))


def test_inplace_tensor_operand_writes_into_the_buffer_as_torch():
    # outside the graph, an operand of the same shape and dtype goes straight into the buffer
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 5)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    for name in ("add_", "sub_", "mul_", "div_"):
        x, tx = cr.tensor(a), torch.tensor(a)
        buffer = x._data
        getattr(x, name)(cr.tensor(b))
        getattr(tx, name)(torch.tensor(b))
        assert x._data is buffer and x._version == 1
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
    x = cr.tensor(a)
    x.sub_(x)  # the operand is the buffer itself
    np.testing.assert_array_equal(x.numpy(), np.zeros_like(a))
    w = cr.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.sub_(cr.tensor(b))  # recording: the checks of the general path still apply
    with cr.no_grad():
        w.sub_(cr.tensor(b))
    np.testing.assert_array_equal(w.detach().numpy(), a - b)
    assert w._version == 1


def test_views_share_memory_and_version():
    x = cr.zeros(2, 3)
    v = x[0]
    x.add_(1.0)
    assert v._version == x._version == 1
    assert v.sum().item() == 3.0
    r = x.reshape(6)
    r[0] = 5.0
    assert x[0, 0].item() == 5.0


def test_split_chunk_unbind_shapes():
    x = cr.arange(10.0).reshape(2, 5)
    assert [t.shape for t in x.split(2, 1)] == [(2, 2), (2, 2), (2, 1)]
    assert [t.shape for t in x.chunk(3, 1)] == [(2, 2), (2, 2), (2, 1)]
    assert [t.shape for t in x.unbind(0)] == [(5,), (5,)]
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(indices.numpy(), [4, 4])
    assert x.argmax().item() == 9 and x.argmin(dim=1).tolist() == [0, 0]


@pytest.mark.parametrize("values", [
    [1.0, 2.5], [1.0, 2.0], [[1e-5, 3.0], [2.0, 4.0]], [-0.5, 123.25], [float("nan"), 1.5],
    3.14159, [1e9, 1.0], [0.0, 0.0], list(range(12)),
])
def test_float_repr_matches_torch(values):
    assert repr(cr.tensor(values)) == repr(torch.tensor(values))


@pytest.mark.parametrize("shape, target", [
    ((), (3, 4)), ((1,), (2, 3)), ((3, 1), (2, 3, 4)), ((1, 1), (32, 1)), ((4,), (4,)),
    ((2, 3), (5, 2, 3)), ((0, 1), (0, 3)), ("strided", (4, 2, 2))])
def test_broadcast_view_is_numpys_broadcast_to(shape, target):
    from chainrule.ops.movement import broadcast_view

    if shape == "strided":
        x = np.arange(6.0).reshape(2, 3)[:, ::2]  # not contiguous: NumPy's own path
    else:
        x = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float32).reshape(shape)
    view, expected = broadcast_view(x, target), np.broadcast_to(x, target)
    assert view.shape == expected.shape and view.dtype == x.dtype
    np.testing.assert_array_equal(view, expected)
    assert not view.flags.writeable
    assert x.size == 0 or np.shares_memory(view, x)


@pytest.mark.parametrize("shape, target", [((3,), (4,)), ((2, 3), (3,)), ((2, 1), (3, 3))])
def test_broadcast_view_refuses_what_does_not_broadcast(shape, target):
    from chainrule.ops.movement import broadcast_view

    with pytest.raises(ValueError):
        broadcast_view(np.ones(shape), target)


@pytest.mark.parametrize("lib", ["cr", "torch"])
def test_data_is_a_detached_tensor_sharing_storage(lib):
    m = cr if lib == "cr" else torch
    w = m.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data += -0.5 * w.grad            # the update step lectures write
    w.data.add_(1.0)
    assert isinstance(w.data, m.Tensor) and not w.data.requires_grad
    assert w.data.grad_fn is None and w.requires_grad
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 1.0])
    before = w._version
    w.data.mul_(3.0)                   # outside autograd's version tracking, as in PyTorch
    assert w._version == before
    w.data = m.tensor([4.0, 5.0, 6.0])
    assert tuple(w.shape) == (3,) and w.requires_grad
    np.testing.assert_array_equal(w.detach().numpy(), [4.0, 5.0, 6.0])
