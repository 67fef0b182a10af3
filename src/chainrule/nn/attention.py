"""Attention as functions, composed from differentiable ops: ``scaled_dot_product_attention``
and ``multi_head_attention_forward`` (PyTorch's arguments and mask conventions). Re-exported by
``nn.functional``; the modules are in ``transformer.py``.

``out = F.scaled_dot_product_attention(q, k, v, is_causal=True)``
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..ops import elementwise as ew
from ..ops import movement as mv
from ..ops import reduce as red
from ..tensor import Tensor
from . import functional as F


def _bool_mask(mask) -> bool:
    return isinstance(mask, Tensor) and mask._data.dtype == np.bool_


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dims (..., L, E) x (..., S, E).

    A bool ``attn_mask`` says where to attend (True = take part); a float one is added to the
    scores. ``is_causal`` keeps the lower triangle (top-left aligned). A query row that may
    attend to nothing gives zeros, as PyTorch does. ``dropout_p`` drops attention weights
    whatever the mode (pass ``dropout_p if self.training else 0.0``).
    ``F.scaled_dot_product_attention(q, k, v, attn_mask=mask)``
    """
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa (grouped-query "
                                  "attention) is not implemented; repeat key and value heads")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"scaled_dot_product_attention: query, key and value must be at "
                           f"least 2-D, got shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                           f"{tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: expected query (..., L, E), key "
                           f"(..., S, E) and value (..., S, Ev), got {tuple(query.shape)}, "
                           f"{tuple(key.shape)}, {tuple(value.shape)}")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(f"scaled_dot_product_attention: expected query, key and value to "
                           f"have the same dtype, but got query.dtype: {query.dtype}, "
                           f"key.dtype: {key.dtype} and value.dtype: {value.dtype} instead.")
    if attn_mask is not None and not _bool_mask(attn_mask) and attn_mask.dtype != query.dtype:
        raise RuntimeError(f"scaled_dot_product_attention: Expected attn_mask dtype to be bool "
                           f"or to match query dtype {query.dtype}, but got {attn_mask.dtype}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    length, source = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ mv.transpose(key, -2, -1)) * scale
    minus_inf = Tensor._make(np.array(-np.inf, scores._data.dtype))
    if is_causal:
        keep = Tensor._make(np.tril(np.ones((length, source), np.bool_)))
        scores = ew.where(keep, scores, minus_inf)
    elif attn_mask is not None:
        scores = ew.where(attn_mask, scores, minus_inf) if _bool_mask(attn_mask) else (
            scores + attn_mask)
    weights = _softmax_blocked_rows_zero(scores)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, True)
    return weights @ value


def _softmax_blocked_rows_zero(scores: Tensor) -> Tensor:
    """Softmax over the last dim; a row that is all -inf gives zeros (and zero gradient)
    instead of NaN."""
    blocked = np.all(scores._data == -np.inf, axis=-1, keepdims=True)
    if not blocked.any():
        return F.softmax(scores, -1)
    blocked_t = Tensor._make(blocked)
    zero = Tensor._make(np.zeros((), scores._data.dtype))
    return ew.where(blocked_t, zero, F.softmax(ew.where(blocked_t, zero, scores), -1))


def _additive_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """PyTorch's canonical mask: a bool mask (True = blocked) becomes 0 / -inf in ``dtype``;
    a float mask is used as it is."""
    if mask is None:
        return None
    if _bool_mask(mask):
        return Tensor._make(np.where(mask._data, -np.inf, 0.0).astype(dtype))
    if mask._data.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def canonical_mask(mask: Tensor | None, mask_name: str, other: Tensor | None,
                   other_name: str, dtype) -> Tensor | None:
    """PyTorch's mask canonicalisation at each level that takes a mask (the encoder stack, the
    encoder layer, MultiheadAttention): warn, as PyTorch does, when ``mask`` and ``other``
    differ in dtype, and turn a bool mask into 0 / -inf in ``dtype``.
    ``pad = canonical_mask(pad, "key_padding_mask", attn_mask, "attn_mask", x.dtype)``"""
    if mask is not None and other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      f"Use same type for both instead.", stacklevel=3)
    return _additive_mask(mask, mask_name, dtype)


