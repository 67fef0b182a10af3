"""Elementwise ops: arithmetic with broadcasting and promotion, math functions, in-place updates.

Rules are written once for arrays and Tensors (``vocab``); a binary rule sums each gradient back
to its input's shape (``V.sum_to``), so every rule returns gradients at the inputs' shapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _dtypes
from ..autograd.function import Primitive
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor
from . import vocab as V

# ---- operands ------------------------------------------------------------------------------


def as_tensor_like(value, like: np.dtype) -> Tensor:
    """A Python number or array as a constant Tensor, with PyTorch's scalar promotion."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._make(value)
    return Tensor._make(np.array(value, dtype=_dtypes.scalar_dtype(value, like)))


def operands(x, y) -> tuple[Tensor, Tensor]:
    """Two Tensors of one dtype from any mix of Tensors, arrays and Python numbers."""
    if isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            y = as_tensor_like(y, x._data.dtype)
    elif isinstance(y, Tensor):
        x = as_tensor_like(x, y._data.dtype)
    else:
        raise TypeError(f"expected a Tensor operand, got {type(x).__name__} and "
                        f"{type(y).__name__}")
    dx, dy = x._data.dtype, y._data.dtype
    if dx != dy:
        # a Python scalar never changes a tensor's dtype within its category
        dtype = _dtypes.result_type(x._data, y._data)
        if dx != dtype:
            x = cast(x, dtype)
        if dy != dtype:
            y = cast(y, dtype)
    return x, y


def floating(x: Tensor) -> Tensor:
    """Integer and bool tensors enter float-valued functions as the default float dtype."""
    return x if x._data.dtype.kind == "f" else cast(x, _dtypes.get_default_dtype())


def zeros_like(x: Tensor) -> Tensor:
    return Tensor._make(np.zeros_like(x._data))


# ---- arithmetic ----------------------------------------------------------------------------


def _input_shapes(ctx) -> tuple:
    meta = ctx.input_metadata()  # one call, not two (every add's backward comes here)
    return meta[0][0], meta[1][0]


class Add(Primitive):
    torch_name = "AddBackward0"
    elementwise = True
    formula = "{0} + {1}"
    derivatives = ("1", "1")
    shares_grads = True  # g goes to both inputs

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        sx, sy = _input_shapes(ctx)
        return V.sum_to(g, sx), V.sum_to(g, sy)


class Sub(Primitive):
    torch_name = "SubBackward0"
    elementwise = True
    formula = "{0} - {1}"
    derivatives = ("1", "-1")

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, g):
        sx, sy = _input_shapes(ctx)
        need_x, need_y = ctx.needs_input_grad
        return (V.sum_to(g, sx) if need_x else None), (V.sum_to(-g, sy) if need_y else None)


class Affine(Primitive):
    """x * scale + shift for Python numbers: ``x + 1``, ``2 * x``, ``1 - x`` without making a
    constant tensor for the number (the commonest ops of all, so worth their own rule)."""

    elementwise = True
    derivatives = ("{scale}",)
    scale: float  # set by forward, as is shift
    shift: float

    @property
    def torch_name(self) -> str:  # PyTorch names the node after what the user wrote
        if self.scale != 1 and self.shift == 0:
            return "MulBackward0"
        return "RsubBackward1" if self.scale == -1 else "AddBackward0"

    @property  # as the user most likely wrote it: x + 1, 2 * x, 1 - x
    def formula(self) -> str:  # type: ignore[override]  # varies per call
        shift = "- {minus_shift}" if self.shift < 0 else "+ {shift}"
        if self.scale == 1:
            return "{0} " + shift
        if self.shift == 0:
            return "{scale} * {0}"
        return "{shift} - {0}" if self.scale == -1 else "{scale} * {0} " + shift

    @property
    def minus_shift(self) -> float:
        return -self.shift

    @staticmethod
    def forward(ctx, x, scale, shift):
        ctx.scale, ctx.shift = scale, shift
        if scale == 1:
            return x + shift
        return x * scale if shift == 0 else x * scale + shift

    @staticmethod
    def backward(ctx, g):
        return g if ctx.scale == 1 else g * ctx.scale


