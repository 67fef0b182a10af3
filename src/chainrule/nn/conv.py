"""Convolution and pooling layers with PyTorch's names, parameters and initialisation, so that
``load_state_dict`` moves weights between the libraries: ``nn.Conv2d(1, 6, 5, padding=2)``."""

from __future__ import annotations

import math
from typing import cast

from ..ops.conv import PAD_MODES, tuple_arg
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import Dropout, _empty
from .module import Module


class _ConvNd(Module):
    _dims = 0
    _op = ""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        name, dims = type(self).__name__, self._dims
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups (in_channels="
                             f"{in_channels}, groups={groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups (out_channels="
                             f"{out_channels}, groups={groups})")
        if padding_mode not in ("zeros",) + PAD_MODES:
            raise ValueError("padding_mode must be one of {'zeros', 'reflect', 'replicate', "
                             f"'circular'}}, but got padding_mode={padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple_arg(kernel_size, dims, "kernel_size", name)
        self.stride = tuple_arg(stride, dims, "stride", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 "of {'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = tuple_arg(padding, dims, "padding", name)
        self.dilation = tuple_arg(dilation, dims, "dilation", name)
        # F.pad's amounts (last dimension first) for the padding modes that copy the input
        if self.padding == "valid":
            self._reversed_padding_repeated_twice = [0, 0] * dims
        elif self.padding == "same":
            spans = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            self._reversed_padding_repeated_twice = [
                p for t in reversed(spans) for p in (t // 2, t - t // 2)]
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(cast(tuple, self.padding))
                                                     for _ in range(2)]
        self.transposed = False
        self.output_padding = (0,) * dims
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = _empty(*self._weight_shape(), dtype=dtype)
        if bias:
            self.bias = _empty(out_channels, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _weight_shape(self) -> tuple:
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        conv = F.conv1d if self._dims == 1 else F.conv2d
        if self.padding_mode != "zeros":  # pad by copying, then convolve without padding
            return conv(F.pad(input, self._reversed_padding_repeated_twice,
                              mode=self.padding_mode), self.weight, self.bias, self.stride,
                        0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                    self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution of (N, C_in, L) with weight (C_out, C_in/groups, k):
    ``nn.Conv1d(16, 32, 3, padding=1)``."""

    _dims = 1


class Conv2d(_ConvNd):
    """2-D convolution of (N, C_in, H, W) with weight (C_out, C_in/groups, kh, kw), initialised
    as PyTorch (weight kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))):
    ``nn.Conv2d(1, 6, kernel_size=5, padding=2)``."""

    _dims = 2


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, not "
                             f"{padding!r}")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        self.transposed = True
        self.output_padding = tuple_arg(output_padding, self._dims, "output_padding",
                                        type(self).__name__)

    def _weight_shape(self) -> tuple:
        return (self.in_channels, self.out_channels // self.groups) + self.kernel_size

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        output_padding = self.output_padding
        if output_size is not None:  # the output_padding that reaches output_size
            sizes = tuple(output_size)[-self._dims:]
            smallest = tuple((i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in zip(
                input.shape[-self._dims:], self.stride, cast(tuple, self.padding), self.dilation,
                self.kernel_size))
            output_padding = tuple(o - m for o, m in zip(sizes, smallest))
        conv = F.conv_transpose1d if self._dims == 1 else F.conv_transpose2d
        return conv(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution, weight (C_in, C_out/groups, k):
    ``nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1)``."""

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (upsampling by ``stride``), weight (C_in, C_out/groups, kh,
    kw): ``nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)``."""

    _dims = 2


class _MaxPoolNd(Module):
    _dims = 0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor):
        pool = F.max_pool1d if self._dims == 1 else F.max_pool2d
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The largest element of each window of (N, C, L): ``nn.MaxPool1d(2)``."""

    _dims = 1


class MaxPool2d(_MaxPoolNd):
    """The largest element of each window of (N, C, H, W): ``nn.MaxPool2d(2)``."""

    _dims = 2


class AvgPool1d(Module):
    """The mean of each window of (N, C, L): ``nn.AvgPool1d(3, stride=2)``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = tuple_arg(kernel_size, 1, "kernel_size", "AvgPool1d")
        self.stride = tuple_arg(stride if stride is not None else kernel_size, 1, "stride",
                                "AvgPool1d")
        self.padding = tuple_arg(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each window of (N, C, H, W): ``nn.AvgPool2d(2)``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Averages over ``output_size`` windows that tile the length: ``nn.AdaptiveAvgPool1d(1)``."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Averages over ``output_size`` windows that tile the plane:
    ``nn.AdaptiveAvgPool2d((1, 1))``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class Dropout1d(Dropout):
    """In training, zero whole channels of (N, C, L) with probability ``p`` and scale the rest
    by ``1 / (1 - p)``: ``nn.Dropout1d(0.1)``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout1d):
    """In training, zero whole channels of (N, C, H, W) with probability ``p`` and scale the
    rest by ``1 / (1 - p)``: ``nn.Dropout2d(0.1)``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Unfold(Module):
    """Sliding blocks as columns: ``nn.Unfold(kernel_size=3, padding=1)``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding="
                f"{self.padding}, stride={self.stride}")


class Fold(Unfold):
    """Columns summed back into images: ``nn.Fold(output_size=(4, 5), kernel_size=2)``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()


class Upsample(Module):
    """Resize by ``F.interpolate``: ``nn.Upsample(scale_factor=2, mode='bilinear')``."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"


class _PadNd(Module):
    """Pads the last ``_dims`` dimensions by ``padding`` (an int for every side, or PyTorch's
    (left, right[, top, bottom]) tuple) with ``F.pad`` in mode ``_mode``."""

    _dims = 0
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = ((int(padding),) * (2 * self._dims)
                        if isinstance(padding, int) else tuple(padding))

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pads the last dimension with ``value``: ``nn.ConstantPad1d((1, 2), 3.5)``."""

    _dims = 1

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pads the last two dimensions with ``value``: ``nn.ConstantPad2d((1, 1, 2, 0), 3.5)``."""

    _dims = 2


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros: ``nn.ZeroPad1d(2)``."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    """Pads the last two dimensions with zeros: ``nn.ZeroPad2d((1, 1, 2, 0))``."""

    _dims = 2


class ReflectionPad1d(_PadNd):
    """Pads the last dimension with its reflection (the edge not repeated):
    ``nn.ReflectionPad1d(2)``."""

    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pads the last two dimensions with their reflection: ``nn.ReflectionPad2d((1, 1, 2, 0))``."""

    _dims, _mode = 2, "reflect"


class ReplicationPad1d(_PadNd):
    """Pads the last dimension by repeating its edge elements: ``nn.ReplicationPad1d(2)``."""

    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pads the last two dimensions by repeating their edges: ``nn.ReplicationPad2d(1)``."""

    _dims, _mode = 2, "replicate"


class CircularPad1d(_PadNd):
    """Pads the last dimension by wrapping around: ``nn.CircularPad1d(2)``."""

    _dims, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pads the last two dimensions by wrapping around: ``nn.CircularPad2d((1, 1, 2, 0))``."""

    _dims, _mode = 2, "circular"
