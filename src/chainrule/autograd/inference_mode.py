"""``inference_mode``: PyTorch's faster ``no_grad`` for evaluation, kept per thread as grad mode.

``with cr.inference_mode(): preds = model(x)``; also a decorator. Inside it nothing is recorded
(as ``no_grad``) and ``cr.is_inference_mode_enabled()`` is True. chainrule has no view tracking
to skip, so it costs what ``no_grad`` costs.
"""

from __future__ import annotations

import functools
import threading

from .grad_mode import _set as _set_grad_enabled
from .grad_mode import state as _grad_state


class _InferenceState(threading.local):
    def __init__(self) -> None:
        self.enabled = False


_state = _InferenceState()


def is_inference_mode_enabled() -> bool:
    return _state.enabled


class inference_mode:  # noqa: N801  (PyTorch's name)
    """Turn inference mode on (``mode=True``) or off within a block or a decorated function."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self._prev = (_state.enabled, _grad_state.enabled)
        if self.mode:
            _state.enabled = True
            _set_grad_enabled(False)
        else:
            _state.enabled = False

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev[0]
        _set_grad_enabled(self._prev[1])

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self) -> inference_mode:
        return inference_mode(self.mode)
