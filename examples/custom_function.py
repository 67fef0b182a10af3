"""A custom autograd Function, checked with gradcheck: the way to add an op you can trust.

Run: ``python examples/custom_function.py``. ``Softplus`` computes log(1 + exp(x)) without
overflow and gives its own backward; ``gradcheck`` compares that backward with central
differences, and catches the classic mistake of a wrong derivative.
"""

import numpy as np

import chainrule as cr


class Softplus(cr.autograd.Function):
    """softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); d/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return cr.maximum(x, cr.zeros_like(x)) + cr.log1p(cr.exp(-x.abs()))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cr.sigmoid(x)


class BrokenSoftplus(Softplus):
    """The same forward with a wrong backward (exp(x) / (1 + exp(x))^2 is sigmoid')."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = cr.sigmoid(x)
        return g * s * (1 - s)


if __name__ == "__main__":
    x = cr.tensor(np.linspace(-5, 5, 7), dtype=cr.float64, requires_grad=True)
    print("softplus(x) =", np.round(Softplus.apply(x).detach().numpy(), 4).tolist())
    print("gradcheck(Softplus):", cr.autograd.gradcheck(Softplus.apply, (x,)))
    print("gradgradcheck(Softplus):", cr.autograd.gradgradcheck(Softplus.apply, (x,)))
    try:
        cr.autograd.gradcheck(BrokenSoftplus.apply, (x,))
    except cr.autograd.GradcheckError as e:
        print("gradcheck(BrokenSoftplus) caught the wrong derivative:")
        print("  " + str(e).splitlines()[0])
