"""Reductions (sum, mean, max, var, norm, logsumexp, …), scans, and the softmax family."""

import collections
import warnings

import numpy as np

from .. import _dtype as dt
from .._fperr import quiet_call
from .._tensor import Tensor
from . import _formulas as F
from . import _fused, _jit_seq, _parallel
from ._lowp import fp32_op, widened_op
from ._registry import OUT, declare, formula, out
from ._util import normalize_dims, refuse_complex, wrap_dim
from .elementwise import maximum, minimum
from .indexing import scatter

_wrap = Tensor._wrap


def _return_type(name, fields):
    cls = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    cls.__module__ = "torch.return_types"
    return cls


class return_types:
    max = _return_type("max", ("values", "indices"))
    min = _return_type("min", ("values", "indices"))
    sort = _return_type("sort", ("values", "indices"))
    topk = _return_type("topk", ("values", "indices"))
    median = _return_type("median", ("values", "indices"))
    mode = _return_type("mode", ("values", "indices"))
    kthvalue = _return_type("kthvalue", ("values", "indices"))
    var_mean = _return_type("var_mean", ("var", "mean"))
    std_mean = _return_type("std_mean", ("std", "mean"))
    aminmax = _return_type("aminmax", ("min", "max"))
    cummax = _return_type("cummax", ("values", "indices"))


