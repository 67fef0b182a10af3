"""Out-of-range indices and integer division by zero raise as in PyTorch (no wrap-around, no
silent 0)."""

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import torch


def _torch_error(fn):
    with pytest.raises(Exception) as info:
        fn(torch)
    return info.type


INDEX_CASES = {
    "index_select -1": lambda m: m.arange(6.0).reshape(2, 3).index_select(1, m.tensor([-1])),
    "index_select 3": lambda m: m.arange(6.0).reshape(2, 3).index_select(1, m.tensor([0, 3])),
    "index_select -4": lambda m: m.arange(6.0).reshape(2, 3).index_select(1, m.tensor([-4])),
    "index_select float index": lambda m: m.arange(6.0).reshape(2, 3).index_select(
        1, m.tensor([1.0])),
    "gather -1": lambda m: m.arange(6.0).reshape(2, 3).gather(1, m.tensor([[-1], [0]])),
    "gather 3": lambda m: m.arange(6.0).reshape(2, 3).gather(1, m.tensor([[3], [0]])),
}


@pytest.mark.parametrize("case", INDEX_CASES, ids=list(INDEX_CASES))
def test_out_of_range_index_raises_as_torch(case):
    fn = INDEX_CASES[case]
    expected = _torch_error(fn)
    with pytest.raises(expected, match=r"index_select|gather"):
        fn(cr)


def test_in_range_indices_still_select_as_torch():
    a = np.arange(12.0).reshape(3, 4)
    x = cr.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    ours = x.index_select(1, cr.tensor([3, 0, 0])).sum() + x.gather(
        0, cr.tensor([[2, 0, 1, 0]])).sum()
    theirs = tx.index_select(1, torch.tensor([3, 0, 0])).sum() + tx.gather(
        0, torch.tensor([[2, 0, 1, 0]])).sum()
    ours.backward()
    theirs.backward()
    assert ours.item() == theirs.item()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


DIVISION_CASES = {
    "tensor // tensor": lambda m: m.tensor([5, 3]) // m.tensor([0, 1]),
    "tensor // 0": lambda m: m.tensor([5, -3]) // 0,
    "5 // tensor": lambda m: 5 // m.tensor([1, 0]),
    "tensor % tensor": lambda m: m.tensor([5, 3]) % m.tensor([2, 0]),
    "tensor % 0": lambda m: m.tensor([5]) % 0,
}


@pytest.mark.parametrize("case", DIVISION_CASES, ids=list(DIVISION_CASES))
def test_integer_division_by_zero_raises_as_torch(case):
    fn = DIVISION_CASES[case]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(torch)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(cr)


def test_float_division_by_zero_gives_inf_and_nan_as_torch():
    with np.errstate(all="ignore"):
        ours = [(cr.tensor([5.0, -1.0]) // 0).tolist(), (cr.tensor([5.0]) % 0).tolist()]
    theirs = [(torch.tensor([5.0, -1.0]) // 0).tolist(), (torch.tensor([5.0]) % 0).tolist()]
    assert str(ours) == str(theirs)  # nan != nan: compare the printed values


def test_integer_division_without_zero_matches_torch():
    a, b = [7, -7, 0, 9], [2, 2, -3, -4]
    assert (cr.tensor(a) // cr.tensor(b)).tolist() == (torch.tensor(a) // torch.tensor(b)).tolist()
    assert (cr.tensor(a) % cr.tensor(b)).tolist() == (torch.tensor(a) % torch.tensor(b)).tolist()
