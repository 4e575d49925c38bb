"""Functional forms owned by the Module half of ``torch.nn``: embedding, one_hot, normalize,
cosine_similarity, pairwise_distance, bilinear (the dropout family lives in ``ops.dropout``).

Each is differentiable: composed from recorded tensor ops; ``embedding`` is defined with its
node in ``ops/embedding.py``.
"""

import numpy as np

from .._tensor import Tensor
from ..ops.embedding import _renorm_rows, _resolve_padding_idx, embedding  # noqa: F401
from ..ops.linalg import einsum
from ..ops.math_extra import cosine_similarity  # noqa: F401  (defined beside torch.cosine_similarity)

__all__ = ["embedding", "one_hot", "normalize", "cosine_similarity", "pairwise_distance",
           "bilinear"]

_wrap = Tensor._wrap


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