class DivScalar(Primitive):
    """x / c for a Python number c (true division, not x * (1/c), to round as PyTorch)."""

    torch_name = "DivBackward0"
    elementwise = True
    formula = "{0} / {divisor}"
    derivatives = ("1/{divisor}",)

    @staticmethod
    def forward(ctx, x, divisor):
        ctx.divisor = divisor
        return x / divisor

    @staticmethod
    def backward(ctx, g):
        return g / ctx.divisor


def _takes_number(x, v) -> bool:
    """Whether ``x op v`` can take the scalar fast path: a float tensor and a Python number."""
    return (type(v) is float or type(v) is int) and isinstance(x, Tensor) and (
        x._data.dtype.kind == "f")


class Mul(Primitive):
    torch_name = "MulBackward0"
    elementwise = True
    formula = "{0} * {1}"
    derivatives = ("{1}", "{0}")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g, x, y):
        need_x, need_y = ctx.needs_input_grad
        if x.shape == y.shape:  # the common case, no broadcast to undo (the saved x, y: no call)
            return (g * y if need_x else None), (g * x if need_y else None)
        sx, sy = _input_shapes(ctx)
        return (V.sum_to(g * y, sx) if need_x else None), (V.sum_to(g * x, sy) if need_y else None)


class Div(Primitive):
    torch_name = "DivBackward0"
    elementwise = True
    formula = "{0} / {1}"
    derivatives = ("1/{1}", "-{0}/{1}²")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, g, x, y):
        sx, sy = _input_shapes(ctx)
        need_x, need_y = ctx.needs_input_grad
        return (V.sum_to(g / y, sx) if need_x else None), (
            V.sum_to(-g * x / (y * y), sy) if need_y else None)


class Neg(Primitive):
    torch_name = "NegBackward0"
    elementwise = True
    formula = "-{0}"
    derivatives = ("-1",)

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Primitive):
    """x ** y for two tensors; d/dy = x**y log x, taken as 0 where x == 0 and y >= 0."""

    torch_name = "PowBackward1"
    elementwise = True
    formula = "{0} ** {1}"
    derivatives = ("{1}·{0}^({1} - 1)", "{out}·ln({0})")

    @staticmethod
    def forward(ctx, x, y):
        out = x ** y
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g, x, y, out):
        sx, sy = _input_shapes(ctx)
        need_x, need_y = ctx.needs_input_grad
        gx = V.sum_to(g * y * x ** (y - 1), sx) if need_x else None
        gy = None
        if need_y:
            log_x = V.where((x == 0) & (y >= 0), 0.0, V.log(x))
            gy = V.sum_to(g * out * log_x, sy)
        return gx, gy


class PowScalar(Primitive):
    """x ** e for a Python number e (the common x ** 2), one op cheaper than the general Pow."""

    torch_name = "PowBackward0"
    elementwise = True
    formula = "{0} ** {exponent}"
    exponent: float  # set by forward

    @property
    def derivatives(self) -> tuple[str, ...]:  # type: ignore[override]  # varies per call
        e = self.exponent
        if e in (0, 1):
            return (str(e),)
        return ("2·{0}",) if e == 2 else ("{exponent}·{0}^{exponent_minus_one}",)

    @property
    def exponent_minus_one(self) -> float:
        return self.exponent - 1

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return x ** exponent

    @staticmethod
    def backward(ctx, g, x):
        e = ctx.exponent
        if e == 0:
            return V.zeros_like(g)
        return g * (x ** (e - 1) * e) if e != 2 else g * (x * 2)


class Remainder(Primitive):
    """x % y with the sign of y (Python's and PyTorch's); d/dy = -floor(x / y)."""

    torch_name = "RemainderBackward1"
    elementwise = True
    formula = "{0} % {1}"
    derivatives = ("1", "-floor({0}/{1})")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.mod(x, y)

    @staticmethod
    def backward(ctx, g, x, y):
        sx, sy = _input_shapes(ctx)
        return V.sum_to(g, sx), (V.sum_to(-g * V.floor(x / y), sy)
                                 if ctx.needs_input_grad[1] else None)


def add(x, y) -> Tensor:
    if type(x) is Tensor and type(y) is Tensor and x._data.dtype == y._data.dtype:
        return Add.apply(x, y)  # the commonest case, and every backward's
    if _takes_number(x, y):
        return Affine.apply(x, scale=1, shift=y)
    if _takes_number(y, x):
        return Affine.apply(y, scale=1, shift=x)
    x, y = operands(x, y)
    return Add.apply(x, y)


