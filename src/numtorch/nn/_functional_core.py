"""Functional forms owned by the Module half of ``torch.nn``: dropout, embedding, one_hot,
normalize, cosine_similarity, pairwise_distance, bilinear.

Each is differentiable: composed from recorded tensor ops, or (embedding) a node of its own.
"""

import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _GradState, no_grad
from ..autograd.node import Node
from ..ops._util import attach
from ..random import _rng

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout", "embedding", "one_hot", "normalize", "cosine_similarity",
           "pairwise_distance", "bilinear"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------------- dropout
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, p, noise_shape):
    """A 0/1 mask (input's dtype) keeping each entry with probability ``1 - p``."""
    keep = _rng().random(noise_shape) >= p
    return keep.astype(input._data.dtype)


def _scaled_dropout(input, p, noise_shape, inplace):
    """``input * mask / (1 - p)`` with one mask value per entry of ``noise_shape``."""
    noise = _keep_mask(input, p, noise_shape)
    if p < 1:
        noise *= noise.dtype.type(1.0 / (1.0 - p))
    noise_t = _wrap(noise)
    return input.mul_(noise_t) if inplace else input * noise_t


def dropout(input, p=0.5, training=True, inplace=False):
    r"""While ``training``, zero each element of ``input`` with probability ``p`` and scale the
    others by :math:`\frac{1}{1-p}`; otherwise return ``input`` unchanged."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _scaled_dropout(input, p, input._data.shape, inplace)


def _channel_noise_shape(shape, spatial):
    """One mask value per (batch, channel): the last ``spatial`` dims become 1."""
    return tuple(shape[:len(shape) - spatial]) + (1,) * spatial


def _feature_noise_shape(shape):
    return tuple(shape[:2]) + (1,) * (len(shape) - 2)


def dropout1d(input, p=0.5, training=True, inplace=False):
    r"""Channel-wise dropout for :math:`(N, C, L)` or :math:`(C, L)` inputs."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    if not training or p == 0:
        return input
    return _scaled_dropout(input, p, _channel_noise_shape(input._data.shape, 1), inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    r"""Channel-wise dropout for :math:`(N, C, H, W)` or :math:`(C, H, W)` inputs.

    As in PyTorch, a 3-D input is (with a warning) treated as :math:`(N, C, L)`.
    """
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    if not training or p == 0:
        return input
    return _scaled_dropout(input, p, _feature_noise_shape(input._data.shape), inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    r"""Channel-wise dropout for :math:`(N, C, D, H, W)` or :math:`(C, D, H, W)` inputs."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    if not training or p == 0:
        return input
    shape = input._data.shape
    noise_shape = (_channel_noise_shape(shape, 3) if ndim == 4
                   else _feature_noise_shape(shape))
    return _scaled_dropout(input, p, noise_shape, inplace)


_SELU_ALPHA = 1.7580993408473766  # -alpha' = SELU's scale * alpha


def _alpha_dropout(input, p, noise_shape, inplace):
    if p == 1:
        zero = _wrap(np.zeros((), dtype=input._data.dtype))
        return input.mul_(zero) if inplace else input * zero
    keep = _keep_mask(input, p, noise_shape)
    a = 1.0 / np.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
    dtype = input._data.dtype.type
    scale = _wrap(keep * dtype(a))
    shift = _wrap((keep - 1) * dtype(_SELU_ALPHA * a) + dtype(_SELU_ALPHA * a * p))
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    r"""Dropout for SELU networks: dropped entries take SELU's negative saturation value and an
    affine correction keeps the mean and variance of the input."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _alpha_dropout(input, p, input._data.shape, inplace)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    r"""Alpha dropout of whole channels (one mask value per batch entry and channel)."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _alpha_dropout(input, p, _feature_noise_shape(input._data.shape), inplace)


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


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    r"""Look up rows of ``weight`` (shape :math:`(V, D)`) at the integer ``input`` indices;
    the output has shape ``input.shape + (D,)``. Rows at ``padding_idx`` get no gradient;
    with ``max_norm`` the looked-up rows are renormalised in place first."""
    num = weight.size(0)
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = num + padding_idx
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


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r"""Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (inputs broadcast):
    :math:`\sum \frac{x_1}{\max(\lVert x_1 \rVert, \epsilon)}
    \frac{x_2}{\max(\lVert x_2 \rVert, \epsilon)}`."""
    n1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r"""The ``p``-norm of ``x1 - x2 + eps`` over the last dimension."""
    diff = x1 - x2 + eps
    return diff.norm(p, diff.dim() - 1 if diff.dim() else None, keepdim=keepdim)


def bilinear(input1, input2, weight, bias=None):
    r""":math:`y = x_1^T A x_2 + b` for inputs :math:`(*, H_1)`, :math:`(*, H_2)` and weight
    :math:`(H_{out}, H_1, H_2)`."""
    from ..ops.linalg import einsum
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    out = einsum("bi,oij,bj->bo", x1, weight, x2).reshape(*lead, weight.shape[0])
    return out if bias is None else out + bias
