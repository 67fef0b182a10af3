"""Utilities: data loading (``cr.utils.data``), gradient checkpointing
(``cr.utils.checkpoint``), hook handles (``cr.utils.hooks``) and TensorBoard logging
(``cr.utils.tensorboard``), imported on first use."""

from __future__ import annotations

import importlib

_SUBMODULES = ("data", "checkpoint", "hooks", "tensorboard")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    from .._torch_names import missing_attribute

    raise missing_attribute("utils", name)
