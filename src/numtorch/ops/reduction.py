"""Reductions (sum, mean, max, var, norm, logsumexp, …), scans, and the softmax family."""

import collections
import warnings

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import _formulas as F
from ._lowp import fp32_op, widened_op
from ._registry import formula
from ._util import attach, normalize_dims, wrap_dim
from .elementwise import maximum, minimum

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
    if x.dtype == dt._BF16_NP and dtype is None:  # accumulate bfloat16 in float32, as torch
        res = x.sum(axis=axes, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    else:
        res = x.sum(axis=axes, keepdims=keepdim,
                    dtype=None if x.dtype.kind in "fc" and dtype is None
                    else _sum_dtype(x, dtype))
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
        res = np.asarray(x.mean(axis=axes, keepdims=keepdim, dtype=np.float32)).astype(x.dtype)
    elif x.size:
        res = x.mean(axis=axes, keepdims=keepdim)
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


class ProdBackward0(Node):
    _saved_fields = ("x", "out")

    def backward(self, g):
        x, axes, keepdim = self.x, self.axes, self.keepdim
        out = _unreduce(self.out, axes, keepdim)
        gexp = _unreduce(g, axes, keepdim)
        zeros = x == 0
        if not zeros.any():
            return (gexp * out / x,)
        # Product of all other elements, computed without dividing by zero.
        ax = axes[0] if axes is not None else None
        flat = x.reshape(-1) if ax is None else np.moveaxis(x, ax, -1)
        left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
        right = np.flip(np.cumprod(np.concatenate(
            [np.ones_like(flat[..., :1]), np.flip(flat, -1)[..., :-1]], -1), -1), -1)
        others = left * right
        others = others.reshape(x.shape) if ax is None else np.moveaxis(others, -1, ax)
        return (gexp * others,)


class ProdBackward1(ProdBackward0):
    pass


@fp32_op
def prod(input, dim=None, keepdim=False, *, dtype=None):
    x = input._data
    axes = None if dim is None else (wrap_dim(dim, x.ndim),)
    res = np.asarray(np.prod(x, axis=axes, keepdims=keepdim, dtype=_sum_dtype(x, dtype)))
    if _GradState.enabled and input._requires_grad:
        node = ProdBackward0() if dim is None else ProdBackward1()
        node.x, node.out, node.axes, node.keepdim = x, res, axes, keepdim
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


class _EvenlyDistribute(Node):
    """Gradient of a full max/min/amax/amin/median: shared equally among the elements equal to
    the result (among the NaNs when the result is NaN)."""

    _saved_fields = ("x", "out")

    def backward(self, g):
        x, axes, keepdim = self.x, self.axes, self.keepdim
        out = _unreduce(self.out, axes, keepdim)
        gexp = _unreduce(g, axes, keepdim)
        mask = x == out
        if out.dtype.kind == "f" and np.isnan(out).any():  # a NaN result: shared among NaNs
            mask |= np.isnan(x) & np.isnan(out)
        count = mask.sum(axis=axes, keepdims=True).astype(g.dtype)  # g / int64 is float64
        return (np.where(mask, gexp / count, 0),)


class MaxBackward1(_EvenlyDistribute):
    pass


class MinBackward1(_EvenlyDistribute):
    pass


class AmaxBackward0(_EvenlyDistribute):
    pass


class AminBackward0(_EvenlyDistribute):
    pass


class MaxBackward0(Node):
    """Gradient of ``max(dim)``: to the selected index only."""

    _saved_fields = ("indices",)

    def backward(self, g):
        idx = self.indices
        if not self.keepdim:
            idx = np.expand_dims(idx, self.axis)
            g = np.expand_dims(g, self.axis)
        out = np.zeros(self.in_shape, dtype=g.dtype)
        np.put_along_axis(out, idx, g, axis=self.axis)
        return (out,)


class MinBackward0(MaxBackward0):
    pass


class MedianBackward0(_EvenlyDistribute):
    pass


class MedianBackward1(MaxBackward0):
    pass


def _check_nonempty(x, name):
    if x.size == 0:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
            "reduction dim with the 'dim' argument.")


