"""``nn.init``: fill a tensor in place with the standard initialisations (PyTorch's formulas),
drawing from the global generator (``cr.manual_seed``) or a given ``generator``.

``nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5))``
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..random import Generator
from ..tensor import Tensor

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def _write(tensor: Tensor, values: np.ndarray) -> Tensor:
    """Overwrite ``tensor``'s values in place (as under no_grad) and bump its version."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init: expected a Tensor, got {type(tensor).__name__}")
    np.copyto(tensor._data, values, casting="unsafe")
    tensor._bump_version()
    return tensor


def _checked(tensor: Tensor) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _no_elements(tensor: Tensor) -> bool:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2)
    (relu), sqrt(2 / (1 + slope^2)) (leaky_relu), 3/4 (selu). ``nn.init.calculate_gain('relu')``
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {tuple(tensor.shape)})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Draws from U(a, b): ``nn.init.uniform_(w, -0.1, 0.1)``."""
    with no_grad():
        return _checked(tensor).uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Draws from N(mean, std^2): ``nn.init.normal_(w, std=0.02)``."""
    with no_grad():
        return _checked(tensor).normal_(mean, std, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Draws from N(mean, std^2) restricted to [a, b], by PyTorch's rejection sampling:
    ``nn.init.trunc_normal_(w, std=0.02)``.

    When [a, b] holds more than 30% of the mass, whole tensors of normals are redrawn until
    every value is in range (bit for bit PyTorch's values). Otherwise proposals are uniform on
    [a, b], accepted when ``log(u)`` is at most the log density: PyTorch's vectorised ``log``
    differs from the correctly rounded one by an ulp now and then, so an acceptance decided
    within that ulp (about one draw in 10**7) can differ.
    """
    _checked(tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    dtype = tensor._data.dtype.type
    with no_grad():
        if mass > 0.3:
            lo, hi = dtype(a), dtype(b)
            result = tensor.normal_(mean, std, generator=generator)._data.copy()
            while (bad := (result < lo) | (result > hi)).any():
                fresh = Tensor._make(np.empty_like(result)).normal_(mean, std,
                                                                    generator=generator)
                result = np.where(bad, fresh._data, result)
            return _write(tensor, result)
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2

        def log_density_excess(x: np.ndarray) -> np.ndarray:  # PyTorch's op-by-op rounding
            z = (x - dtype(mean)) / dtype(std)
            return z * z * dtype(-0.5) - dtype(log_peak)

        def rejected(x: np.ndarray) -> np.ndarray:
            u = Tensor._make(np.empty_like(x)).uniform_(generator=generator)._data
            return np.log(u.astype(np.float64)).astype(dtype) > log_density_excess(x)

        result = tensor.uniform_(a, b, generator=generator)._data.copy()
        pending = rejected(result)
        while pending.any():
            candidates = Tensor._make(np.empty_like(result)).uniform_(
                a, b, generator=generator)._data
            result = np.where(pending, candidates, result)
            pending = np.where(pending, rejected(candidates), pending)
        return _write(tensor, result)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _write(tensor, np.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    return _write(tensor, np.zeros(tensor.shape))


def ones_(tensor: Tensor) -> Tensor:
    return _write(tensor, np.ones(tensor.shape))


def eye_(tensor: Tensor) -> Tensor:
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    return _write(tensor, np.eye(rows, cols))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """U(-r, r) with r = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """U(-r, r) with r = gain * sqrt(3 / fan) (He et al., 2015); ``a`` is the leaky_relu
    slope. ``Linear``'s default is ``kaiming_uniform_(w, a=math.sqrt(5))``: r = 1/sqrt(fan_in).
    """
    if _no_elements(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan): ``nn.init.kaiming_normal_(w,
    nonlinearity='relu')``."""
    if _no_elements(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al.,
    2013), with the signs fixed so the distribution is uniform; dims after the first are
    flattened. The Gaussian draws are PyTorch's; the QR comes from NumPy's LAPACK, so values
    agree with PyTorch's to rounding, not bit for bit."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = np.empty((rows, cols), tensor.dtype)
    with no_grad():
        Tensor._make(flat).normal_(0.0, 1.0, generator=generator)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))


# PyTorch's deprecated names without the trailing underscore are not provided.
__all__ = [
    "calculate_gain", "constant_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_",
    "ones_", "orthogonal_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_",
    "zeros_",
]


def __getattr__(name: str):
    # A PyTorch name chainrule lacks says so ("does not implement torch.nn.init.X yet").
    from .._torch_names import missing_attribute

    raise missing_attribute("nn.init", name)
