"""Counting and bucketing values: ``unique``, ``bincount``, ``histc``, ``searchsorted``.

Their results are counts, positions or the distinct values themselves, so none of them records a
gradient (as in PyTorch, whose ``unique`` and ``histc`` have no derivative either).
"""

import numpy as np

from .._tensor import Tensor
from ._registry import declare

_wrap = Tensor._wrap


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


def searchsorted(sorted_sequence, values, *, right=False, side=None):
    side = side or ("right" if right else "left")
    return _wrap(np.searchsorted(sorted_sequence._data, values._data, side=side).astype(np.int64))


# ---------------------------------------------------------------------------- public names
declare(unique)
declare(bincount)
declare(histc)
declare(searchsorted, method=False)
