"""Grad mode: whether ops record the graph. ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    def __init__(self) -> None:
        self.enabled = True


# Per thread, as PyTorch's: one thread's no_grad (or a backward it runs) never changes what
# another thread records. Every op reads it (~25 ns more than a plain attribute).
state = _GradState()


def is_grad_enabled() -> bool:
    """Whether ops record the graph: ``cr.is_grad_enabled()``."""
    return state.enabled


class set_grad_enabled:
    """Turn recording on or off, as a call, a context manager or a decorator.

    ``with cr.set_grad_enabled(False): y = model(x)``
    """

    def __init__(self, mode: bool) -> None:
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self) -> None:
        state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        state.enabled = self.prev
        return wrapper


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Ops inside record nothing: ``with cr.no_grad(): p -= lr * p.grad``; also a decorator."""

    mode = False


class enable_grad(_GradModeContext):
    """Ops inside record the graph even within ``no_grad``; also a decorator."""

    mode = True
