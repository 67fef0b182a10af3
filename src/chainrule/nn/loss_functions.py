"""The loss functions of ``nn.functional``: regression (MSE, L1, Huber, smooth L1),
classification (cross-entropy, NLL, binary cross-entropy with or without logits) and the
sigmoid focal loss, each with PyTorch's arguments, reductions and weighted means."""

from __future__ import annotations

import warnings

import numpy as np

from ..ops import elementwise as ew
from ..ops import losses as _losses
from ..ops import movement as mv
from ..ops import nn as _nnops
from ..ops import reduce as red
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """PyTorch's mapping of the deprecated ``size_average`` / ``reduce`` flags."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{result}' instead.", stacklevel=3)
    return result


def _reduction(reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction (expected 'mean', "
                         "'sum' or 'none')")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return red.sum(loss) if reduction == "sum" else red.mean(loss)


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({tuple(target.shape)}) that is different to the "
                      f"input size ({tuple(input.shape)}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)


def _weighted(loss: Tensor, input: Tensor, weight: Tensor, reduction: str,
              mean_by_weight: bool) -> Tensor:
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"Weights and input must have the same size: weight "
                         f"{tuple(weight.shape)}, input {tuple(input.shape)}.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return red.sum(loss) / red.sum(weight)
    return _reduce(loss, reduction)


# ---- regression --------------------------------------------------------------------------------


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Squared error ``(x - y)^2``, reduced: ``F.mse_loss(pred, y)``. With ``weight`` (same
    shape as input), 'mean' is ``sum(w * err) / sum(w)``."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted(loss, input, weight, reduction, mean_by_weight=True)
    return _reduce(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Absolute error ``|x - y|``, reduced: ``F.l1_loss(pred, y)``."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    loss = ew.abs(input - target)
    if weight is not None:
        return _weighted(loss, input, weight, reduction, mean_by_weight=True)
    return _reduce(loss, reduction)


def _huber(input: Tensor, target: Tensor, delta: float, scale: float) -> Tensor:
    """``0.5 z^2 / scale`` where ``z = |x - y| < delta``, else ``(z - 0.5 delta) * delta /
    scale``: Huber with scale 1, smooth L1 (beta = delta) with scale delta."""
    z = ew.abs(input - target)
    quadratic = z * 0.5 * z if scale == 1.0 else z * 0.5 * z / scale
    linear = (z - 0.5 * delta) * delta if scale == 1.0 else z - 0.5 * delta
    return ew.where(z < delta, quadratic, linear)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Quadratic for errors below ``delta``, linear (slope ``delta``) above:
    ``F.huber_loss(pred, y, delta=2.0)``."""
    _warn_size(input, target)
    reduction = _reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got "
                           f"{delta}")
    loss = _huber(input, target, delta, 1.0)
    if weight is not None:  # PyTorch's weighted Huber mean is the plain mean of w * loss
        return _weighted(loss, input, weight, reduction, mean_by_weight=False)
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 (x - y)^2 / beta`` below ``beta``, ``|x - y| - 0.5 beta`` above (Huber / beta);
    ``beta=0`` is the L1 loss: ``F.smooth_l1_loss(pred, y)``."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got "
                           f"{beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return _reduce(_huber(input, target, beta, beta), reduction)


# ---- classification ----------------------------------------------------------------------------


def _outside(t: np.ndarray, n_classes: int) -> bool:
    """Whether any index is outside ``[0, n_classes)``."""
    if t.dtype.kind == "i" and t.dtype.isnative:
        # read as unsigned, a negative index is huge: one reduction instead of min and max
        return bool(np.maximum.reduce(t.view(f"u{t.itemsize}"), axis=None) >= n_classes)
    return bool(t.min() < 0 or t.max() >= n_classes)


def _class_targets(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                   op: str) -> tuple[int, np.ndarray, Tensor | None]:
    """Check class-index targets; return the class axis, the indices and the class weights
    (cast to the input's dtype)."""
    if input.ndim == 0:
        raise ValueError(f"{op}: expected an input of 1 or more dimensions (C,), (N, C) or "
                         f"(N, C, d1, ...), got a 0-d tensor")
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected integer class indices as target (int64), got "
                           f"{t.dtype}; for class probabilities pass a float target of the "
                           f"input's shape {tuple(input.shape)}")
    axis = 1 if input.ndim >= 2 else 0
    n_classes = input.shape[axis]
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if t.shape != expected:
        if input.ndim >= 2 and t.ndim >= 1 and t.shape[0] != input.shape[0]:
            raise ValueError(f"{op}: Expected input batch_size ({input.shape[0]}) to match "
                             f"target batch_size ({t.shape[0]}).")
        raise RuntimeError(f"{op}: expected target of shape {list(expected)} for input of shape "
                           f"{list(input.shape)} (class dim {axis}), got {list(t.shape)}")
    if t.size and _outside(t, n_classes):
        out_of_range = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    else:
        out_of_range = None
    if out_of_range is not None and out_of_range.any():
        bad = int(t[out_of_range].reshape(-1)[0])
        raise IndexError(f"{op}: Target {bad} is out of bounds (classes are 0..{n_classes - 1}"
                         f", ignore_index={ignore_index}).")
    if weight is not None:
        if tuple(weight.shape) != (n_classes,):
            raise RuntimeError(f"{op}: weight tensor should be defined either for all "
                               f"{n_classes} classes or no classes but got weight tensor of "
                               f"shape: {list(weight.shape)}")
        weight = ew.cast(weight, input.dtype)
    return axis, t.astype(np.int64, copy=False), weight


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (C in dim 1) at the class indices
    ``target``: ``-w[y] * input[n, y]``; 'mean' divides by the sum of ``w[y]`` over targets
    that are not ``ignore_index``. ``F.nll_loss(F.log_softmax(z, 1), y)``"""
    reduction = _reduction(reduction, size_average, reduce)
    axis, t, weight = _class_targets(input, target, weight, ignore_index, "nll_loss")
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = mv.squeeze(mv.gather(input, axis, Tensor._make(np.expand_dims(safe, axis))), axis)
    mask = Tensor._make(valid.astype(input.dtype))
    if weight is None:
        w_y = mask
    else:
        w_y = mv.reshape(mv.index_select(weight, 0, Tensor._make(safe.reshape(-1))),
                         safe.shape) * mask
    loss = -(picked * w_y)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return red.sum(loss)
    total = red.sum(w_y)
    if total._data == 0:  # every target ignored: nan, with a zero gradient, as PyTorch
        return red.sum(loss) + Tensor._make(np.array(np.nan, loss.dtype))
    return red.sum(loss) / total


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (C in dim 1) against class indices (shape (N,),
    (N, d1, ...) or ()) or class probabilities (the input's shape). Fused log_softmax + nll:
    exact for logits of +-1e4. ``F.cross_entropy(logits, y, label_smoothing=0.1)``"""
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    x = ew.floating(input)
    if isinstance(target, Tensor) and tuple(target.shape) == tuple(x.shape) and x.ndim >= 1:
        return _cross_entropy_probs(x, target, weight, ignore_index, reduction,
                                    label_smoothing)
    axis, t, weight = _class_targets(x, target, weight, ignore_index, "cross_entropy")
    inputs = (x,) if weight is None else (x, weight)
    return _losses.CrossEntropy.apply(*inputs, target=t, axis=axis, ignore_index=ignore_index,
                                      smoothing=float(label_smoothing), reduction=reduction)


