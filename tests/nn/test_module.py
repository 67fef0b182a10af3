"""Module machinery: registration, traversal, modes, state_dict round trips and errors, dtype
conversion, hooks, containers and reprs (against PyTorch's)."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from tests.nn.pairs import copy_weights, run_pair
from tests.oracle import namespace, torch


def build_net(m):
    """The same small network in either library (``m`` is a namespace from tests.oracle)."""

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.ReLU(), m.nn.BatchNorm1d(4))
            self.heads = m.nn.ModuleList([m.nn.Linear(4, 2), m.nn.Linear(4, 2)])
            self.extra = m.nn.ModuleDict({"ln": m.nn.LayerNorm(2)})
            self.scale = m.nn.Parameter(m.lib.ones(2))
            self.register_buffer("offset", m.lib.zeros(2))
            self.register_buffer("cache", m.lib.zeros(1), persistent=False)

        def forward(self, x):
            h = self.body(x)
            out = self.heads[0](h) + self.heads[1](h)
            return self.extra["ln"](out) * self.scale + self.offset

    return Net()


# ---- Parameter -----------------------------------------------------------------------------


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    data = cr.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, cr.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    p._data[0] = 5.0
    assert data.tolist() == [5.0, 2.0]  # shares memory, as PyTorch
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [10.0, 4.0])
    assert type(p * 2) is cr.Tensor and type(p.detach()) is cr.Tensor
    assert not nn.Parameter(cr.zeros(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_repr_matches_torch():
    ours = nn.Parameter(cr.tensor([1.0, 2.0]))
    theirs = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(ours) == repr(theirs)
    assert repr(ours).startswith("Parameter containing:\n")


def test_parameter_rejects_integers_and_other_data():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="expected a Tensor or an ndarray"):
        nn.Parameter([1.0])


# ---- registration and traversal ------------------------------------------------------------


def test_names_and_order_match_torch():
    ours, theirs = build_net(namespace(cr)), build_net(namespace(torch))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))


def test_whole_network_matches_torch_with_copied_weights(rng):
    ours, theirs = build_net(namespace(cr)), build_net(namespace(torch))
    ours.double()
    theirs.double()
    copy_weights(ours, theirs)
    run_pair(ours, theirs, [rng.standard_normal((5, 3))])
    ours.eval()
    theirs.eval()
    run_pair(ours, theirs, [rng.standard_normal((5, 3))], seed=1)


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_registers_and_reassignment_rules():
    m = nn.Module()
    m.w = nn.Parameter(cr.zeros(2))
    m.sub = nn.Linear(1, 1)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert m.plain == 3 and "plain" in m.__dict__
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = cr.zeros(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 1
    m.register_buffer("b", cr.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'float' as buffer 'b'"):
        m.b = 1.0
    m.b = cr.zeros(3)
    assert m.b.shape == (3,)
    m.sub = nn.Parameter(cr.zeros(1))  # a name moves from one kind to another
    assert "sub" not in m._modules and "sub" in m._parameters
    del m.sub
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'sub'"):
        _ = m.sub


def test_registration_errors():
    m = nn.Module()
    with pytest.raises(KeyError, match='contain ".", got: a.b'):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="buffer 'x'"):
        m.register_buffer("x", np.zeros(1))
    with pytest.raises(TypeError, match="parameter 'x'"):
        m.register_parameter("x", cr.zeros(1))
    m.attr = 1
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.register_buffer("attr", cr.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("y", _nonleaf_param())

    class Early(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Early()
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        nn.Module()(cr.zeros(1))


def _nonleaf_param():
    p = nn.Parameter(cr.zeros(1))
    q = p * 1
    q.__class__ = nn.Parameter  # a Parameter that is the output of an op
    return q


def test_get_submodule_parameter_buffer():
    net = build_net(namespace(cr))
    assert net.get_submodule("body.2") is net.body[2]
    assert net.get_parameter("heads.1.bias") is net.heads[1].bias
    assert net.get_buffer("body.2.running_var") is net.body[2].running_var
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        net.get_submodule("body.nope")


def test_train_eval_apply_requires_grad_and_zero_grad(rng):
    net = build_net(namespace(cr))
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"
    net(cr.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    assert all(p.grad is g and not np.any(g.numpy()) for p, g in zip(net.parameters(), grads))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


# ---- state_dict ----------------------------------------------------------------------------


def test_state_dict_is_detached_shared_and_ordered():
    net = build_net(namespace(cr))
    state = net.state_dict()
    assert isinstance(state, OrderedDict)
    assert "cache" not in state and "offset" in state  # the non-persistent buffer is left out
    w = state["body.0.weight"]
    assert not w.requires_grad and w.grad_fn is None
    net.body[0].weight._data[0, 0] = 42.0
    assert w.numpy()[0, 0] == 42.0  # shares memory, as PyTorch
    assert state["body.2.num_batches_tracked"].dtype == cr.int64
    kept = net.state_dict(keep_vars=True)
    assert kept["scale"] is net.scale
    assert list(net.state_dict(prefix="model.")) == ["model." + k for k in state]


def test_state_dict_round_trip(rng):
    cr.manual_seed(0)
    a = build_net(namespace(cr))
    a(cr.randn(6, 3))  # moves the running statistics
    cr.manual_seed(1)
    b = build_net(namespace(cr))
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    assert b.body[0].weight._data is not a.body[0].weight._data  # copied, not aliased
    x = cr.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    a.eval()
    b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_load_state_dict_from_torch_gives_torch_outputs(rng):
    theirs = build_net(namespace(torch)).double()
    ours = build_net(namespace(cr)).double()
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    run_pair(ours, theirs, [rng.standard_normal((4, 3))])


def test_load_state_dict_casts_and_bumps_versions():
    lin = nn.Linear(2, 2)
    version = lin.weight._version
    lin.load_state_dict({"weight": cr.ones(2, 2, dtype=cr.float64), "bias": np.zeros(2)})
    assert lin.weight.dtype == cr.float32 and lin.weight.detach().numpy().sum() == 4
    assert lin.weight._version == version + 1


def test_missing_unexpected_and_mis_shaped_keys_are_named():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    state = net.state_dict()
    del state["1.bias"]
    state["1.gamma"] = cr.zeros(1)
    state["head.weight"] = cr.zeros(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "1.bias".' in message
    # each module reports its own keys, the root first (PyTorch's order)
    assert 'Unexpected key(s) in state_dict: "head.weight", "1.gamma".' in message
    result = net.load_state_dict(state, strict=False)
    assert result == (["1.bias"], ["head.weight", "1.gamma"])
    assert result.missing_keys == ["1.bias"]
    assert "missing_keys=['1.bias']" in repr(result)
    bad = net.state_dict()
    bad["0.weight"] = cr.zeros(2, 3)
    for strict in (True, False):  # a shape mismatch is an error either way, as PyTorch
        with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param "
                                               r"with shape \(2, 3\) from checkpoint, the shape "
                                               r"in current model is \(3, 2\)"):
            net.load_state_dict(bad, strict=strict)
    with pytest.raises(RuntimeError, match='parameter named "0.bias", expected Tensor'):
        net.load_state_dict({**net.state_dict(), "0.bias": [1.0, 2.0, 3.0]})
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([("0.bias", cr.zeros(3))])


def test_torch_reports_the_same_keys():
    """The lists of missing and unexpected keys equal PyTorch's for the same dict."""
    ours, theirs = build_net(namespace(cr)), build_net(namespace(torch))
    keys = list(theirs.state_dict())
    drop = {keys[0], keys[5]}
    state_t = {k: v for k, v in theirs.state_dict().items() if k not in drop}
    state_t.update({"body.9.weight": torch.zeros(1), "heads.0": torch.zeros(1),
                    "scale.x": torch.zeros(1), "cache": torch.zeros(1)})
    expected = theirs.load_state_dict(state_t, strict=False)
    state_c = {k: cr.tensor(v.numpy()) for k, v in state_t.items()}
    got = ours.load_state_dict(state_c, strict=False)
    assert got.missing_keys == expected.missing_keys
    assert got.unexpected_keys == expected.unexpected_keys