def sub(x, y) -> Tensor:
    if type(x) is Tensor and type(y) is Tensor and x._data.dtype == y._data.dtype and (
            x._data.dtype.kind != "b"):
        return Sub.apply(x, y)  # the commonest case (out - target in every hand-written loss)
    if _takes_number(x, y):
        return Affine.apply(x, scale=1, shift=-y)
    if _takes_number(y, x):  # x - y = -y + x
        return Affine.apply(y, scale=-1, shift=x)
    for v in (x, y):
        if isinstance(v, (bool, np.bool_)) or (isinstance(v, Tensor) and v._data.dtype == bool):
            raise RuntimeError("sub: subtraction with a bool operand is not supported; to "
                               "invert a mask use ~ or logical_not()")
    x, y = operands(x, y)
    return Sub.apply(x, y)


def mul(x, y) -> Tensor:
    if type(x) is Tensor and type(y) is Tensor and x._data.dtype == y._data.dtype:
        return Mul.apply(x, y)  # the commonest case, and every backward's
    if _takes_number(x, y):
        return Affine.apply(x, scale=y, shift=0)
    if _takes_number(y, x):
        return Affine.apply(y, scale=x, shift=0)
    x, y = operands(x, y)
    return Mul.apply(x, y)


def div(x, y) -> Tensor:
    if _takes_number(x, y):
        return DivScalar.apply(x, divisor=y)
    x, y = operands(x, y)
    if x._data.dtype.kind != "f":  # true division of integers gives the default float dtype
        x, y = floating(x), floating(y)
    return Div.apply(x, y)


def neg(x: Tensor) -> Tensor:
    if x._data.dtype == np.bool_:
        raise TypeError("neg: negation of a bool tensor is not supported; use ~ instead")
    return Neg.apply(x)


def pow(x, y) -> Tensor:
    if isinstance(x, Tensor) and isinstance(y, (int, float)) and not isinstance(y, bool):
        if x._data.dtype.kind in "iu" and isinstance(y, float):
            x = floating(x)
        if x._data.dtype.kind in "iu" and y < 0:
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        return PowScalar.apply(x, exponent=y)
    x, y = operands(x, y)
    return Pow.apply(x, y)


def remainder(x, y) -> Tensor:
    x, y = operands(x, y)
    _check_integer_divisor(y, "remainder")
    return Remainder.apply(x, y)


def _check_integer_divisor(y: Tensor, op: str) -> None:
    """PyTorch's error for an integer division by zero (floats give inf/nan, as IEEE says)."""
    if y._data.dtype.kind in "iu" and not y._data.all():
        raise RuntimeError(f"ZeroDivisionError: {op}: an integer divisor ({y._data.dtype}, "
                           f"shape {tuple(y._data.shape)}) is 0; divide floats to get inf/nan")


def floor_divide(x, y) -> Tensor:
    x, y = operands(x, y)
    _check_integer_divisor(y, "floor_divide")
    if x._data.dtype.kind != "f":
        return Tensor._make(np.floor_divide(x._data, y._data))
    return floor(div(x, y))


# ---- unary math ----------------------------------------------------------------------------


class Exp(Primitive):
    torch_name = "ExpBackward0"
    elementwise = True
    formula = "exp({0})"
    derivatives = ("{out}",)

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * out


class Log(Primitive):
    torch_name = "LogBackward0"
    elementwise = True
    formula = "log({0})"
    derivatives = ("1/{0}",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g, x):
        return g / x


class Log1p(Primitive):
    torch_name = "Log1PBackward0"
    elementwise = True
    formula = "log1p({0})"
    derivatives = ("1/(1 + {0})",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g, x):
        return g / (x + 1)


class Expm1(Primitive):
    torch_name = "Expm1Backward0"
    elementwise = True
    formula = "expm1({0})"
    derivatives = ("{out} + 1",)

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * (out + 1)


class Sqrt(Primitive):
    torch_name = "SqrtBackward0"
    elementwise = True
    formula = "sqrt({0})"
    derivatives = ("1/(2·{out})",)

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g / (out * 2)


class Rsqrt(Primitive):
    torch_name = "RsqrtBackward0"
    elementwise = True
    formula = "rsqrt({0})"
    derivatives = ("-½·{out}³",)

    @staticmethod
    def forward(ctx, x):
        out = 1 / np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        # d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 out^3
        return g * (out * out * out) * -0.5


