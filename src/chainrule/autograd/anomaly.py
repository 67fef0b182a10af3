"""Anomaly mode: find the first op whose forward or backward produced NaN or Inf, and where."""

from __future__ import annotations

import os
import sys
from types import FrameType

import numpy as np

# Read by the recording path of every op; when False nothing else here runs.
enabled = False

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the command-line demos build models inside the package; their lines are the "user's" lines
_DEMO_DIR = os.path.join(_PACKAGE_DIR, "cli")


class AnomalyError(RuntimeError):
    """An op produced NaN or Inf from finite inputs (forward) or finite gradients (backward)."""


class detect_anomaly:
    """Raise at the first op that turns finite numbers into NaN/Inf, naming the user's line.

    ``with cr.autograd.detect_anomaly(): loss = model(x).log().sum(); loss.backward()``
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        global enabled
        self.prev = enabled
        enabled = self.check_nan

    def __exit__(self, *exc) -> None:
        global enabled
        enabled = self.prev


def set_detect_anomaly(mode: bool) -> None:
    global enabled
    enabled = bool(mode)


def is_anomaly_enabled() -> bool:
    return enabled


def user_location() -> str:
    """``file:line`` of the innermost frame outside chainrule (the user's code)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR) and not (
            frame.f_code.co_filename.startswith(_DEMO_DIR)):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _describe(a: np.ndarray) -> str:
    if a.size == 0:
        return f"shape {a.shape} (empty)"
    if a.dtype.kind not in "fc":
        return f"{a.dtype} shape {a.shape}"
    if a.size == 1:
        return f"{a.reshape(()).item():.6g}"
    return f"shape {a.shape} in [{np.min(a):.6g}, {np.max(a):.6g}]"


def _bad(a: np.ndarray) -> str | None:
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return None
    if np.isnan(a).any():
        return "nan"
    pos, neg = bool(np.isposinf(a).any()), bool(np.isneginf(a).any())
    return "inf and -inf" if pos and neg else "-inf" if neg else "inf"


def _op(node) -> str:
    """chainrule's ops by their lower-case name (``log``), a user's Function by its class."""
    from .function import Primitive

    name = type(node).__name__
    return name.lower() if isinstance(node, Primitive) else name


def check_forward(node, inputs, outs) -> None:
    """Record where ``node`` was created and what it received; raise if it made NaN/Inf from
    finite inputs. ``outs``: the output array, or a sequence of them (a custom Function)."""
    node._trace = user_location()
    arrays = [t._data for t in inputs]
    node._received = ", ".join(_describe(a) for a in arrays)  # for the backward message
    outs = (outs,) if isinstance(outs, np.ndarray) else outs
    bad = next((b for b in map(_bad, outs) if b is not None), None)
    if bad is None or any(_bad(a) for a in arrays):
        return
    raise AnomalyError(f"{_op(node)} received {node._received} -> {bad} at {node._trace} "
                       "(forward)")


def _array(g) -> np.ndarray:
    """A gradient of either engine mode (an ndarray, or a Tensor) as an array."""
    return np.asarray(g) if isinstance(g, (np.ndarray, np.generic)) else g._data


def check_backward(node, grads, incoming=()) -> None:
    """Raise if ``node``'s backward produced NaN/Inf from a finite incoming gradient."""
    if any(g is not None and _bad(_array(g)) for g in incoming):
        return  # not this op's doing: the gradient arrived non-finite (root gradient or a hook)
    for i, g in enumerate(grads):
        if g is None:
            continue
        bad = _bad(_array(g))
        if bad is not None:
            where = node._trace or "<created outside anomaly mode>"
            received = getattr(node, "_received", None) or "<inputs not recorded>"
            g_in = ", ".join(_describe(_array(x)) for x in incoming if x is not None)
            raise AnomalyError(
                f"{_op(node)} received {received} -> {bad} in the gradient of input {i} "
                f"(incoming gradient {g_in or '?'}) at {where} (backward)")
