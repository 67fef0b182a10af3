"""Grad mode: whether ops record the graph. ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    def __init__(self) -> None:
        self.enabled = True


# Per thread, as PyTorch's: one thread's no_grad (or a backward it runs) never changes what
# another thread records. Written only through _set.
state = _GradState()

# How many threads have grad mode off right now. While none has (the forward of training, in
# every thread), ops read this plain global instead of their thread's flag, which costs ~600
# instructions per op more (benchmarks/RESULTS.md, issue 16); a thread with grad mode off
# counts itself here, so it always goes on to read its own flag.
threads_off = 0
_count_lock = threading.Lock()


def _set(mode: bool) -> None:
    """Set the calling thread's grad mode, keeping ``threads_off`` exact."""
    global threads_off
    if state.enabled != mode:
        with _count_lock:
            threads_off += -1 if mode else 1
        state.enabled = mode


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
        _set(self.mode)

    def __enter__(self) -> None:
        _set(self.mode)

    def __exit__(self, *exc) -> None:
        _set(self.prev)

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        _set(self.prev)
        return wrapper


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self.prev = state.enabled
        _set(self.mode)

    def __exit__(self, *exc) -> None:
        _set(self.prev)

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
