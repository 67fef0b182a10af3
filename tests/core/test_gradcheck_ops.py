"""Every differentiable op against central differences in float64: first and second order."""

import numpy as np
import pytest

import chainrule as cr
from tests.oracle import namespace

from .optable import (
    ATTENTION,
    BROADCAST_PAIRS,
    CONV,
    MOVEMENT,
    NORMALIZATION,
    RECURRENT,
    SURFACE,
    all_cases,
    binary_cases,
    reduction_cases,
    unary_cases,
)

NS = namespace(cr)


def _inputs(case, rng):
    return tuple(cr.tensor(a, requires_grad=True) for a in case.arrays(rng))


@pytest.mark.parametrize("case", all_cases(), ids=str)
def test_gradcheck(case, rng):
    inputs = _inputs(case, rng)
    assert cr.autograd.gradcheck(lambda *xs: case.program(NS, *xs), inputs)


# Second order on every op; reductions on a representative set of dims (all dims take long).
SECOND_ORDER = (unary_cases() + binary_cases() + reduction_cases(dims=[None, 1, (0, 2)])
                + MOVEMENT + CONV + ATTENTION + NORMALIZATION + SURFACE + RECURRENT)


@pytest.mark.parametrize("case", SECOND_ORDER, ids=str)
def test_gradgradcheck(case, rng):
    inputs = _inputs(case, rng)
    assert cr.autograd.gradgradcheck(lambda *xs: case.program(NS, *xs), inputs)


def test_broadcast_pairs_cover_the_issue():
    assert {((3, 4), (1, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (3,))} <= set(
        BROADCAST_PAIRS)


def test_gradcheck_failure_names_input_and_worst_element():
    class WrongCube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x ** 2  # should be 3 x^2

    x = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError) as info:
        cr.autograd.gradcheck(WrongCube.apply, (x,))
    message = str(info.value)
    assert "input 0" in message and "(2,)" in message  # worst at x = 3: 27 vs 18
    assert "numerical 27" in message and "analytical 18" in message
    assert cr.autograd.gradcheck(WrongCube.apply, (x,), raise_exception=False) is False


def test_gradcheck_wants_float64():
    x = cr.randn(3, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError, match="float64"):
        cr.autograd.gradcheck(lambda t: t.sum(), (x,))


def test_gradgradcheck_catches_a_wrong_double_backward():
    class FrozenSquare(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()  # right first derivative, cut second derivative

    x = cr.tensor(np.array([0.5, 1.5]), requires_grad=True)
    assert cr.autograd.gradcheck(FrozenSquare.apply, (x,))
    with pytest.raises(cr.autograd.GradcheckError):
        cr.autograd.gradgradcheck(FrozenSquare.apply, (x,))
