"""PyTorch's call signatures, and whether a chainrule callable accepts every call they allow.

Python-level torch callables (``nn.Linear``, ``F.relu``, ``optim.SGD``) have an
``inspect.signature``. Torch's C builtins (``torch.sum``, ``Tensor.add``) have none; their
docstrings begin with the signature, and further overloads appear on lines of their own
(``max(input, dim, keepdim=False, *, out=None)``): every such line is parsed. A torch call is
accepted when each of torch's positional parameters is at the same position in chainrule's
signature with the same name (the name is not checked at a position where overloads disagree),
each keyword-only parameter is accepted by keyword, each torch default is a default in chainrule
with the same value (when the docstring's default is a Python literal), and chainrule requires
nothing torch would not pass.
``problems(torch.sum, cr.sum, "sum")`` -> ``[]`` when chainrule accepts every torch call
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass

EMPTY = inspect.Parameter.empty
POS_ONLY, POS_KW = inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
VAR_POS, KW_ONLY = inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.KEYWORD_ONLY
VAR_KW = inspect.Parameter.VAR_KEYWORD
UNPARSED = object()  # a default that is not a Python literal (torch.strided): presence only


@dataclass(frozen=True)
class Param:
    name: str
    kind: inspect._ParameterKind
    default: object = EMPTY  # EMPTY: required; UNPARSED: has one we cannot evaluate


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return UNPARSED


def parse_doc_signature(params_text: str) -> list[Param]:
    """``"input, dim, keepdim=False, *, out=None"`` -> Params (``*size`` is VAR_POSITIONAL)."""
    out, kw_only = [], False
    for token in _split_top(params_text):
        if token == "*":
            kw_only = True
        elif token.startswith("**"):
            out.append(Param(token[2:], VAR_KW))
        elif token.startswith("*"):
            out.append(Param(token[1:], VAR_POS))
            kw_only = True
        elif token == "/":
            out = [Param(p.name, POS_ONLY, p.default) for p in out]
        else:
            name, _, default = token.partition("=")
            name = name.split(":")[0].strip()
            out.append(Param(name, KW_ONLY if kw_only else POS_KW,
                             _literal(default.strip()) if default else EMPTY))
    return out


def _from_inspect(sig: inspect.Signature, drop_self: bool) -> list[Param]:
    params = list(sig.parameters.values())
    if drop_self and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return [Param(p.name, p.kind, p.default) for p in params]


def torch_signatures(obj, name: str, is_method: bool) -> list[list[Param]] | None:
    """Every overload of torch's ``obj`` (``name`` is its last path component); None: unknown."""
    try:
        return [_from_inspect(inspect.signature(obj), is_method and not inspect.isclass(obj))]
    except (ValueError, TypeError):
        pass
    doc = getattr(obj, "__doc__", None) or ""
    if is_method and f"See :func:`torch.{name}`" in doc:
        # The method's own line is often abbreviated (``logical_and() -> Tensor``): the
        # function's overloads without ``input`` are the method's.
        import torch

        function = torch_signatures(getattr(torch, name, None), name, False)
        if function:
            return [[p for p in o if p.name not in ("input", "out")] for o in function]
    pattern = rf"^\s*(?:\.\. function:: )?{re.escape(name)}\((.*?)\)\s*(?:->.*)?$"
    found = [parse_doc_signature(m.group(1).replace("\\*", "*"))
             for m in re.finditer(pattern, doc, re.M)]
    return [_errata(name, is_method, overload) for overload in found] or None


# Where a docstring names a parameter otherwise than the binding does (``Tensor.mul(value)`` is
# called ``other`` by torch): tests/compat/test_parity.py calls torch with each of these names.
DOC_ERRATA = {
    ("Tensor", "mul", "value"): "other", ("Tensor", "div", "value"): "other",
    ("Tensor", "mul_", "value"): "other", ("Tensor", "div_", "value"): "other",
    ("Tensor", "matmul", "tensor2"): "other", ("Tensor", "type_as", "tensor"): "other",
    ("torch", "true_divide", "dividend"): "input", ("torch", "true_divide", "divisor"): "other",
}