def _extreme(input, dim, keepdim, np_fn, arg_fn, full_node, dim_node, name, rtype):
    x = input._data
    if dim is None:
        _check_nonempty(x, name)
        res = np.asarray(np_fn(x))
        if _GradState.enabled and input._requires_grad:
            node = full_node()
            node.x, node.out, node.axes, node.keepdim = x, res, None, False
            node.save_versions(input)
            return attach(res, node, input)
        return _wrap(res)
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
    indices = _wrap(idx)
    if _GradState.enabled and input._requires_grad:
        node = dim_node()
        node.indices, node.axis, node.keepdim, node.in_shape = idx, axis, keepdim, x.shape
        values = attach(vals, node, input)
    else:
        values = _wrap(vals)
    return rtype(values, indices)


def max(input, dim=None, keepdim=False):
    """Maximum of all elements, or ``(values, indices)`` along ``dim``."""
    return _extreme(input, dim, keepdim, np.max, np.argmax, MaxBackward1, MaxBackward0,
                    "max", return_types.max)


def min(input, dim=None, keepdim=False):
    """Minimum of all elements, or ``(values, indices)`` along ``dim``."""
    return _extreme(input, dim, keepdim, np.min, np.argmin, MinBackward1, MinBackward0,
                    "min", return_types.min)


def _amaxmin(input, dim, keepdim, np_fn, node_cls):
    x = input._data
    axes = normalize_dims(dim if dim != () else None, x.ndim)
    res = np.asarray(np_fn(x, axis=axes, keepdims=keepdim))
    if _GradState.enabled and input._requires_grad:
        node = node_cls()
        node.x, node.out, node.axes, node.keepdim = x, res, axes, keepdim
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


def amax(input, dim=(), keepdim=False):
    return _amaxmin(input, dim, keepdim, np.max, AmaxBackward0)


def amin(input, dim=(), keepdim=False):
    return _amaxmin(input, dim, keepdim, np.min, AminBackward0)


def _arg_extreme(input, dim, keepdim, np_fn):
    x = input._data
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


class VarBackward0(Node):
    _saved_fields = ("x",)

    def backward(self, g):
        x, axes = self.x, self.axes
        gexp = _unreduce(g, axes, self.keepdim)
        m = x.mean(axis=axes, keepdims=True)
        return (gexp * (2.0 / self.dof) * (x - m),)