def _expand_grad(g, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back over the reduced ``axes`` of ``in_shape``."""
    if axes is None:
        return np.broadcast_to(g.reshape((1,) * len(in_shape)), in_shape)
    if not keepdim:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, in_shape)


def _unreduce(a, axes, keepdim):
    """A reduced array with its reduced ``axes`` put back as size-1 dims (to broadcast)."""
    return a if axes is None or keepdim else np.expand_dims(a, axes)


def _sum_dtype(x, dtype):
    if dtype is not None:
        return dt.to_numpy_dtype(dtype)
    if x.dtype.kind in "bui":
        return np.dtype(np.int64)
    return None


def _filled(shape, value):
    """A new array of ``shape`` filled with the 0-d array ``value`` (np.broadcast_to is slow)."""
    out = np.empty(shape, dtype=value.dtype)
    out[...] = value
    return out


@formula("SumBackward0", attrs=("in_shape",))
def SumBackward0(ctx, g):
    if F.is_array(g):
        return (_filled(ctx.in_shape, g),)
    return (F.expand_reduced(g, ctx.in_shape, None, False),)


@formula("SumBackward1", attrs=("in_shape", "axes", "keepdim"))
def SumBackward1(ctx, g):
    g = F.expand_reduced(g, ctx.in_shape, ctx.axes, ctx.keepdim)
    return (g.copy() if F.is_array(g) else g,)


def sum(input, dim=None, keepdim=False, *, dtype=None):
    x = input._data
    axes = None if dim is None else normalize_dims(dim, x.ndim)
    sum_dtype = None if x.dtype.kind in "fc" and dtype is None else _sum_dtype(x, dtype)
    if x.dtype == dt._BF16_NP and dtype is None:  # accumulate bfloat16 in float32, as torch
        res = quiet_call(x.sum, axes, np.float32, None, keepdim).astype(x.dtype)
    elif x.dtype.kind == "f":  # overflow to inf and inf - inf = nan are quiet, as in PyTorch
        # (np.add.reduce is what ndarray.sum calls, less a Python wrapper)
        res = quiet_call(np.add.reduce, x, axes, sum_dtype, None, keepdim)
    else:
        res = x.sum(axis=axes, keepdims=keepdim, dtype=sum_dtype)
    if res.__class__ is not np.ndarray:
        res = np.asarray(res)
    if dim is None:
        return SumBackward0.record(res, (input,), (), (x.shape,))
    return SumBackward1.record(res, (input,), (), (x.shape, axes, keepdim))


@formula("MeanBackward0", attrs=("in_shape", "count"))
def MeanBackward0(ctx, g):
    if F.is_array(g):
        return (_filled(ctx.in_shape, g / ctx.count),)
    return (F.expand_reduced(g / ctx.count, ctx.in_shape, None, False),)


@formula("MeanBackward1", attrs=("in_shape", "axes", "keepdim", "count"))
def MeanBackward1(ctx, g):
    g = F.expand_reduced(g / ctx.count, ctx.in_shape, ctx.axes, ctx.keepdim)
    return (g.copy() if F.is_array(g) else g,)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    x = input._data
    if dtype is not None:
        x = x.astype(dt.to_numpy_dtype(dtype))
    if not dt.is_inexact_np(x.dtype):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {dt.from_numpy_dtype(x.dtype).name.capitalize()}")
    axes = None if dim is None else normalize_dims(dim, x.ndim)
    if x.dtype == dt._BF16_NP:  # accumulate bfloat16 in float32, as torch
        res = np.asarray(quiet_call(x.mean, axes, np.float32, None, keepdim)).astype(x.dtype)
    elif x.size:
        res = quiet_call(x.mean, axes, None, None, keepdim)
    else:  # the mean of nothing is nan, silently, as in PyTorch
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            res = x.mean(axis=axes, keepdims=keepdim)
    if res.__class__ is not np.ndarray:
        res = np.asarray(res)
    if dim is None:
        return MeanBackward0.record(res, (input,), (), (x.shape, x.size))
    count = 1
    for a in axes:
        count *= x.shape[a]
    return MeanBackward1.record(res, (input,), (), (x.shape, axes, keepdim, count))


@formula("ProdBackward0", saves={"x": 0, "out": OUT}, attrs=("axes", "keepdim"))
def _prod_formula(ctx, g):
    x, axes, keepdim = ctx.x, ctx.axes, ctx.keepdim
    out = F.unreduce(ctx.out, axes, keepdim)
    gexp = F.unreduce(g, axes, keepdim)
    if not F.any_true(x == 0):
        return (gexp * out / x,)
    if not F.is_array(g):
        raise RuntimeError(
            "the second derivative of prod() over a slice containing zeros is not implemented "
            "with differentiable operations in numtorch")
    # Product of all other elements, computed without dividing by zero.
    ax = axes[0] if axes is not None else None
    flat = x.reshape(-1) if ax is None else np.moveaxis(x, ax, -1)
    left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
    right = np.flip(np.cumprod(np.concatenate(
        [np.ones_like(flat[..., :1]), np.flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = left * right
    others = others.reshape(x.shape) if ax is None else np.moveaxis(others, -1, ax)
    return (gexp * others,)


ProdBackward0 = _prod_formula
ProdBackward1 = formula("ProdBackward1", saves={"x": 0, "out": OUT},
                        attrs=("axes", "keepdim"))(ProdBackward0.backward)


@fp32_op
def prod(input, dim=None, keepdim=False, *, dtype=None):
    x = input._data
    axes = None if dim is None else (wrap_dim(dim, x.ndim),)
    res = np.asarray(np.prod(x, axis=axes, keepdims=keepdim, dtype=_sum_dtype(x, dtype)))
    node_cls = ProdBackward0 if dim is None else ProdBackward1
    return node_cls.record(res, (input,), (x, res), (axes, keepdim))


def _evenly_distribute(ctx, g):
    """Gradient of a full max/min/amax/amin/median: shared equally among the elements equal to
    the result (among the NaNs when the result is NaN)."""
    x, axes, keepdim = ctx.x, ctx.axes, ctx.keepdim
    out = F.unreduce(ctx.out, axes, keepdim)
    gexp = F.unreduce(g, axes, keepdim)
    mask = x == out
    if F.any_true(F.isnan(out)):  # a NaN result: shared among NaNs
        mask = mask | (F.isnan(x) & F.isnan(out))
    count = F.cast(F.sum(mask, axes, True), g)  # g / int64 would be float64
    return (F.where(mask, gexp / count, 0),)


_EVEN = dict(saves={"x": 0, "out": OUT}, attrs=("axes", "keepdim"))
MaxBackward1 = formula("MaxBackward1", **_EVEN)(_evenly_distribute)
MinBackward1 = formula("MinBackward1", **_EVEN)(_evenly_distribute)
AmaxBackward0 = formula("AmaxBackward0", **_EVEN)(_evenly_distribute)
AminBackward0 = formula("AminBackward0", **_EVEN)(_evenly_distribute)
MedianBackward0 = formula("MedianBackward0", **_EVEN)(_evenly_distribute)


def _select_formula(ctx, grads):
    """Gradient of ``max(dim)`` and kin: to the selected index only (values are output 0,
    the returned indices output 1, whose in-place change is detected)."""
    g = grads[0]
    idx, axis = ctx.indices, ctx.axis
    if not ctx.keepdim:
        idx = F.unreduce(idx, (axis,), False)
        g = F.unreduce(g, (axis,), False)
    if F.is_array(g):
        out = np.zeros(ctx.in_shape, dtype=g.dtype)
        np.put_along_axis(out, idx, g, axis=axis)
        return (out,)
    return (scatter(F.zeros_like(g, ctx.in_shape), axis, idx, g),)


_SELECT = dict(saves={"indices": out(1)}, attrs=("axis", "keepdim", "in_shape"), outputs=2)
MaxBackward0 = formula("MaxBackward0", **_SELECT)(_select_formula)
MinBackward0 = formula("MinBackward0", **_SELECT)(_select_formula)
MedianBackward1 = formula("MedianBackward1", **_SELECT)(_select_formula)


def _check_nonempty(x, name):
    if x.size == 0:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
            "reduction dim with the 'dim' argument.")


def _extreme(input, dim, keepdim, np_fn, arg_fn, full_node, dim_node, name, rtype):
    if input._data.dtype.kind == "c":
        if dim is None:
            raise NotImplementedError(
                f'"{name}_all" not implemented for \'{_complex_name(input._data)}\'')
        raise RuntimeError(f"{name}(): does not support complex input")
    x = input._data
    if dim is None:
        _check_nonempty(x, name)
        res = np.asarray(np_fn(x))
        return full_node.record(res, (input,), (x, res), (None, False))
    if isinstance(dim, Tensor):  # torch.max(a, b) is maximum
        return (maximum if name == "max" else minimum)(input, dim)
    axis = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        idx = np.zeros((), dtype=np.int64)
        vals = x.copy()
    else:
        if x.shape[axis] == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        idx = arg_fn(x, axis=axis, keepdims=True)
        vals = np.take_along_axis(x, idx, axis=axis)
        if not keepdim:
            idx = np.squeeze(idx, axis)
            vals = np.squeeze(vals, axis)
        idx = idx.astype(np.int64, copy=False)
    values, indices = dim_node.record((vals, idx), (input,), (idx,), (axis, keepdim, x.shape))
    return rtype(values, indices)


def max(input, dim=None, keepdim=False):
    """Maximum of all elements, or ``(values, indices)`` along ``dim``."""
    return _extreme(input, dim, keepdim, np.max, np.argmax, MaxBackward1, MaxBackward0,
                    "max", return_types.max)


def min(input, dim=None, keepdim=False):
    """Minimum of all elements, or ``(values, indices)`` along ``dim``."""
    return _extreme(input, dim, keepdim, np.min, np.argmin, MinBackward1, MinBackward0,
                    "min", return_types.min)


def median(input, dim=None, keepdim=False):
    """The lower median of all elements, or ``(values, indices)`` along ``dim``; a NaN makes the
    result NaN (its first position is the index), as in PyTorch. Among tied values the index is
    the first in sorted order, which may differ from PyTorch's choice."""
    refuse_complex(input, kernel="median_cpu")
    x = input._data
    if dim is None:
        _check_nonempty(x, "median")
        flat = x.reshape(-1)
        if flat.dtype.kind == "f" and np.isnan(flat).any():
            res = np.asarray(np.nan, dtype=x.dtype)
        else:
            res = np.asarray(np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2])
        return MedianBackward0.record(res, (input,), (x, res), (None, False))
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return return_types.median(input.clone(), _wrap(np.zeros((), np.int64)))
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
    values, indices = MedianBackward1.record((vals, inds), (input,), (inds,),
                                                (d, keepdim, x.shape))
    return return_types.median(values, indices)


def _amaxmin(input, dim, keepdim, np_fn, node_cls):
    x = input._data
    if x.dtype.kind == "c":
        raise NotImplementedError(
            f'"{"max" if np_fn is np.max else "min"}_values_cpu" not implemented for '
            f"'{_complex_name(x)}'")
    axes = normalize_dims(dim if dim != () else None, x.ndim)
    res = np.asarray(np_fn(x, axis=axes, keepdims=keepdim))
    return node_cls.record(res, (input,), (x, res), (axes, keepdim))


def amax(input, dim=(), keepdim=False):
    return _amaxmin(input, dim, keepdim, np.max, AmaxBackward0)


def amin(input, dim=(), keepdim=False):
    return _amaxmin(input, dim, keepdim, np.min, AminBackward0)


def _arg_extreme(input, dim, keepdim, np_fn):
    x = input._data
    if x.dtype.kind == "c":
        raise RuntimeError(
            f"{'argmax' if np_fn is np.argmax else 'argmin'}(): does not support complex input")
    if dim is None:
        res = np.asarray(np_fn(x), dtype=np.int64)
        if keepdim:
            res = res.reshape((1,) * x.ndim)
        return _wrap(res)
    return _wrap(np_fn(x, axis=wrap_dim(dim, x.ndim), keepdims=keepdim).astype(np.int64))


