"""``torch.nn.functional``: the stateless forms of the layers, activations and losses.

The kernels live in ``numtorch.ops`` (one family a module) and are re-exported here. The few
forms below them are composed of differentiable tensor ops (their gradients, of any order, come
from those ops): ``one_hot``, ``normalize``, ``pairwise_distance``, ``bilinear``, ``rms_norm``
and the pixel/channel shuffles.
"""

import numpy as _np

from .. import _dtype as _dt
from .._tensor import Tensor as _Tensor
from .._type_info import finfo as _finfo
from ..ops.activation import *  # noqa: F401,F403
from ..ops.attention import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.conv3d import conv3d  # noqa: F401
from ..ops.dropout import *  # noqa: F401,F403
from ..ops.embedding import embedding  # noqa: F401
from ..ops.fold import *  # noqa: F401,F403
from ..ops.linalg import einsum as _einsum
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import *  # noqa: F401,F403
from ..ops.math_extra import cosine_similarity  # noqa: F401  (also torch.cosine_similarity)
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.padding import *  # noqa: F401,F403
from ..ops.pooling import *  # noqa: F401,F403
from ..ops.reduction import log_softmax, softmax  # noqa: F401


# ------------------------------------------------------------------ forms composed of tensor ops
def one_hot(tensor, num_classes=-1):
    r"""Encode int64 class indices of shape :math:`(*)` as one-hot rows of shape
    :math:`(*, \text{num\_classes})` (int64). ``num_classes=-1`` means ``max + 1``."""
    data = tensor._data
    if data.dtype != _np.int64:
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
    out = (data[..., None] == _np.arange(num_classes)).astype(_np.int64)
    return _Tensor._wrap(out)


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
    out = _einsum("bi,oij,bj->bo", x1, weight, x2).reshape(*lead, weight.shape[0])
    return out if bias is None else out + bias


def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Apply Root Mean Square Layer Normalization over the last ``len(normalized_shape)``
    dimensions: :math:`y = x / \sqrt{\operatorname{mean}(x^2) + \epsilon} \cdot \text{weight}`.

    ``eps`` defaults to ``torch.finfo(input.dtype).eps``. float16 and bfloat16 inputs are
    normalised in float32 and the result cast back.
    """
    if not isinstance(normalized_shape, (list, tuple)):
        raise TypeError(f"rms_norm(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    shape = tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*{', '.join(str(s) for s in shape)}], but got input of size"
            f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}")
    low = input.dtype in (_dt.float16, _dt.bfloat16)
    x = input.float() if low else input
    if eps is None:
        eps = _finfo(input.dtype).eps
    dims = tuple(range(-k, 0))
    result = x * (x.pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        result = result * weight
    return result.to(input.dtype) if low else result


def _check_factor(name, factor, what):
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")


def _check_3d(name, input):
    if input.dim() < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")


def pixel_shuffle(input, upscale_factor):
    r"""Rearrange :math:`(*, C r^2, H, W)` into :math:`(*, C, H r, W r)` (sub-pixel convolution's
    upsampling step), ``r`` = ``upscale_factor``."""
    _check_3d("pixel_shuffle", input)
    r = int(upscale_factor)
    _check_factor("pixel_shuffle", r, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r"""Reverse :func:`pixel_shuffle`: :math:`(*, C, H r, W r)` into :math:`(*, C r^2, H, W)`."""
    _check_3d("pixel_unshuffle", input)
    r = int(downscale_factor)
    _check_factor("pixel_unshuffle", r, "downscale_factor")
    *lead, c, h, w = input.shape
    for size, dim, what in ((h, -2, "height"), (w, -1, "width")):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {what} to be divisible by downscale_factor, but "
                f"input.size({dim})={size} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    r"""Split the channels of :math:`(N, C, *)` into ``groups`` groups and interleave them
    (ShuffleNet): channel ``g * (C / groups) + k`` moves to ``k * groups + g``."""
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle
