"""Shape and indexing ops: reshape, permute, expand, flip, indexing, gather, cat and friends."""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import MultiOutputPrimitive, Primitive
from ..tensor import Tensor, _wrap_dim
from . import elementwise as ew
from . import vocab as V


class Reshape(Primitive):
    torch_name = "ViewBackward0"
    elementwise = False
    formula = "reshape({0}, {shape})"
    derivatives = ("g reshaped back to {input_shape}",)

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return x.reshape(shape)  # ndarray methods: a fifth of np.reshape's call overhead

    @staticmethod
    def backward(ctx, g):
        return V.reshape(g, ctx.input_shape(0))


class Permute(Primitive):
    torch_name = "PermuteBackward0"
    elementwise = False
    derivatives = ("g permuted back",)
    dims: tuple[int, ...]  # set by forward

    @property
    def formula(self) -> str:  # type: ignore[override]  # varies per call
        return "{0}ᵀ" if tuple(self.dims) == (1, 0) else "permute({0}, {dims})"

    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        dims = ctx.dims
        if len(dims) == 2:  # its own inverse (w.T in every hand-written layer): no list built
            return V.permute(g, dims)
        return V.permute(g, tuple([dims.index(i) for i in range(len(dims))]))


def broadcast_view(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``np.broadcast_to(x, shape)``: a read-only view with zero strides on the broadcast axes,
    made directly for a contiguous ``x`` (np.broadcast_to builds an iterator: 3 us a call)."""
    lead = len(shape) - x.ndim
    if lead < 0 or x.size == 0 or not x.flags.c_contiguous:
        return np.broadcast_to(x, shape)
    strides = [0] * lead
    for n, s, stride in zip(x.shape, shape[lead:], x.strides):
        if n != s and n != 1:
            raise ValueError(f"cannot broadcast shape {x.shape} to {shape}")
        strides.append(stride if n == s else 0)
    view = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
    view.flags.writeable = False
    return view


class Expand(Primitive):
    """Broadcasting made explicit; its backward is a sum (the only other place that sums)."""

    torch_name = "ExpandBackward0"
    elementwise = False
    formula = "expand({0}, {shape})"
    derivatives = ("g summed over the broadcast axes",)

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return broadcast_view(x, shape)

    @staticmethod
    def backward(ctx, g):
        return V.sum_to(g, ctx.input_shape(0))


class SumTo(Primitive):
    """Sum a broadcast gradient back to ``shape``: the engine's one un-broadcasting step."""

    torch_name = "SumBackward1"
    elementwise = False
    formula = "sum_to({0}, {shape})"
    derivatives = ("g broadcast back",)

    @staticmethod
    def forward(ctx, x, shape):
        lead = x.ndim - len(shape)
        if lead == 1 and x.shape[1:] == shape:  # a bias's gradient (every batched add's)
            return x.sum(axis=0)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
        out = x.sum(axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return V.expand(g, ctx.input_shape(0))


class Flip(Primitive):
    torch_name = "FlipBackward0"
    elementwise = False
    formula = "flip({0})"
    derivatives = ("g flipped back",)

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        # a copy, as PyTorch's flip: writing into the result must not write into the input
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return V.apply(Flip, g, axes=ctx.axes)


def _shape_tuple(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(x: Tensor, shape) -> Tensor:
    return Reshape.apply(x, shape=_checked_shape(x, shape, "reshape"))


def _checked_shape(x: Tensor, shape, op: str) -> tuple:
    shape = _shape_tuple(shape) if isinstance(shape, tuple) else tuple(shape)
    if shape == x._data.shape:
        return shape
    known = math.prod(s for s in shape if s != -1)
    inferred = shape.count(-1)
    size = x._data.size
    valid = inferred <= 1 and all(s >= -1 for s in shape) and (
        known == size if not inferred else known != 0 and size % known == 0)
    if not valid:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of shape "
                           f"{tuple(x.shape)} (size {size})")
    return shape


def view(x: Tensor, shape) -> Tensor:
    """``reshape`` that refuses, as PyTorch's ``view``, a shape the input's strides cannot
    express without a copy (a transposed or sliced tensor): ``x.t().contiguous().view(-1)``."""
    shape = _checked_shape(x, shape, "view")
    data = x._data
    if not data.flags.c_contiguous and data.size and not _view_is_possible(data, shape):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return Reshape.apply(x, shape=shape)


def _view_is_possible(data: np.ndarray, shape: tuple) -> bool:
    """PyTorch's ``computeStride``: the new shape must split or merge only dimensions that are
    contiguous with one another (size-1 dimensions fit anywhere)."""
    old_shape = data.shape
    if not old_shape:
        return True
    old_stride = [s // data.itemsize for s in data.strides]
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape = tuple(data.size // known if s == -1 else s for s in shape)
    view_d = len(shape) - 1
    chunk_base_stride = old_stride[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        if tensor_d == 0 or (old_shape[tensor_d - 1] != 1 and
                             old_stride[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return False
            if tensor_d > 0:
                chunk_base_stride = old_stride[tensor_d - 1]
                tensor_numel = view_numel = 1
    return view_d == -1


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x._data.ndim == 0:
        return reshape(x, (1,))
    start = _wrap_dim(start_dim, x._data.ndim, "flatten")
    end = _wrap_dim(end_dim, x._data.ndim, "flatten")
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x._data.shape
    return reshape(x, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    axis = _wrap_dim(dim, x._data.ndim, "unflatten")
    shape = x._data.shape
    return reshape(x, shape[:axis] + tuple(sizes) + shape[axis + 1:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    shape = x._data.shape
    if dim is None:
        axes = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = {a for a in (_wrap_dim(d, x._data.ndim, "squeeze") for d in dims)
                if x._data.ndim and shape[a] == 1}
    return reshape(x, tuple(s for i, s in enumerate(shape) if i not in axes))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    ndim = x._data.ndim
    if not -ndim - 1 <= dim <= ndim:
        raise IndexError(f"unsqueeze: dimension out of range (expected to be in range of "
                         f"[{-ndim - 1}, {ndim}], but got {dim})")
    axis = dim % (ndim + 1)
    shape = x._data.shape
    return reshape(x, shape[:axis] + (1,) + shape[axis:])


def permute(x: Tensor, dims) -> Tensor:
    ndim = x._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the tensor's "
                           f"{ndim} dimensions (shape {tuple(x.shape)})")
    axes = tuple(_wrap_dim(d, ndim, "permute") for d in dims)
    if len(set(axes)) != ndim:
        raise RuntimeError(f"permute: dims {tuple(dims)} repeat a dimension")
    return Permute.apply(x, dims=axes)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    ndim = x._data.ndim
    if ndim == 0:
        return x
    axes = list(range(ndim))
    a, b = _wrap_dim(dim0, ndim, "transpose"), _wrap_dim(dim1, ndim, "transpose")
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, dims=tuple(axes))


def expand(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    ndim = x._data.ndim
    if len(shape) < ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be "
                           f"greater or equal to the number of dimensions in the tensor ({ndim})")
    lead = len(shape) - ndim
    target = []
    for i, s in enumerate(shape):
        current = x._data.shape[i - lead] if i >= lead else 1
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing "
                                   "dimension")
            s = current
        elif current != 1 and current != s:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({current}) at non-singleton dimension {i}. Target sizes: {list(shape)}. "
                f"Tensor sizes: {list(x.shape)}")
        target.append(s)
    resolved = tuple(target)
    if resolved == x._data.shape:
        return x
    return Expand.apply(x, shape=resolved)


def sum_to(x: Tensor, shape: tuple) -> Tensor:
    return x if x._data.shape == shape else SumTo.apply(x, shape=tuple(shape))


def flip(x: Tensor, dims) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(_wrap_dim(d, x._data.ndim, "flip") for d in dims)
    return Flip.apply(x, axes=axes if x._data.ndim else ())  # a 0-d tensor is its own flip


def repeat(x: Tensor, sizes) -> Tensor:
    """PyTorch's ``repeat`` (NumPy's ``tile``), built from reshape + expand + reshape."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < x._data.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller "
                           f"than number of dimensions of tensor ({x._data.ndim})")
    shape = (1,) * (len(sizes) - x._data.ndim) + x._data.shape
    interleaved = tuple(d for s in shape for d in (1, s))
    expanded = tuple(d for r, s in zip(sizes, shape) for d in (r, s))
    out = expand(reshape(x, interleaved), expanded)
    return reshape(out, tuple(r * s for r, s in zip(sizes, shape)))


def tile(x: Tensor, dims) -> Tensor:
    dims = tuple(dims)
    return repeat(x, (1,) * (x._data.ndim - len(dims)) + dims)


# ---- indexing ------------------------------------------------------------------------------


def _index_key(key):
    """A user's index with Tensors and lists replaced by arrays; whether it is advanced."""
    items = key if isinstance(key, tuple) else (key,)
    converted, advanced = [], False
    for k in items:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, list):
            k = np.asarray(k)
        if isinstance(k, np.ndarray):
            if k.dtype.kind not in "biu":
                raise IndexError(f"tensors used as indices must be long, int or bool tensors, "
                                 f"got {k.dtype}")
            advanced = True
        converted.append(k)
    return tuple(converted), advanced


class Index(Primitive):
    elementwise = False
    key: tuple  # set by forward
    advanced: bool
    formula = "{0}[…]"
    derivatives = ("g put back at the indexed places (zeros elsewhere)",)

    is_view = True

    @property
    def torch_name(self) -> str:  # type: ignore[override]  # varies per call
        """PyTorch records basic indexing as one node per index, left to right, skipping
        ``:`` and ``...``; ``out.grad_fn`` is the last one's."""
        key = self.key
        if self.advanced or any(isinstance(k, (bool, np.bool_)) for k in key):
            return "IndexBackward0"
        names = {int: "SelectBackward0", slice: "SliceBackward0", type(None): "UnsqueezeBackward0"}
        recorded = [k for k in key if k is not Ellipsis and k != slice(None)]
        if recorded:
            return names.get(type(recorded[-1]), "SelectBackward0")  # NumPy integers select
        return "SliceBackward0" if key == (slice(None),) else "AliasBackward0"

    @staticmethod
    def forward(ctx, x, key, advanced):
        ctx.key, ctx.advanced = key, advanced
        return x[key]

    @staticmethod
    def backward(ctx, g):
        return V.apply(IndexAccumulate, g, key=ctx.key, advanced=ctx.advanced,
                       shape=ctx.input_shape(0))


class IndexAccumulate(Primitive):
    """Zeros of ``shape`` with ``g`` added at ``key``; repeated indices accumulate."""

    torch_name = "IndexPutBackward0"
    elementwise = False
    formula = "zeros{shape} with {0} added at […]"
    derivatives = ("g at the indexed places",)

    @staticmethod
    def forward(ctx, g, key, advanced, shape):
        ctx.key, ctx.advanced = key, advanced
        out = np.zeros(shape, dtype=g.dtype)
        if advanced:
            np.add.at(out, key, g)
        else:
            out[key] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return V.apply(Index, gg, key=ctx.key, advanced=ctx.advanced)


def getitem(x: Tensor, key) -> Tensor:
    key, advanced = _index_key(key)
    try:
        return Index.apply(x, key=key, advanced=advanced)
    except IndexError as e:
        raise IndexError(f"__getitem__: index {key} is out of range for tensor of shape "
                         f"{tuple(x.shape)}: {e}") from None


class IndexPut(Primitive):
    """``x`` with ``value`` written at ``key``, out of place (``x[key] = v`` is built on it)."""

    torch_name = "IndexPutBackward0"
    elementwise = False
    formula = "IndexPut({0}, {1})"
    derivatives = ("g with the written places zeroed", "g at the written places")

    @staticmethod
    def forward(ctx, x, value, key):
        ctx.key = key
        out = x.copy()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx, g):
        need_x, need_value = ctx.needs_input_grad
        gx = V.apply(IndexPut, g, V.const(np.zeros((), g.dtype), g), key=ctx.key) if (
            need_x) else None
        gv = None
        if need_value:
            gv = V.sum_to(V.apply(Index, g, key=ctx.key, advanced=True), ctx.input_shape(1))
        return gx, gv


def setitem(x: Tensor, key, value) -> None:
    key, _ = _index_key(key)
    value = ew.as_tensor_like(value, x._data.dtype)
    ew.inplace(x, "__setitem__", lambda t: IndexPut.apply(t, ew.cast(value, x._data.dtype),
                                                          key=key), value)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    axis = _wrap_dim(dim, x._data.ndim, "index_select")
    idx = index._data
    if idx.ndim > 1:
        raise IndexError("index_select: Index is supposed to be a vector")
    if idx.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"index_select: Expected dtype int32 or int64 for index, got "
                           f"{idx.dtype}")
    _check_in_bounds(idx, x._data.shape[axis] if x._data.ndim else 1, dim, "index_select")
    return getitem(x, (slice(None),) * axis + (idx.reshape(-1),))


def _check_in_bounds(index: np.ndarray, size: int, dim: int, op: str) -> None:
    """PyTorch's refusal of an index outside [0, size): no wrap-around of -1 as NumPy does."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise RuntimeError(f"{op}: index {bad} is out of bounds for dimension {dim} with "
                           f"size {size} (expected 0 <= index < {size})")


class Gather(Primitive):
    torch_name = "GatherBackward0"
    elementwise = False
    formula = "gather({0})"
    derivatives = ("g scattered back (summing repeats)",)

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.index, ctx.axis = index, axis
        region = tuple(slice(None) if a == axis else slice(0, s)
                       for a, s in enumerate(index.shape))
        return np.take_along_axis(x[region], index, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return V.apply(ScatterAdd, g, index=ctx.index, axis=ctx.axis, shape=ctx.input_shape(0))


class ScatterAdd(Primitive):
    torch_name = "ScatterAddBackward0"
    elementwise = False
    formula = "scatter_add(zeros{shape}, dim={axis}, {0})"
    derivatives = ("g gathered back",)

    @staticmethod
    def forward(ctx, g, index, axis, shape):
        ctx.index, ctx.axis = index, axis
        out = np.zeros(shape, dtype=g.dtype)
        positions = list(np.ogrid[tuple(slice(s) for s in index.shape)])
        positions[axis] = index
        np.add.at(out, tuple(positions), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return V.apply(Gather, gg, index=ctx.index, axis=ctx.axis)


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    axis = _wrap_dim(dim, x._data.ndim, "gather")
    idx = index._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"gather: Expected dtype int64 for index, got {idx.dtype}")
    if idx.ndim != x._data.ndim or any(i > s for a, (i, s) in enumerate(
            zip(idx.shape, x._data.shape)) if a != axis):
        raise RuntimeError(f"gather: index of shape {tuple(idx.shape)} does not fit input of "
                           f"shape {tuple(x.shape)} along dim {dim}")
    _check_in_bounds(idx, x._data.shape[axis] if x._data.ndim else 1, dim, "gather")
    if x._data.ndim == 0:  # one element: gathered as a vector of one
        return reshape(Gather.apply(reshape(x, (1,)), index=idx.reshape(1), axis=0), ())
    return Gather.apply(x, index=idx, axis=axis)


# ---- joining and splitting -----------------------------------------------------------------


class Cat(Primitive):
    torch_name = "CatBackward0"
    elementwise = False
    formula = "cat({inputs})"
    derivatives = ("this input's slice of g",)
    shares_grads = True  # each input's gradient is a view of g

    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        grads, start, axis = [], 0, ctx.axis
        for i, needed in enumerate(ctx.needs_input_grad):
            stop = start + ctx.input_shape(i)[axis]
            grads.append(V.apply(Index, g, key=(slice(None),) * axis + (slice(start, stop),),
                                 advanced=False) if needed else None)
            start = stop
        return tuple(grads)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension: ``cr.cat([x, y], dim=1)``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of Tensors")
    first = tensors[0]
    if first._data.ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensor cannot be concatenated")
    axis = _wrap_dim(dim, first._data.ndim, "cat")
    for i, t in enumerate(tensors):
        if t._data.ndim != first._data.ndim or any(
                a != axis and s != fs for a, (s, fs) in enumerate(zip(t.shape, first.shape))):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {axis}; "
                               f"tensor 0 has shape {tuple(first.shape)} and tensor {i} has "
                               f"shape {tuple(t.shape)}")
    dtype = first._data.dtype
    for t in tensors[1:]:
        dtype = np.promote_types(dtype, t._data.dtype)
    return Cat.apply(*[ew.cast(t, dtype) for t in tensors], axis=axis)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension: ``cr.stack([x, y])``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at "
                               f"entry {i}")
    ndim = tensors[0]._data.ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"stack: dimension out of range (expected to be in range of "
                         f"[{-ndim}, {ndim - 1}], but got {dim})")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


class Split(MultiOutputPrimitive):
    """``x`` cut along ``axis`` at ``bounds`` (views); one node for all pieces, whose backward
    joins the pieces' gradients once (zeros for pieces that got none). Per-piece slicing would
    cost O(L^2) in backward: each slice's gradient is a zero-filled array of x's full size.
    ``squeeze`` drops the axis from every piece (``unbind``)."""

    kind: str
    elementwise = False
    formula = "split({0}, dim={axis})"
    derivatives = ("the pieces' gradients joined along dim (zeros for unused pieces)",)

    is_view = True

    @property
    def torch_name(self) -> str:
        return self.kind

    @staticmethod
    def forward(ctx, x, axis, bounds, squeeze=False, kind="SplitBackward0"):
        ctx.axis, ctx.bounds, ctx.squeeze, ctx.kind = axis, bounds, squeeze, kind
        lead = (slice(None),) * axis
        if squeeze:
            return tuple([x[lead + (a,)] for a, _ in bounds])
        return tuple([x[lead + (slice(a, b),)] for a, b in bounds])

    @staticmethod
    def backward(ctx, grads):
        present = next(g for g in grads if g is not None)
        shape, axis = ctx.input_shape(0), ctx.axis
        pieces = []
        for g, (a, b) in zip(grads, ctx.bounds):
            piece = shape[:axis] + (b - a,) + shape[axis + 1:]
            if g is None:
                g = V.const(np.zeros(piece, present.dtype), present)
            elif ctx.squeeze:
                g = V.reshape(g, piece)
            pieces.append(g)
        if len(pieces) == 1:
            return pieces[0]
        return V.apply(Cat, *pieces, axis=axis)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    axis = _wrap_dim(dim, x._data.ndim, "split")
    size = x._data.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if step == 0 and size != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size} (input of shape {tuple(x.shape)}, "
                               f"dim {dim})")
        bounds = [(s, min(s + step, size)) for s in range(0, size, step)] if step else []
        bounds = bounds or [(0, size)]
        kind = "SplitBackward0"
    else:
        sections = [int(n) for n in split_size_or_sections]
        if sum(sections) != size or any(n < 0 for n in sections):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sections}")
        starts = np.cumsum([0] + sections[:-1])
        bounds = [(int(s), int(s) + n) for s, n in zip(starts, sections)]
        kind = "SplitWithSizesBackward0"
    return Split.apply(x, axis=axis, bounds=tuple(bounds), kind=kind)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = x._data.shape[_wrap_dim(dim, x._data.ndim, "chunk")]
    if size == 0:  # PyTorch gives `chunks` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, -(-size // chunks), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    if x._data.ndim == 0:
        raise IndexError("unbind: Dimension specified as 0 but tensor has no dimensions")
    axis = _wrap_dim(dim, x._data.ndim, "unbind")
    bounds = tuple((i, i + 1) for i in range(x._data.shape[axis]))
    if not bounds:
        return ()
    return Split.apply(x, axis=axis, bounds=bounds, squeeze=True, kind="UnbindBackward0")


def tensor_split(x: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """PyTorch's ``tensor_split``: ``n`` sections (the first ``size % n`` one longer than the
    rest), or the pieces between ``indices``, each pair of neighbours bounding a Python slice
    (negative counts from the end; an index below its predecessor gives an empty piece and the
    next piece starts at it, overlapping). ``tensor_split(x, [2, 5], dim=1)``"""
    if x._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    if isinstance(indices_or_sections, Tensor):
        spec = indices_or_sections._data
        if spec.ndim > 1 or spec.dtype.kind not in "iu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a "
                               "zero-dimensional or one-dimensional tensor of integers, but got "
                               f"a tensor of shape {spec.shape} and dtype {spec.dtype}")
        indices_or_sections = int(spec) if spec.ndim == 0 else [int(i) for i in spec]
    axis = _wrap_dim(dim, x._data.ndim, "tensor_split")
    size = x._data.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)) \
            and not isinstance(indices_or_sections, bool):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        short, longer = divmod(size, sections)
        edges = [i * short + min(i, longer) for i in range(sections + 1)]
        bounds = list(zip(edges, edges[1:]))
    elif isinstance(indices_or_sections, (list, tuple)) and all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool)
            for i in indices_or_sections):
        edges = [0, *indices_or_sections, size]
        bounds = []
        for a, b in zip(edges, edges[1:]):
            start, stop, _ = slice(a, b).indices(size)
            bounds.append((start, max(start, stop)))
    else:
        raise TypeError(f"tensor_split(): indices_or_sections must be an int, a sequence of ints "
                        f"or an integer tensor, got {indices_or_sections!r}")
    if all(a == b for (_, a), (b, _) in zip(bounds, bounds[1:])):  # the pieces tile x: one node
        return Split.apply(x, axis=axis, bounds=tuple(bounds), kind="SliceBackward0")
    lead = (slice(None),) * axis
    return tuple([getitem(x, lead + (slice(a, b),)) for a, b in bounds])


# ---- scatter, index_add, roll, repeat_interleave (issue 13) ---------------------------------


def _positions(index: np.ndarray, axis: int) -> tuple:
    """The places ``index`` addresses along ``axis``: itself there, its own position on every
    other axis (PyTorch's scatter/gather addressing)."""
    positions = list(np.ogrid[tuple(slice(s) for s in index.shape)])
    positions[axis] = index
    return tuple(positions)


def _region(index: np.ndarray) -> tuple:
    """The part of ``src`` that ``index`` reads (src may be larger than index)."""
    return tuple(slice(0, s) for s in index.shape)


class Scatter(Primitive):
    """``x`` with ``src``'s values written (``reduce=None``) or added (``"add"``) at the places
    ``index`` addresses along ``axis``: PyTorch's scatter and scatter_add, out of place.
    ``kind`` is PyTorch's name of the node: ScatterBackward0 (src a tensor), ScatterBackward1
    (a number), ScatterAddBackward0, or NotImplemented (scatter's ``reduce=``, which has no
    derivative: backward raises, as PyTorch's)."""

    reduce: str | None
    kind: str
    elementwise = False
    formula = "scatter({0}, dim={axis}, {1})"
    derivatives = ("g, zeroed where written (scatter) or whole (scatter_add)",
                   "g gathered at the index (zeros where src was not read)")

    @property
    def torch_name(self) -> str:
        return self.kind

    @staticmethod
    def forward(ctx, x, src, index, axis, reduce=None, kind="ScatterBackward0"):
        ctx.index, ctx.axis, ctx.reduce, ctx.kind = index, axis, reduce, kind
        out = x.copy()
        values = src[_region(index)]
        if reduce == "add":
            np.add.at(out, _positions(index, axis), values)
        elif reduce == "multiply":
            np.multiply.at(out, _positions(index, axis), values)
        else:
            out[_positions(index, axis)] = values
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.kind == "NotImplemented":
            raise RuntimeError(f"derivative for aten::scatter is not implemented: scatter with "
                               f"reduce={ctx.reduce!r} has none (PyTorch neither); for a "
                               "gradient use scatter_add")
        need_x, need_src = ctx.needs_input_grad
        index, axis = ctx.index, ctx.axis
        gx = gsrc = None
        if need_x:
            gx = g if ctx.reduce == "add" else V.apply(
                Scatter, g, V.const(np.zeros(index.shape, g.dtype), g), index=index, axis=axis,
                kind="ScatterBackward1")
        if need_src:
            gsrc = V.apply(Gather, g, index=index, axis=axis)
            if index.shape != ctx.input_shape(1):
                gsrc = V.apply(IndexAccumulate, gsrc, key=_region(index), advanced=False,
                               shape=ctx.input_shape(1))
        return gx, gsrc


def _check_scatter(op: str, x: Tensor, axis: int, dim: int, index: Tensor, src) -> np.ndarray:
    """PyTorch's checks of a scatter: an int64 index with x's number of dimensions, no larger
    than src anywhere nor than x off ``dim``, its values inside x's size along ``dim``."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    idx = index._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {idx.dtype}")
    ndim = max(x._data.ndim, 1)
    src_shape = src._data.shape if isinstance(src, Tensor) else None
    if isinstance(src, Tensor) and src._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (self "
                           f"{x._data.dtype}, src {src._data.dtype})")
    if idx.size and (max(idx.ndim, 1) != ndim or (
            src_shape is not None and max(len(src_shape), 1) != ndim)):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"self tensor (index {tuple(idx.shape)}, self {tuple(x.shape)}"
                           + ("" if src_shape is None else f", src {tuple(src_shape)}") + ")")
    x_shape = x._data.shape or (1,)
    idx_shape = idx.shape or (1,)
    if idx.size and (any(i > s for a, (i, s) in enumerate(zip(idx_shape, x_shape)) if a != axis)
                     or (src_shape is not None and any(
                         i > s for i, s in zip(idx_shape, src_shape or (1,))))):
        raise RuntimeError(f"{op}(): Expected index {tuple(idx.shape)} to be smaller than self "
                           f"{tuple(x.shape)} apart from dimension {dim}"
                           + ("" if src_shape is None else
                              f" and to be smaller size than src {tuple(src_shape)}"))
    _check_in_bounds(idx, x_shape[axis], dim, op)
    return idx


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None, op: str = "scatter") -> Tensor:
    """``x`` with ``src`` (a tensor, or a number: ``value``) written at ``index`` along ``dim``;
    ``reduce="add"`` / ``"multiply"`` combines instead of overwriting (no gradient: backward
    raises, as PyTorch's)."""
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{op}(): expected a 'src' tensor or a 'value' number")
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"{op}(): reduce argument must be either add or multiply, got "
                           f"{reduce!r}")
    kind = "NotImplemented" if reduce else (
        "ScatterBackward0" if isinstance(src, Tensor) else "ScatterBackward1")
    return _scatter(op, x, dim, index, src, reduce, kind)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor, op: str = "scatter_add"
                ) -> Tensor:
    """``x`` plus ``src``'s values added at ``index`` along ``dim`` (repeats accumulate)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}(): argument 'src' must be Tensor, not {type(src).__name__}")
    return _scatter(op, x, dim, index, src, "add", "ScatterAddBackward0")


def _scatter(op: str, x: Tensor, dim: int, index: Tensor, src, reduce: str | None,
             kind: str) -> Tensor:
    axis = _wrap_dim(dim, x._data.ndim, op)
    idx = _check_scatter(op, x, axis, dim, index, src)
    if not isinstance(src, Tensor):
        src = Tensor._make(np.full(idx.shape, src, dtype=x._data.dtype))
    if x._data.ndim == 0:  # one element: address it as a vector of one
        out = Scatter.apply(reshape(x, (1,)), reshape(src, (1,)), index=idx.reshape(-1),
                            axis=0, reduce=reduce, kind=kind)
        return reshape(out, ())
    return Scatter.apply(x, src, index=idx, axis=axis, reduce=reduce, kind=kind)


class IndexAdd(Primitive):
    """``x`` with ``alpha * source`` added at the rows ``index`` picks along ``axis``
    (repeats accumulate): PyTorch's index_add, out of place."""

    torch_name = "IndexAddBackward0"
    elementwise = False
    formula = "index_add({0}, dim={axis}, {1}, alpha={alpha})"
    derivatives = ("g", "alpha · g selected at the index")

    @staticmethod
    def forward(ctx, x, source, index, axis, alpha):
        ctx.index, ctx.axis, ctx.alpha = index, axis, alpha
        out = x.copy()
        np.add.at(out, (slice(None),) * axis + (index,), source if alpha == 1 else alpha * source)
        return out

    @staticmethod
    def backward(ctx, g):
        need_x, need_source = ctx.needs_input_grad
        gsource = None
        if need_source:
            gsource = V.apply(Index, g, key=(slice(None),) * ctx.axis + (ctx.index,),
                              advanced=True)
            if ctx.alpha != 1:
                gsource = gsource * ctx.alpha
        return (g if need_x else None), gsource


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """``x`` with ``alpha * source[..., i, ...]`` added at ``x[..., index[i], ...]``."""
    axis = _wrap_dim(dim, x._data.ndim, "index_add")
    if not isinstance(index, Tensor) or not isinstance(source, Tensor):
        raise TypeError("index_add(): arguments 'index' and 'source' must be Tensors")
    idx = index._data
    if idx.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"index_add(): Expected dtype int32/int64 for index, got {idx.dtype}")
    if idx.ndim > 1:
        raise IndexError(f"index_add(): Index is supposed to be a vector, got shape "
                         f"{tuple(idx.shape)}")
    if source._data.dtype != x._data.dtype:
        raise RuntimeError(f"index_add(): self ({x._data.dtype}) and source "
                           f"({source._data.dtype}) must have the same scalar type")
    x_shape, s_shape = x._data.shape or (1,), source._data.shape or (1,)
    expected = x_shape[:axis] + (idx.size,) + x_shape[axis + 1:]
    if s_shape != expected:
        raise RuntimeError(f"index_add(): source of shape {tuple(source.shape)} does not match "
                           f"self {tuple(x.shape)} with {idx.size} indices along dim {dim} "
                           f"(expected {expected})")
    _check_in_bounds(idx, x_shape[axis], dim, "index_add")
    if x._data.ndim == 0:
        out = IndexAdd.apply(reshape(x, (1,)), reshape(source, (1,)), index=idx.reshape(-1),
                             axis=0, alpha=alpha)
        return reshape(out, ())
    return IndexAdd.apply(x, source, index=idx.reshape(-1), axis=axis, alpha=alpha)


class Roll(Primitive):
    torch_name = "RollBackward0"
    elementwise = False
    formula = "roll({0}, {shifts}, {axes})"
    derivatives = ("g rolled back",)

    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return np.roll(x, shifts, axes)

    @staticmethod
    def backward(ctx, g):
        return V.apply(Roll, g, shifts=tuple(-s for s in ctx.shifts), axes=ctx.axes)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """``x`` shifted cyclically by ``shifts`` along ``dims`` (flattened first if dims is None)."""
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: "
                               f"{len(shifts)}, dims: 0")
        return reshape(Roll.apply(reshape(x, (-1,)), shifts=(int(shifts[0]),), axes=(0,)),
                       x._data.shape)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if x._data.ndim == 0:
        return Roll.apply(x, shifts=(), axes=()) if all(
            _wrap_dim(d, 0, "roll") == 0 for d in dims) else x
    axes = tuple(_wrap_dim(int(d), x._data.ndim, "roll") for d in dims)
    return Roll.apply(x, shifts=tuple(int(s) for s in shifts), axes=axes)


