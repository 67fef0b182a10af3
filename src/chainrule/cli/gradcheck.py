"""``chainrule gradcheck "tanh(w*x) * exp(b)" w=0.5 x=2 b=0.1``: trust, measured.

Every variable becomes a float64 tensor; the engine's gradient of the formula is compared with
two-sided differences, element by element, then ``gradcheck`` and ``gradgradcheck`` (second
derivatives) give their verdicts. Exit status 0 when both pass, 1 when one fails.
"""

from __future__ import annotations

import argparse

from . import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck", help="check a formula's gradients against finite differences",
        description="Compare the engine's first and second derivatives of a formula with "
                    "central differences in float64.",
        epilog='example: chainrule gradcheck "tanh(w*x) * exp(b)" w=0.5 x=2 b=0.1')
    p.add_argument("expression", help="a formula, as for `chainrule explain`")
    p.add_argument("values", nargs="*", metavar="NAME=VALUE",
                   help="a value for every variable (a comma list gives a vector)")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (1e-6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    with np.errstate(all="ignore"):  # inf and nan show in the table, not as warnings
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    import chainrule as cr
    from chainrule.autograd.gradcheck import GradcheckError
    from chainrule.inspect.expression import ExpressionError

    from .explain import parse_expression, parse_values

    if not 0 < args.eps < 1:
        raise UsageError(f"--eps must be in (0, 1), got {args.eps}")
    expr = parse_expression(args.expression)
    given = parse_values(args.values)
    missing = [name for name in expr.variables if name not in given]
    extra = [name for name in given if name not in expr.variables]
    if missing or extra or not expr.variables:
        raise UsageError(f"give exactly one value for each variable of the expression "
                         f"({', '.join(expr.variables) or 'none'})")
    names = list(expr.variables)
    inputs = [cr.tensor(np.asarray(given[n], dtype=np.float64), requires_grad=True)
              for n in names]

    def total(*xs):
        return expr.evaluate(dict(zip(names, xs))).sum()

    try:
        grads = cr.autograd.grad(total(*inputs), inputs, allow_unused=True)
    except (ExpressionError, RuntimeError) as e:
        raise UsageError(f"cannot evaluate: {e}") from None
    print(f"{'input':>8} {'element':>8} {'engine':>22} {'finite differences':>22} {'error':>9}")
    for name, x, g in zip(names, inputs, grads):
        analytic = np.zeros_like(x._data) if g is None else g._data
        for index in np.ndindex(x.shape):
            numeric = _central_difference(total, inputs, x, index, args.eps)
            a = analytic[index]
            print(f"{name:>8} {str(index or ''):>8} {a:>22.15g} {numeric:>22.15g} "
                  f"{abs(a - numeric):>9.2e}")
    ok = True
    for label, check in (("gradcheck", cr.autograd.gradcheck),
                         ("gradgradcheck", cr.autograd.gradgradcheck)):
        try:
            check(total, inputs, eps=args.eps)
            print(f"{label}: passed")
        except GradcheckError as e:
            print(f"{label}: FAILED: {e}")
            ok = False
    return 0 if ok else 1


def _central_difference(fn, inputs, x, index, eps: float) -> float:
    import chainrule as cr

    original = x._data[index]
    with cr.no_grad():
        x._data[index] = original + eps
        plus = fn(*inputs).item()
        x._data[index] = original - eps
        minus = fn(*inputs).item()
    x._data[index] = original
    return (plus - minus) / (2 * eps)
