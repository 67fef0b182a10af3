"""``RemovableHandle``, what every ``register_*hook`` returns (PyTorch's ``torch.utils.hooks``).

``handle = x.register_hook(print); ...; handle.remove()``
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

_ids = itertools.count()


class RemovableHandle:
    """``handle.remove()`` unregisters the hook; also a context manager
    (``with model.register_forward_hook(h): model(x)``).

    The hook lives in dicts under ``handle.id`` (module hooks) or in lists as ``hook`` itself
    (tensor and graph hooks, which run in a hot loop as a plain list).
    """

    __slots__ = ("id", "_holders", "_hook")

    def __init__(self, *holders: dict | list, hook: Callable | None = None) -> None:
        self.id = next(_ids)
        self._holders = holders
        self._hook = hook

    def remove(self) -> None:
        for holder in self._holders:
            if isinstance(holder, dict):
                holder.pop(self.id, None)
            elif self._hook in holder:
                holder.remove(self._hook)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