def argmax(input, dim=None, keepdim=False):
    return _arg_extreme(input, dim, keepdim, np.argmax)


def argmin(input, dim=None, keepdim=False):
    return _arg_extreme(input, dim, keepdim, np.argmin)


@formula("VarBackward0", saves={"x": 0}, attrs=("axes", "keepdim", "dof"))
def VarBackward0(ctx, g):
    x, axes = ctx.x, ctx.axes
    gexp = F.unreduce(g, axes, ctx.keepdim)
    return (gexp * (2.0 / ctx.dof) * (x - F.mean(x, axes, True)),)


@formula("StdBackward0", saves={"x": 0, "out": OUT}, attrs=("axes", "keepdim", "dof"))
def StdBackward0(ctx, g):
    x, axes = ctx.x, ctx.axes
    gexp = F.unreduce(g, axes, ctx.keepdim)
    out = F.unreduce(ctx.out, axes, ctx.keepdim)
    return (gexp * (x - F.mean(x, axes, True)) / (ctx.dof * out),)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def _var_args(dim, unbiased, correction):
    # torch.var(x, True) means unbiased=True; torch.var(x, 0) means dim=0.
    if isinstance(dim, bool):
        return None, dim, correction
    return dim, unbiased, correction


def _moment(input, dim, unbiased, correction, keepdim, np_fn, name):
    """``np_fn`` (np.var or np.std) with PyTorch's arguments: (axes, dof, result).

    With dof <= 0 the result divides by zero (inf, or nan where the spread is zero), with
    PyTorch's warning instead of NumPy's.
    """
    dim, unbiased, correction = _var_args(dim, unbiased, correction)
    x = input._data
    if x.dtype.kind not in "fc":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = normalize_dims(dim, x.ndim)
    c = _correction(unbiased, correction)
    n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    dof = n - c
    if dof > 0:
        res = np_fn(x, axis=axes, keepdims=keepdim, ddof=c)
    else:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            res = np_fn(x, axis=axes, keepdims=keepdim, ddof=c)
    return x, axes, dof, np.asarray(res).astype(x.dtype, copy=False)


@widened_op
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if input._data.dtype.kind == "c":
        # |z - m|^2 = (re - m_re)^2 + (im - m_im)^2: a real variance, PyTorch's gradient
        return (var(input.real, dim, unbiased, keepdim, correction=correction)
                + var(input.imag, dim, unbiased, keepdim, correction=correction))
    x, axes, dof, res = _moment(input, dim, unbiased, correction, keepdim, np.var, "var")
    return VarBackward0.record(res, (input,), (x,), (axes, keepdim, dof))


