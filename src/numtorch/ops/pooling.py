"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive pools, max_unpool2d, lp_pool.

2-D kernels work on whole arrays. When the windows tile the input (kernel == stride, no padding,
no dilation) they are a reshape ``(N, C, Ho, k, Wo, k)``; otherwise a strided window view.
Max pooling keeps the position of the first maximum in each window (as PyTorch does: ties send the
whole gradient to one element) and routes the gradient back with ``kh * kw`` slice assignments.
1-D pooling is the 2-D one on a unit height, recorded between an unsqueeze and a squeeze as
PyTorch records it.

Autograd: every node's gradient is itself a recorded op under ``create_graph`` (PyTorch's
``*BackwardBackward0`` nodes): max pooling's gradient reads the grad-of-grad at the maxima
(a gather), the linear pools (average, adaptive average) get a node pair from
``linear_nodes``. The returned indices are saved, so changing them in place makes backward
raise as in PyTorch.
"""

import functools
import math

import numpy as np

from .._tensor import Tensor
from . import _formulas as F
from . import _jit
from ._lowp import widened_op
from ._registry import aux, formula
from ._runtime import run_blocks
from .conv import pad_zeros
from .indexing import gather

__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d", "lp_pool1d",
           "lp_pool2d"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- node helpers
def _raw(v):
    """The ndarray of a saved index/constant, whether the formula runs on arrays or Tensors."""
    return v._data if isinstance(v, Tensor) else v


def _gather_planes(v, flat, out_shape):
    """``v`` (N, C, *in) read at the flat per-plane indices ``flat`` (N, C, *out): the adjoint of
    routing a gradient to the maxima. Differentiable on Tensors (gather)."""
    n, c = flat.shape[:2]
    flat = flat.reshape(n, c, -1)
    if F.is_array(v):
        return np.take_along_axis(v.reshape(n, c, -1), flat, axis=2).reshape(out_shape)
    return F.reshape(gather(F.reshape(v, (n, c, -1)), 2, _wrap(flat)), out_shape)


def linear_nodes(name, apply, adjoint, attrs, save_input=True):
    """Declare PyTorch's node ``name`` for a linear op ``y = apply(x)`` (arrays) whose gradient
    is ``adjoint(g)``, and the node of that gradient (``name`` with ``Backward0`` ->
    ``BackwardBackward0``), whose own gradient is ``apply`` again: derivatives of any order.

    ``apply(a, ctx)``/``adjoint(a, ctx)`` read the declared ``attrs`` from ``ctx``. With
    ``save_input`` the input is saved (only for PyTorch's in-place check, as PyTorch saves it)
    and the gradient node has an edge to it (its gradient there is zero)."""
    saves = {"x": 0} if save_input else None

    @formula(name, saves=saves, attrs=attrs)
    def forward_node(ctx, g):
        if F.is_array(g):
            return (adjoint(g, ctx),)
        x = ctx.x if save_input else None
        return (backward_node.record(adjoint(g._data, ctx), (g, x), (),
                                     tuple(getattr(ctx, a) for a in attrs)),)

    @formula(name[:-len("Backward0")] + "BackwardBackward0", attrs=attrs)
    def backward_node(ctx, gg):
        dg = dx = None
        if ctx.needs(0):
            if F.is_array(gg):
                dg = apply(gg, ctx)
            else:
                dg = forward_node.record(apply(gg._data, ctx), (gg,), (),
                                         tuple(getattr(ctx, a) for a in attrs))
        if ctx.needs(1):
            dx = F.zeros_like(gg)
        return dg, dx

    return forward_node, backward_node


def _tuple(x, n, name):
    if isinstance(x, (list, tuple)):
        x = tuple(int(v) for v in x)
        if len(x) == 1:
            return x * n
        if len(x) != n:
            raise RuntimeError(f"{name} must either be a single int, or a tuple of {n} ints")
        return x
    return (int(x),) * n


def _pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's output length of a pooling window sweep."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _check_pool_args(name, x, kernel, stride, padding, dilation, ceil_mode):
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got kH: "
                           f"{kernel[0]} kW: {kernel[1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{name}: dilation must be greater than zero, but got dilationH: "
                           f"{dilation[0]} dilationW: {dilation[1]}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > k // 2:
            raise RuntimeError("pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    h, w = x.shape[-2:]
    ho = _pool_out(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = _pool_out(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if ho <= 0 or wo <= 0:
        c = x.shape[-3]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{ho}x{wo}). Output size is too small")
    return ho, wo


def _batched(fn):
    """Run a 4-D pooling function on a 3-D (unbatched) input too."""

    def wrapper(input, *args, **kwargs):
        nd = input._data.ndim
        if nd == 3:
            out = fn(input.unsqueeze(0), *args, **kwargs)
            if isinstance(out, tuple):
                return tuple(o.squeeze(0) for o in out)
            return out.squeeze(0)
        if nd != 4:
            raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
        return fn(input, *args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


# ---------------------------------------------------------------------------- max pooling
# Images per block of the compiled max pooling other than 2x2 (``_jit.max_pool2d``): blocks
# of about this many input bytes, shared among the threads.
_POOL_BLOCK_BYTES = 1 << 20


def _pool_block(x):
    """Images of ``x`` per block of the compiled max pooling."""
    return max(1, _POOL_BLOCK_BYTES // max(1, x[:1].nbytes))


def _max_pool_forward(x, kernel, stride, padding, dilation, ho, wo, need_arg=True):
    """Returns ``(out, arg)``: the window maxima and, when ``need_arg``, the in-window position
    (``i * kw + j``) of the first maximum of each window (None otherwise).

    With numba, 2x2 tiles run their own kernel and other windows ``_jit.max_pool2d`` (a block
    of images per thread). Without, the windows are visited as ``kh * kw`` strided views of the
    (padded) input, one per kernel offset, so the reduction is a handful of whole-array
    ``maximum``/``greater`` calls.
    """
    h, w = x.shape[2:]
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    atype = np.uint8 if kh * kw < 256 else np.int64
    tiled = kernel == stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
    if not tiled and (jit := _jit.kernels(x)) is not None:
        out = np.empty(x.shape[:2] + (ho, wo), dtype=x.dtype)
        arg = np.empty(out.shape, dtype=atype)

        def step(s, e):
            jit.max_pool2d(x[s:e], out[s:e], arg[s:e], kh, kw, sh, sw, ph, pw, dh, dw)

        run_blocks(x.shape[0], _pool_block(x), step)
        return out, (arg if need_arg else None)
    extra_h = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    xp = pad_zeros(x, ph, ph + extra_h, pw, pw + extra_w, _lowest(x.dtype))
    jit = _jit.kernels(xp) if tiled else None
    if jit is not None:
        out = np.empty(x.shape[:2] + (ho, wo), dtype=x.dtype)
        arg = np.empty(out.shape, dtype=atype)  # (not written, so not paged in, without need_arg)
        if jit.max_pool2x2_unless_nan(xp, out, arg, need_arg):
            jit.max_pool2x2(xp, out, arg)
        return out, (arg if need_arg else None)
    hspan, wspan = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    views = [xp[:, :, i * dh:i * dh + hspan:sh, j * dw:j * dw + wspan:sw]
             for i in range(kh) for j in range(kw)]
    if not need_arg:
        best = views[0].copy()
        for v in views[1:]:
            np.maximum(best, v, out=best)
        return best, None
    # PyTorch's scan: the maximum starts at the lowest value and the position at the window's
    # first one inside the input (where every value is the lowest, e.g. -inf, that one), and
    # a value takes over only where it is greater (the padding never does)
    first = _first_inside(ho, sh, ph, dh, kh)[:, None] * kw + _first_inside(wo, sw, pw, dw, kw)
    best = np.full(views[0].shape, _lowest(x.dtype), dtype=x.dtype)
    arg = np.broadcast_to(first.astype(atype), best.shape).copy()
    gt = np.empty(best.shape, dtype=np.bool_)
    for k in range(kh * kw):
        v = views[k]
        np.greater(v, best, out=gt)
        np.maximum(best, v, out=best)
        # arg = where(gt, k, arg), as arithmetic (faster than where/copyto for small ints)
        arg -= gt * arg
        arg += gt * atype(k)
    if best.dtype.kind == "f" and np.isnan(best).any():
        arg = _nan_arg(views, first, atype)
    return best, arg


def _first_inside(count, stride, pad, dilation, kernel):
    """For each of ``count`` windows along an axis, its first tap inside the input."""
    start = np.arange(count) * stride - pad
    return np.minimum(np.maximum(0, -(start // dilation)), kernel - 1)


def _nan_arg(views, first, atype):
    """PyTorch's rule when NaNs are present: a NaN always takes over as the maximum."""
    best = np.full(views[0].shape, -np.inf, dtype=views[0].dtype)
    arg = np.broadcast_to(first.astype(atype), best.shape).copy()
    for k, v in enumerate(views):
        take = (v > best) | np.isnan(v)
        best = np.where(take, v, best)
        arg = np.where(take, atype(k), arg)
    return arg


def _max_pool_backward(g, arg, x_shape, kernel, stride, padding, dilation):
    n, c, h, w = x_shape
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    ho, wo = g.shape[2:]
    extra_h = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    tiled = kernel == stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
    if not tiled and (jit := _jit.kernels(g)) is not None:
        gx = np.zeros(x_shape, dtype=g.dtype)

        def step(s, e):
            jit.max_pool2d_backward(g[s:e], arg[s:e], gx[s:e], kh, kw, sh, sw, ph, pw, dh, dw)

        run_blocks(n, _pool_block(gx), step)
        return gx
    jit = _jit.kernels(g) if tiled else None
    if jit is not None:
        shape = (n, c, h + 2 * ph + extra_h, w + 2 * pw + extra_w)
        exact = shape[2:] == (2 * ho, 2 * wo)  # every position is written
        gxp = (np.empty if exact else np.zeros)(shape, dtype=g.dtype)
        bits = np.dtype(f"i{g.itemsize}")
        jit.max_pool2x2_backward(g.view(bits), arg, gxp.view(bits))
        if gxp.shape == tuple(x_shape):
            return gxp
        return gxp[:, :, ph:ph + h, pw:pw + w]
    if (kh, kw) == (sh, sw) and padding == (0, 0) and dilation == (1, 1) and \
            ho * kh <= h and wo * kw <= w:
        # Tiled windows: write each in-window offset once, straight into the input layout.
        exact = ho * kh == h and wo * kw == w
        gx = (np.empty if exact else np.zeros)(x_shape, dtype=g.dtype)
        target = gx.reshape(n, c, ho, kh, wo, kw) if exact else \
            np.empty((n, c, ho, kh, wo, kw), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                np.multiply(g, arg == i * kw + j, out=target[:, :, :, i, :, j])
        if not exact:
            gx[:, :, :ho * kh, :wo * kw] = target.reshape(n, c, ho * kh, wo * kw)
        return gx
    gxp = np.zeros((n, c, h + 2 * ph + extra_h, w + 2 * pw + extra_w), dtype=g.dtype)
    hspan, wspan = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    overlap = kh * dh > sh or kw * dw > sw
    for i in range(kh):
        for j in range(kw):
            dst = gxp[:, :, i * dh:i * dh + hspan:sh, j * dw:j * dw + wspan:sw]
            if overlap:
                dst += g * (arg == i * kw + j)
            else:
                np.multiply(g, arg == i * kw + j, out=dst)
    return gxp[:, :, ph:ph + h, pw:pw + w]


def _flat_indices(arg, kernel, stride, padding, dilation, width):
    """In-window argmax positions as PyTorch's flat indices into each input plane."""
    ho, wo = arg.shape[2:]
    kw = kernel[1]
    a = arg.astype(np.int64)
    rows = (np.arange(ho) * stride[0] - padding[0])[:, None] + (a // kw) * dilation[0]
    cols = (np.arange(wo) * stride[1] - padding[1])[None, :] + (a % kw) * dilation[1]
    return rows * width + cols


def _pool_flat(ctx):
    """PyTorch's flat indices of a max pooling's maxima, from the node's in-window positions."""
    return _flat_indices(_raw(ctx.arg), ctx.kernel, ctx.stride, ctx.padding, ctx.dilation,
                         ctx.x_shape[3])


@formula("MaxPool2DWithIndicesBackward0", saves={"x": 0, "arg": None, "indices": aux(0)},
         attrs=("x_shape", "kernel", "stride", "padding", "dilation"))
def MaxPool2DWithIndicesBackward0(ctx, g):
    if F.is_array(g):
        return (_max_pool_backward(g, ctx.arg, ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding,
                                   ctx.dilation),)
    gx = _max_pool_backward(g._data, _raw(ctx.arg), ctx.x_shape, ctx.kernel, ctx.stride,
                            ctx.padding, ctx.dilation)
    return (MaxPool2DWithIndicesBackwardBackward0.record(
        gx, (g, ctx.x), (_raw(ctx.arg),),
        (ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)),)


@formula("MaxPool2DWithIndicesBackwardBackward0", saves={"arg": None},
         attrs=("x_shape", "kernel", "stride", "padding", "dilation"))
def MaxPool2DWithIndicesBackwardBackward0(ctx, gg):
    """The gradient of max pooling's backward: the grad-of-grad read at the maxima (and zero
    for the pooled input, as in PyTorch)."""
    dg = dx = None
    if ctx.needs(0):
        flat = _pool_flat(ctx)
        dg = _gather_planes(gg, flat, flat.shape)
    if ctx.needs(1):
        dx = F.zeros_like(gg)
    return dg, dx


@_batched
def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """2D max pooling that also returns the flat index of each maximum in its input plane."""
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


class _Shape:
    """Stands in for an array where only ``.shape`` is read (argument checks)."""

    def __init__(self, shape):
        self.shape = shape


@functools.lru_cache(maxsize=64)
def _max_pool2d_args(shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked ``(kernel, stride, padding, dilation, ho, wo)`` (cached: a network pools with
    the same arguments every step)."""
    kernel = _tuple(kernel_size, 2, "max_pool2d: kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else \
        _tuple(stride, 2, "max_pool2d: stride")
    padding = _tuple(padding, 2, "max_pool2d: padding")
    dilation = _tuple(dilation, 2, "max_pool2d: dilation")
    ho, wo = _check_pool_args("max_pool2d", _Shape(shape), kernel, stride, padding, dilation,
                              ceil_mode)
    return kernel, stride, padding, dilation, ho, wo


def _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = input._data
    args = (x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    try:
        kernel, stride, padding, dilation, ho, wo = _max_pool2d_args(*args)
    except TypeError:  # unhashable arguments (lists): check them without the cache
        kernel, stride, padding, dilation, ho, wo = _max_pool2d_args.__wrapped__(*args)
    out, arg = _max_pool_forward(x, kernel, stride, padding, dilation, ho, wo,
                                 input._requires_grad or return_indices)
    attrs = (x.shape, kernel, stride, padding, dilation)
    if not return_indices:
        return MaxPool2DWithIndicesBackward0.record(out, (input,), (x, arg, None), attrs)
    # the returned indices are saved too: changing them in place makes backward raise, as in
    # PyTorch (the gradient itself is routed with the node's own copy of the positions)
    flat = _flat_indices(arg, kernel, stride, padding, dilation, x.shape[3])
    indices = _wrap(flat)
    return MaxPool2DWithIndicesBackward0.record(out, (input,), (x, arg, flat), attrs,
                                                aux=(indices,)), indices


@_batched
@widened_op
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Applies a 2D max pooling over an input signal composed of several input planes.

    ``stride`` defaults to ``kernel_size``; ``padding`` (implicit negative infinity) is at most
    half the kernel; with ``ceil_mode`` the last window may start inside the right padding.
    ``return_indices=True`` also returns the flat index of each maximum (for ``max_unpool2d``).
    """
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _as_2d_args(kernel_size, stride, padding, dilation):
    k = (1, _tuple(kernel_size, 1, "kernel_size")[0])
    s = None if stride is None or stride == [] or stride == () else \
        (1, _tuple(stride, 1, "stride")[0])
    return k, s, (0, _tuple(padding, 1, "padding")[0]), (1, _tuple(dilation, 1, "dilation")[0])


def _check_1d(input, name):
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(input._data.shape)}")


@widened_op
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Applies a 1D max pooling over an input signal composed of several input planes."""
    _check_1d(input, "max_pool1d")
    k, s, p, d = _as_2d_args(kernel_size, stride, padding, dilation)
    out = max_pool2d(input.unsqueeze(-2), k, s, p, d, ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---------------------------------------------------------------------------- average pooling
def _avg_divisor(size, k, s, p, out, count_include_pad, dtype):
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start
    if count_include_pad:
        return full.astype(dtype)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(dtype)


def _avg_pool_arrays(x, kernel, stride, padding, ho, wo, count_include_pad, divisor_override):
    """``(out, divisor, tiled)``: the window averages of ``x`` (N, C, H, W), the divisor used
    (None: the plain kernel area) and whether the windows tile the input."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    tiled = kernel == stride and padding == (0, 0) and ho * kh <= h and wo * kw <= w
    if tiled:
        xr = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
        total = xr.sum(axis=(3, 5))
    else:
        hp = max(h + 2 * ph, (ho - 1) * sh + kh)
        wp = max(w + 2 * pw, (wo - 1) * sw + kw)
        xp = pad_zeros(x, ph, hp - h - ph, pw, wp - w - pw)
        hspan, wspan = sh * (ho - 1) + 1, sw * (wo - 1) + 1
        total = xp[:, :, 0:hspan:sh, 0:wspan:sw].copy()
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    total += xp[:, :, i:i + hspan:sh, j:j + wspan:sw]
    if divisor_override is not None:
        divisor = np.asarray(divisor_override, dtype=x.dtype)
    elif tiled:
        divisor = None
    else:
        dh_ = _avg_divisor(h, kh, sh, ph, ho, count_include_pad, x.dtype)
        dw_ = _avg_divisor(w, kw, sw, pw, wo, count_include_pad, x.dtype)
        divisor = dh_[:, None] * dw_[None, :]
    if divisor is None:
        out = total * x.dtype.type(1.0 / (kh * kw)) if x.dtype.kind == "f" else total // (kh * kw)
    else:
        out = (total / divisor).astype(x.dtype, copy=False)
    return out, divisor, tiled and divisor is None


def _avg_pool_apply(x, ctx):
    ho, wo = ctx.out_hw
    return _avg_pool_arrays(x, ctx.kernel, ctx.stride, ctx.padding, ho, wo,
                            ctx.count_include_pad, ctx.divisor_override)[0]


def _avg_pool_adjoint(g, ctx):
    n, c, h, w = ctx.x_shape
    kh, kw = ctx.kernel
    sh, sw = ctx.stride
    ph, pw = ctx.padding
    ho, wo = g.shape[2:]
    gd = g / ctx.divisor if ctx.divisor is not None else g * (1.0 / (kh * kw))
    gd = gd.astype(g.dtype, copy=False)
    if ctx.tiled:
        gx = np.zeros(ctx.x_shape, dtype=g.dtype)
        view = gx[:, :, :ho * kh, :wo * kw]
        view[...] = np.broadcast_to(gd[:, :, :, None, :, None],
                                    (n, c, ho, kh, wo, kw)).reshape(n, c, ho * kh, wo * kw)
        return gx
    hp = max(h + 2 * ph, (ho - 1) * sh + kh)
    wp = max(w + 2 * pw, (wo - 1) * sw + kw)
    gxp = np.zeros((n, c, hp, wp), dtype=g.dtype)
    hspan, wspan = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i:i + hspan:sh, j:j + wspan:sw] += gd
    return gxp[:, :, ph:ph + h, pw:pw + w]


AvgPool2DBackward0, AvgPool2DBackwardBackward0 = linear_nodes(
    "AvgPool2DBackward0", _avg_pool_apply, _avg_pool_adjoint,
    ("x_shape", "kernel", "stride", "padding", "out_hw", "count_include_pad",
     "divisor_override", "divisor", "tiled"))


@_batched
@widened_op
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Applies 2D average pooling over an input signal composed of several input planes.

    ``count_include_pad`` counts the zero padding in each window's divisor;
    ``divisor_override`` replaces the divisor altogether.
    """
    x = input._data
    kernel = _tuple(kernel_size, 2, "avg_pool2d: kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else \
        _tuple(stride, 2, "avg_pool2d: stride")
    padding = _tuple(padding, 2, "avg_pool2d: padding")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    ho, wo = _check_pool_args("avg_pool2d", x, kernel, stride, padding, (1, 1), ceil_mode)
    out, divisor, tiled = _avg_pool_arrays(x, kernel, stride, padding, ho, wo,
                                           count_include_pad, divisor_override)
    return AvgPool2DBackward0.record(out, (input,), (x,), (
        x.shape, kernel, stride, padding, (ho, wo), count_include_pad, divisor_override,
        divisor, tiled))


@widened_op
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Applies a 1D average pooling over an input signal composed of several input planes."""
    _check_1d(input, "avg_pool1d")
    k, s, p, _ = _as_2d_args(kernel_size, stride, padding, 1)
    return avg_pool2d(input.unsqueeze(-2), k, s, p, ceil_mode, count_include_pad).squeeze(-2)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: ``(sum x^p)^(1/p)`` over each window."""
    kh, kw = _tuple(kernel_size, 2, "kernel_size")
    if stride is not None:
        out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    else:
        out = avg_pool2d(input.pow(norm_type), (kh, kw), padding=0, ceil_mode=ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over 1-D windows."""
    if stride is not None:
        out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg_pool1d(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kernel_size).pow(1.0 / norm_type)


# ---------------------------------------------------------------------------- adaptive pooling
def _adaptive_bounds(size, out):
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_size(output_size, shape, n):
    sizes = _tuple(output_size, n, "output_size") if not isinstance(output_size, (list, tuple)) \
        else tuple(shape[i] if v is None else int(v) for i, v in enumerate(output_size))
    if len(sizes) != n:
        raise ValueError(f"output_size must be a single int or a tuple of {n} ints")
    return sizes


def _adaptive_matrix(size, out, dtype):
    start, end = _adaptive_bounds(size, out)
    m = np.zeros((out, size), dtype=dtype)
    for o in range(out):
        m[o, start[o]:end[o]] = 1.0 / (end[o] - start[o])
    return m


def _separable(a, mh, mw):
    """``A_h @ a @ A_w^T`` on the last two axes (either matrix may be None: identity)."""
    if mw is not None:
        a = np.matmul(a, mw.T)
    if mh is not None:
        a = np.matmul(mh, a)
    return a


AdaptiveAvgPool2DBackward0, AdaptiveAvgPool2DBackwardBackward0 = linear_nodes(
    "AdaptiveAvgPool2DBackward0", lambda a, ctx: _separable(a, *ctx.mats),
    lambda g, ctx: _separable(g, *(None if m is None else m.T for m in ctx.mats)), ("mats",))


@widened_op
def adaptive_avg_pool2d(input, output_size):
    """Applies a 2D adaptive average pooling: each output cell averages
    ``[floor(i*H/Ho), ceil((i+1)*H/Ho))`` of the input."""
    x = input._data
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(x.shape)}")
    ho, wo = _adaptive_size(output_size, x.shape[-2:], 2)
    if (ho, wo) == (1, 1):
        return input.mean((-1, -2), keepdim=True)
    h, w = x.shape[-2:]
    mh = None if ho == h else _adaptive_matrix(h, ho, x.dtype)
    mw = None if wo == w else _adaptive_matrix(w, wo, x.dtype)
    out = _separable(x, mh, mw)
    if out is x:
        out = x.copy()
    return AdaptiveAvgPool2DBackward0.record(out, (input,), (x,), ((mh, mw),))


@widened_op
def adaptive_avg_pool1d(input, output_size):
    """Applies a 1D adaptive average pooling over an input signal."""
    _check_1d(input, "adaptive_avg_pool1d")
    size = _tuple(output_size, 1, "output_size")[0]
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def _scatter_planes(g, idx, x_shape, unique):
    """``g`` added onto zeros of ``x_shape`` at the flat per-plane indices ``idx``."""
    n, c = x_shape[:2]
    gx = np.zeros((n * c, math.prod(x_shape[2:])), dtype=g.dtype)
    idx = idx.reshape(n * c, -1)
    gf = g.reshape(n * c, -1)
    if unique:
        np.put_along_axis(gx, idx, gf, axis=1)
    else:
        # Overlapping windows may share a maximum: add one output cell at a time (each row
        # has a single index per cell, so the fancy-index add has no duplicates).
        rows = np.arange(n * c)
        for k in range(idx.shape[1]):
            gx[rows, idx[:, k]] += gf[:, k]
    return gx.reshape(x_shape)


@formula("AdaptiveMaxPool2DBackward0", saves={"x": 0, "indices": aux(0)},
         attrs=("x_shape", "unique"))
def AdaptiveMaxPool2DBackward0(ctx, g):
    idx = _raw(ctx.indices)
    if F.is_array(g):
        return (_scatter_planes(g, idx, ctx.x_shape, ctx.unique),)
    gx = _scatter_planes(g._data, idx, ctx.x_shape, ctx.unique)
    return (AdaptiveMaxPool2DBackwardBackward0.record(gx, (g, ctx.x), (idx,), ()),)


@formula("AdaptiveMaxPool2DBackwardBackward0", saves={"indices": None})
def AdaptiveMaxPool2DBackwardBackward0(ctx, gg):
    dg = dx = None
    if ctx.needs(0):
        idx = _raw(ctx.indices)
        dg = _gather_planes(gg, idx, idx.shape)
    if ctx.needs(1):
        dx = F.zeros_like(gg)
    return dg, dx


@_batched
def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    """2D adaptive max pooling returning the maxima and their flat indices."""
    return _adaptive_max_pool2d(input, output_size)


def _adaptive_max_pool2d(input, output_size):
    x = input._data
    n, c, h, w = x.shape
    ho, wo = _adaptive_size(output_size, x.shape[-2:], 2)
    if h % ho == 0 and w % wo == 0:
        k = (h // ho, w // wo)
        out, arg = _max_pool_forward(x, k, k, (0, 0), (1, 1), ho, wo)
        indices = _flat_indices(arg, k, k, (0, 0), (1, 1), w)
        unique = True
    else:
        hs, he = _adaptive_bounds(h, ho)
        ws, we = _adaptive_bounds(w, wo)
        out = np.empty((n, c, ho, wo), dtype=x.dtype)
        indices = np.empty((n, c, ho, wo), dtype=np.int64)
        for i in range(ho):
            for j in range(wo):
                win = x[:, :, hs[i]:he[i], ws[j]:we[j]].reshape(n, c, -1)
                a = win.argmax(axis=-1)
                out[:, :, i, j] = np.take_along_axis(win, a[..., None], axis=-1)[..., 0]
                ww = we[j] - ws[j]
                indices[:, :, i, j] = (hs[i] + a // ww) * w + ws[j] + a % ww
        unique = False
    idx_t = _wrap(indices)
    return AdaptiveMaxPool2DBackward0.record(out, (input,), (x, indices), (x.shape, unique),
                                             aux=(idx_t,)), idx_t


@widened_op
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Applies a 2D adaptive max pooling over an input signal composed of several input planes."""
    out, idx = adaptive_max_pool2d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    _check_1d(input, "adaptive_max_pool1d")
    size = _tuple(output_size, 1, "output_size")[0]
    out, idx = adaptive_max_pool2d_with_indices(input.unsqueeze(-2), (1, size))
    return out.squeeze(-2), idx.squeeze(-2)


@widened_op
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Applies a 1D adaptive max pooling over an input signal."""
    out, idx = adaptive_max_pool1d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


# ---------------------------------------------------------------------------- unpooling
@formula("MaxUnpool2DBackward0", saves={"indices": aux(0)}, attrs=("in_shape",))
def MaxUnpool2DBackward0(ctx, g):
    return (_gather_planes(g, _raw(ctx.indices), ctx.in_shape),)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Computes a partial inverse of ``max_pool2d``: each value goes back to its index, the rest
    are zeros."""
    x = input._data
    if x.ndim == 3:
        return max_unpool2d(input.unsqueeze(0), indices.unsqueeze(0), kernel_size, stride,
                            padding, output_size).squeeze(0)
    kh, kw = _tuple(kernel_size, 2, "kernel_size")
    sh, sw = (kh, kw) if stride is None else _tuple(stride, 2, "stride")
    ph, pw = _tuple(padding, 2, "padding")
    n, c, h, w = x.shape
    if output_size is None:
        oh, ow = (h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw
    else:
        oh, ow = tuple(output_size)[-2:]
    idx = indices._data.astype(np.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= oh * ow):
        bad = int(idx.max() if idx.max() >= oh * ow else idx.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{oh}x{ow}")
    out = np.zeros((n, c, oh * ow), dtype=x.dtype)
    np.put_along_axis(out, idx.reshape(n, c, -1), x.reshape(n, c, -1), axis=2)
    out = out.reshape(n, c, oh, ow)
    return MaxUnpool2DBackward0.record(out, (input,), (idx,),
                                       (x.shape,), aux=(indices,))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Computes a partial inverse of ``max_pool1d``."""
    k = (1, _tuple(kernel_size, 1, "kernel_size")[0])
    s = None if stride is None else (1, _tuple(stride, 1, "stride")[0])
    p = (0, _tuple(padding, 1, "padding")[0])
    osz = None if output_size is None else (1, tuple(output_size)[-1])
    return max_unpool2d(input.unsqueeze(-2), indices.unsqueeze(-2), k, s, p, osz).squeeze(-2)