class Sin(Primitive):
    torch_name = "SinBackward0"
    elementwise = True
    formula = "sin({0})"
    derivatives = ("cos({0})",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g, x):
        return g * V.cos(x)


class Cos(Primitive):
    torch_name = "CosBackward0"
    elementwise = True
    formula = "cos({0})"
    derivatives = ("-sin({0})",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g, x):
        return -g * V.sin(x)


class Tan(Primitive):
    torch_name = "TanBackward0"
    elementwise = True
    formula = "tan({0})"
    derivatives = ("1 + {out}²",)

    @staticmethod
    def forward(ctx, x):
        out = np.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * (out * out + 1)


# A 0-d one per float dtype for the rules' ``1 - x`` on arrays: NumPy takes a Python 1 through
# its scalar promotion, ~0.15 us a call more (a tanh of 10 elements costs ~1 us in all)
_ONES = {np.dtype(t): np.ones((), t) for t in (np.float16, np.float32, np.float64)}


def _one(a):
    """1, as a 0-d array of ``a``'s dtype when ``a`` is a float array (same numbers)."""
    return _ONES.get(a.dtype, 1) if type(a) is np.ndarray else 1


class Tanh(Primitive):
    torch_name = "TanhBackward0"
    elementwise = True
    formula = "tanh({0})"
    derivatives = ("1 - {out}²",)

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * (_one(out) - out * out)  # PyTorch's tanh_backward, rounding included


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow for x << 0, in x's dtype."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Primitive):
    """A primitive for stability: 1 / (1 + exp(-x)) overflows for x << 0; this never does."""

    torch_name = "SigmoidBackward0"
    elementwise = True
    formula = "sigmoid({0})"
    derivatives = ("{out}·(1 - {out})",)

    @staticmethod
    def forward(ctx, x):
        out = sigmoid_array(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return g * (out * (_one(out) - out))


class Relu(Primitive):
    torch_name = "ReluBackward0"
    elementwise = True
    formula = "relu({0})"
    derivatives = ("1 if {0} > 0 else 0",)

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, out):
        return V.apply(MaskGrad, g, mask=V.data(out) > 0)


class MaskGrad(Primitive):
    """g where ``mask`` holds, else 0: the backward of piecewise-linear ops (relu, clamp).

    Linear in g, so its own backward is the same mask; the mask's derivative is zero."""

    torch_name = "ThresholdBackwardBackward0"
    elementwise = True
    formula = "MaskGrad({0})"
    derivatives = ("1 where the mask holds, else 0",)

    @staticmethod
    def forward(ctx, g, mask):
        ctx.mask = mask
        return g * mask

    @staticmethod
    def backward(ctx, gg):
        return V.apply(MaskGrad, gg, mask=ctx.mask)


class Abs(Primitive):
    torch_name = "AbsBackward0"
    elementwise = True
    formula = "abs({0})"
    derivatives = ("sign({0})",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g, x):
        return g * V.sign(x)


class Piecewise(Primitive):
    """sign, floor, ceil, round: piecewise constant, so the gradient is zero (as in PyTorch)."""

    elementwise = True
    formula = "{fn}({0})"
    derivatives = ("0",)
    fn: Callable[..., Any]  # the NumPy function, set by forward

    @property
    def torch_name(self) -> str:
        return self.fn.__name__.capitalize() + "Backward0"  # SignBackward0, FloorBackward0, ...

    @staticmethod
    def forward(ctx, x, fn):
        ctx.fn = fn
        return fn(x)

    @staticmethod
    def backward(ctx, g):
        return V.zeros_like(g)


def _special(name: str, x: np.ndarray) -> np.ndarray:
    """``erf``/``erfc`` of an array: SciPy's vectorised one when it is installed, the exact
    ``math`` one per element otherwise: ``_special("erfc", z)``."""
    try:
        from scipy import special
    except ImportError:
        return np.frompyfunc(getattr(math, name), 1, 1)(x).astype(x.dtype)
    return getattr(special, name)(x).astype(x.dtype, copy=False)