def test_load_state_dict_assign_replaces_tensors():
    lin = nn.Linear(2, 2)
    new_w = cr.ones(2, 2)
    lin.load_state_dict({"weight": new_w, "bias": cr.zeros(2)}, assign=True)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    np.testing.assert_array_equal(lin.weight.detach().numpy(), 1.0)


# ---- dtype ---------------------------------------------------------------------------------


def test_to_double_float_keeps_parameter_objects():
    net = build_net(namespace(cr))
    net(cr.randn(4, 3)).sum().backward()
    params = list(net.parameters())
    assert net.to(cr.float64) is net
    assert all(p is q for p, q in zip(net.parameters(), params))
    assert all(p.dtype == cr.float64 and p.grad.dtype == cr.float64 for p in params)
    assert net.body[2].running_mean.dtype == cr.float64
    assert net.body[2].num_batches_tracked.dtype == cr.int64  # integers stay integers
    assert net.float().scale.dtype == cr.float32
    assert net.double().scale.dtype == cr.float64
    net.to("cpu")
    net.to("cpu", dtype=cr.float32)
    assert net.scale.dtype == cr.float32
    net.to(cr.zeros(1, dtype=cr.float64))
    assert net.scale.dtype == cr.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(cr.int64)
    with pytest.raises(RuntimeError, match="CPU only"):
        net.to("cuda")


