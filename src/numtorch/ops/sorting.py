"""Sorting and selection: sort, argsort, topk, and trace (a diagonal sum with its own node).

The values are taken from the input at the chosen indices; the returned indices are output 1 of
the node, saved as ``out(1)``, so changing them in place before backward raises as in PyTorch.
"""

import numpy as np

from .._tensor import Tensor
from . import _formulas as F
from . import reduction as rd
from ._lowp import fp32_op
from ._registry import declare, formula, out
from ._util import wrap_dim
from .indexing import scatter

_wrap = Tensor._wrap


def _put_along(ctx, grads):
    """The values' gradient written back at the indices they came from (zeros elsewhere)."""
    g = grads[0]
    if ctx.axis is None:  # a 0-d input: the value itself
        return (g,)
    idx, axis = ctx.indices, ctx.axis
    if F.is_array(g):
        res = np.zeros(ctx.in_shape, dtype=g.dtype)
        np.put_along_axis(res, idx, g, axis=axis)
        return (res,)
    return (scatter(F.zeros_like(g, ctx.in_shape), axis, idx, g),)


_SELECTED = dict(saves={"indices": out(1)}, attrs=("axis", "in_shape"), outputs=2)
SortBackward0 = formula("SortBackward0", **_SELECTED)(_put_along)
TopkBackward0 = formula("TopkBackward0", **_SELECTED)(_put_along)


def _order(x, d, descending):
    """Stable sorting permutation along ``d``; NaN counts as the largest value (first when
    descending), as in PyTorch."""
    if not descending:
        return np.argsort(x, axis=d, kind="stable")
    if x.dtype.kind == "f":
        # -x moves NaN last; sort NaN first instead by keying on (not NaN, -x)
        nan = np.isnan(x)
        key = np.where(nan, 0, -x)
        order = np.argsort(key, axis=d, kind="stable")
        nan_first = np.argsort(~np.take_along_axis(nan, order, axis=d), axis=d, kind="stable")
        return np.take_along_axis(order, nan_first, axis=d)
    if x.dtype == np.bool_:
        return np.argsort(~x, axis=d, kind="stable")
    if x.dtype.kind == "u":
        return np.argsort(np.iinfo(x.dtype).max - x, axis=d, kind="stable")
    return np.argsort(-x.astype(np.int64) if x.dtype.itemsize < 8 else ~x, axis=d,
                      kind="stable")


def _selected(node_cls, rtype, input, idx, d):
    x = input._data
    vals = np.take_along_axis(x, idx, axis=d)
    values, indices = node_cls.record((vals, idx), (input,), (idx,), (d, x.shape))
    return rtype(values, indices)


def sort(input, dim=-1, descending=False, stable=False):
    """Sort along ``dim``; returns ``(values, indices)``."""
    x = input._data
    if x.dtype.kind == "c":
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    if x.ndim == 0:
        values, indices = SortBackward0.record((x.copy(), np.zeros((), np.int64)), (input,),
                                               (), (None, x.shape))
        return rd.return_types.sort(values, indices)
    d = wrap_dim(dim, x.ndim)
    idx = _order(x, d, descending).astype(np.int64)
    return _selected(SortBackward0, rd.return_types.sort, input, idx, d)


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (not differentiable)."""
    x = input._data
    if x.dtype.kind == "c":
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    if x.ndim == 0:
        return _wrap(np.zeros((), np.int64))
    return _wrap(_order(x, wrap_dim(dim, x.ndim), descending).astype(np.int64))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their
    indices."""
    x = input._data
    if x.dtype.kind == "c":
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    d = wrap_dim(dim, max(x.ndim, 1))
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x.ndim == 0:
        values, indices = TopkBackward0.record((x.copy(), np.zeros((), np.int64)), (input,),
                                               (), (None, x.shape))
        return rd.return_types.topk(values, indices)
    idx = np.take(_order(x, d, largest), np.arange(k), axis=d).astype(np.int64)
    return _selected(TopkBackward0, rd.return_types.topk, input, idx, d)


@formula("TraceBackward0", attrs=("in_shape",))
def TraceBackward0(ctx, g):
    eye = np.eye(*ctx.in_shape, dtype=g.dtype if F.is_array(g) else g._data.dtype)
    return (g * (eye if F.is_array(g) else _wrap(eye)),)


@fp32_op
def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    x = input._data
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    res = np.asarray(np.trace(x))
    if x.dtype.kind in "biu":
        res = res.astype(np.int64)
    return TraceBackward0.record(res, (input,), (), (x.shape,))


declare(sort, nodes=(SortBackward0,))
declare(argsort)
declare(topk, nodes=(TopkBackward0,))
declare(trace, nodes=(TraceBackward0,))
