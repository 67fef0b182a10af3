"""``nn.functional``: every layer, activation and loss as a function (PyTorch's names and
arguments): ``F.relu(x)``, ``F.linear(x, w, b)``, ``F.cross_entropy(logits, y)``.

Activations and layer functions are here; the losses are in ``loss_functions.py`` and are
re-exported at the end.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops import conv as _conv
from ..ops import elementwise as ew
from ..ops import layers as _prim
from ..ops import losses as _losses
from ..ops import nn as _nnops
from ..ops import random as _rand
from ..ops import reduce as red
from ..random import Generator
from ..tensor import Tensor

# ---- activations -----------------------------------------------------------------------------


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn) -> Tensor:
    if inplace:
        return ew.inplace(input, name, fn)
    return fn(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0): ``F.relu(x)``."""
    return ew.inplace(input, "relu_", ew.relu) if inplace else ew.relu(input)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else ``negative_slope * x``: ``F.leaky_relu(x, 0.2)``."""
    def fn(x):
        return ew.where(x > 0, x, x * negative_slope)
    return _maybe_inplace(input, inplace, "leaky_relu_", fn)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else ``alpha * (exp(x) - 1)``; exp only sees x <= 0 (no overflow)."""
    def fn(x):
        x = ew.floating(x)
        return ew.where(x > 0, x, ew.expm1(ew.clamp(x, max=0)) * alpha)
    return _maybe_inplace(input, inplace, "elu_", fn)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact normal CDF (erf), or its tanh approximation:
    ``F.gelu(x, approximate='tanh')``."""
    x = ew.floating(input)
    if approximate == "none":
        return ew.GELU.apply(x)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * (math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5)
        return x * 0.5 * (ew.tanh(inner) + 1)
    raise RuntimeError(f"gelu: approximate argument must be either 'none' or 'tanh', got "
                       f"{approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish): ``F.silu(x)``."""
    def fn(x):
        return x * ew.sigmoid(x)
    return _maybe_inplace(ew.floating(input), inplace, "silu_", fn)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), stable for any x: ``F.sigmoid(x)``."""
    return ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return ew.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above ``threshold``; no overflow at x = 1e4."""
    return _losses.Softplus.apply(ew.floating(input), beta=beta, threshold=threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), exact at large |x|: ``F.logsigmoid(x)``."""
    return _losses.LogSigmoid.apply(ew.floating(input))


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``: ``F.softmax(logits, dim=1)``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _nnops.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None
                ) -> Tensor:
    """x - logsumexp(x) along ``dim``, exact at large logits: ``F.log_softmax(logits, 1)``."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _nnops.log_softmax(input, dim, dtype)