def _errata(name: str, is_method: bool, overload: list[Param]) -> list[Param]:
    owner = "Tensor" if is_method else "torch"
    return [Param(DOC_ERRATA.get((owner, name, p.name), p.name), p.kind, p.default)
            for p in overload]


def chainrule_signature(obj, is_method: bool) -> list[Param] | None:
    try:
        sig = inspect.signature(obj)
    except (ValueError, TypeError):
        return None
    return _from_inspect(sig, is_method and not inspect.isclass(obj))


def _same_default(a, b) -> bool:
    if b is UNPARSED or b is EMPTY:
        return True
    if type(b).__name__ == "Generator":  # torch's default_generator: chainrule's is its own
        return type(a).__name__ == "Generator" and a is _chainrule_default_generator()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return tuple(a) == tuple(b)
    try:
        return bool(a == b) and (a is None) == (b is None)
    except Exception:
        return False


def _chainrule_default_generator():
    from chainrule.random import default_generator

    return default_generator


def problems(torch_overloads: list[list[Param]], ours: list[Param]) -> list[str]:
    """What a torch call could pass that ``ours`` rejects (empty when every call is accepted)."""
    positional = [p for p in ours if p.kind in (POS_ONLY, POS_KW)]
    by_name = {p.name: p for p in ours if p.kind in (POS_KW, KW_ONLY)}
    var_pos = any(p.kind == VAR_POS for p in ours)
    var_kw = any(p.kind == VAR_KW for p in ours)
    names_at: dict[int, set] = {}
    for overload in torch_overloads:
        for i, p in enumerate(q for q in overload if q.kind in (POS_ONLY, POS_KW, VAR_POS)):
            names_at.setdefault(i, set()).add(p.name)
    found: list[str] = []
    for overload in torch_overloads:
        passed: set[str] = set()
        pos = [p for p in overload if p.kind in (POS_ONLY, POS_KW)]
        for i, tp in enumerate(pos):
            name_matters = tp.kind == POS_KW and len(names_at.get(i, ())) == 1
            if i < len(positional):
                mine = positional[i]
                passed.add(mine.name)
                if name_matters and (mine.name != tp.name or mine.kind != POS_KW) and not var_kw:
                    found.append(f"argument {i} is {mine.name!r}, torch calls it {tp.name!r}")
                    continue
                if tp.default is not EMPTY:
                    if mine.default is EMPTY:
                        found.append(f"{tp.name!r} needs a default")
                    elif not _same_default(mine.default, tp.default):
                        found.append(f"{tp.name}={mine.default!r}, torch's default is "
                                     f"{tp.default!r}")
            elif not (var_pos and (not name_matters or var_kw)):
                found.append(f"no positional argument {i} ({tp.name!r})")
        for tp in overload:
            if tp.kind == VAR_POS and not var_pos:
                found.append(f"no *{tp.name}")
            elif tp.kind == VAR_KW and not var_kw:
                found.append(f"no **{tp.name}")
            elif tp.kind == KW_ONLY:
                passed.add(tp.name)
                mine = by_name.get(tp.name)
                if mine is None:
                    if not var_kw:
                        found.append(f"no keyword {tp.name!r}")
                elif tp.default is not EMPTY and mine.default is EMPTY:
                    found.append(f"{tp.name!r} needs a default")
                elif not _same_default(mine.default, tp.default):
                    found.append(f"{tp.name}={mine.default!r}, torch's default is "
                                 f"{tp.default!r}")
        for p in ours:
            if p.kind in (POS_ONLY, POS_KW, KW_ONLY) and p.default is EMPTY \
                    and p.name not in passed and len(torch_overloads) == 1:
                found.append(f"requires {p.name!r}, which torch does not")
    return sorted(set(found))
