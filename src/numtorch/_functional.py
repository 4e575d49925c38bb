"""Top-level functions of the ``torch`` namespace that are not plain re-exports."""

import numpy as np

from ._tensor import Tensor
from .ops import elementwise as ew
from .ops import reduction as rd
from .ops._lowp import fp32_op
from .ops._util import wrap_dim
from .ops.shape import diag, diagonal  # noqa: F401  (re-exported)

_wrap = Tensor._wrap


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input._data.dtype.kind == "f"


def is_nonzero(input):
    return bool(input)


def numel(input):
    return input._data.size


def _tensor_first(fn):
    """Allow ``torch.fn(number, tensor)`` by promoting the first argument."""
    def wrapped(input, other, *args, **kwargs):
        return fn(input, other, *args, **kwargs)
    return wrapped


def square(input):
    return ew.pow(input, 2)


def sort(input, dim=-1, descending=False, stable=False):
    from .ops.indexing import gather
    x = input._data
    idx = np.argsort(-x if descending else x, axis=dim, kind="stable").astype(np.int64)
    indices = _wrap(idx)  # the returned indices are the ones the gradient reads (checked)
    return rd.return_types.sort(gather(input, dim, indices), indices)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    from .ops.indexing import gather
    x = input._data
    idx = np.argsort(-x if largest else x, axis=dim, kind="stable")
    idx = np.take(idx, np.arange(k), axis=dim).astype(np.int64)
    indices = _wrap(idx)
    return rd.return_types.topk(gather(input, dim, indices), indices)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    res = np.unique(input._data, return_inverse=return_inverse, return_counts=return_counts,
                    axis=dim)
    if not (return_inverse or return_counts):
        return _wrap(res)
    out = [_wrap(res[0])]
    if return_inverse:
        out.append(_wrap(res[1].reshape(input._data.shape).astype(np.int64)))
    if return_counts:
        out.append(_wrap(res[-1].astype(np.int64)))
    return tuple(out)


def bincount(input, weights=None, minlength=0):
    w = None if weights is None else weights._data
    return _wrap(np.bincount(input._data, w, minlength).astype(np.int64 if w is None
                                                                else w.dtype))


def histc(input, bins=100, min=0, max=0):
    x = input._data
    lo, hi = (x.min(), x.max()) if min == max else (min, max)
    h, _ = np.histogram(x, bins=bins, range=(lo, hi))
    return _wrap(h.astype(x.dtype))


def median(input, dim=None, keepdim=False):
    """The lower median of all elements, or ``(values, indices)`` along ``dim``; a NaN makes the
    result NaN (its first position is the index), as in PyTorch. Among tied values the index is
    the first in sorted order, which may differ from PyTorch's choice."""
    x = input._data
    if dim is None:
        rd._check_nonempty(x, "median")
        flat = x.reshape(-1)
        if flat.dtype.kind == "f" and np.isnan(flat).any():
            res = np.asarray(np.nan, dtype=x.dtype)
        else:
            res = np.asarray(np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2])
        return rd.MedianBackward0.record(res, (input,), (x, res), (None, False))
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return rd.return_types.median(input.clone(), _wrap(np.zeros((), np.int64)))
    order = np.argsort(x, axis=d, kind="stable")
    inds = np.take(order, [(x.shape[d] - 1) // 2], axis=d)
    if x.dtype.kind == "f":
        nans = np.isnan(x)
        has_nan = nans.any(axis=d, keepdims=True)
        if has_nan.any():
            inds = np.where(has_nan, np.argmax(nans, axis=d, keepdims=True), inds)
    inds = inds.astype(np.int64)
    vals = np.take_along_axis(x, inds, axis=d)
    if not keepdim:
        vals, inds = np.squeeze(vals, d), np.squeeze(inds, d)
    values, indices = rd.MedianBackward1.record((vals, inds), (input,), (inds,),
                                                (d, keepdim, x.shape))
    return rd.return_types.median(values, indices)


@fp32_op
def trace(input):
    return diagonal(input).sum()


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return tuple(_wrap(g.copy()) for g in np.meshgrid(*[t._data for t in tensors],
                                                      indexing=indexing))


@fp32_op
def cdist(x1, x2, p=2.0):
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return rd.vector_norm(diff, p, dim=-1)


def searchsorted(sorted_sequence, values, *, right=False, side=None):
    side = side or ("right" if right else "left")
    return _wrap(np.searchsorted(sorted_sequence._data, values._data, side=side).astype(np.int64))


def clone(input, *, memory_format=None):
    return input.clone()


def get_num_interop_threads():
    return 1


def set_num_interop_threads(n):
    pass


def use_deterministic_algorithms(mode, *, warn_only=False):
    pass


def are_deterministic_algorithms_enabled():
    return True


def compile(model=None, **kwargs):
    """``torch.compile`` is accepted and returns the model unchanged."""
    if model is None:
        return lambda m: m
    return model