class Erf(Primitive):
    torch_name = "ErfBackward0"
    elementwise = True
    formula = "erf({0})"
    derivatives = ("2/√π·exp(-{0}²)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special("erf", x)

    @staticmethod
    def backward(ctx, g, x):
        return g * (V.exp(-x * x) * (2 / math.sqrt(math.pi)))


# Mills' ratio M(a) = Φ(-a)/φ(a) for float32 as rationals P(a)/Q(a), fitted for relative error,
# so that Φ(-a) = φ(a)·M(a) keeps its relative precision in the tail: a (3, 4) one on [0, 5]
# (3.7e-8), and a (4, 5) one on [0, 15] (5.2e-8; beyond, φ(a) underflows float32) for the few
# elements past 5. Coefficients from the highest power down; Q monic.
_MILLS = (((0.9991349321190686, 7.848301405447099, 25.510512063849795, 38.96982545784618),
           (7.8269217044348025, 26.751081515309576, 45.16334810496238, 31.093422825559518)),
          ((1.0000068249057457, 9.586956560146907, 42.388249433197366, 99.76602966695255,
            111.59353529100163),
           (9.58735616383655, 43.378212655951685, 109.49741281937064, 150.6445601562189,
            89.038754224828)))
_MILLS_NEAR, _MILLS_RANGE = 5.0, 15.0
_BLOCK = 1 << 16  # float32 elements per block: a block's arrays stay in the L2 cache


def _blocks(*arrays: np.ndarray):
    """Aligned 1-D slices of ``arrays`` (one shape), with two scratch arrays of the slice's
    length: float32 in L2-sized blocks (NumPy's passes over 2 MB arrays wait on memory), other
    dtypes in one block. ``for x, out, s, t in _blocks(x, out): ...``"""
    flat = [a.reshape(-1) for a in arrays]  # a copy of a non-contiguous input, once
    size = flat[0].size
    step = _BLOCK if arrays[0].dtype == np.float32 else max(size, 1)
    s_buf, t_buf = np.empty((2, min(size, step)), arrays[0].dtype)
    for start in range(0, size, step):
        parts = [a[start:start + step] for a in flat]
        n = parts[0].size
        yield (*parts, s_buf[:n], t_buf[:n])


def _mills(a: np.ndarray, coefficients: tuple, out: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``out`` = P(a)/Q(a), Mills' ratio by Horner's rule in place (q is scratch)."""
    p_coefficients, q_coefficients = coefficients
    np.multiply(a, p_coefficients[0], out=out)
    for c in p_coefficients[1:-1]:
        out += c
        out *= a
    out += p_coefficients[-1]
    np.add(a, q_coefficients[0], out=q)
    for c in q_coefficients[1:]:
        q *= a
        q += c
    out /= q
    return out


def _normal_parts(x: np.ndarray, a: np.ndarray, tail: np.ndarray, density: np.ndarray,
                  t: np.ndarray) -> None:
    """``tail`` = Φ(-|x|), the normal distribution's mass beyond |x|, and ``density`` = φ(x),
    from ``a`` = |x| (1-D arrays; t is scratch). float32 evaluates Mills' ratio in place (one
    exp and 19 passes, 7x faster than SciPy's erf, which computes in float64 one element at a
    time); other dtypes use the exact erfc."""
    if x.dtype == np.float32:
        _mills(a, _MILLS[0], tail, density)
        far = np.flatnonzero(a > _MILLS_NEAR)  # rare: |x| > 5
        if far.size:
            clamped = np.minimum(a[far], _MILLS_RANGE)  # Q(a) would overflow for |x| > 1e7
            tail[far] = _mills(clamped, _MILLS[1], np.empty_like(clamped), np.empty_like(clamped))
    else:
        np.multiply(a, math.sqrt(0.5), out=t)
        tail[...] = _special("erfc", t)
        tail *= 0.5
    np.multiply(x, -0.5, out=density)
    density *= x
    density -= 0.5 * math.log(2 * math.pi)
    np.exp(density, out=density)
    if x.dtype == np.float32:
        tail *= density


class GELU(Primitive):
    """x·Φ(x) with the normal CDF Φ (PyTorch's default, exact gelu) in one op, computed as
    max(x, 0) - |x|·Φ(-|x|): no cancellation, so the negative tail keeps its relative
    precision. The slope Φ(x) + x·φ(x) is computed here too, while each block is in the
    cache, and kept for the backward pass (which then reads two arrays, not three)."""

    torch_name = "GeluBackward0"
    elementwise = True
    formula = "gelu({0})"
    derivatives = ("Φ({0}) + {0}·φ({0})",)

    @staticmethod
    def forward(ctx, x):
        out, slope = np.empty_like(x, order="C"), np.empty_like(x, order="C")
        bits = np.dtype(f"u{x.itemsize}")  # np.copysign is scalar code: 3x a multiply
        sign = np.array(-0.0, x.dtype).view(bits)
        # inf·0 at x = ±inf: NaN, as PyTorch's float32; x² overflowing to inf gives φ = 0
        with np.errstate(invalid="ignore", over="ignore"):
            for xb, ob, db, s, t in _blocks(x, out, slope):
                np.abs(xb, out=ob)
                _normal_parts(xb, ob, db, s, t)  # db = Φ(-|x|), s = φ(x)
                np.multiply(ob, db, out=t)
                np.maximum(xb, 0, out=ob)
                ob -= t
                s *= xb
                np.subtract(0.5, db, out=t)  # |Φ(x) - 1/2|, then x's sign bit on it
                np.bitwise_and(xb.view(bits), sign, out=db.view(bits))
                np.bitwise_or(t.view(bits), db.view(bits), out=t.view(bits))
                t += 0.5
                np.add(s, t, out=db)
        ctx.slope = slope
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, g, x):
        return V.apply(GELUBackward, g, x, slope=ctx.slope)


class GELUBackward(Primitive):
    """g·(Φ(x) + x·φ(x)) from the slope the forward pass kept: GELU's backward as an op, so
    that it has derivatives in turn."""

    torch_name = "GeluBackwardBackward0"
    elementwise = True
    formula = "gelu_backward({0}, {1})"
    derivatives = ("Φ({1}) + {1}·φ({1})", "{0}·φ({1})·(2 - {1}²)")

    @staticmethod
    def forward(ctx, g, x, slope):
        ctx.slope = slope
        ctx.save_for_backward(g, x)
        return g * slope

    @staticmethod
    def backward(ctx, gg, g, x):
        need_g, need_x = ctx.needs_input_grad
        gg_g = V.apply(GELUBackward, gg, x, slope=ctx.slope) if need_g else None
        gg_x = None
        if need_x:
            square = x * x
            gg_x = gg * g * (V.exp(square * -0.5) * (1 / math.sqrt(2 * math.pi))) * (2 - square)
        return gg_g, gg_x


class Clamp(Primitive):
    """Gradient passes where min <= x <= max (bounds included, as in PyTorch)."""

    torch_name = "ClampBackward1"
    elementwise = True
    formula = "clamp({0}, {lo}, {hi})"
    derivatives = ("1 inside the bounds, else 0",)

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g, x):
        x = V.data(x)
        mask = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            mask &= x >= ctx.lo
        if ctx.hi is not None:
            mask &= x <= ctx.hi
        return V.apply(MaskGrad, g, mask=mask)


# The float-valued functions: integer and bool tensors enter them as the default float dtype.

def exp(x: Tensor) -> Tensor:
    return Exp.apply(floating(x))


def log(x: Tensor) -> Tensor:
    return Log.apply(floating(x))


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(floating(x))


def expm1(x: Tensor) -> Tensor:
    return Expm1.apply(floating(x))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(floating(x))


def rsqrt(x: Tensor) -> Tensor:
    return Rsqrt.apply(floating(x))


def sin(x: Tensor) -> Tensor:
    return Sin.apply(floating(x))


def cos(x: Tensor) -> Tensor:
    return Cos.apply(floating(x))


def tan(x: Tensor) -> Tensor:
    return Tan.apply(floating(x))


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x if x._data.dtype.kind == "f" else floating(x))  # the chain's op


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(floating(x))


def erf(x: Tensor) -> Tensor:
    return Erf.apply(floating(x))


def relu(x: Tensor) -> Tensor:
    return Relu.apply(x)


def abs(x: Tensor) -> Tensor:
    return Abs.apply(x)


def reciprocal(x: Tensor) -> Tensor:
    return div(1.0, floating(x))


def sign(x: Tensor) -> Tensor:
    return Piecewise.apply(x, fn=np.sign)


def floor(x: Tensor) -> Tensor:
    return Piecewise.apply(x, fn=np.floor)


def ceil(x: Tensor) -> Tensor:
    return Piecewise.apply(x, fn=np.ceil)


def round(x: Tensor) -> Tensor:
    return Piecewise.apply(x, fn=np.round)  # half to even, as PyTorch


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x if min is None else maximum(x, min)
        return out if max is None else minimum(out, max)
    if x._data.dtype.kind in "iu" and any(isinstance(b, float) for b in (min, max)):
        x = floating(x)
    return Clamp.apply(x, lo=min, hi=max)


# ---- two-input selections ------------------------------------------------------------------


class Maximum(Primitive):
    """Ties split the gradient equally between both inputs, as PyTorch does."""

    torch_name = "MaximumBackward0"
    elementwise = True
    formula = "maximum({0}, {1})"
    derivatives = ("1 where {0} is larger (½ at ties)", "1 where {1} is larger (½ at ties)")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g, x, y):
        return _split_by_winner(ctx, g, x > y, x == y)


class Minimum(Primitive):
    torch_name = "MinimumBackward0"
    elementwise = True
    formula = "minimum({0}, {1})"
    derivatives = ("1 where {0} is smaller (½ at ties)", "1 where {1} is smaller (½ at ties)")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, g, x, y):
        return _split_by_winner(ctx, g, x < y, x == y)


def _split_by_winner(ctx, g, x_wins, tie):
    """The winner's gradient is g, a tie's is g / 2 for each: g times a 1 / 0.5 / 0 weight in
    g's dtype (a product, as PyTorch: a non-finite g stays non-finite for the loser too)."""
    sx, sy = _input_shapes(ctx)
    weight_x = V.cast(x_wins, g.dtype) + V.cast(tie, g.dtype) * 0.5
    need_x, need_y = ctx.needs_input_grad
    gx = V.sum_to(g * weight_x, sx) if need_x else None
    gy = V.sum_to(g * (1 - weight_x), sy) if need_y else None
    return gx, gy


def select(condition: np.ndarray, x, y) -> np.ndarray:
    """``np.where(condition, x, y)`` for arrays and scalars; when ``x`` or ``y`` already has the
    result's shape and dtype, a copy of it with the other written in where the condition says
    (masked_fill, and the gradients of where): 1.6x faster than np.where's loop.
    ``select(mask, -np.inf, scores)``"""
    shape = np.broadcast_shapes(np.shape(condition), np.shape(x), np.shape(y))
    dtype = np.result_type(x, y)
    for base, other, keep in ((y, x, False), (x, y, True)):
        if isinstance(base, np.ndarray) and base.shape == shape and base.dtype == dtype:
            out = base.copy()
            np.copyto(out, other, where=np.logical_not(condition) if keep else condition)
            return out
    return np.where(condition, x, y)


class Where(Primitive):
    torch_name = "WhereBackward0"
    elementwise = True
    formula = "where({0}, {1}, {2})"
    derivatives = ("",
                   "1 where the condition holds, else 0",
                   "0 where the condition holds, else 1")

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        return select(condition, x, y)

    @staticmethod
    def backward(ctx, g, condition):
        _, need_x, need_y = ctx.needs_input_grad
        return (None, V.sum_to(V.where(condition, g, 0.0), ctx.input_shape(1)) if need_x else None,
                V.sum_to(V.where(condition, 0.0, g), ctx.input_shape(2)) if need_y else None)


def maximum(x, y) -> Tensor:
    x, y = operands(x, y)
    return Maximum.apply(x, y)


def minimum(x, y) -> Tensor:
    x, y = operands(x, y)
    return Minimum.apply(x, y)


def where(condition, x, y) -> Tensor:
    """``x`` where ``condition`` holds, else ``y``: ``cr.where(x > 0, x, 0.0)``."""
    condition = condition if isinstance(condition, Tensor) else Tensor._make(
        np.asarray(condition))
    if condition._data.dtype != np.bool_:
        raise TypeError(f"where: expected a bool condition, got {condition._data.dtype}")
    x, y = operands(x, y)
    return Where.apply(condition, x, y)


def masked_fill(x: Tensor, mask, value) -> Tensor:
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        got = mask._data.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype "
                           f"{got}")
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    return where(mask, as_tensor_like(value, x._data.dtype).to(x._data.dtype), x)


# ---- dtype and copies ----------------------------------------------------------------------


class Cast(Primitive):
    torch_name = "ToCopyBackward0"
    elementwise = True
    formula = "{0}.to({dtype})"
    derivatives = ("1",)

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return V.cast(g, ctx.input_dtype(0))


class Clone(Primitive):
    torch_name = "CloneBackward0"
    elementwise = True
    formula = "clone({0})"
    derivatives = ("1",)

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def cast(x: Tensor, dtype: np.dtype) -> Tensor:
    if x._data.dtype == dtype:
        return x
    if x._rg and dtype.kind not in "fc" and _grad_state.enabled:
        return Tensor._make(x._data.astype(dtype))  # an integer result carries no gradient
    return Cast.apply(x, dtype=dtype)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


# ---- comparisons and logic: no gradient ----------------------------------------------------


def compare(ufunc, x, y) -> Tensor:
    if not isinstance(y, (Tensor, np.ndarray, int, float, bool, np.generic)):
        return NotImplemented
    x, y = operands(x, y)
    return Tensor._make(np.asarray(ufunc(x._data, y._data)))


def _bool_data(x) -> np.ndarray:
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    return data if data.dtype == np.bool_ else data.astype(bool)


def logical_not(x: Tensor) -> Tensor:
    if x._data.dtype.kind in "iu":
        return Tensor._make(np.invert(x._data))
    return Tensor._make(np.logical_not(_bool_data(x)))


def logical_and(x, y) -> Tensor:
    return Tensor._make(np.logical_and(_bool_data(x), _bool_data(y)))


def logical_or(x, y) -> Tensor:
    return Tensor._make(np.logical_or(_bool_data(x), _bool_data(y)))


def logical_xor(x, y) -> Tensor:
    return Tensor._make(np.logical_xor(_bool_data(x), _bool_data(y)))


# ---- in-place updates ----------------------------------------------------------------------


def inplace(x: Tensor, name: str, compute, *others, ufunc=None) -> Tensor:
    """Apply ``x = compute(x)`` in place: the same buffer, a bumped version counter, and, when
    recording, ``x`` rebased onto the new node (as PyTorch's in-place ops do).

    ``ufunc`` (``x = ufunc(x, other)``, the same numbers as ``compute``) writes into ``x``'s
    buffer directly when nothing records and ``other`` is a float tensor of ``x``'s shape and
    dtype: no temporary the size of ``x`` (``p.sub_(lr * p.grad)`` in an SGD step)."""
    recording = _grad_state.enabled and (
        x._rg or any(isinstance(o, Tensor) and o._rg for o in others))
    if ufunc is not None and not recording:
        other, data = others[0], x._data
        if (type(other) is Tensor and other._data.dtype == data.dtype and data.dtype.kind == "f"
                and other._data.shape == data.shape and data.flags.writeable):
            ufunc(data, other._data, out=data)
            x._vc[0] += 1
            return x
    if not recording:
        result = compute(x)
    else:
        if x.grad_fn is None and x._rg:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an "
                               "in-place operation. Wrap the update in cr.no_grad().")
        if x._view_of or x._has_views:
            raise RuntimeError(
                f"{name}: in-place change of a tensor that shares memory with another one in "
                "the graph (a view or the base of a view) is not supported while recording; "
                "use the out-of-place op, or .clone() first.")
        # compute from a copy: the op may save its input, which is about to be overwritten
        result = compute(clone(x))
    if result._data.shape != x._data.shape:
        raise RuntimeError(f"{name}: output with shape {tuple(x.shape)} doesn't match the "
                           f"broadcast shape {tuple(result.shape)}")
    if not np.can_cast(result._data.dtype, x._data.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {result._data.dtype} can't be cast to the "
                           f"desired output type {x._data.dtype}")
    if not x._data.flags.writeable:
        raise RuntimeError(f"{name}: tensor of shape {tuple(x.shape)} is a read-only broadcast "
                           "view (from expand); clone() it before writing")
    np.copyto(x._data, result._data, casting="same_kind")
    x._vc[0] += 1
    if recording:
        x.grad_fn, x._output_nr, x._rg = result.grad_fn, result._output_nr, result._rg
    return x


def fill(x: Tensor, value) -> Tensor:
    """A tensor of ``x``'s shape and dtype holding ``value`` (broadcast), linked to ``value``'s
    graph; ``x`` itself receives a zero gradient."""
    everywhere = Tensor._make(np.ones((), dtype=bool))
    value = as_tensor_like(value, x._data.dtype)
    return where(everywhere, cast(value, x._data.dtype), x)
