"""The op table: every differentiable op with an input domain, written once for both libraries.

A program takes a namespace ``m`` (``m.lib`` is chainrule or torch) and tensors, so the same
entry drives the float64 gradient checks and the differential tests against PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    program: object
    shapes: tuple
    domains: tuple = ()  # one per input; default "any"
    torch: bool = True  # PyTorch has the same op with the same semantics
    extra: dict = field(default_factory=dict)

    def arrays(self, rng: np.random.Generator, dtype=np.float64) -> list[np.ndarray]:
        domains = self.domains or ("any",) * len(self.shapes)
        return [draw(rng, s, d).astype(dtype) for s, d in zip(self.shapes, domains)]

    def __str__(self) -> str:
        return self.name


def draw(rng: np.random.Generator, shape, domain: str) -> np.ndarray:
    if domain == "any":
        return rng.standard_normal(shape)
    if domain == "pos":  # logs, roots, divisors
        return rng.uniform(0.5, 2.0, shape)
    if domain == "kink":  # away from 0, where abs/relu/sign have kinks
        return rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "unit":  # inside (-1, 1), away from tan's poles
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "mod_x":  # x % y away from its jumps (y drawn from "mod_y")
        return rng.uniform(2.2, 2.8, shape)
    if domain == "mod_y":
        return rng.uniform(1.0, 1.05, shape)
    raise ValueError(domain)


UNARY_SHAPES = [(3, 4), (), (0, 3)]
BROADCAST_PAIRS = [((3, 4), (1, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (3,)),
                   ((3, 4), (3, 4))]
REDUCE_DIMS = [None, 0, 1, 2, -1, (0, 1), (0, 2), (1, 2), (0, 1, 2)]

UNARY = {
    "neg": (lambda m, x: -x, "any"),
    "exp": (lambda m, x: x.exp(), "any"),
    "log": (lambda m, x: x.log(), "pos"),
    "log1p": (lambda m, x: x.log1p(), "pos"),
    "expm1": (lambda m, x: x.expm1(), "any"),
    "sqrt": (lambda m, x: x.sqrt(), "pos"),
    "rsqrt": (lambda m, x: x.rsqrt(), "pos"),
    "sin": (lambda m, x: x.sin(), "any"),
    "cos": (lambda m, x: x.cos(), "any"),
    "tan": (lambda m, x: x.tan(), "unit"),
    "tanh": (lambda m, x: x.tanh(), "any"),
    "sigmoid": (lambda m, x: x.sigmoid(), "any"),
    "relu": (lambda m, x: x.relu(), "kink"),
    "abs": (lambda m, x: x.abs(), "kink"),
    "reciprocal": (lambda m, x: x.reciprocal(), "pos"),
    "erf": (lambda m, x: x.erf(), "any"),
    "gelu": (lambda m, x: m.F.gelu(x), "any"),
    "square": (lambda m, x: x.square(), "any"),
    "pow_2": (lambda m, x: x ** 2, "any"),
    "pow_3": (lambda m, x: x ** 3, "any"),
    "pow_half": (lambda m, x: x ** 0.5, "pos"),
    "pow_neg": (lambda m, x: x ** -1.5, "pos"),
    "rpow": (lambda m, x: 2.0 ** x, "any"),
    "clamp": (lambda m, x: x.clamp(-0.5, 0.7), "kink"),
    "clamp_min": (lambda m, x: x.clamp(min=0.1), "kink"),
    "sign": (lambda m, x: x.sign() * x, "kink"),
    "floor": (lambda m, x: x.floor() + x, "kink"),
    "ceil": (lambda m, x: x.ceil() * x, "kink"),
    "round": (lambda m, x: x.round() * x, "kink"),
    "scalar_ops": (lambda m, x: (3.0 - x) / 2 + 1.5 * x - x / 4.0, "any"),
    "rdiv": (lambda m, x: 1.5 / x, "pos"),
    "clone": (lambda m, x: x.clone() * 2, "any"),
    # issue 12: PyTorch names added by the compat work
    "log2": (lambda m, x: x.log2(), "pos"),
    "log10": (lambda m, x: m.lib.log10(x), "pos"),
    "square_fn": (lambda m, x: m.lib.square(x), "any"),
    "round_decimals": (lambda m, x: m.lib.round(x, decimals=2) * x, "kink"),
    "exp_": (lambda m, x: (x * 1).exp_(), "any"),
    "exp2": (lambda m, x: m.lib.exp2(x), "any"),
    "erfc": (lambda m, x: m.lib.erfc(x), "any"),
    "sqrt_": (lambda m, x: (x * 1).sqrt_(), "pos"),
    "abs_": (lambda m, x: (x * 1).abs_(), "kink"),
    "neg_": (lambda m, x: (x * 1).neg_(), "any"),
    "relu_": (lambda m, x: (x * 1).relu_(), "kink"),
    "sigmoid_": (lambda m, x: (x * 1).sigmoid_(), "any"),
    "tanh_": (lambda m, x: (x * 1).tanh_(), "any"),
}

BINARY = {
    "add": (lambda m, x, y: x + y, ("any", "any")),
    "sub": (lambda m, x, y: x - y, ("any", "any")),
    "mul": (lambda m, x, y: x * y, ("any", "any")),
    "div": (lambda m, x, y: x / y, ("any", "pos")),
    "pow": (lambda m, x, y: x ** y, ("pos", "any")),
    "maximum": (lambda m, x, y: m.lib.maximum(x, y), ("any", "any")),
    "minimum": (lambda m, x, y: m.lib.minimum(x, y), ("any", "any")),
    "where": (lambda m, x, y: m.lib.where(x > 0.3, x, y), ("any", "any")),
    "remainder": (lambda m, x, y: x % y, ("mod_x", "mod_y")),
    "add_alpha": (lambda m, x, y: x.add(y, alpha=0.5), ("any", "any")),
    "remainder_method": (lambda m, x, y: x.remainder(y), ("mod_x", "mod_y")),
}

REDUCTIONS = {
    "sum": lambda m, x, d, k: x.sum(d, keepdim=k) if d is not None else x.sum(),
    "mean": lambda m, x, d, k: x.mean(d, keepdim=k) if d is not None else x.mean(),
    "amax": lambda m, x, d, k: x.amax(() if d is None else d, keepdim=k),
    "amin": lambda m, x, d, k: x.amin(() if d is None else d, keepdim=k),
    "var": lambda m, x, d, k: x.var(d, keepdim=k),
    "std": lambda m, x, d, k: x.std(d, keepdim=k),
    "var_c0": lambda m, x, d, k: x.var(d, keepdim=k, correction=0),
    "norm": lambda m, x, d, k: x.norm(2, dim=d, keepdim=k),
    "norm_1": lambda m, x, d, k: x.norm(1, dim=d, keepdim=k),
    "norm_3": lambda m, x, d, k: x.norm(3, dim=d, keepdim=k),
    "logsumexp": lambda m, x, d, k: x.logsumexp(tuple(range(x.ndim)) if d is None else d,
                                                keepdim=k),
}

SINGLE_DIM_REDUCTIONS = {
    "prod": lambda m, x, d, k: x.prod(d, keepdim=k) if d is not None else x.prod(),
    "max_dim": lambda m, x, d, k: x.max(d, keepdim=k)[0] if d is not None else x.max(),
    "min_dim": lambda m, x, d, k: x.min(d, keepdim=k)[0] if d is not None else x.min(),
    "cumsum": lambda m, x, d, k: x.cumsum(d if d is not None else 0),
    "softmax": lambda m, x, d, k: x.softmax(d if d is not None else -1),
    "log_softmax": lambda m, x, d, k: x.log_softmax(d if d is not None else 0),
}

MOVEMENT = [
    Case("reshape", lambda m, x: x.reshape(4, 3) * 1, ((3, 4),)),
    Case("reshape_infer", lambda m, x: x.reshape(-1, 2), ((3, 4),)),
    Case("view", lambda m, x: x.view(12), ((3, 4),)),
    Case("flatten", lambda m, x: x.flatten(1), ((2, 3, 4),)),
    Case("unflatten", lambda m, x: x.unflatten(1, (2, 2)), ((3, 4),)),
    Case("squeeze", lambda m, x: x.squeeze(), ((3, 1, 4, 1),)),
    Case("squeeze_dim", lambda m, x: x.squeeze(1), ((3, 1, 4),)),
    Case("unsqueeze", lambda m, x: x.unsqueeze(-1), ((3, 4),)),
    Case("transpose", lambda m, x: x.transpose(0, 2), ((2, 3, 4),)),
    Case("permute", lambda m, x: x.permute(2, 0, 1), ((2, 3, 4),)),
    Case("T", lambda m, x: x.T, ((3, 4),)),
    Case("mT", lambda m, x: x.mT, ((2, 3, 4),)),
    Case("expand", lambda m, x: x.expand(2, 3, 4), ((3, 1),)),
    Case("expand_keep", lambda m, x: x.expand(-1, 4), ((3, 1),)),
    Case("broadcast_to", lambda m, x: x.broadcast_to((2, 3)), ((3,),)),
    Case("repeat", lambda m, x: x.repeat(2, 1, 3), ((3, 4),)),
    Case("tile", lambda m, x: x.tile((2,)), ((3, 4),)),
    Case("tril", lambda m, x: x.tril(), ((3, 4),)),
    Case("tril_k", lambda m, x: m.lib.tril(x, -1), ((2, 3, 4),)),
    Case("triu", lambda m, x: x.triu(1), ((4, 3),)),
    Case("triu_fn", lambda m, x: m.lib.triu(input=x, diagonal=-2), ((2, 4, 4),)),
    Case("swapaxes", lambda m, x: x.swapaxes(0, 2), ((2, 3, 4),)),
    Case("movedim", lambda m, x: x.movedim(0, -1), ((2, 3, 4),)),
    Case("movedim_many", lambda m, x: x.movedim((0, 1), (2, 0)), ((2, 3, 4),)),
    Case("narrow", lambda m, x: x.narrow(1, 1, 2), ((2, 3, 4),)),
    Case("narrow_neg", lambda m, x: x.narrow(-1, -3, 2), ((2, 3, 4),)),
    Case("hstack", lambda m, x, y: m.lib.hstack([x, y]), ((3, 2), (3, 4))),
    Case("hstack_1d", lambda m, x, y: m.lib.hstack([x, y]), ((3,), (2,))),
    Case("vstack", lambda m, x, y: m.lib.vstack([x, y]), ((4,), (2, 4))),
    Case("dstack", lambda m, x, y: m.lib.dstack([x, y]), ((2, 3), (2, 3, 2))),
    Case("broadcast_tensors", lambda m, x, y: m.lib.broadcast_tensors(x, y)[0] *
         m.lib.broadcast_tensors(x, y)[1], ((3, 1), (1, 4))),
    Case("masked_select", lambda m, x: m.lib.masked_select(x, x > 0.1), ((3, 4),)),
    Case("movedim_fn", lambda m, x: m.lib.movedim(x, 1, 0), ((2, 3, 4),)),
    Case("swapaxes_fn", lambda m, x: m.lib.swapaxes(x, 0, 1), ((2, 3),)),
    Case("flip", lambda m, x: x.flip(0, 1), ((3, 4),)),
    Case("index_int", lambda m, x: x[1], ((3, 4),)),
    Case("index_slice", lambda m, x: x[1:, ::2], ((3, 4),)),
    Case("index_neg_step", lambda m, x: x[..., None, -2], ((2, 3, 4),)),
    Case("index_repeat", lambda m, x: x[[0, 2, 0, 0]], ((3, 4),)),
    Case("index_two_arrays", lambda m, x: x[[0, 1, 1], [3, 3, 0]], ((3, 4),)),
    Case("index_mask", lambda m, x: x[x > 0], ((3, 4),)),
    Case("index_mixed", lambda m, x: x[:, [1, 1, 2]], ((3, 4),)),
    Case("index_select", lambda m, x: x.index_select(1, m.lib.tensor([0, 3, 0])), ((3, 4),)),
    Case("gather", lambda m, x: x.gather(1, m.lib.tensor([[0, 0], [1, 3], [2, 2]])), ((3, 4),)),
    Case("masked_fill", lambda m, x: x.masked_fill(x > 0.5, 2.0), ((3, 4),)),
    Case("cat", lambda m, x, y: m.lib.cat([x, y, x], 1), ((3, 4), (3, 2))),
    Case("stack", lambda m, x, y: m.lib.stack([x, y], 1), ((3, 4), (3, 4))),
    Case("split", lambda m, x: x.split(2, 1)[1] * 2, ((3, 5),)),
    Case("split_sizes", lambda m, x: m.lib.cat(x.split([1, 3], 1)[::-1], 1), ((3, 4),)),
    Case("chunk", lambda m, x: x.chunk(2, 0)[0], ((3, 4),)),
    Case("unbind", lambda m, x: x.unbind(1)[2], ((3, 4),)),
    Case("matmul_2d", lambda m, x, y: x @ y, ((3, 4), (4, 5))),
    Case("matmul_batched", lambda m, x, y: x @ y, ((2, 3, 4), (4, 5))),
    Case("matmul_bcast", lambda m, x, y: x @ y, ((2, 1, 3, 4), (3, 4, 2))),
    Case("matmul_vec_mat", lambda m, x, y: x @ y, ((4,), (2, 4, 5))),
    Case("matmul_mat_vec", lambda m, x, y: x @ y, ((3, 4), (4,))),
    Case("matmul_vec_vec", lambda m, x, y: x @ y, ((4,), (4,))),
    # a 2-D right operand: the batch dimensions fold into one product, views or copies
    Case("matmul_4d_by_2d", lambda m, x, y: x @ y, ((2, 3, 2, 4), (4, 5))),
    Case("matmul_transposed_by_weight_t", lambda m, x, y: x.transpose(0, 1) @ y.T,
         ((3, 2, 4), (5, 4))),
    Case("matmul_sliced_by_2d", lambda m, x, y: x[:, 1:] @ y, ((2, 4, 4), (4, 3))),
    # the lookup's gradient sums repeated rows (padding_idx and scale_grad_by_freq are no
    # derivatives, so they are compared with PyTorch in tests/nn, not gradchecked); no indices
    Case("embedding_repeats", lambda m, w: m.F.embedding(
        m.lib.tensor([[0, 2, 0], [3, 2, 2]]), w), ((4, 3),)),
    Case("embedding_no_indices", lambda m, w: m.F.embedding(
        m.lib.zeros(0, 2, dtype=m.lib.long), w), ((4, 3),)),
    Case("linear_4d", lambda m, x, w, b: m.F.linear(x, w, b), ((2, 3, 2, 4), (5, 4), (5,))),
    Case("linear_transposed_input", lambda m, x, w: m.F.linear(x.transpose(0, 1), w),
         ((3, 2, 4), (5, 4))),
    Case("linear_strided_rows", lambda m, x, w, b: m.F.linear(x[..., :4], w, b),
         ((2, 3, 6), (5, 4), (5,))),
    Case("mm", lambda m, x, y: x.mm(y), ((3, 4), (4, 2))),
    Case("bmm", lambda m, x, y: x.bmm(y), ((2, 3, 4), (2, 4, 2))),
    Case("dot", lambda m, x, y: x.dot(y), ((4,), (4,))),
    Case("outer", lambda m, x, y: x.outer(y), ((3,), (4,))),
    Case("einsum_bmm", lambda m, x, y: m.lib.einsum("bij,bjk->bik", x, y), ((2, 3, 4), (2, 4, 2))),
    Case("einsum_sum_away", lambda m, x, y: m.lib.einsum("ij,k->i", x, y), ((3, 4), (5,))),
    Case("einsum_ellipsis", lambda m, x, y: m.lib.einsum("...ij,jk", x, y), ((2, 3, 4), (4, 2))),
    Case("einsum_three", lambda m, x, y, z: m.lib.einsum("i,ij,j->", x, y, z),
         ((3,), (3, 4), (4,))),
    Case("einsum_transpose", lambda m, x: m.lib.einsum("ij->ji", x), ((3, 4),)),
]

# Convolution and pooling (ops/conv.py): edge shapes are stride > kernel, padding > 0, groups =
# channels, dilation > 1, batch 1, odd sizes, unbatched input.
CONV = [
    Case("conv2d", lambda m, x, w, b: m.F.conv2d(x, w, b), ((2, 3, 5, 6), (4, 3, 3, 2), (4,))),
    Case("conv2d_stride_pad", lambda m, x, w, b: m.F.conv2d(x, w, b, stride=2, padding=1),
         ((2, 2, 7, 5), (3, 2, 3, 3), (3,))),
    Case("conv2d_stride_gt_kernel", lambda m, x, w: m.F.conv2d(x, w, stride=(3, 4)),
         ((2, 2, 7, 9), (3, 2, 2, 2))),
    Case("conv2d_depthwise_batch1", lambda m, x, w, b: m.F.conv2d(x, w, b, padding=1, groups=4),
         ((1, 4, 5, 5), (4, 1, 3, 3), (4,))),
    Case("conv2d_groups2", lambda m, x, w: m.F.conv2d(x, w, groups=2, stride=(1, 2)),
         ((2, 4, 5, 6), (6, 2, 2, 3))),
    Case("conv2d_dilation", lambda m, x, w, b: m.F.conv2d(x, w, b, padding=(1, 2), dilation=2),
         ((2, 2, 7, 6), (3, 2, 3, 2), (3,))),
    Case("conv2d_same_even_kernel", lambda m, x, w: m.F.conv2d(x, w, padding="same"),
         ((2, 2, 5, 4), (3, 2, 2, 3))),
    Case("conv2d_valid_1x1", lambda m, x, w: m.F.conv2d(x, w, padding="valid"),
         ((2, 3, 3, 3), (2, 3, 1, 1))),
    Case("conv2d_unbatched", lambda m, x, w, b: m.F.conv2d(x, w, b, stride=2),
         ((2, 5, 5), (3, 2, 3, 3), (3,))),
    Case("conv1d", lambda m, x, w, b: m.F.conv1d(x, w, b, padding=1), ((2, 3, 7), (4, 3, 3), (4,))),
    Case("conv1d_stride_dilation_groups", lambda m, x, w: m.F.conv1d(
        x, w, stride=2, dilation=2, groups=2, padding=2), ((1, 4, 9), (4, 2, 3))),
    Case("max_pool2d", lambda m, x: m.F.max_pool2d(x, 2), ((2, 3, 6, 7),)),
    Case("max_pool2d_overlap_ceil", lambda m, x: m.F.max_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True), ((2, 2, 6, 7),)),
    Case("max_pool2d_dilation", lambda m, x: m.F.max_pool2d(x, (2, 3), (1, 2), dilation=2),
         ((1, 2, 7, 8),)),
    Case("max_pool2d_stride_gt_kernel", lambda m, x: m.F.max_pool2d(x, 2, stride=3),
         ((2, 2, 7, 8),)),
    Case("max_pool2d_indices", lambda m, x: m.F.max_pool2d(x, 2, return_indices=True)[0],
         ((3, 5, 4),)),
    Case("max_pool1d", lambda m, x: m.F.max_pool1d(x, 3, 2, padding=1, ceil_mode=True),
         ((2, 3, 8),)),
    Case("avg_pool2d", lambda m, x: m.F.avg_pool2d(x, 2), ((2, 3, 6, 7),)),
    Case("avg_pool2d_pad_ceil", lambda m, x: m.F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
         ((2, 2, 6, 7),)),
    Case("avg_pool2d_exclude_pad", lambda m, x: m.F.avg_pool2d(
        x, (3, 2), (2, 1), (1, 1), ceil_mode=True, count_include_pad=False), ((1, 2, 6, 5),)),
    Case("avg_pool2d_divisor", lambda m, x: m.F.avg_pool2d(x, 2, divisor_override=3),
         ((2, 2, 5, 5),)),
    Case("avg_pool1d", lambda m, x: m.F.avg_pool1d(x, 3, 2, 1, count_include_pad=False),
         ((2, 3, 8),)),
    Case("adaptive_avg_pool2d", lambda m, x: m.F.adaptive_avg_pool2d(x, (3, 2)),
         ((2, 3, 7, 5),)),
    Case("adaptive_avg_pool2d_global", lambda m, x: m.F.adaptive_avg_pool2d(x, 1),
         ((2, 3, 4, 5),)),
    Case("adaptive_avg_pool1d", lambda m, x: m.F.adaptive_avg_pool1d(x, 4), ((2, 3, 10),)),
    Case("batch_norm_2d", lambda m, x, w, b: m.F.batch_norm(x, None, None, w, b, True),
         ((3, 2, 4, 3), (2,), (2,))),
    Case("group_norm", lambda m, x, w, b: m.F.group_norm(x, 2, w, b), ((2, 4, 3, 3), (4,), (4,))),
    Case("group_norm_1d", lambda m, x: m.F.group_norm(x, 3), ((2, 3, 5),)),
    Case("conv_transpose2d", lambda m, x, w, b: m.F.conv_transpose2d(x, w, b),
         ((2, 3, 4, 3), (3, 2, 3, 2), (2,))),
    Case("conv_transpose2d_stride_pad_outpad", lambda m, x, w: m.F.conv_transpose2d(
        x, w, stride=(2, 3), padding=1, output_padding=(1, 2)), ((2, 2, 3, 3), (2, 3, 3, 3))),
    Case("conv_transpose2d_groups_dilation", lambda m, x, w, b: m.F.conv_transpose2d(
        x, w, b, stride=2, groups=2, dilation=2), ((1, 4, 3, 2), (4, 1, 2, 3), (2,))),
    Case("conv_transpose1d", lambda m, x, w: m.F.conv_transpose1d(x, w, stride=3, padding=2),
         ((2, 3, 4), (3, 2, 4))),
    Case("conv2d_empty_batch", lambda m, x, w: m.F.conv2d(x, w, padding=1),
         ((0, 2, 4, 4), (3, 2, 3, 3))),
    Case("conv_transpose2d_empty_batch", lambda m, x, w: m.F.conv_transpose2d(x, w, stride=2),
         ((0, 2, 3, 3), (2, 3, 2, 2))),
    Case("max_pool2d_empty_batch", lambda m, x: m.F.max_pool2d(x, 2), ((0, 2, 4, 4),)),
    Case("group_norm_empty_batch", lambda m, x: m.F.group_norm(x, 2), ((0, 4, 3, 3),)),
    Case("interpolate_nearest", lambda m, x: m.F.interpolate(x, size=(7, 3)), ((2, 3, 5, 4),)),
    Case("interpolate_nearest_scale", lambda m, x: m.F.interpolate(x, scale_factor=1.7),
         ((1, 2, 5, 4),)),
    Case("interpolate_bilinear", lambda m, x: m.F.interpolate(
        x, scale_factor=2.5, mode="bilinear"), ((1, 2, 3, 4),)),
    Case("interpolate_bilinear_align_corners", lambda m, x: m.F.interpolate(
        x, size=(3, 7), mode="bilinear", align_corners=True), ((2, 2, 5, 4),)),
    Case("interpolate_linear_down", lambda m, x: m.F.interpolate(x, size=3, mode="linear"),
         ((2, 3, 7),)),
    Case("unfold", lambda m, x: m.F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
         ((2, 3, 5, 6),)),
    Case("unfold_unbatched", lambda m, x: m.F.unfold(x, 2), ((2, 3, 4),)),
    Case("fold_overlapping", lambda m, x: m.F.fold(x, (4, 5), 2), ((2, 12, 12),)),
    Case("fold_strided_padded", lambda m, x: m.F.fold(x, (5, 4), (3, 2), padding=1, stride=2),
         ((1, 6, 9),)),
    # padding that copies the input's elements: the widest legal amounts, crops, unbatched
    Case("pad_reflect_1d", lambda m, x: m.F.pad(x, (3, 2), mode="reflect"), ((2, 3, 4),)),
    Case("pad_reflect_2d_crop", lambda m, x: m.F.pad(x, (1, -1, 3, 2), mode="reflect"),
         ((2, 2, 4, 5),)),
    Case("pad_reflect_3d_unbatched", lambda m, x: m.F.pad(x, (1, 2, 0, 1, 2, 1),
                                                          mode="reflect"), ((2, 3, 3, 4),)),
    Case("pad_replicate_1d_unbatched", lambda m, x: m.F.pad(x, (5, 1), mode="replicate"),
         ((3, 2),)),
    Case("pad_replicate_2d", lambda m, x: m.F.pad(x, (2, 0, 1, 3), mode="replicate"),
         ((2, 3, 3, 4),)),
    Case("pad_replicate_3d_crop", lambda m, x: m.F.pad(x, (-1, 2, 1, 1, 0, 2),
                                                       mode="replicate"), ((1, 2, 2, 3, 4),)),
    Case("pad_circular_1d", lambda m, x: m.F.pad(x, (4, 1), mode="circular"), ((2, 3, 4),)),
    Case("pad_circular_2d_crop", lambda m, x: m.F.pad(x, (3, -2, 1, 4), mode="circular"),
         ((2, 2, 4, 5),)),
    Case("pad_circular_3d", lambda m, x: m.F.pad(x, (1, 1, 2, 0, 0, 1), mode="circular"),
         ((1, 2, 2, 3, 3),)),
    Case("pad_reflect_empty_batch", lambda m, x: m.F.pad(x, (1, 2), mode="reflect"),
         ((0, 2, 4),)),
    Case("conv2d_after_reflect_pad", lambda m, x, w, b: m.F.conv2d(
        m.F.pad(x, (1, 1, 2, 2), mode="reflect"), w, b, stride=2),
        ((2, 2, 5, 4), (3, 2, 3, 3), (3,))),
]

# Attention (nn/attention.py, composed of the ops above): masks that block a whole row (zeros,
# as PyTorch), causal with fewer queries than keys, length-1 sequences, bool and float masks.
_ROW_BLOCKED = np.array([[True, False, True, True], [False] * 4, [True, True, False, True]])
_FLOAT_MASK = np.where(_ROW_BLOCKED, 0.0, -np.inf) + np.linspace(-0.5, 0.5, 12).reshape(3, 4)
ATTENTION = [
    Case("sdpa", lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v),
         ((2, 3, 4), (2, 4, 4), (2, 4, 3))),
    Case("sdpa_causal_rect_scale", lambda m, q, k, v: m.F.scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.3), ((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 2))),
    Case("sdpa_bool_mask_blocked_row", lambda m, q, k, v: m.F.scaled_dot_product_attention(
        q, k, v, attn_mask=m.lib.tensor(_ROW_BLOCKED)), ((2, 3, 4), (2, 4, 4), (2, 4, 3))),
    Case("sdpa_float_mask_blocked_row", lambda m, q, k, v: m.F.scaled_dot_product_attention(
        q, k, v, attn_mask=m.lib.tensor(_FLOAT_MASK).to(q.dtype)),
         ((2, 3, 4), (2, 4, 4), (2, 4, 3))),
    Case("sdpa_length_one", lambda m, q, k, v: m.F.scaled_dot_product_attention(
        q, k, v, is_causal=True), ((2, 1, 1, 4), (2, 1, 1, 4), (2, 1, 1, 4))),
    Case("masked_fill_causal_softmax", lambda m, x: x.masked_fill(
        m.lib.tril(m.lib.ones(4, 4)) == 0, float("-inf")).softmax(-1), ((2, 4, 4),)),
]

# BatchNorm1d's input (N, C, L), in training (batch statistics) and eval (running statistics)
_RUNNING = (np.array([0.1, -0.2, 0.3]), np.array([0.5, 1.5, 2.0]))
NORMALIZATION = [
    Case("batch_norm_ncl", lambda m, x, w, b: m.F.batch_norm(x, None, None, w, b, True),
         ((4, 3, 5), (3,), (3,))),
    Case("batch_norm_ncl_eval", lambda m, x, w, b: m.F.batch_norm(
        x, m.lib.tensor(_RUNNING[0]).to(x.dtype), m.lib.tensor(_RUNNING[1]).to(x.dtype), w, b,
        False), ((4, 3, 5), (3,), (3,))),
    Case("batch_norm_ncl_length_one", lambda m, x: m.F.batch_norm(x, None, None, training=True),
         ((4, 3, 1),)),
    # layer norm (one op): with and without each affine parameter, over one or two dims
    Case("layer_norm", lambda m, x, w, b: m.F.layer_norm(x, (4,), w, b), ((2, 3, 4), (4,), (4,))),
    Case("layer_norm_plain", lambda m, x: m.F.layer_norm(x, (4,)), ((3, 4),)),
    Case("layer_norm_weight_only_2d", lambda m, x, w: m.F.layer_norm(x, (3, 4), w),
         ((2, 3, 4), (3, 4))),
    Case("layer_norm_bias_only_transposed", lambda m, x, b: m.F.layer_norm(
        x.transpose(0, 1), (4,), None, b), ((3, 2, 4), (4,))),
    Case("layer_norm_two_elements", lambda m, x, w, b: m.F.layer_norm(x, (2,), w, b),
         ((3, 2), (2,), (2,))),
]


# Ordering, scatter and friends (issue 13): edge shapes are 0-d, empty, dim=-1, k=0, duplicate
# indices where they accumulate; ties only where PyTorch specifies the order (stable sort).
SURFACE = [
    Case("sort", lambda m, x: x.sort()[0], ((3, 5),)),
    Case("sort_desc_dim0", lambda m, x: m.lib.sort(x, 0, descending=True).values, ((4, 3),)),
    Case("sort_scalar", lambda m, x: x.sort()[0], ((),)),
    Case("sort_empty", lambda m, x: x.sort(0)[0], ((0, 3),)),
    Case("sort_stable_ties", lambda m, x: m.lib.cat([x, x], -1).sort(stable=True)[0], ((2, 3),)),
    Case("msort", lambda m, x: m.lib.msort(x), ((4, 2),)),
    Case("topk", lambda m, x: x.topk(2)[0], ((3, 5),)),
    Case("topk_smallest_dim0", lambda m, x: m.lib.topk(x, 3, dim=0, largest=False).values,
         ((4, 2),)),
    Case("topk_k0", lambda m, x: x.topk(0, dim=1)[0], ((3, 4),)),
    Case("topk_scalar", lambda m, x: x.topk(1)[0], ((),)),
    Case("scatter", lambda m, x, y: x.scatter(1, m.lib.tensor([[0, 2], [1, 4], [3, 0]]), y),
         ((3, 5), (3, 2))),
    Case("scatter_src_larger", lambda m, x, y: m.lib.scatter(
        x, 0, m.lib.tensor([[2, 0, 1]]), y), ((3, 4), (2, 4)), torch=False),
    Case("scatter_value", lambda m, x: x.scatter(-1, m.lib.tensor([[1], [0]]), 2.5), ((2, 3),)),
    Case("scatter_inplace", lambda m, x, y: (x * 1).scatter_(0, m.lib.tensor([[1, 0]]), y),
         ((2, 2), (1, 2))),
    Case("scatter_add_duplicates", lambda m, x, y: m.lib.scatter_add(
        x, 1, m.lib.tensor([[0, 0, 3], [2, 2, 2]]), y), ((2, 4), (2, 3))),
    Case("scatter_add_inplace", lambda m, x, y: (x * 1).scatter_add_(
        0, m.lib.tensor([[1, 1], [0, 1]]), y), ((2, 2), (2, 2))),
    Case("scatter_add_empty_index", lambda m, x, y: x.scatter_add(
        0, m.lib.zeros((0, 2), dtype=m.lib.int64), y), ((3, 2), (0, 2))),
    Case("index_add_duplicates", lambda m, x, y: x.index_add(
        0, m.lib.tensor([2, 0, 2]), y, alpha=-1.5), ((3, 2), (3, 2))),
    Case("index_add_dim_neg", lambda m, x, y: m.lib.index_add(
        x, -1, m.lib.tensor([1, 1]), y), ((2, 3), (2, 2))),
    Case("index_add_inplace", lambda m, x, y: (x * 1).index_add_(1, m.lib.tensor([0]), y),
         ((2, 3), (2, 1))),
    Case("repeat_interleave", lambda m, x: x.repeat_interleave(3, dim=1), ((2, 3),)),
    Case("repeat_interleave_flat", lambda m, x: m.lib.repeat_interleave(x, 2), ((2, 3),)),
    Case("repeat_interleave_tensor", lambda m, x: x.repeat_interleave(
        m.lib.tensor([2, 0, 1]), dim=-1, output_size=3), ((2, 3),)),
    Case("repeat_interleave_scalar", lambda m, x: x.repeat_interleave(2), ((),)),
    Case("roll", lambda m, x: x.roll(2), ((3, 4),)),
    Case("roll_dims", lambda m, x: m.lib.roll(x, (1, -3), (0, -1)), ((2, 3, 4),)),
    Case("roll_empty", lambda m, x: x.roll(1, 1), ((0, 3),)),
    Case("baddbmm", lambda m, x, a, b: m.lib.baddbmm(x, a, b, beta=0.5, alpha=-2.0),
         ((3, 1), (2, 3, 4), (2, 4, 2))),
    Case("baddbmm_method", lambda m, x, a, b: x.baddbmm(a, b), ((2, 3, 2), (2, 3, 4), (2, 4, 2))),
    Case("baddbmm_beta0_alpha", lambda m, x, a, b: x.baddbmm(a, b, beta=0, alpha=0.5),
         ((2, 3, 2), (2, 3, 4), (2, 4, 2))),
    Case("baddbmm_vector_input_batch1", lambda m, x, a, b: m.lib.baddbmm(x, a, b, beta=2),
         ((2,), (1, 3, 4), (1, 4, 2))),
    Case("baddbmm_empty_inner", lambda m, x, a, b: m.lib.baddbmm(x, a, b, alpha=3),
         ((2, 3, 2), (2, 3, 0), (2, 0, 2))),
    Case("split_some_pieces_unused", lambda m, x: x.split(2, -1)[2] * x.split(2, -1)[0][:, :1],
         ((3, 5),)),
    Case("chunk_all_pieces", lambda m, x: m.lib.stack(x.chunk(3, 0)[::-1], 0), ((6, 2),)),
    Case("unbind_last", lambda m, x: x.unbind(-1)[0] - 2 * x.unbind(-1)[3], ((2, 4),)),
    Case("unbind_0d_pieces", lambda m, x: x.unbind()[1], ((3,),)),
    Case("tensor_split_sections", lambda m, x: m.lib.cat(x.tensor_split(3, 1)[::-1], 1),
         ((2, 7),)),
    Case("tensor_split_indices", lambda m, x: m.lib.tensor_split(x, [1, -2, 9], dim=-1)[1] * 3,
         ((2, 5),)),
    Case("tensor_split_overlapping", lambda m, x: m.lib.cat(x.tensor_split([4, 1], 0), 0),
         ((5, 2),)),
    Case("flip_scalar", lambda m, x: x.flip(0), ((),)),
    Case("flip_neg_dims", lambda m, x: m.lib.flip(x, [-1, 0]), ((2, 3, 4),)),
    Case("gather_scalar", lambda m, x: x.gather(0, m.lib.tensor(0)), ((),)),
    Case("gather_duplicates_dim_neg", lambda m, x: x.gather(-1, m.lib.tensor([[1, 1, 0]])),
         ((2, 3),)),
    Case("cumsum_neg_dim", lambda m, x: m.lib.cumsum(x, -1), ((2, 0, 3),)),
]


def _lstm_cell(m):
    """PyTorch's ``torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)`` and chainrule's."""
    if m.lib.__name__ == "torch":
        return m.lib.lstm_cell
    from chainrule.nn.rnn import lstm_cell

    return lstm_cell


# kind: (chainrule's layer op, PyTorch's cell function, number of states, the op's params)
_LAYERS = {"rnn_tanh": ("RNNLayer", "rnn_tanh_cell", 1, {"nonlinearity": "tanh"}),
           "rnn_relu": ("RNNLayer", "rnn_relu_cell", 1, {"nonlinearity": "relu"}),
           "lstm": ("LSTMLayer", "lstm_cell", 2, {}),
           "gru": ("GRULayer", "gru_cell", 1, {})}


def _layer(kind, reverse=False, use=None):
    """A recurrent layer op over ``x`` (L, N, G*H) from the initial states and the recurrent
    weights (GRU: and ``b_hh``), its outputs in ``use`` (default all) combined into one
    tensor. PyTorch runs its cell function step by step with an identity input weight (so the
    cell's input is the projection ``x``)."""
    op, cell, n_states, params = _LAYERS[kind]

    def program(m, x, *rest):
        states, weights = list(rest[:n_states]), rest[n_states:]
        order = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        if m.lib.__name__ == "torch":
            eye, hs = m.lib.eye(x.shape[-1], dtype=x.dtype), [None] * x.shape[0]
            for t in order:
                out = getattr(m.lib, cell)(x[t], states if n_states == 2 else states[0], eye,
                                           weights[0], None, *weights[1:])
                states = list(out) if n_states == 2 else [out]
                hs[t] = states[0]
            outs = [m.lib.stack(hs, 0), *states]
        else:
            from chainrule.ops import recurrent

            w_t = np.ascontiguousarray(weights[0]._data.T)
            outs = getattr(recurrent, op).apply(x, *states, *weights, w_t=w_t, reverse=reverse,
                                                **params)
        return sum(outs[k].sum(0) * (k + 1) if k == 0 else outs[k] * (k + 1)
                   for k in (use or range(1 + n_states)))

    return program


LSTM_LAYER_SHAPES = ((4, 2, 12), (2, 3), (2, 3), (12, 3))
RNN_LAYER_SHAPES = ((4, 2, 3), (2, 3), (3, 3))
GRU_LAYER_SHAPES = ((4, 2, 9), (2, 3), (9, 3), (9,))
LSTM_SHAPES = ((3, 5), (3, 4), (3, 4), (16, 5), (16, 4), (16,), (16,))
# The recurrent ops (ops/recurrent.py): a cell with both outputs used, or one (the other's
# gradient missing), batch 1; each layer op forward and reverse, its sequence of outputs
# only, its final states only, a sequence of length 1, batch 1.
RECURRENT = [
    Case("lstm_cell", lambda m, x, h, c, wi, wh, bi, bh: (lambda hc: hc[0] * 2 + hc[1])(
        _lstm_cell(m)(x, (h, c), wi, wh, bi, bh)), LSTM_SHAPES),
    Case("lstm_cell_h_only", lambda m, x, h, c, wi, wh: _lstm_cell(m)(x, (h, c), wi, wh)[0],
         LSTM_SHAPES[:5]),
    Case("lstm_cell_c_only_batch1", lambda m, x, h, c, wi, wh, bi, bh: _lstm_cell(m)(
        x, (h, c), wi, wh, bi, bh)[1], ((1, 5), (1, 4), (1, 4)) + LSTM_SHAPES[3:]),
    Case("lstm_layer", _layer("lstm"), LSTM_LAYER_SHAPES),
    Case("lstm_layer_reverse_outputs_only", _layer("lstm", reverse=True, use=(0,)),
         LSTM_LAYER_SHAPES),
    Case("lstm_layer_final_states_only_one_step", _layer("lstm", use=(1, 2)),
         ((1, 2, 12), (2, 3), (2, 3), (12, 3))),
    Case("rnn_tanh_layer", _layer("rnn_tanh"), RNN_LAYER_SHAPES),
    Case("rnn_tanh_layer_reverse_outputs_only", _layer("rnn_tanh", reverse=True, use=(0,)),
         RNN_LAYER_SHAPES),
    Case("rnn_tanh_layer_final_state_only_one_step_batch1", _layer("rnn_tanh", use=(1,)),
         ((1, 1, 3), (1, 3), (3, 3))),
    Case("rnn_relu_layer", _layer("rnn_relu"), RNN_LAYER_SHAPES),
    Case("rnn_relu_layer_reverse", _layer("rnn_relu", reverse=True), RNN_LAYER_SHAPES),
    Case("gru_layer", _layer("gru"), GRU_LAYER_SHAPES),
    Case("gru_layer_reverse_outputs_only", _layer("gru", reverse=True, use=(0,)),
         GRU_LAYER_SHAPES),
    Case("gru_layer_final_state_only_one_step_batch1", _layer("gru", use=(1,)),
         ((1, 1, 9), (1, 3), (9, 3), (9,))),
]


def unary_cases() -> list[Case]:
    return [Case(f"{name}{list(s)}", fn, (s,), (domain,))
            for name, (fn, domain) in UNARY.items() for s in UNARY_SHAPES]


def binary_cases() -> list[Case]:
    return [Case(f"{name}{list(a)}&{list(b)}", fn, (a, b), domains)
            for name, (fn, domains) in BINARY.items() for a, b in BROADCAST_PAIRS]


def reduction_cases(dims=REDUCE_DIMS) -> list[Case]:
    cases = []
    for name, fn in REDUCTIONS.items():
        for d in dims:
            for k in (False, True):
                cases.append(Case(f"{name}(dim={d}, keepdim={k})",
                                  lambda m, x, fn=fn, d=d, k=k: fn(m, x, d, k), ((2, 3, 4),)))
        if name not in ("var", "std"):  # one element with Bessel's correction is 0/0 = nan
            cases.append(Case(f"{name}[scalar]", lambda m, x, fn=fn: fn(m, x, None, False),
                              ((),)))
    for name, fn in SINGLE_DIM_REDUCTIONS.items():
        for d in (None, 0, 1, 2, -1):
            for k in (False, True):
                cases.append(Case(f"{name}(dim={d}, keepdim={k})",
                                  lambda m, x, fn=fn, d=d, k=k: fn(m, x, d, k), ((2, 3, 4),)))
    return cases


def empty_cases() -> list[Case]:
    return [
        Case("sum_empty", lambda m, x: x.sum(0), ((0, 3),)),
        Case("mean_empty_kept_dim", lambda m, x: x.mean(1), ((0, 3),)),
        Case("matmul_empty", lambda m, x, y: x @ y, ((0, 3), (3, 2))),
        Case("cat_empty", lambda m, x, y: m.lib.cat([x, y], 0), ((0, 3), (2, 3))),
        Case("exp_empty", lambda m, x: x.exp(), ((0,),)),
        Case("softmax_empty", lambda m, x: x.softmax(1), ((0, 3),)),
    ]


def all_cases() -> list[Case]:
    return (unary_cases() + binary_cases() + reduction_cases() + MOVEMENT + empty_cases()
            + CONV + ATTENTION + NORMALIZATION + SURFACE + RECURRENT)
