"""``chainrule explain "(w*x - y)**2" w=2 x=3 y=10``: the chain rule through a formula.

The formula is parsed safely (an AST whitelist, never eval); every variable becomes a float64
tensor that requires grad, and the explanation is printed, optionally also written as HTML and
drawn as a graph.
"""

from __future__ import annotations

import argparse
import math
import pathlib

from . import UsageError

GRAPH_FORMATS = ("svg", "png", "pdf", "dot")  # rendered by graphviz's dot, or DOT text


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", help="show the chain rule step by step for a formula",
        description="Print every backward step of a formula: forward values, local "
                    "derivatives, incoming gradients and what each input receives.",
        epilog='example: chainrule explain "(w*x - y)**2" w=2 x=3 y=10')
    p.add_argument("expression", help="a formula: numbers, names, + - * / **, unary minus, "
                   "tanh exp log sigmoid relu sin cos sqrt abs ...")
    p.add_argument("values", nargs="*", metavar="NAME=VALUE",
                   help="a value for every variable, e.g. w=2 (a comma list gives a vector)")
    p.add_argument("--html", metavar="FILE", help="also write the explanation as HTML")
    p.add_argument("--markdown", metavar="FILE", help="also write it as Markdown")
    p.add_argument("--graph", metavar="FILE.svg",
                   help="also draw the graph (SVG/PNG/PDF with graphviz's dot; DOT text "
                        "otherwise)")
    p.add_argument("--precision", type=int, default=4, help="decimals shown (default 4)")
    p.set_defaults(func=run)


def parse_values(items: list[str]) -> dict[str, list[float] | float]:
    """``['w=2', 'x=1,2']`` -> ``{'w': 2.0, 'x': [1.0, 2.0]}``; a UsageError otherwise."""
    values: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"expected NAME=VALUE, got {item!r}")
        if name in values:
            raise UsageError(f"{name} is given twice")
        try:
            numbers = [float(v) for v in text.split(",")]
        except ValueError:
            raise UsageError(f"{name}: {text!r} is not a number (or a comma-separated "
                             "list of numbers)") from None
        if not all(map(math.isfinite, numbers)):
            raise UsageError(f"{name}: {text!r} is not finite (float64 ends near 1.8e308); "
                             "give finite numbers")
        values[name] = numbers[0] if len(numbers) == 1 else numbers
    return values


def parse_expression(text: str):
    """``chainrule.inspect.expression.parse``, its complaints as UsageErrors."""
    from chainrule.inspect.expression import ExpressionError, parse

    try:
        return parse(text)
    except ExpressionError as e:
        raise UsageError(str(e)) from None
    except OverflowError:  # an integer literal past float64's range, such as 10**309 written out
        raise UsageError("a number in the expression is too large for float64 (it ends near "
                         "1.8e308); write a smaller one") from None


def output_path(value: str | None, option: str, suffixes: tuple[str, ...] = ()) -> str | None:
    """An output file option checked before any work: not empty, its directory exists (never
    created behind the user's back), a known format."""
    if value is None:
        return None
    path = pathlib.Path(value)
    if not value.strip() or not path.name:
        raise UsageError(f"{option}: the file name is empty")
    if not path.parent.is_dir():
        raise UsageError(f"{option}: the directory {path.parent} does not exist; create it "
                         "first or choose another path")
    if suffixes and path.suffix.lstrip(".").lower() not in suffixes:
        raise UsageError(f"{option}: unknown format {path.suffix or '(no suffix)'!r} in "
                         f"{value}; use one of {', '.join('.' + s for s in suffixes)}")
    return value


def run(args: argparse.Namespace) -> int:
    import numpy as np

    with np.errstate(all="ignore"):  # inf and nan are reported in the trace, not warned about
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    import chainrule as cr
    from chainrule.inspect._graph import keep_values
    from chainrule.inspect.expression import ExpressionError

    html = output_path(args.html, "--html")
    markdown = output_path(args.markdown, "--markdown")
    graph_path = output_path(args.graph, "--graph", GRAPH_FORMATS)
    expr = parse_expression(args.expression)
    given = parse_values(args.values)
    unused = [name for name in given if name not in expr.variables]
    if unused:
        raise UsageError(f"{', '.join(unused)} not used in the expression "
                         f"(its variables: {', '.join(expr.variables) or 'none'})")
    if not expr.variables:
        raise UsageError("the expression has no variables: nothing to differentiate")
    if args.precision < 0 or args.precision > 16:
        raise UsageError(f"--precision must be between 0 and 16, got {args.precision}")
    tensors = {name: cr.tensor(np.asarray(given[name], dtype=np.float64), requires_grad=True)
               for name in expr.variables if name in given}
    try:
        with keep_values():
            output = expr.evaluate(tensors)
    except ExpressionError as e:
        raise UsageError(str(e)) from None
    except RuntimeError as e:  # e.g. shapes that do not broadcast
        raise UsageError(f"cannot evaluate: {e}") from None
    if not isinstance(output, cr.Tensor) or not output.requires_grad:
        raise UsageError("the expression does not depend on its variables")

    from chainrule.inspect.explain import explain

    explanation = explain(output, names=tensors, precision=args.precision)
    print(explanation)
    _note_non_finite(explanation, output)
    written = []
    if html is not None:
        written.append(_write(html, explanation.html()))
    if markdown is not None:
        written.append(_write(markdown, explanation.markdown()))
    if graph_path is not None:
        from chainrule.inspect.draw import GraphvizMissing, draw

        try:
            graph = draw(output, names=tensors)
        except GraphvizMissing as e:
            raise UsageError(str(e)) from None
        try:
            path = graph.write(graph_path)
        except OSError as e:
            raise UsageError(f"cannot write {graph_path}: {e.strerror or e}") from None
        if path != pathlib.Path(graph_path):
            path = f"{path} (DOT text: graphviz's dot program is not installed to render " \
                   f"{pathlib.Path(graph_path).suffix})"
        written.append(path)
    for path in written:
        print(f"wrote {path}")
    return 0


def _note_non_finite(explanation, output) -> None:
    """One line naming the values that are inf or nan (a division by zero, an overflow)."""
    import numpy as np

    values = {explanation.output: output._data}
    values.update({f"d{explanation.output}/d{name}": g
                   for name, g in explanation.grads.items() if g is not None})
    bad = [name for name, v in values.items() if not np.isfinite(v).all()]
    if bad:
        print(f"\nnote: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not finite (inf or "
              "nan): the trace above shows the step where it first appears")


def _write(path: str, text: str) -> pathlib.Path:
    from chainrule.atomic import atomic_write

    try:
        return atomic_write(path, text)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
