"""``chainrule.compile``: PyTorch's ``torch.compile`` as a documented no-op.

``torch.compile`` traces a model into fused GPU/C++ kernels; chainrule's ops are NumPy calls
with nothing to fuse, so ``compile`` returns what it is given and a program written for
PyTorch 2 (``model = torch.compile(model)``) runs unchanged, with the same numbers. One
difference: PyTorch wraps a module in an ``OptimizedModule`` whose ``state_dict`` keys start
with ``_orig_mod.``; chainrule's module is the one you passed, keys unprefixed.
``model = cr.compile(model)`` or ``@cr.compile`` over a function
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def compile(model: Callable | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: str | Callable | None = None,
            mode: str | None = None, options: dict | None = None, name: str | None = None,
            disable: bool = False, recompile_limit: int | None = None,
            isolate_recompiles: bool = False, shapes_spec: Any = None) -> Callable:
    """A no-op: return ``model`` unchanged (a decorator that does so when ``model`` is None);
    there is nothing to compile. PyTorch's arguments are accepted and ignored.
    ``model = cr.compile(model)``"""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError(f"compile: expected a callable (a Module or a function), got "
                           f"{type(model).__name__}")
    return model
