"""Utilities: data loading (``cr.utils.data``), gradient checkpointing (``cr.utils.checkpoint``)
and hook handles (``cr.utils.hooks``), imported on first use."""

from __future__ import annotations

import importlib

_SUBMODULES = ("data", "checkpoint", "hooks")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
