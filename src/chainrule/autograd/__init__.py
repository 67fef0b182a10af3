"""Reverse-mode automatic differentiation: the engine, grad mode, custom Functions, checks."""

from . import graph
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .inference_mode import inference_mode, is_inference_mode_enabled
from .variable import Variable

__all__ = [
    "AnomalyError", "Function", "GradcheckError", "backward", "detect_anomaly", "enable_grad",
    "grad", "gradcheck", "gradgradcheck", "is_anomaly_enabled", "is_grad_enabled", "no_grad",
    "set_detect_anomaly", "set_grad_enabled", "inference_mode", "is_inference_mode_enabled",
    "Variable",
]
