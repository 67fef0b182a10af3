"""Normalization layers: BatchNorm1d/2d (batch statistics, running averages), LayerNorm and
GroupNorm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _dtypes
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .parameter import Parameter


def _scale_and_shift(module: Module, shape, dtype: np.dtype, affine: bool, bias: bool) -> None:
    """``weight`` (ones) and ``bias`` (zeros) of ``shape`` where asked for, registered as None
    otherwise, as PyTorch's normalisation layers do."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype)) if affine else None)
    module.register_parameter("bias",
                              Parameter(np.zeros(shape, dtype)) if affine and bias else None)


class _BatchNorm(Module):
    """Normalize each of ``num_features`` channels (dim 1) over the batch and the trailing
    dims, then scale by ``weight`` and shift by ``bias``.

    Training: batch mean and biased variance normalize; ``running_mean`` / ``running_var``
    move towards the batch mean and *unbiased* variance by ``momentum`` (``momentum=None``: a
    cumulative average over ``num_batches_tracked`` batches). Eval: the running statistics.
    """

    _version = 2
    _input_dims: tuple = ()  # the input ranks the layer accepts

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        dtype = _dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _scale_and_shift(self, num_features, dtype, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0
            for t in (self.running_mean, self.running_var, self.num_batches_tracked):
                t._bump_version()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            self.weight._bump_version()
            if self.bias is not None:
                self.bias._data[...] = 0
                self.bias._bump_version()

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if input.ndim not in self._input_dims:
            raise ValueError(f"{name}: expected {' or '.join(f'{d}D' for d in self._input_dims)}"
                             f" input (got {input.ndim}D input of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{name}: input has {input.shape[1]} channels (dim 1, shape "
                             f"{tuple(input.shape)}), expected num_features={self.num_features}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) per channel: ``nn.BatchNorm1d(64)``."""

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) per channel: ``nn.BatchNorm2d(16)``."""

    _input_dims = (4,)


class LayerNorm(Module):
    """Normalize over the last dims ``normalized_shape`` of each sample (biased variance), then
    apply an elementwise ``weight`` and ``bias``: ``nn.LayerNorm(512)``."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = _dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
        _scale_and_shift(self, self.normalized_shape, dtype, elementwise_affine, bias)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            self.weight._data[...] = 1
            self.weight._bump_version()
            if self.bias is not None:
                self.bias._data[...] = 0
                self.bias._bump_version()

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalize each sample over ``num_groups`` groups of channels (biased variance), then
    scale and shift per channel (``weight`` ones, ``bias`` zeros): ``nn.GroupNorm(4, 32)``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dtype = _dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
        _scale_and_shift(self, num_channels, dtype, affine, bias)

    def reset_parameters(self) -> None:
        if self.affine:
            for p, value in ((self.weight, 1), (self.bias, 0)):
                if p is not None:
                    p._data[...] = value
                    p._bump_version()

    def forward(self, input: Tensor) -> Tensor:
        if self.affine and input.ndim >= 2 and input.shape[1] != self.num_channels:
            raise RuntimeError(f"GroupNorm({self.num_groups}, {self.num_channels}): Expected "
                               f"input with num_channels={self.num_channels} channels (dim 1) "
                               f"to match weight of shape [{self.num_channels}], but got input "
                               f"of shape {list(input.shape)} ({input.shape[1]} channels, "
                               f"dtype {input.dtype})")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