def repeat_interleave(x: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place:
    ``repeat_interleave(cr.tensor([1, 2]), 2)`` -> ``[1, 1, 2, 2]``. With only a tensor of
    counts, the indices repeated: ``repeat_interleave(cr.tensor([1, 2]))`` -> ``[0, 1, 1]``."""
    if repeats is None:  # repeat_interleave(repeats): arange(len) repeated by the counts
        counts = x._data
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise RuntimeError(f"repeat_interleave(): repeats must be a 1-D int64 tensor, got "
                               f"shape {tuple(x.shape)} {counts.dtype}")
        _check_counts(counts, output_size)
        return Tensor._make(np.repeat(np.arange(counts.size, dtype=np.int64),
                                      counts.reshape(-1)))
    if dim is None:
        x, axis = reshape(x, (-1,)), 0
    else:
        axis = _wrap_dim(dim, x._data.ndim, "repeat_interleave")
    size = x._data.shape[axis] if x._data.ndim else 1
    if isinstance(repeats, Tensor):
        counts = repeats._data
        if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, size):
            raise RuntimeError(f"repeat_interleave(): repeats must have the same size as input "
                               f"along dim {dim}: input {tuple(x.shape)}, repeats "
                               f"{tuple(repeats.shape)} {counts.dtype}")
        counts = counts.reshape(-1)
    elif isinstance(repeats, (int, np.integer)):
        counts = np.asarray([int(repeats)])
    else:
        raise TypeError(f"repeat_interleave(): repeats must be an int or a Tensor, not "
                        f"{type(repeats).__name__}")
    _check_counts(counts, None)
    if x._data.ndim == 0:
        x = reshape(x, (1,))
    index = np.repeat(np.arange(size, dtype=np.int64), np.broadcast_to(counts, (size,)))
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f"repeat_interleave(): output_size {output_size} does not match the "
                           f"repeated size {index.size}")
    return getitem(x, (slice(None),) * axis + (index,))


def _check_counts(counts: np.ndarray, output_size: int | None) -> None:
    if counts.size and counts.min() < 0:
        raise RuntimeError("repeat_interleave(): repeats can not be negative")
    if output_size is not None and output_size != int(counts.sum()):
        raise RuntimeError(f"repeat_interleave(): output_size {output_size} does not match the "
                           f"sum of repeats {int(counts.sum())}")
