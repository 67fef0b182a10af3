"""nn.utils: gradient clipping against PyTorch, and parameters to a vector and back."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import utils
from tests.oracle import torch


def _pairs(rng, shapes=((3, 4), (4,), (2, 2, 2)), scale=1.0, dtype=np.float64):
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    ours = [nn.Parameter(cr.tensor(np.zeros(s, dtype))) for s in shapes]
    theirs = [torch.nn.Parameter(torch.zeros(s, dtype=getattr(torch, np.dtype(dtype).name)))
              for s in shapes]
    for p, q, g in zip(ours, theirs, grads):
        p.grad = cr.tensor(g.copy())
        q.grad = torch.tensor(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype, rng):
    ours, theirs = _pairs(rng, dtype=dtype)
    total = utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=1e-5)
    assert isinstance(total, cr.Tensor) and total.dtype == dtype and total.shape == ()
    np.testing.assert_allclose(total.item(), total_t.item(), **tol)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **tol)


def test_clip_grad_norm_on_a_model_and_edge_cases(rng):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    model(cr.randn(5, 3)).sum().backward()
    version = model[0].weight.grad._version
    total = utils.clip_grad_norm_(model.parameters(), 0.01)
    assert total.item() > 0.01 and model[0].weight.grad._version == version + 1
    after = utils.get_total_norm([p.grad for p in model.parameters()])
    np.testing.assert_allclose(after.item(), 0.01, rtol=1e-4)
    single = nn.Parameter(cr.zeros(2))
    single.grad = cr.tensor([3.0, 4.0])
    assert utils.clip_grad_norm_(single, 100.0).item() == 5.0
    no_grads = [nn.Parameter(cr.zeros(2))]
    assert utils.clip_grad_norm_(no_grads, 1.0).item() == 0.0
    bad = nn.Parameter(cr.zeros(1))
    bad.grad = cr.tensor([np.inf])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch(rng):
    ours, theirs = _pairs(rng, scale=3.0)
    assert utils.clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_to_vector_and_back(rng):
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = utils.parameters_to_vector(model.parameters())
    assert vec.shape == (11,) and vec.requires_grad
    expected = np.concatenate([p.detach().numpy().reshape(-1) for p in model.parameters()])
    np.testing.assert_array_equal(vec.detach().numpy(), expected)
    (vec * vec).sum().backward()  # differentiable: the gradient reaches every parameter
    np.testing.assert_allclose(model[0].weight.grad.numpy(),
                               2 * model[0].weight.detach().numpy())
    new = cr.arange(11).float()
    utils.vector_to_parameters(new, model.parameters())
    np.testing.assert_array_equal(model[1].bias.detach().numpy(), [10.0])
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(TypeError, match="expected Tensor"):
        utils.vector_to_parameters(np.zeros(11), model.parameters())
    with pytest.raises(ValueError, match="11 elements"):
        utils.vector_to_parameters(cr.zeros(3), model.parameters())
