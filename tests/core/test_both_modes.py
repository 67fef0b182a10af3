"""Every op's backward rule in both engine modes: on arrays (``create_graph=False``) and on
Tensors (``create_graph=True``), against each other and against PyTorch, with anomaly mode's
run-time checks of each rule's output (one gradient per input, its shape and dtype, no array
sent to two inputs unless the op says so). This is what proves the built-in rules, which are
not checked at run time otherwise."""

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import TOLERANCES, namespace, torch

from .optable import all_cases

NS = namespace(cr)
CASES = all_cases()


def _gradients(case, arrays, seed_rng, create_graph: bool):
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    with cr.autograd.detect_anomaly():
        out = case.program(NS, *xs)
        seed = cr.tensor(seed_rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype))
        grads = cr.autograd.grad(out, xs, seed, create_graph=create_graph, allow_unused=True)
    return grads


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_array_and_tensor_modes_agree_with_each_other_and_torch(case, dtype, rng):
    arrays = case.arrays(rng, dtype)
    in_arrays = _gradients(case, arrays, np.random.default_rng(0), create_graph=False)
    in_tensors = _gradients(case, arrays, np.random.default_rng(0), create_graph=True)
    tol = TOLERANCES[dtype]
    for i, (a, t) in enumerate(zip(in_arrays, in_tensors)):
        assert (a is None) == (t is None), f"input {i}"
        if a is None:
            continue
        assert type(a) is cr.Tensor and type(t) is cr.Tensor
        assert a.shape == t.shape == arrays[i].shape and a.dtype == t.dtype == dtype
        assert not a.requires_grad, "array mode records nothing"
        np.testing.assert_allclose(a.numpy(), t.detach().numpy(), **tol, err_msg=f"input {i}")
    if not case.torch:
        return
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = case.program(namespace(torch), *ts)
    seed = np.random.default_rng(0).standard_normal(tuple(out.shape)).astype(dtype)
    expected = torch.autograd.grad(out, ts, torch.tensor(seed), allow_unused=True)
    for i, (t, e) in enumerate(zip(in_tensors, expected)):
        if e is None:
            assert t is None or not np.any(t.detach().numpy()), f"input {i}"
            continue
        np.testing.assert_allclose(t.detach().numpy(), e.numpy(), **tol,
                                   err_msg=f"Tensor-mode gradient of input {i}")


def test_anomaly_mode_names_a_rule_that_returns_a_wrong_shape(monkeypatch):
    from chainrule.ops.elementwise import Exp

    monkeypatch.setattr(Exp, "backward", staticmethod(lambda ctx, g, out: (g * out)[:1]))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="ExpBackward.*shape"):
        x.exp().sum().backward()


def test_anomaly_mode_names_a_rule_that_sends_one_array_to_two_inputs(monkeypatch):
    from chainrule.ops.elementwise import Mul

    monkeypatch.setattr(Mul, "backward", staticmethod(lambda ctx, g, x, y: (g, g)))
    x, y = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="MulBackward.*two"):
        (x * y).sum().backward()