def _cross_entropy_probs(x: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                         reduction: str, smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities: ``-sum_c(w_c t_c log_softmax(x)_c)``; 'mean'
    divides by the number of samples (the input's elements / C), as PyTorch."""
    if target.dtype.kind != "f":
        raise RuntimeError(f"cross_entropy: expected floating point type for target with class "
                           f"probabilities, got {target.dtype}")
    if ignore_index >= 0:
        raise RuntimeError("cross_entropy: ignore_index is not supported for floating point "
                           "target")
    axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[axis]
    logp = _nnops.log_softmax(x, axis)
    t = target * (1 - smoothing) + smoothing / n_classes if smoothing > 0 else target
    prod = logp * t
    if weight is not None:
        if tuple(weight.shape) != (n_classes,):
            raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                               f"{n_classes} classes or no classes but got weight tensor of "
                               f"shape: {list(weight.shape)}")
        prod = prod * mv.reshape(weight, [-1 if a == axis else 1 for a in range(x.ndim)])
    if reduction == "none":
        return -red.sum(prod, axis)
    if reduction == "sum":
        return -red.sum(prod)
    if x._data.size == 0:
        return red.sum(prod) + Tensor._make(np.array(np.nan, prod.dtype))
    return -red.sum(prod) / (x._data.size / n_classes)


def _check_same_size(input: Tensor, target: Tensor, op: str, message: str) -> None:
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: " + message.format(t=tuple(target.shape),
                                                    i=tuple(input.shape)))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """BCE of probabilities ``input`` in [0, 1]: ``-(y log x + (1 - y) log(1 - x))``, logs
    clamped at -100. Prefer ``binary_cross_entropy_with_logits`` on logits (stable)."""
    reduction = _reduction(reduction, size_average, reduce)
    _check_same_size(input, target, "binary_cross_entropy", "Using a target size ({t}) that "
                     "is different to the input size ({i}) is deprecated. Please ensure they "
                     "have the same size.")
    x = ew.floating(input)
    y = ew.cast(ew.floating(target), x.dtype)
    if not np.all((x._data >= 0) & (x._data <= 1)):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                           "and 1")
    if not np.all((y._data >= 0) & (y._data <= 1)):
        raise RuntimeError("binary_cross_entropy: all elements of target should be between 0 "
                           "and 1")
    loss = _losses.BinaryCrossEntropy.apply(x, y)
    if weight is not None:
        try:
            np.broadcast_shapes(tuple(weight.shape), tuple(x.shape))
        except ValueError:
            raise RuntimeError(f"binary_cross_entropy: weight of shape {tuple(weight.shape)} "
                               f"does not broadcast to the input's {tuple(x.shape)}") from None
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of logits, ``(1 - y) x - log_sigmoid(x) * (1 + (pos_weight - 1) y)``, exact for
    logits of +-1e4: ``F.binary_cross_entropy_with_logits(z, y, pos_weight=w)``."""
    reduction = _reduction(reduction, size_average, reduce)
    _check_same_size(input, target, "binary_cross_entropy_with_logits",
                     "Target size ({t}) must be the same as input size ({i})")
    log_sig = _losses.LogSigmoid.apply(ew.floating(input))
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2,
                       reduction: str = "none") -> Tensor:
    """Focal loss of Lin et al. (2017) on logits, as ``torchvision.ops.sigmoid_focal_loss``:
    ``alpha_t * (1 - p_t)^gamma * BCE_with_logits``; ``alpha < 0`` disables the weighting.
    ``F.sigmoid_focal_loss(logits, targets, reduction='mean')``"""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Invalid Value for arg 'reduction': '{reduction}' \n Supported "
                         "reduction modes: 'none', 'mean', 'sum'")
    p = ew.sigmoid(inputs)
    ce = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (targets * alpha + (1 - targets) * (1 - alpha)) * loss
    return _reduce(loss, reduction)
