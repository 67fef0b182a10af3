"""A safe parser for the arithmetic ``chainrule explain`` accepts; it never calls eval.

    expr = parse("(w*x - y)**2"); expr.variables  # ('w', 'x', 'y')
    loss = expr.evaluate({"w": w, "x": x, "y": y})

Python's own parser builds the tree; only a whitelist of node types passes: numbers, variable
names, ``+ - * / **``, unary minus and plus, and calls of the functions in ``FUNCTIONS``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn, cast

from ..tensor import Tensor

MAX_LENGTH = 10_000  # characters: enough for any hand-written formula


def _functions() -> dict[str, tuple[int, Callable]]:
    import chainrule as cr

    return {
        "tanh": (1, cr.tanh), "exp": (1, cr.exp), "log": (1, cr.log),
        "sigmoid": (1, cr.sigmoid), "relu": (1, cr.relu), "sin": (1, cr.sin),
        "cos": (1, cr.cos), "tan": (1, cr.tan), "sqrt": (1, cr.sqrt), "abs": (1, cr.abs),
        "log1p": (1, cr.log1p), "expm1": (1, cr.expm1), "erf": (1, cr.erf),
        "sum": (1, cr.sum), "mean": (1, cr.mean),
        "max": (2, cr.maximum), "min": (2, cr.minimum),
    }


FUNCTIONS = ("tanh", "exp", "log", "sigmoid", "relu", "sin", "cos", "tan", "sqrt", "abs",
             "log1p", "expm1", "erf", "sum", "mean", "max", "min")
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_WHAT = {  # what a rejected node is, in words
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Compare: "a comparison",
    ast.BoolOp: "and/or", ast.Lambda: "a lambda", ast.IfExp: "a conditional expression",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator", ast.DictComp:
    "a comprehension", ast.SetComp: "a comprehension", ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment (:=)", ast.Starred: "a starred argument",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice",
}


class ExpressionError(ValueError):
    """An expression outside the whitelist, or one that cannot be evaluated."""


def _allowed() -> str:
    return ("allowed: numbers, variable names, + - * / **, unary minus and calls of "
            + ", ".join(FUNCTIONS))


@dataclass(frozen=True)
class Expression:
    """A checked expression: its source, its tree and its variables in order of appearance."""

    source: str
    tree: ast.Expression
    variables: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Tensor | float]) -> Tensor | float:
        """The expression's value, computed with chainrule ops (iteratively: any depth)."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ExpressionError(f"no value given for {', '.join(missing)} (pass "
                                  + " ".join(f"{m}=NUMBER" for m in missing) + ")")
        functions = _functions()
        results: list = []
        stack: list = [(self.tree.body, False)]
        while stack:
            node, ready = stack.pop()
            if isinstance(node, ast.Constant):  # the whitelist admits int and float constants
                results.append(float(cast(float, node.value)))
            elif isinstance(node, ast.Name):
                results.append(values[node.id])
            elif not ready:
                stack.append((node, True))
                children = _children(node)
                stack.extend((c, False) for c in reversed(children))
            else:
                n = len(_children(node))
                args = results[len(results) - n:]
                del results[len(results) - n:]
                results.append(self._apply(node, args, functions))
        return results[0]

    def _apply(self, node: ast.AST, args: list, functions: dict):
        try:
            if isinstance(node, ast.BinOp):
                x, y = args
                op = type(node.op)
                if op is ast.Add:
                    return x + y
                if op is ast.Sub:
                    return x - y
                if op is ast.Mult:
                    return x * y
                if op is ast.Div:
                    return x / y
                return x ** y
            if isinstance(node, ast.UnaryOp):
                return -args[0] if isinstance(node.op, ast.USub) else args[0]
            call = cast(ast.Call, node)  # the whitelist admits calls of a FUNCTIONS name only
            fn = functions[cast(ast.Name, call.func).id][1]
            return fn(*[a if isinstance(a, Tensor) else _number_tensor(a, args) for a in args])
        except (ZeroDivisionError, OverflowError, ValueError) as e:
            segment = ast.get_source_segment(self.source, node) or self.source
            raise ExpressionError(f"cannot evaluate `{segment}`: {e}") from None


def _number_tensor(value: float, args: list) -> Tensor:
    """A number given to a function becomes a tensor of the other arguments' dtype."""
    import numpy as np

    like = next((a for a in args if isinstance(a, Tensor)), None)
    dtype = like.dtype if like is not None else np.float64
    return Tensor(np.asarray(value, dtype=dtype))


def _children(node: ast.AST) -> list:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def parse(source: str) -> Expression:
    """Check ``source`` against the whitelist and return it parsed; raise ExpressionError
    naming the first construct that is not allowed."""
    if not isinstance(source, str):
        raise ExpressionError(f"expected the expression as a string, got {type(source).__name__}")
    if not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source)} characters long; at most "
                              f"{MAX_LENGTH} are accepted")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise ExpressionError(f"not a valid expression{where}: {e.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    source = source.strip()
    variables: list[str] = []
    stack: list = [tree.body]
    while stack:
        node = stack.pop()
        _check(node, source)
        if isinstance(node, ast.Name) and node.id not in variables:
            variables.append(node.id)
        stack.extend(reversed(_children(node)))
    return Expression(source, tree, tuple(sorted(variables, key=_first_use(source, tree))))


def _first_use(source: str, tree: ast.Expression):
    positions: dict[str, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            pos = (node.lineno, node.col_offset)
            positions[node.id] = min(positions.get(node.id, pos), pos)
    return lambda name: positions[name]


def _check(node: ast.AST, source: str) -> None:
    segment = ast.get_source_segment(source, node) or type(node).__name__

    def reject(what: str) -> NoReturn:
        raise ExpressionError(f"`{segment}` is not allowed ({what}); {_allowed()}")

    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            reject(f"a {type(value).__name__} constant")
        if not math.isfinite(float(value)):
            reject("a number that is not finite")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            reject(f"{node.id} is a function: call it as {node.id}(...)")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            reject(f"the operator {_op_symbol(node.op)}")
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            reject(f"the operator {_op_symbol(node.op)}")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            reject("a call of something other than a known function")
        name = node.func.id
        if name not in FUNCTIONS:
            reject(f"a call of {name!r}, which is not a known function")
        if node.keywords:
            reject("keyword arguments")
        if any(isinstance(a, ast.Starred) for a in node.args):
            reject("a starred argument")
        arity = _functions()[name][0]
        if len(node.args) != arity:
            reject(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, "
                   f"got {len(node.args)}")
    else:
        reject(_WHAT.get(type(node), type(node).__name__))


def _op_symbol(op: ast.AST) -> str:
    return {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<",
            ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
            ast.Invert: "~", ast.Not: "not"}.get(type(op), type(op).__name__)
