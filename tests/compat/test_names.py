"""The long tail of PyTorch names (issue 12), each against torch."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch


def _both(fn, *arrays):
    ours = fn(cr, *[cr.tensor(a) for a in arrays])
    theirs = fn(torch, *[torch.tensor(a) for a in arrays])
    return ours, theirs


def _equal(ours, theirs) -> None:
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("program", [
    lambda m, x: m.sum(x, 1, keepdims=True), lambda m, x: x.mean(0, keepdims=True),
    lambda m, x: x.amax(1, keepdims=True), lambda m, x: m.all(x > 0, 1, keepdims=True),
    lambda m, x: x.std(1, keepdims=True), lambda m, x: m.max(x, 0, keepdims=True)[0],
    lambda m, x: m.matmul(input=x, other=x.T), lambda m, x: m.where(x > 0, input=x, other=-x),
    lambda m, x: m.log2(x.abs()), lambda m, x: x.abs().log10(),
    lambda m, x: m.histc(x, bins=5, min=-1, max=1), lambda m, x: x.histc(bins=4),
    lambda m, x: m.histogram(x, bins=4)[0], lambda m, x: m.histogram(x, bins=4)[1],
    lambda m, x: m.tril(x, 1), lambda m, x: x.triu(-1),
    lambda m, x: m.isclose(x, x + 1e-9), lambda m, x: m.any(x > 1),
    lambda m, x: m.div(x, 0.3, rounding_mode="floor"),
    lambda m, x: m.div(x, 0.3, rounding_mode="trunc"),
    lambda m, x: m.round(x, decimals=1), lambda m, x: m.true_divide(input=x, other=2.0),
    lambda m, x: m.max(x, x.flip(0)), lambda m, x: x.min(x * 2),
    lambda m, x: m.square(x), lambda m, x: m.logical_xor(x > 0, x < 0.5),
    lambda m, x: m.masked_fill(x, x > 0, 0.5), lambda m, x: x.flip(dims=(0,)),
    lambda m, x: x[None].bmm(mat2=x.T[None]), lambda m, x: x.flip(1, 0),
    lambda m, x: x.gather(1, m.tensor([[0], [3], [2]]), sparse_grad=False),
    lambda m, x: x.masked_fill(x > 0, m.tensor(2.0)),
])
def test_long_tail_matches_torch(program):
    x = np.random.default_rng(0).standard_normal((3, 4))
    _equal(*_both(program, x))


def test_where_condition_only_and_scalar_answers():
    x = np.array([[0.0, 1.0], [2.0, 0.0]])
    ours, theirs = _both(lambda m, t: m.where(t > 0), x)
    assert [o.tolist() for o in ours] == [t.tolist() for t in theirs]
    a, b = cr.tensor(x), cr.tensor(x + 1e-9)
    assert cr.allclose(a, b) is torch.allclose(torch.tensor(x), torch.tensor(x + 1e-9)) is True
    assert cr.equal(a, a) and not cr.equal(a, b) and a.nelement() == a.numel() == 4
    assert (a.ndimension(), a.stride(), a.is_contiguous()) == (2, (2, 1), True)
    with pytest.raises(TypeError, match="keepdim=True and keepdims=False"):
        a.sum(0, keepdim=True, keepdims=False)


def test_out_writes_into_the_given_tensor():
    x, out = cr.tensor([1.0, 2.0]), cr.zeros(2)
    assert cr.exp(x, out=out) is out
    np.testing.assert_allclose(out.numpy(), np.exp([1.0, 2.0]).astype(np.float32))
    with pytest.warns(UserWarning, match="resized"):
        cr.add(x, 1, out=cr.zeros(3))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.exp(cr.ones(2, requires_grad=True), out=cr.zeros(2))
    with pytest.raises(RuntimeError, match="can't be cast"):
        cr.exp(x, out=cr.zeros(2, dtype=cr.int64))


def test_format_as_torch():
    for value in (3.14159, 2, True):
        ours, theirs = cr.tensor(value), torch.tensor(value)
        for spec in ("", ".2f", ">8", "") if not isinstance(value, bool) else ("",):
            assert format(ours, spec) == format(theirs, spec)
    assert f"{cr.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{cr.tensor([1.0, 2.0]):.2f}"  # noqa: B018


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor", "ByteTensor", "HalfTensor"])
def test_legacy_constructors(name):
    ours, theirs = getattr(cr, name), getattr(torch, name)
    data = [1, 0, 2]
    _equal(ours(data), theirs(data))
    assert ours(2, 3).shape == tuple(theirs(2, 3).shape)
    made = ours([1, 2])
    assert isinstance(made, ours) and isinstance(made, cr.Tensor)
    other = cr.zeros(1, dtype=cr.float64 if name != "DoubleTensor" else cr.float32)
    assert not isinstance(other, ours)


def test_variable_is_a_tensor():
    v = cr.autograd.Variable(cr.ones(3), requires_grad=True)
    (v * 2).sum().backward()
    assert isinstance(v, cr.Tensor) and isinstance(cr.ones(1), cr.autograd.Variable)
    np.testing.assert_array_equal(v.grad.numpy(), [2, 2, 2])


def test_inference_mode_is_per_thread_and_nests():
    x = cr.ones(2, requires_grad=True)
    seen = {}

    def other_thread():
        seen["other"] = (cr.is_inference_mode_enabled(), (x * 2).requires_grad)

    with cr.inference_mode():
        assert cr.is_inference_mode_enabled() and not (x * 2).requires_grad
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        with cr.inference_mode(False):
            assert not cr.is_inference_mode_enabled()
    assert seen["other"] == (False, True)
    assert not cr.is_inference_mode_enabled() and (x * 2).requires_grad

    @cr.inference_mode()
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad


def test_data_assignment_and_update_in_nn_and_optim():
    net = cr.nn.Linear(3, 2)
    net.weight.data = cr.zeros(2, 3)
    net.bias.data.fill_(1.0)
    assert net(cr.ones(1, 3)).tolist() == [[1.0, 1.0]]
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    net(cr.ones(4, 3)).sum().backward()
    for p in net.parameters():
        p.data += -0.1 * p.grad  # the lecture-style update
    by_hand = [p.detach().numpy().copy() for p in net.parameters()]
    opt.zero_grad()
    assert [g is None for g in (p.grad for p in net.parameters())] == [True, True]
    assert np.allclose(by_hand[0], -0.4) and np.allclose(by_hand[1], 0.6)


def test_numpy_rejection_says_what_to_do():
    t = cr.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"use the Tensor op .*t\.numpy\(\)"):
        np.exp(t)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        np.asarray(t)
    arr = np.array([1.0, 2.0], dtype=np.float32)
    assert (arr + t).requires_grad and (arr * t).tolist() == [1.0, 2.0]


def test_missing_tensor_names_say_so():
    t = cr.ones(2)
    with pytest.raises(AttributeError, match=r"does not implement torch\.Tensor\.median yet"):
        t.median()
    assert not hasattr(t, "median")
    with pytest.raises(AttributeError, match=r"torch\.Tensor\.data_ptr: raw pointers"):
        t.data_ptr()
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute 'nope'"):
        t.nope  # noqa: B018


def test_new_tensors_take_the_dtype_of_self():
    for dtype in ("float64", "int64"):
        x, tx = cr.zeros(2, dtype=getattr(cr, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
        for make in (lambda t: t.new_zeros(2, 3), lambda t: t.new_ones((2,)),
                     lambda t: t.new_full((2, 2), 7), lambda t: t.new_tensor([1, 2]),
                     lambda t: t.new_empty(3).fill_(1)):
            _equal(make(x), make(tx))
    assert x.new_zeros(2, dtype=cr.float32).dtype == cr.float32
    assert cr.ones(1).new_ones(2, requires_grad=True).requires_grad


def test_narrow_and_movedim_errors():
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        cr.ones(2, 3).narrow(1, 2, 2)
    with pytest.raises(RuntimeError, match="same number of dims"):
        cr.ones(2, 3).movedim((0, 1), 0)


def test_dtype_queries_match_torch():
    pairs = [("int64", "float32"), ("int32", "int64"), ("bool", "int8"), ("float16", "float64"),
             ("uint8", "int8")]
    for a, b in pairs:
        ours = cr.promote_types(getattr(cr, a), getattr(cr, b))
        assert str(ours) == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))[6:]
    for value in (2, 2.5, True):
        for dtype in ("int64", "float64", "bool", "int32"):
            ours = cr.result_type(cr.zeros(2, dtype=getattr(cr, dtype)), value)
            theirs = torch.result_type(torch.zeros(2, dtype=getattr(torch, dtype)), value)
            assert str(ours) == str(theirs)[6:]
    for name in ("float16", "float32", "float64"):
        ours, theirs = cr.finfo(getattr(cr, name)), torch.finfo(getattr(torch, name))
        assert (ours.eps, ours.max, ours.tiny) == (theirs.eps, theirs.max, theirs.tiny)
    assert cr.iinfo(cr.int8).min == torch.iinfo(torch.int8).min
    assert isinstance(cr.ones(1).dtype, cr.dtype)


@pytest.mark.parametrize("program", [
    lambda m, t: m.nonzero(t), lambda m, t: m.argwhere(t), lambda m, t: m.count_nonzero(t),
    lambda m, t: m.count_nonzero(t, dim=0), lambda m, t: t.nonzero(as_tuple=True)[1],
    lambda m, t: m.nonzero(t[0, 0]), lambda m, t: m.nonzero(t[0, 1]),
    lambda m, t: t.masked_select(t > 1), lambda m, t: t.count_nonzero(),
])
def test_index_queries_match_torch(program):
    x = np.array([[0.0, 1.5], [2.0, 0.0]])
    ours, theirs = program(cr, cr.tensor(x)), program(torch, torch.tensor(x))
    assert ours.tolist() == theirs.tolist() and ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)[6:]


def test_floor_divide_method_matches_torch():
    for data in ([7, -7], [5.5, -5.5]):
        ours, theirs = cr.tensor(data), torch.tensor(data)
        assert ours.floor_divide(2).tolist() == theirs.floor_divide(2).tolist()


def test_compile_is_a_documented_no_op():
    """torch.compile(model) programs run unchanged: the model (or function) comes back as it
    is, with PyTorch's keyword arguments accepted; the signature is compared in test_parity."""
    model = cr.nn.Linear(3, 2)
    assert cr.compile(model) is model
    assert cr.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model

    @cr.compile(backend="inductor")
    def double(x):
        return x * 2

    assert double(cr.tensor([1.0])).tolist() == [2.0]
    with pytest.raises(RuntimeError, match="compile: expected a callable"):
        cr.compile(3)


