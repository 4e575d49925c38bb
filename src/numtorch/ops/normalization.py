"""Normalization: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``,
``local_response_norm``.

``batch_norm``, ``layer_norm`` and ``group_norm`` are each one fused node
(``NativeBatchNormBackward0``, ``NativeLayerNormBackward0``, ``NativeGroupNormBackward0``) with
edges to input, weight and bias, as in PyTorch. They share one kernel pair: ``_normalize``
(two-pass mean and biased variance over some axes) and ``_normalized_input_grad`` (the closed
form of the input gradient through those statistics).
"""

import math

import numpy as np

from .. import _threads
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from . import _batchnorm_jit, _fused, _parallel
from . import _formulas as F
from . import elementwise as ew
from . import shape as sh
from ._lowp import widened_op
from ._registry import formula
from ._runtime import run_blocks

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- shared kernels
def _normalize(x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes``; returns (xhat, mean, biased var, invstd,
    scratch): the centred input normalized in place, and a free buffer of its shape (where the
    squares were summed) for the output. Overflow gives inf and nan without a warning, as in
    PyTorch."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        scratch = np.multiply(centred, centred)
        var = scratch.mean(axis=axes, keepdims=True)
        invstd = 1 / np.sqrt(var + eps)
        centred *= invstd
    return centred, mean, var, invstd, scratch


def _normalized_input_grad(gh, xhat, invstd, axes, owned=False):
    """Input gradient of ``xhat = (x - mean(x)) * invstd(x)`` given ``gh = dL/dxhat`` (arrays;
    ``owned``: ``gh`` is a temporary that may be overwritten)."""
    n = math.prod(xhat.shape[a] for a in axes)
    if not n:
        return gh
    with np.errstate(over="ignore", invalid="ignore"):  # inf and nan pass silently, as in PyTorch
        mean_gh = gh.mean(axis=axes, keepdims=True)
        t = gh * xhat
        mean_ghx = t.mean(axis=axes, keepdims=True)
        np.multiply(xhat, mean_ghx, out=t)
        gi = gh if owned else gh.copy()
        gi -= mean_gh
        gi -= t
        gi *= invstd
    return gi


def _normalized_input_grad_t(gh, xhat, invstd, axes):
    """The same on Tensors (differentiable)."""
    mean_gh = F.mean(gh, axes, True)
    mean_ghx = F.mean(gh * xhat, axes, True)
    return (gh - mean_gh - xhat * mean_ghx) * invstd


def _stats_t(x, axes, eps):
    """``xhat`` and ``invstd`` recomputed from the input Tensor ``x`` with recorded ops (the
    differentiable path of the formulas)."""
    centred = x - F.mean(x, axes, True)
    invstd = 1 / F.sqrt(F.mean(centred * centred, axes, True) + eps)
    return centred * invstd, invstd


def _affine(xhat, weight, bias, shape, out=None):
    """``xhat * weight + bias`` with the parameters viewed as ``shape`` (a copy of ``xhat``
    when both are None: the node keeps ``xhat``, in-place edits of the output must not reach
    it), written into ``out`` when given (a free buffer of ``xhat``'s shape and dtype)."""
    w = None if weight is None else weight._data.reshape(shape)
    b = None if bias is None else bias._data.reshape(shape)
    dtype = np.result_type(xhat, *(p for p in (w, b) if p is not None))
    if out is None or dtype != out.dtype:
        out = np.empty(xhat.shape, dtype=dtype)
    if w is not None:
        np.multiply(xhat, w, out=out)
    else:
        np.copyto(out, xhat)
    if b is not None:
        out += b
    return out


def _norm_formula(ctx, g, grouped=None):
    """Gradients of ``xhat * w + b`` for the normalization nodes; ``xhat`` normalizes the input
    over ``ctx.axes`` (of the input viewed as ``grouped`` when given)."""
    ni, nw, nb = ctx.needs(0), ctx.needs(1), ctx.needs(2)
    pshape, sum_axes = ctx.w_shape, ctx.sum_axes
    w = ctx.w
    if F.is_array(g) and ctx.stats and grouped is None:
        return _np_norm_grads(g, ctx.xhat, ctx.invstd, None if w is None else w.reshape(pshape),
                              ctx.axes, sum_axes, ctx.param_shape, ni, nw, nb)
    if F.is_array(g):
        xhat, invstd = ctx.xhat, ctx.invstd
        gi = None
        if ni:
            gh = g if w is None else g * w.reshape(pshape)
            if ctx.stats:
                if grouped is not None:
                    gi = _normalized_input_grad(gh.reshape(grouped), xhat.reshape(grouped),
                                                invstd, ctx.axes, owned=gh is not g)
                    gi = gi.reshape(g.shape)
                else:
                    gi = _normalized_input_grad(gh, xhat, invstd, ctx.axes, owned=gh is not g)
            else:
                gi = gh * invstd
    else:
        x = ctx.x
        if ctx.stats:
            xg = x if grouped is None else F.reshape(x, grouped)
            xhat, invstd = _stats_t(xg, ctx.axes, ctx.eps)
            if grouped is not None:
                xhat = F.reshape(xhat, g.shape)
        else:
            invstd = ctx.invstd
            xhat = (x - ctx.mean) * invstd
        gi = None
        if ni:
            gh = g if w is None else g * F.reshape(w, pshape)
            if ctx.stats:
                if grouped is not None:
                    gi = _normalized_input_grad_t(F.reshape(gh, grouped), F.reshape(xhat, grouped),
                                                  invstd, ctx.axes)
                    gi = F.reshape(gi, g.shape)
                else:
                    gi = _normalized_input_grad_t(gh, xhat, invstd, ctx.axes)
            else:
                gi = gh * invstd
    gw = _param_sum(g * xhat, sum_axes, ctx.param_shape) if nw else None
    gb = _param_sum(g, sum_axes, ctx.param_shape) if nb else None
    return gi, gw, gb


def _data(t):
    return None if t is None else t._data


def _np_norm_grads(g, xhat, invstd, w, axes, sum_axes, param_shape, ni, nw, nb):
    """Array gradients of ``xhat * w + b`` through batch statistics, in few passes: ``g * xhat``
    is formed once and serves the weight gradient and the input gradient's projection."""
    gx = g * xhat
    gw = gx.sum(axis=sum_axes).reshape(param_shape) if nw and sum_axes else None
    gb = g.sum(axis=sum_axes).reshape(param_shape) if nb and sum_axes else None
    if nw and not sum_axes:
        gw = gx.reshape(param_shape).copy()
    if nb and not sum_axes:
        gb = g.reshape(param_shape).copy()
    gi = None
    if ni:
        n = math.prod(xhat.shape[a] for a in axes)
        if not n:
            gi = g if w is None else g * w
        elif sum_axes == axes:
            # batch norm: the weight is constant over the normalized axes, so the sums the input
            # gradient needs are the parameter gradients' (per channel)
            sg = g.sum(axis=axes, keepdims=True) if gb is None else gb.reshape(invstd.shape)
            sgx = gx.sum(axis=axes, keepdims=True) if gw is None else gw.reshape(invstd.shape)
            coef = invstd if w is None else invstd * w
            gi = np.multiply(xhat, sgx * (-1 / n), out=gx)
            gi += g
            gi -= sg * (1 / n)
            gi *= coef
        else:
            gh = g if w is None else g * w
            if w is not None:
                gx *= w  # now gh * xhat
            mean_ghx = gx.mean(axis=axes, keepdims=True)
            mean_gh = gh.mean(axis=axes, keepdims=True)
            np.multiply(xhat, mean_ghx, out=gx)
            gi = gh if gh is not g else g.copy()
            gi -= mean_gh
            gi -= gx
            gi *= invstd
    return gi, gw, gb


def _param_sum(t, axes, shape):
    return F.reshape(F.sum(t, axes) if axes else t, shape)


_NORM_SAVES = {"x": 0, "w": 1, "xhat": None, "invstd": None, "mean": None}
_NORM_ATTRS = ("axes", "sum_axes", "w_shape", "param_shape", "eps", "stats")


# ---------------------------------------------------------------------------- batch norm
@formula("NativeBatchNormBackward0", saves=_NORM_SAVES, attrs=_NORM_ATTRS)
def NativeBatchNormBackward0(ctx, g):
    if ctx.xhat is None and ctx.stats and F.is_array(g):
        return _bn_backward_fused(ctx, g)
    return _norm_formula(ctx, g)


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2) if ndim >= 2 else (-1,)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) over the batch and spatial dims.

    In training the batch statistics are used and, when given, ``running_mean`` and
    ``running_var`` are updated in place: ``running = (1 - momentum) * running + momentum *
    batch_stat``, with the unbiased batch variance as PyTorch does. In evaluation the running
    statistics normalize the input.
    """
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"Expected 2D or higher input (got {x.ndim}D input)")
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.shape[0] * math.prod(x.shape[2:])
    cshape = _channel_shape(x.ndim)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and stat._data.size != x.shape[1]:
            raise RuntimeError(
                f"{name} should contain {x.shape[1]} elements not {stat._data.size}")
    if training:
        if n == 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{Size(x.shape)}")
        fused = _bn_forward_fused(x, weight, bias, eps)
        if fused is not None:
            res, mean, var, invstd = fused
            _update_running(running_mean, running_var, mean, var, n, momentum)
            out = NativeBatchNormBackward0.record(
                res, (input, weight, bias), (x, _data(weight), None, invstd, mean),
                (axes, axes, cshape, (x.shape[1],), eps, training))
            node = out.grad_fn
            if node is not None:
                # what a ReLU's backward left to this node needs (_bn_relu_backward)
                out._vbox = node._out_version = [0]
                node._shift = None if bias is None else bias._data.copy()
            return out
        xhat, mean, var, invstd, scratch = _normalize(x, axes, eps)
        _update_running(running_mean, running_var, mean, var, n, momentum)
        mean = None
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        mean = running_mean._data.astype(x.dtype).reshape(cshape)
        invstd = 1 / np.sqrt(running_var._data.astype(x.dtype, copy=False).reshape(cshape) + eps)
        if not (_GradState.enabled and any(t is not None and t._requires_grad
                                           for t in (input, weight, bias))):
            # nothing to record (inference): PyTorch's form, x * alpha + beta, in two passes
            return NativeBatchNormBackward0.record(
                _eval_output(x, mean, invstd, weight, bias, cshape), (input, weight, bias))
        xhat = (x - mean) * invstd
        scratch = None
    res = _affine(xhat, weight, bias, cshape, scratch)
    return NativeBatchNormBackward0.record(
        res, (input, weight, bias), (x, _data(weight), xhat, invstd, mean),
        (axes, axes, cshape, (x.shape[1],), eps, training))


def _eval_output(x, mean, invstd, weight, bias, cshape):
    """An evaluation-mode batch norm's result as PyTorch computes it: ``x * alpha + beta`` with
    ``alpha = invstd * weight`` and ``beta = bias - mean * alpha`` per channel (two passes over
    ``x`` instead of four, no ``xhat``)."""
    alpha = invstd if weight is None else invstd * weight._data.reshape(cshape)
    beta = -mean * alpha if bias is None else bias._data.reshape(cshape) - mean * alpha
    out = np.multiply(x, alpha)
    out += beta
    return out


def _fused_kernels(x, weight, bias):
    """The compiled batch-norm kernels when they apply to these arrays (numba present, one
    float dtype throughout, at least ``_BN_MIN_INNER`` values per channel and sample), else
    None. The kernels walk each sample's row of each channel; a ``(N, C)`` input has rows of
    one value (BatchNorm1d on (256, 512): four times slower than NumPy's whole-array passes)."""
    if x.ndim < 3 or not x.size or x.size // (x.shape[0] * x.shape[1]) < _BN_MIN_INNER:
        return None
    for p in (weight, bias):
        if p is not None and p._data.dtype != x.dtype:
            return None
    return _batchnorm_jit.kernels(x)


def _sweep_blocks(x, fn):
    """Runs ``fn(c0, c1)`` (a kernel sweeping its channels in memory order) over all channels
    at once, or over ``_BN_SWEEP_BLOCKS`` blocks of channels shared among the worker threads
    for large inputs when a second thread is free. A block's sweep is slower the fewer
    channels it has (shorter contiguous runs), so one thread takes them all. Each channel is
    computed alone: the blocks never change the numbers."""
    nc = x.shape[1]
    if nc < 2 or x.nbytes < _BN_THREADED_BYTES or _threads.threads_for(2, 1) <= 1:
        fn(0, nc)
    else:
        run_blocks(nc, -(-nc // _BN_SWEEP_BLOCKS), fn)


_BN_SWEEP_BLOCKS = 4
_BN_MIN_INNER = 4
# Inputs below this stay on one thread. The passes are memory-bound: on the 2-core machine two
# threads streaming cold arrays got 1.2 times one thread's bandwidth (37 against 30 GB/s), a
# helper takes 50-160 µs to wake, and a block's sweep is slower than the whole one. ResNet-8's
# 0.5-2 MiB batch norms shared in 2 or 4 blocks were no faster in the training step and 1.5-2
# times slower alone (cold (32, 16, 32, 32) backward: 350-400 µs on one thread, 570-590 µs
# shared; measured with other processes on the machine).
_BN_THREADED_BYTES = 16 << 20


def _bn_forward_fused(x, weight, bias, eps):
    """Training-mode batch norm in one compiled kernel (statistics, normalization and the affine
    step): ``(out, mean, var, invstd)`` with the statistics in float64 of shape ``(C,)``, or
    None where the kernels do not apply. ``xhat`` is not kept: the backward recomputes it from
    the input."""
    k = _fused_kernels(x, weight, bias)
    if k is None:
        return None
    nc = x.shape[1]
    x3 = x.reshape(x.shape[0], nc, -1)
    w = np.ones(nc, x.dtype) if weight is None else weight._data
    b = np.zeros(nc, x.dtype) if bias is None else bias._data
    out = np.empty(x3.shape, x.dtype)
    mean, var, invstd = np.empty(nc), np.empty(nc), np.empty(nc)
    _sweep_blocks(x, lambda c0, c1: k.bn_forward(x3, w, b, eps, out, mean, var, invstd, c0,
                                                 c1))
    return out.reshape(x.shape), mean, var, invstd


def _bn_backward_fused(ctx, g):
    """Array gradients of a training-mode batch norm recorded by ``_bn_forward_fused``."""
    x, mean, invstd = ctx.x, ctx.mean, ctx.invstd
    ni, nw, nb = ctx.needs(0), ctx.needs(1), ctx.needs(2)
    nc = x.shape[1]
    w = ctx.w
    k = _batchnorm_jit.kernels(x, g) if w is None or w.dtype == x.dtype else None
    if k is None:  # the kernels were switched off since the forward: the NumPy formula
        cshape = ctx.w_shape
        xhat = ((x - mean.reshape(cshape)) * invstd.reshape(cshape)).astype(x.dtype, copy=False)
        return _np_norm_grads(g, xhat, invstd.reshape(cshape).astype(x.dtype),
                              None if w is None else w.reshape(cshape), ctx.axes, ctx.sum_axes,
                              ctx.param_shape, ni, nw, nb)
    x3 = x.reshape(x.shape[0], nc, -1)
    g3 = np.ascontiguousarray(g, dtype=x.dtype).reshape(x3.shape)
    gi = np.empty(x3.shape, x.dtype) if ni else np.empty((0, 0, 0), x.dtype)
    gw, gb = np.empty(nc, x.dtype), np.empty(nc, x.dtype)
    wv = np.ones(nc, x.dtype) if w is None else w.reshape(nc)
    _sweep_blocks(x, lambda c0, c1: k.bn_backward(g3, x3, mean, invstd, wv, gi, gw, gb, ni, c0,
                                                  c1))
    return (gi.reshape(x.shape) if ni else None, gw if nw else None, gb if nb else None)


def _bn_takes_relu(node, shape, dtype):
    """Whether this batch norm node can finish the backward of a ReLU applied to its result
    (:func:`_bn_relu_backward`): recorded by the compiled training-mode forward, its result
    not modified in place since (the ReLU read what the forward wrote), the kernels on."""
    version = node._out_version
    x = node.x
    w = node.w
    return (version is not None and version[0] == 0 and x is not None and x.shape == shape
            and x.dtype == dtype and node.xhat is None and node.stats
            and (w is None or w.dtype == dtype) and _batchnorm_jit.kernels(x) is not None)


def _bn_relu_backward(node, terms, result):
    """The gradients of ``relu(batch_norm(x))`` from the ReLU's unmasked gradient ``terms``
    (one array, or two to add), the mask recomputed from ``x`` in the compiled kernel: the
    ReLU's ``result`` is not read (None where :func:`_bn_takes_relu` no longer holds)."""
    if not _bn_takes_relu(node, result.shape, result.dtype):
        return None
    x, mean, invstd, w = node.x, node.mean, node.invstd, node.w
    k = _batchnorm_jit.kernels(x)
    nc = x.shape[1]
    x3 = x.reshape(x.shape[0], nc, -1)
    g = terms[0].reshape(x3.shape)
    g2 = terms[1].reshape(x3.shape) if len(terms) == 2 else g
    gi = np.empty(x3.shape, x.dtype)
    gw, gb = np.empty(nc, x.dtype), np.empty(nc, x.dtype)
    wv = np.ones(nc, x.dtype) if w is None else w.reshape(nc)
    shift = np.zeros(nc, x.dtype) if node._shift is None else node._shift
    two = len(terms) == 2
    _sweep_blocks(x, lambda c0, c1: k.bn_relu_backward(g, g2, two, x3, mean, invstd, wv, shift,
                                                       gi, gw, gb, c0, c1))
    return (gi.reshape(x.shape) if node.needs(0) else None, gw if node.needs(1) else None,
            gb if node.needs(2) else None)


NativeBatchNormBackward0._out_version = None  # the result's version box (compiled forward)
NativeBatchNormBackward0._shift = None  # a copy of the bias as the forward used it
NativeBatchNormBackward0._backward_relu = _bn_relu_backward
ew.RELU_TAKERS[NativeBatchNormBackward0] = _bn_takes_relu  # (the engine's Node._backward_into)


def _update_running(running_mean, running_var, mean, var, n, momentum):
    """Exponential moving averages of the batch statistics (unbiased variance), in place."""
    if running_mean is not None:
        rm = running_mean._data
        rm *= 1 - momentum
        rm += (momentum * mean.reshape(-1)).astype(rm.dtype, copy=False)
        running_mean._bump_version()
    if running_var is not None:
        rv = running_var._data
        rv *= 1 - momentum
        unbiased = var.reshape(-1) * (n / (n - 1))
        rv += (momentum * unbiased).astype(rv.dtype, copy=False)
        running_var._bump_version()


# ---------------------------------------------------------------------------- layer norm
@formula("NativeLayerNormBackward0", saves=_NORM_SAVES, attrs=_NORM_ATTRS)
def NativeLayerNormBackward0(ctx, g):
    if F.is_array(g):
        fast = _layer_norm_backward_fused(ctx, g)
        if fast is not None:
            return fast
    return _norm_formula(ctx, g)


#: Elements of a compiled layer norm worth a thread, forward and backward. Measured alone
#: (``python -m benchmarks.threads``, one thread against two, four runs): shared from 2**18
#: elements, both took 1.2-1.25 times as long there (199 against 247 µs, backward 406 against
#: 492 µs); at 2**19 the forward read 0.82-1.33, the backward 1.06-1.38; from 2**20 both were
#: 1.3-1.8 times faster.
_LAYER_NORM_PER_THREAD = 1 << 19
_LAYER_NORM_BACKWARD_PER_THREAD = 1 << 18


def _layer_norm_forward_fused(x, weight, bias, eps, k):
    """float32 layer norm over the last ``k`` dims in one compiled pass per row, rows shared
    among threads: ``(out, xhat, invstd)`` as the NumPy path gives them, or None where the
    compiled kernels are not available."""
    w, b = _data(weight), _data(bias)
    jit = _fused.kernels(x, *(p for p in (w, b) if p is not None))
    if jit is None or x.size == 0:
        return None
    n = math.prod(x.shape[x.ndim - k:])
    rows = np.ascontiguousarray(x).reshape(-1, n)
    empty = np.empty(0, np.float32)
    w = empty if w is None else np.ascontiguousarray(w).reshape(-1)
    b = empty if b is None else np.ascontiguousarray(b).reshape(-1)
    out, xhat = np.empty(rows.shape, np.float32), np.empty(rows.shape, np.float32)
    invstd = np.empty(rows.shape[0], np.float32)
    eps = np.float32(eps)
    _parallel.run_rows(lambda s, e: jit.layer_norm(rows, w, b, eps, out, xhat, invstd, s, e),
                       *rows.shape, per_thread=_LAYER_NORM_PER_THREAD)
    stat_shape = x.shape[:x.ndim - k] + (1,) * k
    return out.reshape(x.shape), xhat.reshape(x.shape), invstd.reshape(stat_shape)


def _layer_norm_backward_fused(ctx, g):
    """The array gradients of layer norm in one compiled pass per row (float32), the weight
    and bias sums taken per fixed run of rows and added in order (the same on any number of
    threads); None where the compiled kernels are not available."""
    xhat, invstd, w = ctx.xhat, ctx.invstd, ctx.w
    jit = _fused.kernels(g, xhat, *(() if w is None else (w,)))
    if jit is None or g.shape != xhat.shape or not ctx.stats or xhat.size == 0:
        return None
    ni, nw, nb = ctx.needs(0), ctx.needs(1), ctx.needs(2)
    n = math.prod(ctx.param_shape)
    g2 = np.ascontiguousarray(g).reshape(-1, n)
    h2 = np.ascontiguousarray(xhat).reshape(-1, n)
    inv = np.ascontiguousarray(invstd).reshape(-1)
    w1 = np.empty(0, np.float32) if w is None else np.ascontiguousarray(w).reshape(-1)
    gi = np.empty(g2.shape if ni else (0, n), np.float32)
    bounds = _parallel.chunks(*g2.shape)
    gw = np.zeros((len(bounds), n if nw else 0))
    gb = np.zeros((len(bounds), n if nb else 0))
    index = {s: i for i, (s, _) in enumerate(bounds)}

    def run(s, e):
        i = index[s]
        jit.layer_norm_backward(g2, h2, inv, w1, gi, gw[i], gb[i], s, e)

    _parallel.run_rows(run, *g2.shape, bounds=bounds,
                       per_thread=_LAYER_NORM_BACKWARD_PER_THREAD)
    shape = ctx.param_shape
    return (gi.reshape(g.shape) if ni else None,
            gw.sum(0).astype(np.float32).reshape(shape) if nw else None,
            gb.sum(0).astype(np.float32).reshape(shape) if nb else None)


@widened_op
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` dims of each sample."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    x = input._data
    k = len(normalized_shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of size"
            f"{list(x.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(p.shape)} and normalized_shape = {list(normalized_shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    fused = _layer_norm_forward_fused(x, weight, bias, eps, k)
    if fused is not None:
        res, xhat, invstd = fused
    else:
        xhat, _, _, invstd, scratch = _normalize(x, axes, eps)
        res = _affine(xhat, weight, bias, normalized_shape, scratch)
    return NativeLayerNormBackward0.record(
        res, (input, weight, bias), (x, _data(weight), xhat, invstd, None),
        (axes, tuple(range(x.ndim - k)), normalized_shape, normalized_shape, eps, True))


# ---------------------------------------------------------------------------- group norm
@formula("NativeGroupNormBackward0", saves=_NORM_SAVES, attrs=_NORM_ATTRS + ("grouped",))
def NativeGroupNormBackward0(ctx, g):
    return _norm_formula(ctx, g, ctx.grouped)


@widened_op
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each group of ``C / num_groups`` channels of each sample."""
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    n, c = x.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(x.shape)} and num_groups={num_groups}")
    grouped = (n, num_groups, -1)
    xg, _, _, invstd, scratch = _normalize(x.reshape(grouped), (2,), eps)
    xhat = xg.reshape(x.shape)
    cshape = _channel_shape(x.ndim)
    res = _affine(xhat, weight, bias, cshape, scratch.reshape(x.shape))
    return NativeGroupNormBackward0.record(
        res, (input, weight, bias), (x, _data(weight), xhat, invstd, None),
        ((2,), (0,) + tuple(range(2, x.ndim)), cshape, (c,), eps, True, grouped))


# ---------------------------------------------------------------------------- instance norm
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial dims.

    Computed, as in PyTorch, as a batch norm of the input viewed as (1, N*C, *): the graph reads
    ``ViewBackward0`` over ``NativeBatchNormBackward0``. Running statistics, when given, are
    updated with the batch average of the per-instance statistics.
    """
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"Expected 2D or higher input (got {x.ndim}D input)")
    if use_input_stats and math.prod(x.shape[2:]) == 1:
        raise ValueError(
            "Expected more than 1 spatial element when training, got input size "
            f"{Size(x.shape)}")
    n, c = x.shape[:2]
    folded = sh.reshape(input, (1, n * c) + x.shape[2:])
    w = sh.repeat(weight, n) if weight is not None else None
    b = sh.repeat(bias, n) if bias is not None else None
    rm = _wrap(np.tile(running_mean._data, n)) if running_mean is not None else None
    rv = _wrap(np.tile(running_var._data, n)) if running_var is not None else None
    out = batch_norm(folded, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        for running, folded_stat in ((running_mean, rm), (running_var, rv)):
            if running is not None:
                running._data[...] = folded_stat._data.reshape(n, c).mean(axis=0)
                running._bump_version()
    return sh.view(out, x.shape)


# ---------------------------------------------------------------------------- local response norm
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalize each element by the mean square of its ``size`` neighbouring channels.

    ``x / (k + alpha * mean_window(x ** 2)) ** beta`` (windows zero-padded at the edges).
    """
    x = input._data
    if x.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions)")
    if input.numel() == 0:
        return input
    c = x.shape[1]
    sq = ew.mul(input, input)
    before, after = size // 2, (size - 1) // 2
    parts = []
    if before:
        parts.append(_wrap(np.zeros((x.shape[0], before) + x.shape[2:], dtype=x.dtype)))
    parts.append(sq)
    if after:
        parts.append(_wrap(np.zeros((x.shape[0], after) + x.shape[2:], dtype=x.dtype)))
    padded = sh.cat(parts, 1) if len(parts) > 1 else sq
    window = sh.narrow(padded, 1, 0, c)
    for i in range(1, size):
        window = ew.add(window, sh.narrow(padded, 1, i, c))
    div = ew.pow(ew.add(ew.mul(window, alpha / size), k), beta)
    return ew.div(input, div)
