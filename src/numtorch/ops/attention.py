"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Without dropout, ``scaled_dot_product_attention`` is one node
(``ScaledDotProductFlashAttentionForCpuBackward0``, edges to query, key and value, as PyTorch's
CPU kernel): forward and backward run on arrays with the attention weights kept once; under
``create_graph`` its formula recomputes them from query and key with recorded ops. With dropout
(or a mask that requires grad, or grouped-query heads) it is composed from differentiable ops
(matmul, softmax, masked_fill, …), as is multi-head attention.

Masks follow PyTorch: for ``scaled_dot_product_attention`` a boolean mask says which
positions *take part* (``True`` = attend); for multi-head attention a boolean ``attn_mask``/
``key_padding_mask`` says which positions are *masked out* (``True`` = ignore).
Float masks are added to the attention scores in both.
"""

import math
import warnings

import numpy as np

from .. import _creation
from .. import _dtype as dt
from .. import backends as _backends
from .._tensor import Tensor
from . import _formulas as F
from . import _fused
from ._lowp import lower_precision_op
from ._registry import OUT, formula
from .dropout import dropout
from .linalg import linear
from .padding import pad
from .reduction import softmax
from .shape import cat

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _additive(mask, dtype, masked_when):
    """A boolean mask as a float mask of 0 and -inf (``-inf`` where ``mask == masked_when``)."""
    if mask.dtype != dt.bool:
        return mask
    data = np.where(mask._data == masked_when, -np.inf, 0.0).astype(dtype._np)
    return Tensor._wrap(data)


@formula("SafeSoftmaxBackward0", saves={"out": OUT})
def SafeSoftmaxBackward0(ctx, g):
    """Softmax's input gradient ``y * (g - sum(g * y))``; rows of zeros (masked everywhere)
    give zero gradients."""
    y = ctx.out
    if F.is_array(g):
        fast = _fused.softmax_backward_last(y, g)
        if fast is not None:
            return (fast,)
        gy = g * y
        return (gy - y * gy.sum(axis=-1, keepdims=True),)
    gy = g * y
    return (gy - y * F.sum(gy, -1, True),)


def _softmax_masked(scores):
    """Softmax over the last dim where rows masked everywhere (all -inf) give zeros, as
    PyTorch's ``_safe_softmax`` in its SDPA (one ``SafeSoftmaxBackward0`` node)."""
    x = scores._data
    res = _fused.softmax_last(x, safe=True) if x.ndim else None
    if res is None:
        top = x.max(axis=-1, keepdims=True)
        dead = np.isneginf(top)
        with np.errstate(invalid="ignore"):
            res = x - np.where(dead, 0, top)
            np.exp(res, out=res)
            total = res.sum(axis=-1, keepdims=True)
            total[dead] = 1  # exp(-inf) = 0 everywhere: the row stays zero
            res /= total
    return SafeSoftmaxBackward0.record(res, (scores,), (res,), ())


def _repeat_heads(x, groups):
    """Repeat each head ``groups`` times along dim -3 (``repeat_interleave``)."""
    shape = tuple(x.shape)
    expanded = x.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * groups, *shape[-2:])


def _causal_mask(L, S, dtype):
    keep = np.tril(np.ones((L, S), dtype=bool))
    return Tensor._wrap(np.where(keep, 0.0, -np.inf).astype(dtype._np))


def _np_attention_weights(q, k, scale, mask):
    """``softmax(q k^T * scale + mask)`` on arrays, rows masked everywhere giving zeros."""
    scores = np.matmul(q, np.swapaxes(k, -1, -2))
    scores *= scale
    if mask is not None:
        scores = scores + mask if scores.shape != np.broadcast_shapes(scores.shape, mask.shape) \
            else np.add(scores, mask, out=scores)
    top = scores.max(axis=-1, keepdims=True)
    dead = np.isneginf(top)
    if mask is not None and dead.any():
        top[dead] = 0
    scores -= top
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if mask is not None and dead.any():
        total[dead] = 1  # exp(-inf) = 0 everywhere: the row stays zero
    scores /= total
    return scores


@formula("ScaledDotProductFlashAttentionForCpuBackward0",
         saves={"q": 0, "k": 1, "v": 2, "attn": None, "mask": None},
         attrs=("scale", "shapes"))
