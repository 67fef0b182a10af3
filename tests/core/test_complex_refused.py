"""Complex tensors never require grad: chainrule's autograd is float32/float64 only, and a
complex gradient without PyTorch's conjugate-Wirtinger convention would be a wrong number."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

Z = np.array([1 + 2j, 3 - 1j])
REFUSED = {
    "tensor(requires_grad=True)": lambda: cr.tensor(Z, requires_grad=True),
    "requires_grad_()": lambda: cr.tensor(Z).requires_grad_(),
    "requires_grad = True": lambda: setattr(cr.tensor(Z), "requires_grad", True),
    "from_numpy().requires_grad_()": lambda: cr.from_numpy(Z.astype(np.complex64))
    .requires_grad_(),
    "zeros(dtype=complex)": lambda: cr.zeros(2, dtype=np.complex128, requires_grad=True),
    "Parameter": lambda: nn.Parameter(cr.tensor(Z)),
    "real * complex": lambda: cr.tensor([1.0, 2.0], requires_grad=True) * cr.tensor(Z),
    "complex + real": lambda: cr.tensor(Z) + cr.tensor([1.0, 2.0], requires_grad=True),
    "matmul": lambda: cr.tensor([1.0, 2.0], requires_grad=True) @ cr.tensor(Z),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_complex_tensors_cannot_require_grad(case):
    with pytest.raises(RuntimeError, match="complex tensors cannot require gradients.*"
                                           "float32/float64"):
        REFUSED[case]()


def test_custom_function_returning_complex_is_refused():
    class ToComplex(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return cr.tensor(x.detach().numpy() * 1j)

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="ToComplex.forward: output 0: complex tensors"):
        ToComplex.apply(cr.tensor([1.0], requires_grad=True))


def test_complex_tensors_without_grad_still_compute():
    z = cr.tensor(Z)
    np.testing.assert_array_equal((z * z).numpy(), Z * Z)
    with cr.no_grad():
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        np.testing.assert_array_equal((w * z).numpy(), np.array([1.0, 2.0]) * Z)
    assert not cr.tensor(Z).requires_grad
