"""Look inside backprop: ``explain`` (chain-rule trace), ``draw`` (graph), ``GradientFlow``
(per-layer statistics and a verdict) and ``doctor`` (common mistakes, each with its fix).

Each lives in its own module; the names here are the functions (imported eagerly so that a
submodule never shadows its function). Plotting and graphviz load only when used.
"""

from ._graph import keep_values, track_modules
from .doctor import DoctorReport, doctor
from .draw import draw
from .explain import Explanation, explain
from .flow import Finding, FlowThresholds, GradientFlow

__all__ = ["DoctorReport", "Explanation", "Finding", "FlowThresholds", "GradientFlow", "doctor",
           "draw", "explain", "keep_values", "track_modules"]