def ScaledDotProductFlashAttentionForCpuBackward0(ctx, g):
    """Gradients of ``softmax(q k^T * scale + mask) v`` with respect to q, k and v."""
    q, k, v, scale = ctx.q, ctx.k, ctx.v, ctx.scale
    q_shape, k_shape, v_shape = ctx.shapes
    if F.is_array(g):
        attn = ctx.attn
        dv = np.matmul(np.swapaxes(attn, -1, -2), g) if ctx.needs(2) else None
        ds = None
        if ctx.needs(0) or ctx.needs(1):
            ds = np.matmul(g, np.swapaxes(v, -1, -2))
            ds *= attn
            row = ds.sum(axis=-1, keepdims=True)
            ds -= attn * row
            ds *= scale
        dq = np.matmul(ds, k) if ctx.needs(0) else None
        dk = np.matmul(np.swapaxes(ds, -1, -2), q) if ctx.needs(1) else None
    else:
        scores = q.matmul(k.transpose(-2, -1)) * scale
        mask = ctx.mask
        attn = softmax(scores, -1) if mask is None else _softmax_masked(scores + mask)
        dv = F.transpose(attn, -1, -2).matmul(g) if ctx.needs(2) else None
        ds = None
        if ctx.needs(0) or ctx.needs(1):
            da = g.matmul(F.transpose(v, -1, -2)) * attn
            ds = (da - attn * F.sum(da, -1, True)) * scale
        dq = ds.matmul(k) if ctx.needs(0) else None
        dk = F.transpose(ds, -1, -2).matmul(q) if ctx.needs(1) else None
    return (None if dq is None else F.unbroadcast(dq, q_shape),
            None if dk is None else F.unbroadcast(dk, k_shape),
            None if dv is None else F.unbroadcast(dv, v_shape))


def _fused_attention(query, key, value, mask, scale):
    q, k, v = query._data, key._data, value._data
    attn = _np_attention_weights(q, k, scale, mask)
    out = np.matmul(attn, v)
    return ScaledDotProductFlashAttentionForCpuBackward0.record(
        out, (query, key, value), (q, k, v, attn, mask),
        (scale, (q.shape, k.shape, v.shape)))


@lower_precision_op
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    r"""Computes :math:`\text{softmax}(QK^T \cdot \text{scale} + M)\,V`.

    Args:
        query: :math:`(N, ..., L, E)`
        key: :math:`(N, ..., S, E)`
        value: :math:`(N, ..., S, E_v)`
        attn_mask: broadcastable to :math:`(N, ..., L, S)`; boolean (``True`` = take part) or
            float (added to the scores)
        dropout_p: dropout probability on the attention weights (always applied when > 0)
        is_causal: apply a lower-triangular (causal) mask
        scale: the scaling factor; :math:`1/\sqrt{E}` by default
        enable_gqa: let key/value have fewer heads than query (grouped-query attention)

    Returns:
        :math:`(N, ..., L, E_v)`. Rows where every position is masked give zeros.
    """
    if not _backends.sdp_cpu_viable():
        raise RuntimeError(
            "No viable backend for scaled_dot_product_attention was found. This is likely due "
            "to turning off both the math kernel and the fused kernels.")
    L, S = query.size(-2), key.size(-2)
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    heads_match = key.dim() < 3 or key.size(-3) == query.size(-3)
    if dropout_p == 0.0 and heads_match and query.dtype == key.dtype == value.dtype and (
            attn_mask is None or not attn_mask.requires_grad) and query.dtype.is_floating_point:
        mask = None
        if is_causal:
            mask = _causal_mask(L, S, query.dtype)._data
        if attn_mask is not None:
            extra = _additive(attn_mask, query.dtype, masked_when=False)._data
            mask = extra if mask is None else mask + extra
        if mask is not None and mask.dtype != query._data.dtype:
            mask = mask.astype(query._data.dtype)
        return _fused_attention(query, key, value, mask, scale)
    if enable_gqa and key.dim() >= 3 and key.size(-3) != query.size(-3):
        groups = query.size(-3) // key.size(-3)
        key, value = _repeat_heads(key, groups), _repeat_heads(value, groups)
    scores = query.matmul(key.transpose(-2, -1)) * scale
    masked = False
    if is_causal:
        scores = scores + _causal_mask(L, S, query.dtype)
        masked = True
    if attn_mask is not None:
        scores = scores + _additive(attn_mask, query.dtype, masked_when=False)
        masked = True
    attn = _softmax_masked(scores) if masked else softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn.matmul(value)