def test_deepcopy_is_independent():
    net = build_net(namespace(cr))
    twin = copy.deepcopy(net)
    assert twin.scale is not net.scale and isinstance(twin.scale, nn.Parameter)
    twin.scale._data[0] = 9.0
    assert net.scale.detach().numpy()[0] == 1.0
    assert list(twin.state_dict()) == list(net.state_dict())


# ---- hooks ---------------------------------------------------------------------------------


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(("post", out.shape)))
    h3 = lin.register_forward_hook(lambda m, args, out: out + 100)
    out = lin(cr.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 100)
    assert calls == [("post", (1, 2))]
    for h in (h1, h2, h3):
        h.remove()
    np.testing.assert_allclose(lin(cr.zeros(1, 2)).detach().numpy(),
                               lin.bias.detach().numpy()[None])
    assert len(calls) == 1


def test_hook_options_prepend_kwargs_always_call_context_manager():
    class Echo(nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative scale")
            return x * scale

    m = Echo()
    order = []
    m.register_forward_hook(lambda mod, a, out: order.append("second"))
    m.register_forward_hook(lambda mod, a, out: order.append("first"), prepend=True)
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {"scale": 3.0}), with_kwargs=True)
    seen = []
    m.register_forward_hook(lambda mod, a, kw, out: seen.append(kw), with_kwargs=True)
    assert m(cr.ones(1)).item() == 3.0
    assert order == ["first", "second"] and seen == [{"scale": 3.0}]
    failed = []
    m2 = Echo()
    m2.register_forward_hook(lambda mod, a, out: failed.append(out), always_call=True)
    with pytest.raises(ValueError, match="negative scale"):
        m2(cr.ones(1), scale=-1.0)
    assert failed == [None]
    with m2.register_forward_hook(lambda mod, a, out: out * 2):
        assert m2(cr.ones(1)).item() == 2.0
    assert m2(cr.ones(1)).item() == 1.0


# ---- containers ----------------------------------------------------------------------------


def test_sequential_indexing_and_editing():
    layers = [nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh()]
    seq = nn.Sequential(*layers)
    assert len(seq) == 4 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[3]
    sub = seq[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:3]
    assert list(sub._modules) == ["1", "2"]  # slices keep their names, as PyTorch
    with pytest.raises(IndexError, match="index 4 is out of range"):
        seq[4]
    seq[1] = nn.Sigmoid()
    assert isinstance(seq[1], nn.Sigmoid)
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is layers[2]
    seq.append(nn.Identity()).insert(0, nn.Flatten())
    assert isinstance(seq[0], nn.Flatten) and isinstance(seq[-1], nn.Identity)
    popped = seq.pop(0)
    assert isinstance(popped, nn.Flatten) and len(seq) == 4
    both = seq + nn.Sequential(nn.ReLU())
    assert len(both) == 5
    seq.extend([nn.ReLU()])
    assert len(seq) == 5
    tail = nn.Tanh()
    seq.insert(-1, tail)  # before the last one, as list.insert and PyTorch
    assert seq[-2] is tail and len(seq) == 6
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert named.fc is named[0]
    assert nn.Sequential(nn.Linear(1, 1))(cr.ones(1, 1)).shape == (1, 1)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert isinstance(ml[0], nn.Tanh) and isinstance(ml[-1], nn.ReLU)
    assert list(ml._modules) == [str(i) for i in range(5)]
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(4)]
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
    ml += [nn.Sigmoid()]
    assert len(ml) == 5 and len(ml + nn.ModuleList([nn.ReLU()])) == 6
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    md.update([("c", nn.Tanh())])
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert list(md.keys()) == ["a", "b", "c"] and isinstance(md.pop("b"), nn.ReLU)
    assert [k for k, _ in md.items()] == ["a", "c"]
    md.clear()
    assert len(md) == 0


def test_reprs_match_torch():
    def small(m):
        return m.nn.Sequential(m.nn.Linear(2, 3), m.nn.ReLU(), m.nn.Linear(3, 1))

    assert repr(small(namespace(cr))) == repr(small(namespace(torch)))
    assert repr(small(namespace(cr))) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=1, bias=True)\n"
        ")")
    assert repr(build_net(namespace(cr))).replace("Net", "") == repr(
        build_net(namespace(torch))).replace("Net", "")

    def repeated(m):
        return m.nn.ModuleList([m.nn.Linear(2, 2)] * 3 + [m.nn.ReLU(), m.nn.Linear(2, 2)])

    assert repr(repeated(namespace(cr))) == repr(repeated(namespace(torch)))
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, chainrule.nn, chainrule.nn.functional, chainrule.nn.init, "
            "chainrule.nn.utils; heavy = {'torch', 'scipy', 'matplotlib', 'rich', 'graphviz', "
            "'safetensors', 'sklearn'}; print(sorted(heavy & {m.split('.')[0] for m in "
            "sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
