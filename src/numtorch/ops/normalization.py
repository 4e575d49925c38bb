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

from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import elementwise as ew
from . import shape as sh
from ._lowp import widened_op
from ._util import attach

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- shared kernels
def _normalize(x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes``; returns (xhat, mean, biased var, invstd)."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    centred *= invstd
    return centred, mean, var, invstd


def _normalized_input_grad(gh, xhat, invstd, axes):
    """Input gradient of ``xhat = (x - mean(x)) * invstd(x)`` given ``gh = dL/dxhat``."""
    n = math.prod(xhat.shape[a] for a in axes)
    mean_gh = gh.mean(axis=axes, keepdims=True)
    mean_ghx = np.mean(gh * xhat, axis=axes, keepdims=True)
    return (gh - mean_gh - xhat * mean_ghx) * invstd if n else gh


def _affine(xhat, weight, bias, shape):
    """``xhat * weight + bias`` with the parameters viewed as ``shape`` (``xhat`` itself when
    both are None)."""
    out = xhat
    if weight is not None:
        out = out * weight._data.reshape(shape)
    if bias is not None:
        b = bias._data.reshape(shape)
        if out is not xhat and np.result_type(out, b) == out.dtype:
            out += b  # reuse the product's buffer: one full-size temporary fewer
        else:
            out = out + b
    return out


def _param_grads(node, g, xhat, sum_axes, param_shape):
    _, (nw, _), (nb, _) = node.next_functions
    gw = (g * xhat).sum(axis=sum_axes).reshape(param_shape) if nw is not None else None
    gb = g.sum(axis=sum_axes).reshape(param_shape) if nb is not None else None
    return gw, gb


def _record(node, res, input, weight, bias):
    if _GradState.enabled and (input._requires_grad
                               or (weight is not None and weight._requires_grad)
                               or (bias is not None and bias._requires_grad)):
        node.save_versions(*(t for t in (input, weight) if t is not None))
        return attach(res, node, input, weight, bias)
    return _wrap(res)


# ---------------------------------------------------------------------------- batch norm
class NativeBatchNormBackward0(Node):
    _saved_fields = ("xhat", "invstd", "w")

    def backward(self, g):
        (ni, _), _, _ = self.next_functions
        xhat, invstd, w = self.xhat, self.invstd, self.w
        gh = g if w is None else g * w
        gi = None
        if ni is not None:
            if self.training:
                gi = _normalized_input_grad(gh, xhat, invstd, self.axes)
            else:
                gi = gh * invstd
        gw, gb = _param_grads(self, g, xhat, self.axes, self.param_shape)
        return gi, gw, gb


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
        xhat, mean, var, invstd = _normalize(x, axes, eps)
        _update_running(running_mean, running_var, mean, var, n, momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        mean = running_mean._data.astype(x.dtype, copy=False).reshape(cshape)
        invstd = 1 / np.sqrt(running_var._data.astype(x.dtype, copy=False).reshape(cshape) + eps)
        xhat = (x - mean) * invstd
    res = _affine(xhat, weight, bias, cshape)
    if res is xhat:
        res = xhat.copy()  # backward keeps xhat: in-place edits of the output must not reach it
    node = NativeBatchNormBackward0()
    node.xhat, node.invstd = xhat, invstd
    node.w = None if weight is None else weight._data.reshape(cshape)
    node.axes, node.training, node.param_shape = axes, training, (x.shape[1],)
    return _record(node, res, input, weight, bias)


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
class NativeLayerNormBackward0(Node):
    _saved_fields = ("xhat", "invstd", "w")

    def backward(self, g):
        (ni, _), _, _ = self.next_functions
        xhat, w = self.xhat, self.w
        gi = None
        if ni is not None:
            gi = _normalized_input_grad(g if w is None else g * w, xhat, self.invstd, self.axes)
        lead = tuple(range(g.ndim - len(self.axes)))
        gw, gb = _param_grads(self, g, xhat, lead, self.param_shape)
        return gi, gw, gb


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
    xhat, _, _, invstd = _normalize(x, axes, eps)
    res = _affine(xhat, weight, bias, normalized_shape)
    if res is xhat:
        res = xhat.copy()
    node = NativeLayerNormBackward0()
    node.xhat, node.invstd = xhat, invstd
    node.w = None if weight is None else weight._data
    node.axes, node.param_shape = axes, normalized_shape
    return _record(node, res, input, weight, bias)


# ---------------------------------------------------------------------------- group norm
class NativeGroupNormBackward0(Node):
    _saved_fields = ("xhat", "invstd", "w")

    def backward(self, g):
        (ni, _), _, _ = self.next_functions
        xhat, w = self.xhat, self.w  # xhat in the input's shape
        gi = None
        if ni is not None:
            gh = (g if w is None else g * w).reshape(self.grouped)
            gi = _normalized_input_grad(gh, xhat.reshape(self.grouped), self.invstd, (2,))
            gi = gi.reshape(g.shape)
        sum_axes = (0,) + tuple(range(2, g.ndim))
        gw, gb = _param_grads(self, g, xhat, sum_axes, self.param_shape)
        return gi, gw, gb


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
    xg, _, _, invstd = _normalize(x.reshape(grouped), (2,), eps)
    xhat = xg.reshape(x.shape)
    cshape = _channel_shape(x.ndim)
    res = _affine(xhat, weight, bias, cshape)
    if res is xhat:
        res = xhat.copy()
    node = NativeGroupNormBackward0()
    node.xhat, node.invstd, node.grouped = xhat, invstd, grouped
    node.w = None if weight is None else weight._data.reshape(cshape)
    node.param_shape = (c,)
    return _record(node, res, input, weight, bias)


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
