"""Look inside backprop: ``explain`` (chain-rule trace), ``draw`` (graph), ``GradientFlow``
(per-layer statistics and a verdict) and ``doctor`` (common mistakes, each with its fix).

Imported lazily, so ``import chainrule`` stays light.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "explain": "explain", "Explanation": "explain",
    "draw": "draw",
    "GradientFlow": "flow",
    "doctor": "doctor",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_WHERE)
