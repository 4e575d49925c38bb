"""Functional forms owned by the Module half of ``torch.nn``: embedding, one_hot, normalize,
cosine_similarity, pairwise_distance, bilinear (the dropout family lives in ``ops.dropout``).

Each is differentiable: composed from recorded tensor ops, or (embedding) a node of its own.
"""

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _GradState, no_grad
from ..autograd.node import Node
from ..ops._util import attach
from ..ops.linalg import einsum
from ..ops.math_extra import cosine_similarity  # noqa: F401  (defined beside torch.cosine_similarity)

__all__ = ["embedding", "one_hot", "normalize", "cosine_similarity", "pairwise_distance",
           "bilinear"]

_wrap = Tensor._wrap


# -------------------------------------------------------------------------------- embedding
class EmbeddingBackward0(Node):
    """Scatter-adds the output gradient into the rows that were looked up."""

    _saved_fields = ("indices",)

    def backward(self, g):
        num, dim = self.weight_shape
        flat = self.indices.reshape(-1)
        rows = g.reshape(-1, dim)
        if self.scale_grad_by_freq:
            counts = np.bincount(flat, minlength=num)
            rows = rows / counts[flat][:, None].astype(rows.dtype)
        grad = np.zeros((num, dim), dtype=g.dtype)
        if flat.size:
            # Sum the rows of each index: sort once, then one reduceat (faster than add.at).
            order = np.argsort(flat, kind="stable")
            uniq, starts = np.unique(flat[order], return_index=True)
            grad[uniq] = np.add.reduceat(rows[order], starts, axis=0)
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
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
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
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
    if _GradState.enabled and weight._requires_grad:
        node = EmbeddingBackward0()
        node.indices = idx
        node.weight_shape = weight._data.shape
        node.padding_idx = padding_idx
        node.scale_grad_by_freq = scale_grad_by_freq
        if isinstance(input, Tensor):
            node.save_versions(input)
        return attach(data, node, weight)
    return _wrap(data)


# ------------------------------------------------------------------------------ other forms
def one_hot(tensor, num_classes=-1):
    r"""Encode int64 class indices of shape :math:`(*)` as one-hot rows of shape
    :math:`(*, \text{num\_classes})` (int64). ``num_classes=-1`` means ``max + 1``."""
    data = tensor._data
    if data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    if data.size:
        if data.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if data.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == np.arange(num_classes)).astype(np.int64)
    return _wrap(out)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    r"""Divide ``input`` by its ``p``-norm along ``dim``:
    :math:`v / \max(\lVert v \rVert_p, \epsilon)`."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r"""The ``p``-norm of ``x1 - x2 + eps`` over the last dimension."""
    diff = x1 - x2 + eps
    return diff.norm(p, diff.dim() - 1 if diff.dim() else None, keepdim=keepdim)


def bilinear(input1, input2, weight, bias=None):
    r""":math:`y = x_1^T A x_2 + b` for inputs :math:`(*, H_1)`, :math:`(*, H_2)` and weight
    :math:`(H_{out}, H_1, H_2)`."""
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    out = einsum("bi,oij,bj->bo", x1, weight, x2).reshape(*lead, weight.shape[0])
    return out if bias is None else out + bias