@widened_op
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if input._data.dtype.kind == "c":
        return var(input, dim, unbiased, keepdim, correction=correction).sqrt()
    x, axes, dof, res = _moment(input, dim, unbiased, correction, keepdim, np.std, "std")
    return StdBackward0.record(res, (input,), (x, res), (axes, keepdim, dof))


@widened_op
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.var_mean(var(input, dim, unbiased, keepdim, correction=correction),
                                 mean(input, dim, keepdim))


@widened_op
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.std_mean(std(input, dim, unbiased, keepdim, correction=correction),
                                 mean(input, dim, keepdim))


@formula("LinalgVectorNormBackward0", saves={"x": 0, "out": OUT},
         attrs=("axes", "keepdim", "ord"))
def LinalgVectorNormBackward0(ctx, g):
    x, axes, p = ctx.x, ctx.axes, ctx.ord
    gexp = F.unreduce(g, axes, ctx.keepdim)
    out = F.unreduce(ctx.out, axes, ctx.keepdim)
    if p == 2:
        grad = F.where(out == 0, 0, x / out) * gexp
    elif p == 1:
        grad = F.sign(x) * gexp
    elif p == np.inf or p == -np.inf:
        mask = F.abs(x) == out
        count = F.cast(F.sum(mask, axes, True), x)
        grad = F.sign(x) * F.cast(mask, x) / count * gexp
    elif p == 0:
        grad = F.zeros_like(x)
    else:
        grad = F.where(out == 0, 0, x * F.abs(x) ** (p - 2) / out ** (p - 1)) * gexp
    return (F.cast(grad, x),)