def _one_more_key(attn_mask, key_padding_mask) -> tuple:
    """The masks, with a column for a key appended (open to every query)."""
    return tuple(None if m is None else F.pad(m, (0, 1)) for m in (attn_mask, key_padding_mask))


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first input (L, N, E) or unbatched (L, E); masks as
    PyTorch's (bool True = blocked, or float added). Returns ``(output, weights)``, weights
    (N, L, S) averaged over heads (or (N, heads, L, S)), None when ``need_weights=False``."""
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be given or both be None")
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k and static_v are not "
                                  "implemented")
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.ndim}-D query, {key.ndim}-D key and {value.ndim}-D value")
    if not batched:
        query, key, value = (mv.unsqueeze(t, 1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = mv.unsqueeze(key_padding_mask, 0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                      "attn_mask", query._data.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # SDPA builds the causal mask itself
    else:
        attn_mask = _additive_mask(attn_mask, "attn_mask", query._data.dtype)
        if key_padding_mask is not None:
            is_causal = False
    if use_separate_proj_weight:
        if q_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight is None")
        if k_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but k_proj_weight is None")
        if v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but v_proj_weight is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else mv.chunk(in_proj_bias, 3)
        q = F.linear(query, q_proj_weight, b_q)
        k = F.linear(key, k_proj_weight, b_k)
        v = F.linear(value, v_proj_weight, b_v)
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        w_q, w_k, w_v = mv.chunk(in_proj_weight, 3)
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else mv.chunk(in_proj_bias, 3)
        q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
    if attn_mask is not None:
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len,
                                                                   src_len)
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"The shape of the {attn_mask.ndim}D attn_mask is "
                               f"{tuple(attn_mask.shape)}, but should be {expected}.")
        if attn_mask.ndim == 2:
            attn_mask = mv.unsqueeze(attn_mask, 0)
    if bias_k is not None and bias_v is not None:
        # one more key and value, learned, that every query may attend to
        k = mv.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = mv.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask, key_padding_mask = _one_more_key(attn_mask, key_padding_mask)
    # (L, N, E) -> (N * heads, L, head_dim)
    q = mv.transpose(q.reshape(tgt_len, bsz * num_heads, head_dim), 0, 1)
    k = mv.transpose(k.reshape(k.shape[0], bsz * num_heads, head_dim), 0, 1)
    v = mv.transpose(v.reshape(v.shape[0], bsz * num_heads, head_dim), 0, 1)
    if add_zero_attn:
        # ... and one of zeros
        zeros = Tensor._make(np.zeros((bsz * num_heads, 1, head_dim), k._data.dtype))
        k, v = mv.cat([k, zeros], 1), mv.cat([v, zeros], 1)
        attn_mask, key_padding_mask = _one_more_key(attn_mask, key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but "
                                 f"got {tuple(key_padding_mask.shape)}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            bsz, num_heads, 1, src_len).reshape(bsz * num_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)) @ mv.transpose(k, -2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = F.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p)
        out = mv.transpose(weights @ v, 0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = red.mean(weights, 1)
        if not batched:
            return mv.squeeze(out, 1), mv.squeeze(weights, 0)
        return out, weights
    if attn_mask is not None:
        attn_mask = (mv.unsqueeze(attn_mask, 0) if attn_mask.shape[0] == 1 else
                     attn_mask.reshape(bsz, num_heads, -1, src_len))
    shape = (bsz, num_heads, -1, head_dim)
    out = scaled_dot_product_attention(q.reshape(*shape), k.reshape(*shape), v.reshape(*shape),
                                       attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    return (out if batched else mv.squeeze(out, 1)), None