class StdBackward0(Node):
    _saved_fields = ("x", "out")

    def backward(self, g):
        x, axes = self.x, self.axes
        gexp = _unreduce(g, axes, self.keepdim)
        out = _unreduce(self.out, axes, self.keepdim)
        m = x.mean(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (gexp * (x - m) / (self.dof * out),)


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
    x, axes, dof, res = _moment(input, dim, unbiased, correction, keepdim, np.var, "var")
    if _GradState.enabled and input._requires_grad:
        node = VarBackward0()
        node.x, node.axes, node.keepdim, node.dof = x, axes, keepdim, dof
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


@widened_op
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    x, axes, dof, res = _moment(input, dim, unbiased, correction, keepdim, np.std, "std")
    if _GradState.enabled and input._requires_grad:
        node = StdBackward0()
        node.x, node.out, node.axes, node.keepdim, node.dof = x, res, axes, keepdim, dof
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


@widened_op
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.var_mean(var(input, dim, unbiased, keepdim, correction=correction),
                                 mean(input, dim, keepdim))


@widened_op
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.std_mean(std(input, dim, unbiased, keepdim, correction=correction),
                                 mean(input, dim, keepdim))


class LinalgVectorNormBackward0(Node):
    _saved_fields = ("x", "out")

    def backward(self, g):
        x, axes, p = self.x, self.axes, self.ord
        gexp = _unreduce(g, axes, self.keepdim)
        out = _unreduce(self.out, axes, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                grad = np.where(out == 0, 0, x / out) * gexp
            elif p == 1:
                grad = np.sign(x) * gexp
            elif p == np.inf or p == -np.inf:
                mask = np.abs(x) == out
                count = mask.sum(axis=axes, keepdims=True).astype(x.dtype)
                grad = np.sign(x) * mask / count * gexp
            elif p == 0:
                grad = np.zeros_like(x)
            else:
                grad = np.where(out == 0, 0, x * np.abs(x) ** (p - 2) / out ** (p - 1)) * gexp
        return (grad.astype(x.dtype, copy=False),)


@widened_op
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements by default); 'fro' is the 2-norm."""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("nuclear norm is not provided by numtorch")
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
        res = np.sum(a != 0, axis=axes, keepdims=keepdim).astype(data.dtype)
    else:
        res = np.sum(a ** ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)
    res = np.asarray(res, dtype=data.dtype)
    if _GradState.enabled and x._requires_grad:
        node = LinalgVectorNormBackward0()
        node.x, node.out, node.axes, node.keepdim, node.ord = data, res, axes, keepdim, ord
        node.save_versions(x)
        return attach(res, node, x)
    return _wrap(res)


class LogsumexpBackward0(Node):
    _saved_fields = ("x", "out")

    def backward(self, g):
        axes = self.axes
        gexp = _unreduce(g, axes, self.keepdim)
        out = _unreduce(self.out, axes, self.keepdim)
        return (gexp * np.exp(self.x - out),)


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
    res = np.asarray(res)
    if _GradState.enabled and input._requires_grad:
        node = LogsumexpBackward0()
        node.x, node.out, node.axes, node.keepdim = x, res, axes, keepdim
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


class CumsumBackward0(Node):
    def backward(self, g):
        ax = self.axis
        return (np.flip(np.cumsum(np.flip(g, ax), axis=ax), ax),)


@widened_op
def cumsum(input, dim, *, dtype=None):
    x = input._data
    ax = wrap_dim(dim, x.ndim)
    res = np.cumsum(x, axis=ax, dtype=_sum_dtype(x, dtype)) if x.ndim else x.copy()
    if _GradState.enabled and input._requires_grad:
        node = CumsumBackward0()
        node.axis = ax
        return attach(res, node, input)
    return _wrap(res)


class CumprodBackward0(Node):
    _saved_fields = ("x", "out")

    def backward(self, g):
        ax, x, out = self.axis, self.x, self.out
        if np.all(x != 0):
            return (np.flip(np.cumsum(np.flip(g * out, ax), axis=ax), ax) / x,)
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
    if _GradState.enabled and input._requires_grad:
        node = CumprodBackward0()
        node.x, node.out, node.axis = x, res, ax
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


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
class SoftmaxBackward0(Node):
    _saved_fields = ("out",)

    def backward(self, g):
        out, ax = self.out, self.axis
        gy = g * out
        return (gy - out * gy.sum(axis=ax, keepdims=True),)


class LogSoftmaxBackward0(Node):
    _saved_fields = ("out",)

    def backward(self, g):
        out, ax = self.out, self.axis
        return (g - np.exp(out) * g.sum(axis=ax, keepdims=True),)


def _softmax_dim(dim, ndim):
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return wrap_dim(dim, ndim)


@widened_op
def softmax(input, dim=None, dtype=None, _stacklevel=3):
    x = input._data
    if dtype is not None:
        x = x.astype(dt.to_numpy_dtype(dtype))
    ax = _softmax_dim(dim, x.ndim)
    if x.ndim == 0:
        res = np.ones_like(x)
    else:
        e = x - x.max(axis=ax, keepdims=True)
        np.exp(e, out=e)
        e /= e.sum(axis=ax, keepdims=True)
        res = e
    if _GradState.enabled and input._requires_grad:
        node = SoftmaxBackward0()
        node.axis = ax
        result = attach(res, node, input)
        node.out = res
        node.save_versions(output=result)
        return result
    return _wrap(res)


@widened_op
def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    x = input._data
    if dtype is not None:
        x = x.astype(dt.to_numpy_dtype(dtype))
    ax = _softmax_dim(dim, x.ndim)
    if x.ndim == 0:
        res = np.zeros_like(x)
    else:
        shifted = x - x.max(axis=ax, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=ax, keepdims=True))
        shifted -= lse
        res = shifted
    if _GradState.enabled and input._requires_grad:
        node = LogSoftmaxBackward0()
        node.axis = ax
        result = attach(res, node, input)
        node.out = res
        node.save_versions(output=result)
        return result
    return _wrap(res)
