"""Convolution and pooling over 1 or 2 spatial dimensions, as matrix products over windows.

A convolution is one GEMM: the input's windows, laid out as columns (``im2col``: a strided view
of the padded input, copied once), times the weight as a matrix. Its backward is two GEMMs, the
weight's gradient summing over every window (the weight is shared), and the input's gradient
adds each column back where its window came from (``col2im``, the adjoint of ``im2col``).
Pooling takes the same windows: max picks one element per window, average sums them.

``conv(x, w, b, stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1)``
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..autograd.function import Primitive
from ..tensor import Tensor
from . import elementwise as ew
from . import linalg as la
from . import reduce as red
from . import vocab as V


@dataclass(frozen=True)
class Windows:
    """Where the windows of an input (N, C, *spatial) are: per spatial dimension the kernel
    size, stride, dilation, padding (before, after) and the number of windows."""

    shape: tuple  # the input's (N, C, *spatial)
    groups: int
    kernel: tuple
    stride: tuple
    dilation: tuple
    padding: tuple  # ((before, after), ...)
    out: tuple

    @property
    def padded(self) -> tuple:
        return tuple(s + b + a for s, (b, a) in zip(self.shape[2:], self.padding))


def windows_view(x: np.ndarray, win: Windows, value: float = 0.0) -> np.ndarray:
    """A read-only view (N, C, *kernel, *out) of ``x`` padded with ``value``: element
    ``[n, c, *k, *o]`` is ``xp[n, c, o * stride + k * dilation]``."""
    if any(b or a for b, a in win.padding):
        x = np.pad(x, ((0, 0), (0, 0)) + win.padding, constant_values=value)
    strides = x.strides
    return np.lib.stride_tricks.as_strided(
        x, x.shape[:2] + win.kernel + win.out,
        strides[:2] + tuple(s * d for s, d in zip(strides[2:], win.dilation))
        + tuple(s * st for s, st in zip(strides[2:], win.stride)), writeable=False)


def im2col(x: np.ndarray, win: Windows) -> np.ndarray:
    """The windows as columns (N, groups, C/groups * prod(kernel), prod(out)): one copy."""
    n, c = x.shape[:2]
    return windows_view(x, win).reshape(n, win.groups, c // win.groups * math.prod(win.kernel),
                                        math.prod(win.out))


def col2im(cols: np.ndarray, win: Windows) -> np.ndarray:
    """Each column added back where its window came from (the adjoint of ``im2col``)."""
    n, c = win.shape[:2]
    blocks = cols.reshape((n, c) + win.kernel + win.out)
    out = np.zeros((n, c) + win.padded, cols.dtype)
    for k in np.ndindex(*win.kernel):
        where = tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, d, s, o in zip(
            k, win.dilation, win.stride, win.out))
        out[(slice(None), slice(None)) + where] += blocks[(slice(None), slice(None)) + k]
    crop = tuple(slice(b, b + s) for (b, _), s in zip(win.padding, win.shape[2:]))
    return out[(slice(None), slice(None)) + crop]


def input_grad(g: np.ndarray, w: np.ndarray, win: Windows) -> np.ndarray:
    """``col2im(w^T g)`` (a convolution's input gradient) computed batch-innermost: the
    columns come out of one GEMM per group as (C, *kernel, *out, N), so each kernel position's
    add covers runs of ``out[-1] * N`` contiguous elements, not of ``out[-1]`` (a numpy
    inner loop per image row made col2im cost twice the GEMM)."""
    n, c = win.shape[:2]
    groups, o = win.groups, w.shape[0]
    blocks, rows = math.prod(win.out), w[0].size  # explicit sizes: n may be 0
    g_t = np.ascontiguousarray(g.reshape(n, groups, o // groups, blocks).transpose(1, 2, 3, 0))
    cols = np.matmul(w.reshape(groups, o // groups, rows).transpose(0, 2, 1),
                     g_t.reshape(groups, o // groups, blocks * n))
    blocks = cols.reshape((c,) + win.kernel + win.out + (n,))
    out = np.zeros((c,) + win.padded + (n,), g.dtype)
    for k in np.ndindex(*win.kernel):
        where = tuple(slice(i * d, i * d + s * (m - 1) + 1, s) for i, d, s, m in zip(
            k, win.dilation, win.stride, win.out))
        out[(slice(None),) + where] += blocks[(slice(None),) + k]
    crop = tuple(slice(b, b + s) for (b, _), s in zip(win.padding, win.shape[2:]))
    out = out[(slice(None),) + crop]
    return np.ascontiguousarray(np.moveaxis(out, -1, 0))


class Im2Col(Primitive):
    """Each window of ``x`` as a column (the convolution's view of its input)."""

    torch_name = "Im2ColBackward0"
    elementwise = False
    formula = "im2col({0})"
    derivatives = ("col2im(g): each window's gradient added back in place",)

    @staticmethod
    def forward(ctx, x, win):
        ctx.win = win
        return im2col(x, win)

    @staticmethod
    def backward(ctx, g):
        return V.apply(Col2Im, g, win=ctx.win)


class Col2Im(Primitive):
    """Columns added back into the image they came from (the adjoint of ``Im2Col``)."""

    torch_name = "Col2ImBackward0"
    elementwise = False
    formula = "col2im({0})"
    derivatives = ("im2col(g)",)

    @staticmethod
    def forward(ctx, cols, win):
        ctx.win = win
        return col2im(cols, win)

    @staticmethod
    def backward(ctx, g):
        return V.apply(Im2Col, g, win=ctx.win)


class Conv(Primitive):
    """``x`` (N, C, *in) with ``w`` (O, C/groups, *kernel) [+ ``b`` (O,)] -> (N, O, *out): per
    group, ``w`` as a matrix (O/groups, C/groups * K) times the windows' columns. The columns are
    kept for the weight's gradient (and rebuilt from ``x`` when the backward is recorded)."""

    torch_name = "ConvolutionBackward0"
    elementwise = False
    formula = "conv({inputs})"
    derivatives = ("the windows' sum of w·g (a transposed convolution)",
                   "g times every window of x, summed (the weight is shared)",
                   "g summed over the batch and positions")

    @staticmethod
    def forward(ctx, x, w, *b, win):
        ctx.win = win
        cols = im2col(x, win)
        g = win.groups
        out = np.matmul(w.reshape(g, w.shape[0] // g, w[0].size), cols)
        out = out.reshape((x.shape[0], w.shape[0]) + win.out)
        if b:
            out += b[0].reshape((-1,) + (1,) * len(win.out))
        ctx.save_for_backward(x, w, cols)
        return out

    @staticmethod
    def backward(ctx, g, x, w, cols):
        needs, win = ctx.needs_input_grad, ctx.win
        groups, n, o = win.groups, win.shape[0], w.shape[0]
        g3 = V.reshape(g, (n, groups, o // groups, math.prod(win.out)))
        w3 = V.reshape(w, (groups, o // groups, math.prod(w.shape[1:])))
        gx = None
        if needs[0]:
            gx = (V.apply(Col2Im, V.matmul(V.mT(w3), g3), win=win) if V.is_tensor(g)
                  else input_grad(g, w, win))
        gw = None
        if needs[1]:
            if V.is_tensor(x):  # the columns as a function of x, for higher derivatives
                cols = V.apply(Im2Col, x, win=win)
            gw = V.reshape(V.sum(V.matmul(g3, V.mT(cols)), (0,)), w.shape)
        if len(needs) == 2:
            return gx, gw
        gb = V.sum(g, (0,) + tuple(range(2, 2 + len(win.out)))) if needs[2] else None
        return gx, gw, gb


class TakeFlat(Primitive):
    """Elements of each (n, c) plane at flat positions ``index`` (N, C, *out): max pooling."""

    torch_name = "GatherBackward0"
    elementwise = False
    formula = "take({0})"
    derivatives = ("g added at the positions taken",)

    @staticmethod
    def forward(ctx, x, index):
        ctx.index = index
        n, c = x.shape[:2]
        planes = x.reshape(n, c, math.prod(x.shape[2:]))
        return np.take_along_axis(planes, index.reshape(n, c, math.prod(index.shape[2:])),
                                  axis=2).reshape(index.shape)

    @staticmethod
    def backward(ctx, g):
        return V.apply(PutAddFlat, g, index=ctx.index, shape=ctx.input_shape(0))


class PutAddFlat(Primitive):
    """Zeros of ``shape`` with ``g`` added at the flat plane positions ``index`` (repeats add):
    the adjoint of ``TakeFlat``."""

    torch_name = "ScatterAddBackward0"
    elementwise = False
    formula = "put_add({0})"
    derivatives = ("g taken at the positions added to",)

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        n, c = shape[:2]
        plane = math.prod(shape[2:])
        flat = (np.arange(n * c).reshape(n, c, *(1,) * (index.ndim - 2)) * plane + index)
        out = np.zeros(math.prod(shape), g.dtype)
        np.add.at(out, flat.reshape(-1), g.reshape(-1))  # numpy's fast path: one flat index
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return V.apply(TakeFlat, gg, index=ctx.index)


# ---- argument handling -----------------------------------------------------------------------


def tuple_arg(value, dims: int, name: str, op: str) -> tuple:
    """An int or a sequence of ``dims`` ints, as a tuple."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * dims
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * dims
    if len(value) != dims:
        raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list of "
                           f"{dims} values to match the convolution dimensions, but got "
                           f"{name}={list(value)}")
    return value


def _batched(x: Tensor, dims: int, op: str) -> bool:
    """Whether ``x`` has a batch dimension (N, C, *spatial); unbatched is (C, *spatial)."""
    if x._data.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected {dims + 1}D (unbatched) or {dims + 2}D (batched) "
                           f"input, but got input of size: {list(x.shape)}")
    return x._data.ndim == dims + 2


def _fmt(sizes) -> str:
    return " x ".join(str(s) for s in sizes)


def conv(x: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation, groups: int,
         dims: int, op: str) -> Tensor:
    """``F.conv1d`` / ``F.conv2d`` (``dims`` spatial dimensions), checked as PyTorch checks."""
    batched = _batched(x, dims, op)
    if not batched:
        x = x.reshape((1,) + x._data.shape)
    if weight._data.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected weight to be {dims + 2}D (out_channels, "
                           f"in_channels/groups, *kernel), but got weight of size "
                           f"{list(weight.shape)}")
    if x._data.dtype != weight._data.dtype or (bias is not None
                                               and bias._data.dtype != weight._data.dtype):
        raise RuntimeError(f"{op}: input ({x.dtype}), weight ({weight.dtype})"
                           + ("" if bias is None else f" and bias ({bias.dtype})")
                           + " must have the same dtype; cast the input with .to(dtype)")
    stride = tuple_arg(stride, dims, "stride", op)
    dilation = tuple_arg(dilation, dims, "dilation", op)
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported (got {groups})")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported (got {stride})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero (got {dilation})")
    kernel = weight._data.shape[2:]
    o, c = weight._data.shape[0], x._data.shape[1]
    if c != weight._data.shape[1] * groups:
        raise RuntimeError(f"{op}: Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have "
                           f"{weight._data.shape[1] * groups} channels, but got {c} channels "
                           "instead")
    if o % groups:
        raise RuntimeError(f"{op}: Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size "
                           f"{list(weight.shape)} instead")
    if bias is not None and bias._data.shape != (o,):
        raise RuntimeError(f"{op}: Given weight of size {list(weight.shape)}, expected bias to "
                           f"be 1-dimensional with {o} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    spans = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
    if padding == "valid":
        pads = ((0, 0),) * dims
    elif padding == "same":
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided "
                               "convolutions")
        pads = tuple((t // 2, t - t // 2) for t in spans)  # the odd one after, as PyTorch
    elif isinstance(padding, str):
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                         "{'valid', 'same'}")
    else:
        pads = tuple((p, p) for p in tuple_arg(padding, dims, "padding", op))
        if any(p < 0 for p in tuple_arg(padding, dims, "padding", op)):
            raise RuntimeError(f"{op}: negative padding is not supported (got {padding})")
    padded = tuple(s + b + a for s, (b, a) in zip(x._data.shape[2:], pads))
    if any(p < t + 1 for p, t in zip(padded, spans)):
        raise RuntimeError(f"{op}: Calculated padded input size per channel: ({_fmt(padded)}). "
                           f"Kernel size: ({_fmt(t + 1 for t in spans)}). Kernel size can't be "
                           "greater than actual input size")
    out = tuple((p - t - 1) // s + 1 for p, t, s in zip(padded, spans, stride))
    win = Windows(x._data.shape, groups, kernel, stride, dilation, pads, out)
    args = (x, weight) if bias is None else (x, weight, bias)
    result = Conv.apply(*args, win=win)
    return result if batched else result.reshape(result._data.shape[1:])


# ---- pooling ---------------------------------------------------------------------------------


def _pool_windows(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
                  dims: int, op: str, what: str = "effective kernel size") -> Windows:
    kernel = tuple_arg(kernel_size, dims, "kernel_size", op)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else tuple_arg(stride, dims, "stride", op)
    padding = tuple_arg(padding, dims, "padding", op)
    dilation = tuple_arg(dilation, dims, "dilation", op)
    if any(k <= 0 for k in kernel) or any(s <= 0 for s in stride) or any(
            d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: kernel_size {kernel}, stride {stride} and dilation "
                           f"{dilation} must be greater than zero")
    spans = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
    for p, t, k in zip(padding, spans, kernel):
        if p < 0 or p > (t + 1) // 2:
            raise RuntimeError(f"{op}: pad should be at most half of {what}, but got pad={p}, "
                               f"kernel_size={k} and dilation={t // (k - 1) if k > 1 else 1}")
    out, pads = [], []
    for size, p, t, s in zip(x._data.shape[2:], padding, spans, stride):
        o = (size + 2 * p - t - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= size + p:  # the last window must start inside
            o -= 1
        if o < 1:
            raise RuntimeError(f"{op}: given input size {list(x.shape[1:])}, the calculated "
                               f"output size is too small (kernel {kernel}, stride {stride}, "
                               f"padding {padding}, dilation {dilation})")
        pads.append((p, max(p, (o - 1) * s + t + 1 - size - p)))  # ceil mode reaches further
        out.append(o)
    return Windows(x._data.shape, x._data.shape[1], kernel, stride, dilation, tuple(pads),
                   tuple(out))


def _pool_input(x: Tensor, dims: int, op: str) -> tuple[Tensor, bool]:
    batched = _batched(x, dims, op)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {x.dtype}")
    return (x if batched else x.reshape((1,) + x._data.shape)), batched


def window_max(x: np.ndarray, win: Windows) -> tuple[np.ndarray, np.ndarray]:
    """The largest element of each window and its flat position in its input plane, chosen as
    PyTorch chooses: a window's first maximum (in row-major kernel order), its last NaN (NaN
    propagates), never a padding position. Arithmetic on one contiguous copy of the windows,
    kernel position first: no masked writes (they cost 50 times a comparison)."""
    dims, kernel = len(win.kernel), math.prod(win.kernel)
    view = windows_view(x, win, value=-np.inf)  # (N, C, *kernel, *out)
    order = tuple(range(2, 2 + dims)) + (0, 1) + tuple(range(2 + dims, 2 + 2 * dims))
    flat = np.ascontiguousarray(view.transpose(order)).reshape((kernel,) + x.shape[:2] + win.out)
    best = flat.max(axis=0)
    inside = None  # per kernel position, which windows see the input there (not padding)
    if any(b or a for b, a in win.padding):
        ones = np.ones((1, 1) + x.shape[2:], np.int8)
        inside = windows_view(ones, win).transpose(order).reshape(
            (kernel, 1, 1) + win.out).astype(bool)
    dtype = np.int16 if kernel < 2 ** 15 else np.int64
    arg = np.zeros(best.shape, dtype)
    for j in range(kernel - 1, -1, -1):  # descending: the first maximum is written last
        hit = flat[j] == best
        if inside is not None:
            hit &= inside[j]
        arg += hit.astype(dtype) * (dtype(j) - arg)
    if np.isnan(best).any():
        for j in range(kernel):  # ascending: the last NaN is written last
            hit = np.isnan(flat[j])
            arg += hit.astype(dtype) * (dtype(j) - arg)
    # flat plane position = the window's corner + the kernel element's offset
    plane = x.shape[2:]
    rows = [math.prod(plane[i + 1:]) for i in range(dims)]
    offsets = sum(k * d * r for k, d, r in zip(
        np.indices(win.kernel).reshape(dims, -1), win.dilation, rows))
    corners = sum((o * s - p) * r for o, s, (p, _), r in zip(
        np.indices(win.out, sparse=True), win.stride, win.padding, rows))
    return best, offsets[arg] + corners


class MaxPool(Primitive):
    """Max pooling; the gradient goes to each window's maximum (``PutAddFlat``)."""

    torch_name = "MaxPool2DWithIndicesBackward0"
    elementwise = False
    formula = "max_pool({0})"
    derivatives = ("g at each window's maximum, 0 elsewhere",)

    @staticmethod
    def forward(ctx, x, win):
        out, ctx.index = window_max(x, win)
        return out

    @staticmethod
    def backward(ctx, g):
        return V.apply(PutAddFlat, g, index=ctx.index, shape=ctx.input_shape(0))


def max_pool(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
             return_indices: bool, dims: int, op: str):
    """The largest element of each window (the first one of a tie, as PyTorch; NaN wins), and
    with ``return_indices`` its flat position in the (unpadded) input plane."""
    x, batched = _pool_input(x, dims, op)
    win = _pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode, dims, op)
    if not return_indices:
        values = MaxPool.apply(x, win=win)
        return values if batched else values.reshape(values._data.shape[1:])
    _, index = window_max(x._data, win)
    values, indices = TakeFlat.apply(x, index=index), Tensor._make(index.astype(np.int64))
    if not batched:
        values, indices = values.reshape(values._data.shape[1:]), indices.reshape(
            index.shape[1:])
    return values, indices


def _pool_counts(size: int, kernel: int, stride: int, pad: int, out: int, include_pad: bool
                 ) -> np.ndarray:
    """Per output position along one dimension, how many elements its average divides by
    (PyTorch's rule: padding counts when asked, the ceil-mode overhang never does)."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool(x: Tensor, kernel_size, stride, padding, ceil_mode: bool, count_include_pad: bool,
             divisor_override, dims: int, op: str) -> Tensor:
    """The mean of each window: the windows' sum (``Im2Col`` by channel, summed) over a count
    that depends on the position only."""
    x, batched = _pool_input(x, dims, op)
    win = _pool_windows(x, kernel_size, stride, padding, 1, ceil_mode, dims, op, "kernel size")
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor must be not zero")
        scale = np.full(win.out, 1.0 / divisor_override)
    else:
        counts = [_pool_counts(s, k, st, p[0], o, count_include_pad) for s, k, st, p, o in zip(
            x._data.shape[2:], win.kernel, win.stride, win.padding, win.out)]
        scale = cast(np.ndarray, 1.0 / math.prod(np.ix_(*counts)))  # a product of arrays
    n, c = x._data.shape[:2]
    sums = red.sum(Im2Col.apply(x, win=win), 2)  # (N, C, prod(out))
    out = ew.mul(sums.reshape((n, c) + win.out),
                 Tensor._make(scale.astype(x._data.dtype)))
    return out if batched else out.reshape(out._data.shape[1:])


def _adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    """(out, size): row i averages the elements floor(i * size / out) .. ceil((i+1) * size /
    out) - 1 (PyTorch's adaptive windows)."""
    m = np.zeros((out, size), dtype)
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool(x: Tensor, output_size, dims: int, op: str) -> Tensor:
    """Averages over ``output_size`` windows per dimension that tile the input: a product with
    one constant averaging matrix per dimension (``None`` keeps the input's size)."""
    if x._data.ndim not in (dims + 1, dims + 2) or 0 in x._data.shape[-dims:]:
        raise RuntimeError(f"{op}: expected {dims + 1}D or {dims + 2}D input with non-zero "
                           f"spatial sizes, but got input of size: {list(x.shape)}")
    x = ew.floating(x)
    sizes = (output_size,) * dims if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(sizes) != dims:
        raise ValueError(f"{op}: output_size must be an int or {dims} values, got "
                         f"{output_size}")
    spatial = x._data.shape[-dims:]
    out_sizes = tuple(s if o is None else int(o) for s, o in zip(spatial, sizes))
    if any(o <= 0 for o in out_sizes):
        raise RuntimeError(f"{op}: output_size must be positive, got {out_sizes}")
    return resample(x, [_adaptive_matrix(s, o, x._data.dtype)
                        for s, o in zip(spatial, out_sizes)])


def resample(x: Tensor, matrices: list) -> Tensor:
    """Each of the last ``len(matrices)`` dimensions mapped by its constant (out, in) matrix
    (a matrix product per dimension; linear, so every derivative is a product too)."""
    out, dims = x, len(matrices)
    for axis, m in enumerate(matrices):  # move the dimension last, multiply, move it back
        if m.shape[0] == m.shape[1] and np.array_equal(m, np.eye(m.shape[0])):
            continue
        last = out.ndim - 1
        here = out.ndim - dims + axis
        moved = out if here == last else out.transpose(here, last)
        moved = la.matmul(moved, Tensor._make(np.ascontiguousarray(m.T)))
        out = moved if here == last else moved.transpose(here, last)
    return out if out is not x else x * 1.0


def _interpolation_matrix(size: int, out: int, mode: str, align_corners: bool,
                          scale: float | None) -> np.ndarray:
    """(out, size): PyTorch's source coordinate for each output position, as weights."""
    m = np.zeros((out, size))
    rows = np.arange(out)
    if mode == "nearest":
        step = size / out if scale is None else 1.0 / scale
        m[rows, np.minimum(np.floor(rows * step).astype(np.int64), size - 1)] = 1.0
        return m
    if align_corners:
        src = rows * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        step = size / out if scale is None else 1.0 / scale
        src = np.maximum((rows + 0.5) * step - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), size - 1)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    np.add.at(m, (rows, low), 1.0 - frac)
    np.add.at(m, (rows, high), frac)
    return m


def interpolate(x: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial): ``mode`` 'nearest', 'linear' (3-D input)
    or 'bilinear' (4-D), to ``size`` or by ``scale_factor``."""
    modes = {"nearest": None, "linear": 3, "bilinear": 4}
    if mode not in modes:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented; "
                                  f"available: {sorted(modes)}")
    dims = x._data.ndim - 2
    if dims not in (1, 2) or (modes[mode] is not None and x._data.ndim != modes[mode]):
        raise NotImplementedError(f"interpolate: got {x._data.ndim}D input with mode={mode!r}; "
                                  "supported: 3D or 4D input for 'nearest', 3D for 'linear', "
                                  "4D for 'bilinear'")
    if align_corners is not None and mode == "nearest":
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = x._data.shape[2:]
    if size is not None:
        sizes = tuple_arg(size, dims, "size", "interpolate")
        scales: tuple[float | None, ...] = (None,) * dims
    else:
        factors = ((float(scale_factor),) * dims if isinstance(scale_factor, (int, float))
                   else tuple(float(f) for f in scale_factor))
        if len(factors) != dims:
            raise ValueError(f"interpolate: scale_factor must have {dims} values, got "
                             f"{scale_factor}")
        sizes = tuple(math.floor(s * f) for s, f in zip(spatial, factors))
        scales = (None,) * dims if recompute_scale_factor else factors
    if min(sizes) <= 0:
        raise ValueError(f"interpolate: output size {sizes} must be positive")
    x = ew.floating(x)
    return resample(x, [_interpolation_matrix(s, o, mode, bool(align_corners), f).astype(
        x._data.dtype) for s, o, f in zip(spatial, sizes, scales)])


# ---- unfold / fold: the windows themselves ---------------------------------------------------


def _block_windows(shape: tuple, kernel_size, dilation, padding, stride, op: str) -> Windows:
    kernel = tuple_arg(kernel_size, 2, "kernel_size", op)
    dilation = tuple_arg(dilation, 2, "dilation", op)
    padding = tuple_arg(padding, 2, "padding", op)
    stride = tuple_arg(stride, 2, "stride", op)
    if min(kernel + dilation + stride) <= 0 or min(padding) < 0:
        raise RuntimeError(f"{op}: kernel_size {kernel}, dilation {dilation} and stride "
                           f"{stride} must be positive and padding {padding} non-negative")
    out = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(
        shape[2:], padding, dilation, kernel, stride))
    if min(out) < 1:
        raise RuntimeError(f"{op}: given input with spatial size {list(shape[2:])}, "
                           f"kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                           f"calculated shape of the array of sliding blocks as {list(out)}, "
                           "but its components must be at least one.")
    return Windows(shape, 1, kernel, stride, dilation, tuple((p, p) for p in padding), out)


def unfold(x: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of (N, C, H, W) as columns (N, C * kh * kw, L): ``F.unfold(x, 3)``."""
    batched = x._data.ndim == 4
    if x._data.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected 3D (unbatched) or 4D (batched) input, but got "
                           f"input of size: {list(x.shape)}")
    if not batched:
        x = x.reshape((1,) + x._data.shape)
    win = _block_windows(x._data.shape, kernel_size, dilation, padding, stride, "unfold")
    n, c = x._data.shape[:2]
    cols = Im2Col.apply(x, win=win).reshape(n, c * math.prod(win.kernel), math.prod(win.out))
    return cols if batched else cols.reshape(cols._data.shape[1:])


def fold(x: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns (N, C * kh * kw, L) summed back into (N, C, *output_size), overlaps adding up:
    the adjoint of ``unfold``. ``F.fold(cols, (4, 5), 2)``"""
    batched = x._data.ndim == 3
    if x._data.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected 2D (unbatched) or 3D (batched) input, but got "
                           f"input of size: {list(x.shape)}")
    if not batched:
        x = x.reshape((1,) + x._data.shape)
    kernel = tuple_arg(kernel_size, 2, "kernel_size", "fold")
    n, rows, blocks = x._data.shape
    if rows % math.prod(kernel):
        raise RuntimeError(f"fold: expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={rows} and "
                           f"kernel_size={kernel}")
    size = tuple_arg(output_size, 2, "output_size", "fold")
    win = _block_windows((n, rows // math.prod(kernel)) + size, kernel, dilation, padding,
                         stride, "fold")
    if blocks != math.prod(win.out):
        raise RuntimeError(f"fold: given output_size={size}, kernel_size={kernel}, dilation="
                           f"{win.dilation}, padding={tuple(p for p, _ in win.padding)}, "
                           f"stride={win.stride}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {win.out[0]} * "
                           f"{win.out[1]} = {math.prod(win.out)}, but got "
                           f"input.size(2)={blocks}.")
    out = Col2Im.apply(x.reshape(n, 1, rows, blocks), win=win)
    return out if batched else out.reshape(out._data.shape[1:])


# ---- transposed convolution ------------------------------------------------------------------


def conv_transpose(x: Tensor, weight: Tensor, bias: Tensor | None, stride, padding,
                   output_padding, groups: int, dilation, dims: int, op: str) -> Tensor:
    """The adjoint of ``conv`` in ``x``: each input pixel spreads ``weight`` (C_in, C_out/groups,
    *kernel) over its window of the output (N, C_out, *out); overlaps add (``Col2Im``)."""
    batched = _batched(x, dims, op)
    if not batched:
        x = x.reshape((1,) + x._data.shape)
    if weight._data.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected weight to be {dims + 2}D (in_channels, "
                           f"out_channels/groups, *kernel), but got weight of size "
                           f"{list(weight.shape)}")
    if x._data.dtype != weight._data.dtype or (bias is not None
                                               and bias._data.dtype != weight._data.dtype):
        raise RuntimeError(f"{op}: input ({x.dtype}), weight ({weight.dtype})"
                           + ("" if bias is None else f" and bias ({bias.dtype})")
                           + " must have the same dtype; cast the input with .to(dtype)")
    stride = tuple_arg(stride, dims, "stride", op)
    padding = tuple_arg(padding, dims, "padding", op)
    output_padding = tuple_arg(output_padding, dims, "output_padding", op)
    dilation = tuple_arg(dilation, dims, "dilation", op)
    n, c_in = x._data.shape[:2]
    if groups <= 0 or c_in != weight._data.shape[0] or c_in % groups:
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight._data.shape[0]} "
                           f"channels, but got {c_in} channels instead (groups={groups})")
    if any(p >= max(s, d) for p, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                           f"dilation, but got output_padding={output_padding}, stride="
                           f"{stride}, dilation={dilation}")
    kernel = weight._data.shape[2:]
    c_out = weight._data.shape[1] * groups
    if bias is not None and bias._data.shape != (c_out,):
        raise RuntimeError(f"{op}: expected bias of size [{c_out}], got {list(bias.shape)}")
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for i, s, p, d, k, op_ in zip(
        x._data.shape[2:], stride, padding, dilation, kernel, output_padding))
    if min(size) < 1:
        raise RuntimeError(f"{op}: the output size {list(size)} is too small (input "
                           f"{list(x.shape)}, padding {padding})")
    win = Windows((n, c_out) + size, groups, kernel, stride, dilation,
                  tuple((p, p) for p in padding), x._data.shape[2:])
    # per group, (C_out/groups * K, C_in/groups) @ the input's pixels, then spread back
    w3 = weight.reshape(groups, c_in // groups, -1).transpose(1, 2)
    cols = la.matmul(w3, x.reshape(n, groups, c_in // groups, math.prod(x._data.shape[2:])))
    out = Col2Im.apply(cols, win=win)
    if bias is not None:
        out = out + bias.reshape((c_out,) + (1,) * dims)
    return out if batched else out.reshape(out._data.shape[1:])


# ---- padding by copying the input's own elements ---------------------------------------------

PAD_MODES = ("reflect", "replicate", "circular")
_TORCH_PAD_NAMES = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}


def pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Per output position along one dimension, the input position it copies: position ``p``
    sits at ``p - before`` in the input's coordinates, folded back inside as ``mode`` says
    (negative amounts crop, as PyTorch)."""
    q = np.arange(-before, size + after)
    if mode == "reflect":  # the edge element is not repeated: -1 -> 1, size -> size - 2
        return np.where(q < 0, -q, np.where(q >= size, 2 * (size - 1) - q, q))
    if mode == "replicate":
        return np.clip(q, 0, size - 1)
    # circular, as PyTorch: crop first, then wrap around what is left
    start, kept = max(-before, 0), size - max(-before, 0) - max(-after, 0)
    return start + np.arange(-max(before, 0), kept + max(after, 0)) % max(kept, 1)


def _padded_axes(ndim: int, widths: tuple) -> range:
    return range(ndim - len(widths), ndim)


class CopyPad(Primitive):
    """The last ``len(widths)`` dimensions padded with the input's own elements, ``widths``
    ``((before, after), ...)`` in dimension order: ``mode`` 'reflect', 'replicate' or
    'circular'. Linear: the backward adds each copy's gradient back (``CopyPadAdjoint``)."""

    mode: str
    widths: tuple
    elementwise = False
    formula = "pad({0}, mode={mode!r})"
    derivatives = ("g with each padded element's gradient added to the element it copies",)

    @property
    def torch_name(self) -> str:  # PyTorch pads circularly with slices, so names a CopySlices
        prefix = _TORCH_PAD_NAMES.get(self.mode)
        return f"{prefix}{len(self.widths)}DBackward0" if prefix else "CopySlices"

    @staticmethod
    def forward(ctx, x, widths, mode):
        ctx.widths, ctx.mode = widths, mode
        for axis, (b, a) in zip(_padded_axes(x.ndim, widths), widths):
            x = np.take(x, pad_index(x.shape[axis], b, a, mode), axis=axis)
        return x

    @staticmethod
    def backward(ctx, g):
        return V.apply(CopyPadAdjoint, g, widths=ctx.widths, mode=ctx.mode,
                       shape=ctx.input_shape(0))


class CopyPadAdjoint(Primitive):
    """The gradient of ``CopyPad``: the unpadded middle of ``g``, plus each padded position's
    gradient added to the input position it copied."""

    mode: str
    widths: tuple
    elementwise = False
    formula = "pad_backward({0}, mode={mode!r})"
    derivatives = ("g padded as the forward pads",)

    @property
    def torch_name(self) -> str:
        prefix = _TORCH_PAD_NAMES.get(self.mode)
        return f"{prefix}{len(self.widths)}DBackwardBackward0" if prefix else \
            "SliceBackwardBackward0"

    @staticmethod
    def forward(ctx, g, widths, mode, shape):
        ctx.widths, ctx.mode = widths, mode
        for axis, (b, a) in zip(_padded_axes(g.ndim, widths), widths):
            size = shape[axis]
            index = pad_index(size, b, a, mode)
            moved = np.moveaxis(g, axis, 0)
            out = np.zeros((size,) + moved.shape[1:], g.dtype)
            lo, hi = max(b, 0), min(b + size, len(index))  # where the output copies 1:1
            if lo < hi:
                out[lo - b:hi - b] = moved[lo:hi]
            rest = np.r_[0:min(lo, len(index)), max(hi, lo):len(index)]
            np.add.at(out, index[rest], moved[rest])
            g = np.moveaxis(out, 0, axis)
        return np.ascontiguousarray(g)

    @staticmethod
    def backward(ctx, gg):
        return V.apply(CopyPad, gg, widths=ctx.widths, mode=ctx.mode)


def copy_pad(x: Tensor, pad: list, mode: str) -> Tensor:
    """``F.pad`` in mode 'reflect', 'replicate' or 'circular', checked as PyTorch checks:
    ``pad`` (of even length) is (left, right[, top, bottom[, front, back]]) for the last 1, 2
    or 3 dimensions of a batched or unbatched input."""
    dims, ndim = len(pad) // 2, x._data.ndim
    if dims not in (1, 2, 3) or ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = x._data.shape
    if mode != "circular" and 0 in shape[1:]:  # a batch may be empty, nothing else
        raise RuntimeError(f"Expected {dims + 1}D or {dims + 2}D (batch mode) tensor with "
                           "possibly 0 batch size and other non-zero dimensions for input, but "
                           f"got: {list(shape)}")
    widths = tuple((pad[2 * i], pad[2 * i + 1]) for i in reversed(range(dims)))
    letters = "DHW"[3 - dims:]
    for i in reversed(range(dims)):  # the last dimension first, as PyTorch checks
        axis, (b, a), size = ndim - dims + i, widths[i], shape[ndim - dims + i]
        out = size + b + a
        if mode == "reflect" and (b >= size or a >= size):
            raise RuntimeError(f"Argument #{4 + 2 * (dims - 1 - i)}: Padding size should be "
                               "less than the corresponding input dimension, but got: padding "
                               f"({b}, {a}) at dimension {axis} of input {list(shape)}")
        if mode == "circular":
            kept = size - max(-b, 0) - max(-a, 0)  # PyTorch reads past it (garbage): refuse
            if b > max(kept, 0) or a > max(kept, 0):
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if out < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        elif out < (1 if dims == 1 else 0):  # PyTorch allows an empty result beyond 1-D
            raise RuntimeError(f"input ({letters[i]}: {size}) is too small. Calculated output "
                               f"{letters[i]}: {out}")
    return CopyPad.apply(x, widths=widths, mode=mode)