# --------------------------------------------------------------------- multi-head attention
def _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                   use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight):
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias.chunk(3)
    else:
        b_q = b_k = b_v = None
    if not use_separate_proj_weight:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def _check_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads):
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but "
                               f"should be {(tgt_len, src_len)}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but "
                               f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    r"""The functional form of :class:`~numtorch.nn.MultiheadAttention` (sequence-first).

    Shapes: query :math:`(L, N, E)` or unbatched :math:`(L, E)`; key/value :math:`(S, N, E_k)`;
    ``key_padding_mask`` :math:`(N, S)`; ``attn_mask`` :math:`(L, S)` or
    :math:`(N \cdot \text{num\_heads}, L, S)`. Boolean masks: ``True`` = ignore that position.

    Returns:
        ``(attn_output, attn_weights)``: :math:`(L, N, E)` and, when ``need_weights``,
        :math:`(N, L, S)` averaged over heads (or :math:`(N, \text{num\_heads}, L, S)`);
        else ``None``.
    """
    batched = query.dim() == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if (query is key and key is value and not use_separate_proj_weight and not need_weights
            and bias_k is None and bias_v is None and not add_zero_attn and static_k is None
            and static_v is None and (attn_mask is None or key_padding_mask is None)):
        out = _self_attention(query, num_heads, in_proj_weight, in_proj_bias, dropout_p,
                              out_proj_weight, out_proj_bias, training, key_padding_mask,
                              attn_mask)
        return (out if batched else out.squeeze(1)), None
    q, k, v = _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight)
    if (attn_mask is not None and key_padding_mask is not None
            and attn_mask.dtype != key_padding_mask.dtype):
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use "
                      "same type for both instead.", stacklevel=3)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(_additive(attn_mask, q.dtype, masked_when=True),
                                     tgt_len, key.shape[0], bsz, num_heads)
    if key_padding_mask is not None:
        key_padding_mask = _additive(key_padding_mask, q.dtype, masked_when=True)
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (static_k if static_k is not None else
         k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1))
    v = (static_v if static_v is not None else
         v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1))
    if add_zero_attn:
        k = cat([k, _creation.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype)], 1)
        v = cat([v, _creation.zeros((bsz * num_heads, 1, head_dim), dtype=v.dtype)], 1)
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p, True)
        out = weights.matmul(v)
    else:
        if attn_mask is not None:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len) if attn_mask.shape[0] > 1 \
                else attn_mask.unsqueeze(0)
        out = scaled_dot_product_attention(q.reshape(bsz, num_heads, tgt_len, head_dim),
                                           k.reshape(bsz, num_heads, src_len, head_dim),
                                           v.reshape(bsz, num_heads, src_len, head_dim),
                                           attn_mask, dropout_p)
        out = out.reshape(bsz * num_heads, tgt_len, head_dim)
        weights = None
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if weights is not None:
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
    if not batched:
        out = out.squeeze(1)
    return out, weights


def _self_attention(x, num_heads, in_proj_weight, in_proj_bias, dropout_p, out_proj_weight,
                    out_proj_bias, training, key_padding_mask, attn_mask):
    """Self-attention without the weights returned: one product with the packed input
    projection, whose ``(..., 3, H, E/H)`` view gives the heads of query, key and value as
    strided views in the ``(N, H, L, E/H)`` order of :func:`scaled_dot_product_attention` (no
    per-head copies), then the output projection.

    The work runs in the memory order of ``x``: when ``x`` is the sequence-first view of a
    batch-first tensor (``MultiheadAttention(batch_first=True)``), the products take its rows
    as they lie and the output is again a batch-first tensor seen sequence-first, so neither
    the input, the output nor their gradients are copied into the other order."""
    tgt_len, bsz, embed_dim = x.shape
    head_dim = embed_dim // num_heads
    batch_major = bsz > 1 and tgt_len > 1 and x._data.transpose(1, 0, 2).flags.c_contiguous
    rows = x.transpose(0, 1) if batch_major else x  # (N, L, E) or (L, N, E)
    proj = linear(rows, in_proj_weight, in_proj_bias).unflatten(-1, (3, num_heads, head_dim))
    order = (0, 2, 1, 3) if batch_major else (1, 2, 0, 3)
    q, k, v = (t.permute(*order) for t in proj.unbind(2))
    mask = None
    if attn_mask is not None:
        mask = _check_attn_mask(_additive(attn_mask, q.dtype, masked_when=True),
                                tgt_len, tgt_len, bsz, num_heads)
        mask = mask.reshape(bsz, num_heads, tgt_len, tgt_len) if mask.shape[0] > 1 \
            else mask.unsqueeze(0)
    elif key_padding_mask is not None:
        kpm = _additive(key_padding_mask, q.dtype, masked_when=True)
        if tuple(kpm.shape) != (bsz, tgt_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, tgt_len)}, but got "
                                 f"{tuple(kpm.shape)}")
        mask = kpm.reshape(bsz, 1, 1, tgt_len)
    out = scaled_dot_product_attention(q, k, v, mask, dropout_p if training else 0.0)
    if batch_major:
        out = out.transpose(1, 2).reshape(bsz * tgt_len, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias)
        return out.view(bsz, tgt_len, embed_dim).transpose(0, 1)
    out = out.permute(2, 0, 1, 3).reshape(tgt_len * bsz, embed_dim)
    return linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
