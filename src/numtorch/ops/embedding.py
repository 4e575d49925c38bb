"""Embedding lookup: ``embedding`` (rows of a weight matrix at integer indices).

One node, ``EmbeddingBackward0``, with a single edge to the weight, as in PyTorch. Its gradient
sums the output gradient's rows per index; under ``create_graph`` the same sum is an
``index_add`` of recorded ops, so the weight gradient can be differentiated again.
"""

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from . import _formulas as F
from . import _jit_seq
from ._registry import aux, formula
from .indexing import index_add

__all__ = ["embedding"]

_wrap = Tensor._wrap


@formula("EmbeddingBackward0", saves={"indices": aux(0)},
         attrs=("weight_shape", "padding_idx", "scale_grad_by_freq"))
def EmbeddingBackward0(ctx, g):
    """Scatter-adds the output gradient into the rows that were looked up."""
    num, dim = ctx.weight_shape
    indices = ctx.indices
    flat = (indices if F.is_array(indices) else indices._data).reshape(-1)
    rows = F.reshape(g, (-1, dim))
    if ctx.scale_grad_by_freq:
        counts = np.bincount(flat, minlength=num)[flat][:, None]
        counts = counts.astype((g if F.is_array(g) else g._data).dtype)
        rows = rows / (counts if F.is_array(g) else _wrap(counts))
    if F.is_array(g):
        grad = np.zeros((num, dim), dtype=g.dtype)
        kern = _jit_seq.kernels(rows) if flat.size else None
        if kern is not None:
            kern.embedding_backward(flat, rows, grad)
        elif flat.size:
            # Sum the rows of each index: sort once, then one reduceat (faster than add.at).
            order = np.argsort(flat, kind="stable")
            uniq, starts = np.unique(flat[order], return_index=True)
            grad[uniq] = np.add.reduceat(rows[order], starts, axis=0)
        if ctx.padding_idx is not None:
            grad[ctx.padding_idx] = 0
        return (grad,)
    grad = index_add(F.zeros_like(g, (num, dim)), 0, _wrap(flat), rows)
    if ctx.padding_idx is not None:
        keep = np.ones((num, 1), dtype=g._data.dtype)
        keep[ctx.padding_idx] = 0
        grad = grad * _wrap(keep)
    return (grad,)


def _renorm_rows(weight, indices, max_norm, norm_type):
    """Scale, in place, the looked-up rows whose ``norm_type``-norm exceeds ``max_norm``."""
    with no_grad():
        rows = np.unique(indices)
        w = weight._data
        norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            scale = max_norm / (norms[big] + 1e-7)
            w[rows[big]] *= scale[:, None].astype(w.dtype)
            weight._bump_version()


def _resolve_padding_idx(padding_idx, num):
    """``padding_idx`` checked against ``num`` rows, a negative one counted from the end."""
    if padding_idx is None:
        return None
    if padding_idx > 0 and padding_idx >= num or padding_idx < -num:  # (0 is not checked)
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    r"""Look up rows of ``weight`` (shape :math:`(V, D)`) at the integer ``input`` indices;
    the output has shape ``input.shape + (D,)``. Rows at ``padding_idx`` get no gradient;
    with ``max_norm`` the looked-up rows are renormalised in place first."""
    num = weight.size(0)
    padding_idx = _resolve_padding_idx(padding_idx, num)
    is_tensor = isinstance(input, Tensor)
    idx = input._data if is_tensor else np.asarray(input)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for "
            "embedding)")
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    data = weight._data[idx]
    return EmbeddingBackward0.record(
        data, (weight,), (idx,), (weight._data.shape, padding_idx, scale_grad_by_freq),
        aux=(input if is_tensor else None,))