@pytest.mark.parametrize("call", [
    lambda m, x: x.masked_fill(x, 0.0),  # a float mask
    lambda m, x: x.masked_fill(x > 0, m.tensor([1.0, 2.0, 3.0, 4.0])),  # a 1-D value
])
def test_masked_fill_refuses_what_torch_refuses(call):
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(RuntimeError) as theirs:
        call(torch, torch.tensor(x))
    with pytest.raises(RuntimeError) as ours:
        call(cr, cr.tensor(x))
    words = ("boolean masks", "0-dimensional value tensor")
    assert [w in str(ours.value) for w in words] == [w in str(theirs.value) for w in words]


@pytest.mark.parametrize("p", ["fro", 1, 2, 3.5, float("inf"), -float("inf"), 0, -1])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
def test_norm_orders_match_torch(p, dim):
    x = np.random.default_rng(0).standard_normal((3, 4))
    ours, theirs = _both(lambda m, t: m.norm(t, p=p, dim=dim, keepdim=dim == 1), x)
    _equal(ours, theirs)


def test_nuclear_norm_says_it_is_missing():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert torch.norm(torch.tensor(x), p="nuc").item() > 0  # PyTorch has it
    with pytest.raises(NotImplementedError, match="p='nuc'"):
        cr.norm(cr.tensor(x), p="nuc")
    with pytest.raises(RuntimeError, match="p must be a number, 'fro' or 'nuc'"):
        cr.tensor(x).norm("max")


def test_module_compile_and_modules_remove_duplicate_as_torch():
    for lib in (cr, torch):
        shared = lib.nn.Linear(2, 2)
        net = lib.nn.Sequential(shared, shared)
        assert [type(m).__name__ for m in net.modules()] == ["Sequential", "Linear"]
        assert len(list(net.modules(remove_duplicate=False))) == 3
    model = cr.nn.Linear(2, 2)
    x = cr.ones(1, 2)
    before = model(x).tolist()
    assert model.compile(mode="reduce-overhead") is None
    assert model(x).tolist() == before