@widened_op
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements by default); 'fro' is the 2-norm."""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("nuclear norm is not provided by numtorch")
    if input._data.dtype.kind == "c":
        return vector_norm(input.abs(), p, dim, keepdim, dtype=dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


@widened_op
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    data = x._data
    if dtype is not None:
        data = data.astype(dt.to_numpy_dtype(dtype))
    if data.dtype.kind not in "fc":
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{dt.from_numpy_dtype(data.dtype).name.capitalize()}")
    axes = normalize_dims(dim, data.ndim)
    a = np.abs(data)
    if ord == 2:
        res = np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
    elif ord == 1:
        res = np.sum(a, axis=axes, keepdims=keepdim)
    elif ord == np.inf:
        res = np.max(a, axis=axes, keepdims=keepdim)
    elif ord == -np.inf:
        res = np.min(a, axis=axes, keepdims=keepdim)
    elif ord == 0:
        res = np.sum(a != 0, axis=axes, keepdims=keepdim)
    else:
        res = np.sum(a ** ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)
    # a norm is real: complex input gives the matching real dtype, as in PyTorch (a complex
    # result made the engine treat the node as holomorphic and conjugate its gradient)
    res = np.asarray(res, dtype=a.dtype)
    return LinalgVectorNormBackward0.record(res, (x,), (data, res), (axes, keepdim, ord))


@formula("LogsumexpBackward0", saves={"x": 0, "out": OUT}, attrs=("axes", "keepdim"))
def LogsumexpBackward0(ctx, g):
    axes = ctx.axes
    gexp = F.unreduce(g, axes, ctx.keepdim)
    out = F.unreduce(ctx.out, axes, ctx.keepdim)
    return (gexp * F.exp(ctx.x - out),)


@widened_op
def logsumexp(input, dim, keepdim=False):
    x = input._data
    if x.dtype.kind in "iub":
        x = x.astype(dt.get_default_dtype()._np)
    axes = normalize_dims(dim, x.ndim) or tuple(range(x.ndim))
    m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    m = np.where(np.isfinite(m), m, 0)
    res = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdim:
        res = np.squeeze(res, axes)
    return LogsumexpBackward0.record(np.asarray(res), (input,), (x, np.asarray(res)),
                                     (axes, keepdim))


@formula("CumsumBackward0", attrs=("axis",))
def CumsumBackward0(ctx, g):
    ax = ctx.axis
    if g.ndim == 0:
        return (g,)
    return (F.flip(F.cumsum(F.flip(g, ax), ax), ax),)


@widened_op
def cumsum(input, dim, *, dtype=None):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    res = np.cumsum(x, axis=ax, dtype=_sum_dtype(x, dtype)) if x.ndim else x.copy()
    return CumsumBackward0.record(res, (input,), (), (ax,))


@formula("CumprodBackward0", saves={"x": 0, "out": OUT}, attrs=("axis",))
def CumprodBackward0(ctx, g):
    ax, x, out = ctx.axis, ctx.x, ctx.out
    if not F.any_true(x == 0):
        if g.ndim == 0:
            return (g,)
        return (F.flip(F.cumsum(F.flip(g * out, ax), ax), ax) / x,)
    if not F.is_array(g):
        raise RuntimeError(
            "the second derivative of cumprod() with zeros in the input is not implemented with "
            "differentiable operations in numtorch")
    # Slow exact path with zeros: d out_j / d x_i = prod_{k<=j, k!=i} x_k.
    xm = np.moveaxis(x, ax, -1)
    gm = np.moveaxis(g, ax, -1)
    n = xm.shape[-1]
    grad = np.zeros_like(xm)
    for i in range(n):
        others = xm.copy()
        others[..., i] = 1
        cp = np.cumprod(others, axis=-1)
        grad[..., i] = np.sum(gm[..., i:] * cp[..., i:], axis=-1)
    return (np.moveaxis(grad, -1, ax),)


def cumprod(input, dim, *, dtype=None):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    res = np.cumprod(x, axis=ax, dtype=_sum_dtype(x, dtype))
    return CumprodBackward0.record(res, (input,), (x, res), (ax,))


def all(input, dim=None, keepdim=False):
    axes = normalize_dims(dim, input._data.ndim)
    return _wrap(np.asarray(np.all(input._data, axis=axes, keepdims=keepdim)))


def any(input, dim=None, keepdim=False):
    axes = normalize_dims(dim, input._data.ndim)
    return _wrap(np.asarray(np.any(input._data, axis=axes, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    axes = normalize_dims(dim, input._data.ndim)
    return _wrap(np.asarray(np.count_nonzero(input._data, axis=axes), dtype=np.int64))


# ---------------------------------------------------------------------------- softmax family
@formula("SoftmaxBackward0", saves={"out": OUT}, attrs=("axis",))
def SoftmaxBackward0(ctx, g):
    out, ax = ctx.out, ctx.axis
    if F.is_array(g) and ax == out.ndim - 1:
        fast = _fused.softmax_backward_last(out, g)
        if fast is not None:
            return (fast,)
    gy = g * out
    if F.is_array(g):
        return (gy - out * gy.sum(axis=ax, keepdims=True),)
    return (gy - out * F.sum(gy, ax, True),)


@formula("LogSoftmaxBackward0", saves={"out": OUT}, attrs=("axis",))
def LogSoftmaxBackward0(ctx, g):
    out, ax = ctx.out, ctx.axis
    if F.is_array(g):
        fast = _log_softmax_rows(out, g) if ax == out.ndim - 1 else None
        if fast is not None:
            return (fast,)
        return (g - np.exp(out) * g.sum(axis=ax, keepdims=True),)
    return (g - F.exp(out) * F.sum(g, ax, True),)


def _log_softmax_rows(y, g=None):
    """Log-softmax of float32 ``y`` over its last dim, or with ``g`` its backward ``g -
    exp(y) * sum(g)``: compiled (:mod:`._jit_seq`), rows shared among threads; None where the
    kernels are not available or the shapes do not suit them (the caller uses NumPy)."""
    if y.dtype != np.float32 or (g is not None and (g.dtype != y.dtype or g.shape != y.shape)):
        return None
    kern = _jit_seq.kernels(y)
    if kern is None or y.shape[-1] == 0:
        return None
    rows = np.ascontiguousarray(y).reshape(-1, y.shape[-1])
    out = np.empty(rows.shape, y.dtype)
    if g is None:
        # the rows' maxima (NumPy's max, exact) in one call before the threads start: in each
        # thread's runs, NumPy's max on a few rows keeps the second thread from gaining anything
        tops = np.maximum.reduce(rows, axis=1)

        def run(s, e):
            kern.log_softmax_rows(rows, tops, out, s, e)
    else:
        g_rows = np.ascontiguousarray(g).reshape(rows.shape)

        def run(s, e):
            kern.log_softmax_backward_rows(rows, g_rows, out, s, e)
    _parallel.run_rows(run, *rows.shape)
    return out.reshape(y.shape)


def _softmax_dim(dim, ndim):
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return wrap_dim(dim, ndim)


def _complex_name(x):
    return "ComplexFloat" if x.dtype == np.complex64 else "ComplexDouble"


def _refuse_complex_softmax(x, ax, kind):
    if x.dtype.kind == "c":
        last = "lastdim_" if ax == x.ndim - 1 or x.ndim == 0 else ""
        raise NotImplementedError(
            f'"{kind}_{last}kernel_impl" not implemented for \'{_complex_name(x)}\'')


@widened_op
def softmax(input, dim=None, dtype=None, _stacklevel=3):
    x = input._data
    if dtype is not None:
        x = x.astype(dt.to_numpy_dtype(dtype))
    ax = _softmax_dim(dim, x.ndim)
    _refuse_complex_softmax(x, ax, "softmax")
    # float32 over the last dim: compiled, rows shared among threads (ops._fused)
    res = _fused.softmax_last(x) if x.ndim and ax == x.ndim - 1 else None
    if x.ndim == 0:
        res = np.ones_like(x)
    elif res is None:
        with np.errstate(invalid="ignore"):  # an inf input gives nan, quietly, as in PyTorch
            e = x - x.max(axis=ax, keepdims=True)
            np.exp(e, out=e)
            e /= e.sum(axis=ax, keepdims=True)
        res = e
    return SoftmaxBackward0.record(res, (input,), (res,), (ax,))


@widened_op
def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    x = input._data
    if dtype is not None:
        x = x.astype(dt.to_numpy_dtype(dtype))
    ax = _softmax_dim(dim, x.ndim)
    _refuse_complex_softmax(x, ax, "log_softmax")
    # float32 over the last dim: compiled, rows shared among threads
    res = _log_softmax_rows(x) if x.ndim and ax == x.ndim - 1 else None
    if x.ndim == 0:
        res = np.zeros_like(x)
    elif res is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            shifted = x - x.max(axis=ax, keepdims=True)
            lse = np.log(np.exp(shifted).sum(axis=ax, keepdims=True))
            shifted -= lse
        res = shifted
    return LogSoftmaxBackward0.record(res, (input,), (res,), (ax,))


# ---------------------------------------------------------------------------- public names
# (function, numtorch.* exports, Tensor methods); nodes listed for the in-place rule
for _fn, _exports, _methods, _nodes in [
    (sum, True, True, (SumBackward0, SumBackward1)),
    (mean, True, True, (MeanBackward0, MeanBackward1)),
    (prod, True, True, (ProdBackward0, ProdBackward1)),
    (max, True, True, (MaxBackward0, MaxBackward1)),
    (min, True, True, (MinBackward0, MinBackward1)),
    (amax, True, True, (AmaxBackward0,)), (amin, True, True, (AminBackward0,)),
    (median, True, True, (MedianBackward0, MedianBackward1)),
    (argmax, True, True, ()), (argmin, True, True, ()),
    (var, True, True, (VarBackward0,)), (std, True, True, (StdBackward0,)),
    (var_mean, True, False, (VarBackward0, MeanBackward1)),
    (std_mean, True, False, (StdBackward0, MeanBackward1)),
    (norm, True, True, (LinalgVectorNormBackward0,)),
    (logsumexp, True, True, (LogsumexpBackward0,)),
    (cumsum, True, True, (CumsumBackward0,)), (cumprod, True, True, (CumprodBackward0,)),
    (all, True, True, ()), (any, True, True, ()), (count_nonzero, True, True, ()),
    (softmax, True, True, (SoftmaxBackward0,)),
    (log_softmax, True, True, (LogSoftmaxBackward0,)),
]:
    declare(_fn, export=_exports, method=_methods, nodes=_nodes)