# ---- layers ----------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` for input (*, in), weight (out, in): ``F.linear(x, w, b)``."""
    # the arrays' attributes, not the Tensor properties (Python calls): a hot path
    x, w = input._data, weight._data
    in_shape, w_shape = x.shape, w.shape
    if len(w_shape) != 2 or not in_shape:
        out = input @ weight.T
        return out if bias is None else out + bias
    if in_shape[-1] != w_shape[1]:
        rows = math.prod(in_shape[:-1])
        raise RuntimeError(f"linear: mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{in_shape[-1]} and {w_shape[1]}x{w_shape[0]}): input "
                           f"{tuple(in_shape)}, weight {tuple(w_shape)}")
    dtype = w.dtype
    if x.dtype != dtype or (bias is not None and bias._data.dtype != dtype):
        raise RuntimeError(f"linear: input ({input.dtype}), weight ({dtype})"
                           + ("" if bias is None else f" and bias ({bias.dtype})")
                           + " must have the same dtype; cast the input with .to(dtype)")
    if bias is None:
        return _prim.Linear.apply(input, weight)
    if bias._data.shape not in ((w_shape[0],), ()):
        raise RuntimeError(f"linear: bias of shape {tuple(bias.shape)} does not match "
                           f"out_features={weight.shape[0]}")
    return _prim.Linear.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` when
    ``training``; the identity otherwise. The mask is PyTorch's CPU one for the same seed
    (``bernoulli_(1 - p)`` on a tensor laid out as ``input``)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    x = ew.floating(input)
    dtype = x._data.dtype.type
    if p == 1.0:
        noise = np.zeros((), x._data.dtype)
    else:
        mask = Tensor._make(np.empty_like(x._data))
        _rand.bernoulli_(mask, 1.0 - p, generator=generator)
        noise = mask._data * (dtype(1) / dtype(1.0 - p))
    return _maybe_inplace(x, inplace, "dropout_", lambda t: t * Tensor._make(noise))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows of an index tensor: ``F.one_hot(cr.tensor([0, 2]), 3)``."""
    data = tensor._data
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor of integer type, got "
                           f"{data.dtype}")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty "
                               "tensor.")
        num_classes = int(data.max()) + 1
    if data.size:
        if data.min() < 0:
            raise RuntimeError("one_hot: Class values must be non-negative.")
        if data.max() >= num_classes:
            raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                               f"({num_classes}); got {int(data.max())}.")
    return Tensor._make((data[..., None] == np.arange(num_classes)).astype(np.int64))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
        ) -> Tensor:
    """Pad the last dimensions: ``pad=(left, right)`` for the last, then ``(top, bottom)`` for
    the one before, ...; negative amounts crop. ``mode`` 'constant' pads with ``value`` (any
    number of dimensions); 'reflect', 'replicate' and 'circular' copy the input's own elements
    (the last 1, 2 or 3 dimensions of a batched or unbatched input):
    ``F.pad(x, (1, 1), value=0.0)``, ``F.pad(img, (2, 2, 2, 2), mode='reflect')``."""
    pad = [int(v) for v in pad]
    if len(pad) % 2:  # PyTorch's errors (RuntimeError, as user code may catch)
        raise RuntimeError("Padding length must be divisible by 2")
    if mode in _conv.PAD_MODES:
        if value is not None:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
        return _conv.copy_pad(input, pad, mode)
    if mode != "constant":
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for d, ((b, a), s) in enumerate(zip(widths, input.shape)):
        if s + b + a < 0:
            raise RuntimeError(f"pad: the input size {s} at dimension {d}, plus negative "
                               f"padding {b} and {a}, resulted in a negative output size")
    return _prim.ConstantPad.apply(input, widths=tuple(widths),
                                   value=0 if value is None else value)


def check_embedding_options(max_norm, sparse: bool) -> None:
    """The options of ``embedding`` and ``nn.Embedding`` that chainrule does not implement."""
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm (renormalising rows in place) is not "
                                  "implemented; renormalise the weight explicitly")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported; use "
                                  "sparse=False")


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at the integer ``input``: output ``input.shape + (dim,)``; the row
    ``padding_idx`` receives no gradient. ``F.embedding(cr.tensor([[0, 2]]), w)``"""
    check_embedding_options(max_norm, sparse)
    indices = input._data
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected integer indices (int64 or int32), got "
                           f"{indices.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    rows = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices[(indices < 0) | (indices >= rows)].reshape(-1)[0]
        raise IndexError(f"embedding: index {int(bad)} is out of range for a weight with "
                         f"{rows} rows")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                             f"num_embeddings ({rows})")
        padding_idx %= rows
    scale = None
    if scale_grad_by_freq:
        counts = np.bincount(indices.reshape(-1), minlength=rows)
        scale = 1.0 / counts[indices]
    return _prim.Embedding.apply(weight, indices=indices.astype(np.int64, copy=False),
                                 padding_idx=padding_idx, scale=scale)


# ---- normalization ---------------------------------------------------------------------------


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dimensions (biased variance), then
    scale and shift: ``F.layer_norm(x, (4,), w, b)``."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of "
                           f"size {list(input.shape)}")
    x = ew.floating(input)
    params = [t for t in (weight, bias) if t is not None]
    for t in params:
        if tuple(t.shape) != shape or t.dtype != x.dtype:
            raise RuntimeError(f"layer_norm: weight and bias must have the normalized shape "
                               f"{list(shape)} and the input's dtype ({x.dtype}), got "
                               f"{list(t.shape)} ({t.dtype})")
    return _nnops.LayerNorm.apply(x, *params, axes=tuple(range(input.ndim - k, input.ndim)),
                                  eps=eps, affine=(weight is not None, bias is not None))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) over the batch and any trailing dims. In training, batch
    statistics are used and the running ones updated in place (``new = (1 - momentum) * old +
    momentum * stat``, unbiased variance); otherwise the running statistics are used."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2-D input (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    axes = (0,) + tuple(range(2, input.ndim))
    count = math.prod(input.shape[a] for a in axes)
    channel_shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    x = ew.floating(input)
    if training:
        if count == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {tuple(input.shape)}")
        mean = red.mean(x, axes, keepdim=True)
        centered = x - mean
        var = red.mean(centered * centered, axes, keepdim=True)
        with no_grad():
            if running_mean is not None:
                new = running_mean._data * (1 - momentum) + mean._data.reshape(-1) * momentum
                _assign(running_mean, new)
            if running_var is not None:
                unbiased = var._data.reshape(-1) * (count / (count - 1))
                _assign(running_var, running_var._data * (1 - momentum) + unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when "
                               "training=False")
        centered = x - running_mean.reshape(channel_shape)
        var = running_var.reshape(channel_shape)
    out = centered * ew.rsqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(channel_shape)
    if bias is not None:
        out = out + bias.reshape(channel_shape)
    return out


def _assign(t: Tensor, value: np.ndarray) -> None:
    """Overwrite a buffer in place (same array, version bumped) under no_grad."""
    np.copyto(t._data, value, casting="unsafe")
    t._bump_version()


from .attention import (  # noqa: E402  (re-exported; attention calls our functions only at run time)
    multi_head_attention_forward,
    scaled_dot_product_attention,
)
from .loss_functions import (  # noqa: E402  (re-exported; loss_functions does not import us)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    sigmoid_focal_loss,
    smooth_l1_loss,
)

__all__ = [
    "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "dropout", "elu", "embedding", "gelu", "huber_loss", "l1_loss", "layer_norm", "leaky_relu",
    "linear", "log_softmax", "logsigmoid", "mse_loss", "nll_loss", "one_hot", "pad", "relu",
    "relu_", "sigmoid", "sigmoid_focal_loss", "silu", "smooth_l1_loss", "softmax", "softplus",
    "tanh",
]


# ---- more activations PyTorch programs use (issue 12): compositions of differentiable ops ------
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]: ``F.hardtanh(x)``."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    def fn(x):
        # PyTorch's gradient is 0 at the bounds themselves (clamp's is 1): where, not clamp
        return ew.where(x <= min_val, min_val, ew.where(x >= max_val, max_val, x))
    return _maybe_inplace(input, inplace, "hardtanh_", fn)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): ``F.relu6(x)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with SELU's self-normalising constants."""
    def fn(x):
        return elu(x, _SELU_ALPHA) * _SELU_SCALE
    return _maybe_inplace(input, inplace, "selu_", fn)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)): ``F.mish(x)``."""
    return _maybe_inplace(ew.floating(input), inplace, "mish_",
                          lambda x: x * ew.tanh(softplus(x)))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|): ``F.softsign(x)``."""
    x = ew.floating(input)
    return x / (ew.abs(x) + 1)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6: ``F.hardswish(x)``."""
    return _maybe_inplace(ew.floating(input), inplace, "hardswish_",
                          lambda x: x * ew.clamp(x + 3, 0.0, 6.0) / 6)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``: ``F.threshold(x, 0.1, 20.0)``."""
    return _maybe_inplace(input, inplace, "threshold_",
                          lambda x: ew.where(x > threshold, x, value))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the halves of ``input`` along ``dim``."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * ew.sigmoid(b)
__all__ += ["multi_head_attention_forward", "scaled_dot_product_attention"]
# ---- convolution, pooling, group normalization (ops/conv.py has the windows) ------------------


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """Input (N, C, L) [or (C, L)], weight (O, C/groups, k): ``F.conv1d(x, w, b, padding=1)``."""
    return _conv.conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """Input (N, C, H, W) [or (C, H, W)], weight (O, C/groups, kh, kw); ``padding`` is an int,
    a pair, ``'valid'`` or ``'same'``: ``F.conv2d(x, w, b, stride=2, padding=1)``."""
    return _conv.conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """The largest element of each window of (N, C, L): ``F.max_pool1d(x, 2)``."""
    return _conv.max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices, 1, "max_pool1d")


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """The largest element of each window of (N, C, H, W) (stride defaults to the kernel
    size); with ``return_indices``, also its flat position in the input plane."""
    return _conv.max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices, 2, "max_pool2d")


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of (N, C, L): ``F.avg_pool1d(x, 3, 2, padding=1)``."""
    return _conv.avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          None, 1, "avg_pool1d")


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window of (N, C, H, W); padding counts in the divisor unless
    ``count_include_pad=False``; ``divisor_override`` replaces the divisor."""
    return _conv.avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override, 2, "avg_pool2d")


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Averages over ``output_size`` windows that tile the length: ``F.adaptive_avg_pool1d(x,
    1)``."""
    return _conv.adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Averages over ``output_size`` windows (an int, a pair; ``None`` keeps a size) that tile
    the plane: ``F.adaptive_avg_pool2d(x, (1, 1))``."""
    return _conv.adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over groups of channels (and all trailing dims; biased variance),
    then scale and shift per channel: ``F.group_norm(x, 2, w, b)``."""
    _check_group_norm(input, num_groups, weight, bias)
    n, c = input.shape[:2]
    x = ew.floating(input).reshape(n, num_groups, c // num_groups * math.prod(input.shape[2:]))
    centered = x - red.mean(x, (2,), keepdim=True)
    var = red.mean(centered * centered, (2,), keepdim=True)
    out = (centered * ew.rsqrt(var + eps)).reshape(input.shape)
    channel_shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(channel_shape)
    if bias is not None:
        out = out + bias.reshape(channel_shape)
    return out


def _check_group_norm(input: Tensor, num_groups: int, weight: Tensor | None,
                      bias: Tensor | None) -> None:
    """PyTorch's checks of group_norm, its messages with the dtypes added."""
    shape = list(input.shape)
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim} (input of shape {shape})")
    if num_groups <= 0:
        raise RuntimeError(f"group_norm: Expected num groups to be greater than 0, got "
                           f"{num_groups}")
    if shape[1] % num_groups:
        raise RuntimeError(f"group_norm: Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {shape} and "
                           f"num_groups={num_groups} ({shape[1]} channels)")
    if not input.is_floating_point():
        raise NotImplementedError(f"group_norm: \"GroupNormKernelImpl\" not implemented for "
                                  f"input of dtype {input.dtype} (shape {shape}): pass a "
                                  "floating-point input")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if p.ndim != 1 or p.shape[0] != shape[1]:
            raise RuntimeError(f"group_norm: Expected {name} to be a vector of size equal to the "
                               f"number of channels in input, but got {name} of shape "
                               f"{list(p.shape)} and input of shape {shape}")
        if p.dtype != input.dtype:
            raise RuntimeError(f"group_norm: mixed dtype (CPU): all inputs must share same "
                               f"datatype, but got input {input.dtype} and {name} {p.dtype}")


def _dropout_channels(input: Tensor, p: float, training: bool, inplace: bool, dims: int,
                      op: str, generator: Generator | None = None) -> Tensor:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected {dims + 1}D (unbatched) or {dims + 2}D (batched) "
                           f"input, but got input of size: {list(input.shape)}")
    if not training or p == 0.0:
        return input
    x = ew.floating(input)
    keep = 1.0 - p
    channels = tuple(x.shape[:x.ndim - dims]) + (1,) * dims  # one draw per channel
    if keep == 0.0:
        noise = np.zeros(channels, x.dtype)
    else:
        # PyTorch's feature noise: bernoulli_(1 - p) on an (N, C, 1, ...) tensor, then / (1 - p)
        mask = Tensor._make(np.empty(channels, x._data.dtype))
        _rand.bernoulli_(mask, keep, generator=generator)
        noise = mask._data / x._data.dtype.type(keep)
    return _maybe_inplace(x, inplace, f"{op}_", lambda t: t * Tensor._make(noise))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) with probability ``p``, scale the rest by 1/(1-p)."""
    return _dropout_channels(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) with probability ``p``, scale the rest by 1/(1-p):
    ``F.dropout2d(x, 0.2)``. A 3-D input is (N, C, L), as PyTorch still reads it."""
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
        return _dropout_channels(input, p, training, inplace, 1, "dropout2d")
    return _dropout_channels(input, p, training, inplace, 2, "dropout2d")


__all__ += [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "conv1d",
    "conv2d", "dropout1d", "dropout2d", "group_norm", "max_pool1d", "max_pool2d",
]


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of (N, C, H, W) as columns (N, C * kh * kw, L): ``F.unfold(x, 3)``."""
    return _conv.unfold(input, kernel_size, dilation, padding, stride)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns (N, C * kh * kw, L) summed back into (N, C, *output_size) (the adjoint of
    ``unfold``): ``F.fold(cols, (4, 5), 2)``."""
    return _conv.fold(input, output_size, kernel_size, dilation, padding, stride)


__all__ += ["fold", "unfold"]


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 1-D convolution, weight (C_in, C_out/groups, k):
    ``F.conv_transpose1d(x, w, stride=2)``."""
    return _conv.conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                                dilation, 1, "conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution (the adjoint of conv2d in its input), weight (C_in,
    C_out/groups, kh, kw): ``F.conv_transpose2d(x, w, stride=2, output_padding=1)``."""
    return _conv.conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                                dilation, 2, "conv_transpose2d")


__all__ += ["conv_transpose1d", "conv_transpose2d"]


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) by 'nearest', 'linear' or 'bilinear' interpolation:
    ``F.interpolate(x, scale_factor=2, mode='bilinear')``."""
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    return _conv.interpolate(input, size, scale_factor, mode, align_corners,
                             recompute_scale_factor)


__all__ += ["interpolate"]


def __getattr__(name: str):
    # A PyTorch name chainrule lacks says so ("does not implement torch.nn.functional.X yet").
    from .._torch_names import missing_attribute

    raise missing_attribute("nn.functional", name)
