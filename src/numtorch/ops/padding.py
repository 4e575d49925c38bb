"""Padding and resampling: ``pad`` (constant, reflect, replicate, circular) and ``interpolate``
(nearest, nearest-exact, linear, bilinear, area).

Every non-constant padding and every resampling is *separable*: along each spatial axis the output
is either a gather ``x[idx]`` or a small linear map ``A @ x`` with ``A`` of shape
``(out, in)``. The forward applies one index or one matmul per axis; the backward multiplies the
gradient by ``A^T`` per axis (for a gather, ``A`` is the one-hot matrix of ``idx``), so repeated
sources are summed by BLAS instead of a scatter-add.
"""

import math

import numpy as np

from .._tensor import Tensor
from . import _formulas as F
from ._registry import formula
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, linear_nodes

__all__ = ["pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- axis maps
def _map_axes(a, mats, transpose=False):
    """Apply ``mats[i]`` (``(out, in)``, or None for identity) along the i-th of the last
    ``len(mats)`` axes of ``a``; with ``transpose`` apply ``mats[i].T`` instead."""
    k = len(mats)
    for i, m in enumerate(mats):
        if m is None:
            continue
        if transpose:
            m = m.T
        axis = a.ndim - k + i
        if axis == a.ndim - 1:
            a = np.matmul(a, m.T)
        elif axis == a.ndim - 2:
            a = np.matmul(m, a)
        else:
            a = np.moveaxis(np.tensordot(a, m, axes=([axis], [1])), -1, axis)
    return a


def _one_hot(idx, size, dtype):
    m = np.zeros((len(idx), size), dtype=dtype)
    m[np.arange(len(idx)), idx] = 1
    return m


def _gather(x, idxs):
    """``x`` gathered along its last ``len(idxs)`` axes (None keeps an axis whole)."""
    k = len(idxs)
    full = [np.arange(x.shape[x.ndim - k + i]) if ix is None else ix for i, ix in enumerate(idxs)]
    return x[(Ellipsis,) + np.ix_(*full)]


def _one_hots(idxs, sizes, dtype):
    return tuple(_one_hot(ix, n, dtype) for ix, n in zip(idxs, sizes))


def _gather_apply(a, ctx):
    return _gather(a, ctx.idxs)


def _gather_adjoint(g, ctx):
    """The gradient of a per-axis gather: ``g`` times each axis's one-hot map transposed (BLAS
    sums the repeated sources, no scatter-add)."""
    return _map_axes(g, _one_hots(ctx.idxs, ctx.sizes, g.dtype), transpose=True)


def _gather_nodes(name, save_input):
    return linear_nodes(name, _gather_apply, _gather_adjoint, ("idxs", "sizes"), save_input)


def _maps_nodes(name):
    return linear_nodes(name, lambda a, ctx: _map_axes(a, ctx.mats),
                        lambda g, ctx: _map_axes(g, ctx.mats, transpose=True), ("mats",),
                        save_input=False)


# ---------------------------------------------------------------------------- pad
@formula("ConstantPadNdBackward0", attrs=("src", "dst", "cropped", "x_shape", "pads"))
def ConstantPadNdBackward0(ctx, g):
    if not F.is_array(g):  # the gradient is the padding undone: a constant pad again
        return (_constant_pad(g, tuple(-p for p in ctx.pads), 0),)
    src, dst = ctx.src, ctx.dst
    if ctx.cropped:
        gx = np.zeros(ctx.x_shape, dtype=g.dtype)
        gx[src] = g[dst]
        return (gx,)
    return (g[dst],)


ReflectionPad1DBackward0, ReflectionPad1DBackwardBackward0 = _gather_nodes(
    "ReflectionPad1DBackward0", True)
ReflectionPad2DBackward0, ReflectionPad2DBackwardBackward0 = _gather_nodes(
    "ReflectionPad2DBackward0", True)
ReflectionPad3DBackward0, ReflectionPad3DBackwardBackward0 = _gather_nodes(
    "ReflectionPad3DBackward0", True)
ReplicationPad1DBackward0, ReplicationPad1DBackwardBackward0 = _gather_nodes(
    "ReplicationPad1DBackward0", True)
ReplicationPad2DBackward0, ReplicationPad2DBackwardBackward0 = _gather_nodes(
    "ReplicationPad2DBackward0", True)
ReplicationPad3DBackward0, ReplicationPad3DBackwardBackward0 = _gather_nodes(
    "ReplicationPad3DBackward0", True)


def _circular_pad(input, pads, k):
    """Circular padding built from slice copies, as PyTorch builds it (its node is CopySlices,
    differentiable to any order). A negative size crops first; the wrap then reads the cropped
    tensor, as in PyTorch."""
    out, fresh = input, False
    for i in range(k):
        axis = out._data.ndim - k + i
        lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
        lead = (slice(None),) * axis
        if lo < 0 or hi < 0:
            n = out._data.shape[axis]
            out = out[lead + (slice(max(-lo, 0), n - max(-hi, 0)),)]
            lo, hi = max(lo, 0), max(hi, 0)
        if not (lo or hi):
            continue
        n = out._data.shape[axis]
        shape = list(out._data.shape)
        shape[axis] = n + lo + hi
        new = _wrap(np.zeros(shape, dtype=out._data.dtype))
        new[lead + (slice(lo, lo + n),)] = out
        if lo:
            new[lead + (slice(0, lo),)] = out[lead + (slice(n - lo, n),)]
        if hi:
            new[lead + (slice(lo + n, lo + n + hi),)] = out[lead + (slice(0, hi),)]
        out, fresh = new, True
    return out if fresh else out.clone()  # never a view of the input


_PAD_NODES = {("reflect", 1): ReflectionPad1DBackward0, ("reflect", 2): ReflectionPad2DBackward0,
              ("reflect", 3): ReflectionPad3DBackward0,
              ("replicate", 1): ReplicationPad1DBackward0,
              ("replicate", 2): ReplicationPad2DBackward0,
              ("replicate", 3): ReplicationPad3DBackward0}


def _constant_pad(input, pads, value):
    x = input._data
    nd = x.ndim
    k = len(pads) // 2
    if k > nd:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pads)} and input of dimension "
                           f"{nd}")
    shape = list(x.shape)
    src = [slice(None)] * nd
    dst = [slice(None)] * nd
    cropped = False
    for i in range(k):
        d = nd - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        size = x.shape[d]
        new = size + lo + hi
        if new < 0:
            raise RuntimeError(f"The input size {size}, plus negative padding {lo} and {hi} "
                               f"resulted in a negative output size, which is invalid. Check "
                               f"dimension {d} of your input.")
        start, stop = max(-lo, 0), size - max(-hi, 0)
        cropped = cropped or lo < 0 or hi < 0
        src[d] = slice(start, max(stop, start))
        dst[d] = slice(max(lo, 0), max(lo, 0) + max(stop - start, 0))
        shape[d] = new
    src, dst = tuple(src), tuple(dst)
    fill = 0 if value is None else value
    out = np.full(shape, fill, dtype=x.dtype)
    out[dst] = x[src]
    return ConstantPadNdBackward0.record(out, (input,), (), (src, dst, cropped, x.shape, pads))


def _pad_index(size, lo, hi, mode, dim, pads, shape):
    j = np.arange(-lo, size + hi)
    if mode == "reflect":
        if lo >= size or hi >= size:
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({lo}, {hi}) at dimension {dim} of input "
                f"{list(shape)}")
        return np.where(j < 0, -j, np.where(j >= size, 2 * (size - 1) - j, j))
    if mode == "replicate":
        return np.clip(j, 0, size - 1)
    if lo > size or hi > size:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    return j % size


def pad(input, pad, mode="constant", value=None):
    """Pads a tensor. ``pad`` lists (before, after) sizes starting from the *last* dimension:
    ``(left, right)``, ``(left, right, top, bottom)``, … Negative sizes crop (constant mode).

    Modes: ``'constant'`` (fill with ``value``, default 0), ``'reflect'`` (mirror without
    repeating the edge), ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around).
    """
    pads = tuple(int(p) for p in pad)
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if mode == "constant":
        return _constant_pad(input, pads, value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    x = input._data
    k = len(pads) // 2
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {x.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    idxs = []
    circular = mode == "circular"
    for i in range(k):
        d = x.ndim - k + i
        lo, hi = pads[2 * (k - 1 - i)], pads[2 * (k - 1 - i) + 1]
        idxs.append(_pad_index(x.shape[d], lo, hi, mode, d, pads, x.shape))
    if circular:
        return _circular_pad(input, pads, k)
    out = _gather(x, idxs)
    node = _PAD_NODES[(mode, k)]
    return node.record(out, (input,), (x,), (tuple(idxs), tuple(x.shape[x.ndim - k:])))


# ---------------------------------------------------------------------------- interpolate
UpsampleNearest1DBackward0, UpsampleNearest1DBackwardBackward0 = _gather_nodes(
    "UpsampleNearest1DBackward0", False)
UpsampleNearest2DBackward0, UpsampleNearest2DBackwardBackward0 = _gather_nodes(
    "UpsampleNearest2DBackward0", False)
UpsampleNearest3DBackward0, UpsampleNearest3DBackwardBackward0 = _gather_nodes(
    "UpsampleNearest3DBackward0", False)
UpsampleNearestExact1DBackward0, UpsampleNearestExact1DBackwardBackward0 = _gather_nodes(
    "UpsampleNearestExact1DBackward0", False)
UpsampleNearestExact2DBackward0, UpsampleNearestExact2DBackwardBackward0 = _gather_nodes(
    "UpsampleNearestExact2DBackward0", False)
UpsampleLinear1DBackward0, UpsampleLinear1DBackwardBackward0 = _maps_nodes(
    "UpsampleLinear1DBackward0")
UpsampleBilinear2DBackward0, UpsampleBilinear2DBackwardBackward0 = _maps_nodes(
    "UpsampleBilinear2DBackward0")
UpsampleTrilinear3DBackward0, UpsampleTrilinear3DBackwardBackward0 = _maps_nodes(
    "UpsampleTrilinear3DBackward0")


def _nearest_index(in_size, out_size, scale, exact):
    if out_size == in_size and not exact:
        return np.arange(out_size)
    if out_size == 2 * in_size and not exact:
        return np.arange(out_size) >> 1
    s = np.float32(1.0 / scale if scale is not None and scale > 0 else in_size / out_size)
    pos = np.arange(out_size, dtype=np.float32)
    if exact:
        pos = pos + np.float32(0.5)
    return np.minimum(np.floor(pos * s).astype(np.int64), in_size - 1)


def _linear_matrix(in_size, out_size, scale, align_corners, dtype):
    t = np.dtype(dtype).type
    if align_corners:
        s = t(in_size - 1) / t(out_size - 1) if out_size > 1 else t(0)
        src = s * np.arange(out_size, dtype=dtype)
    else:
        s = t(1.0 / scale) if scale is not None and scale > 0 else t(in_size) / t(out_size)
        src = s * (np.arange(out_size, dtype=dtype) + t(0.5)) - t(0.5)
        src = np.maximum(src, t(0))
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, in_size - 1)
    i1 = np.where(i0 < in_size - 1, i0 + 1, i0)
    l1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    l0 = (t(1) - l1).astype(dtype)
    m = np.zeros((out_size, in_size), dtype=dtype)
    rows = np.arange(out_size)
    m[rows, i0] = l0
    m[rows, i1] += l1
    return m


_LINEAR_MODES = {"linear": (1, UpsampleLinear1DBackward0),
                 "bilinear": (2, UpsampleBilinear2DBackward0),
                 "trilinear": (3, UpsampleTrilinear3DBackward0)}
_NEAREST_NODES = {(False, 1): UpsampleNearest1DBackward0, (False, 2): UpsampleNearest2DBackward0,
                  (False, 3): UpsampleNearest3DBackward0,
                  (True, 1): UpsampleNearestExact1DBackward0,
                  (True, 2): UpsampleNearestExact2DBackward0}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Down/up samples the input to the given ``size`` or by the given ``scale_factor``.

    Modes: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'`` (4-D),
    ``'trilinear'`` (5-D) and ``'area'`` (adaptive average pooling). ``align_corners`` applies
    to the linear modes only.
    """
    x = input._data
    nsp = x.ndim - 2
    if antialias:
        raise NotImplementedError("numtorch's interpolate does not implement antialias=True")
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if align_corners is None:
        align_corners = False
    if nsp < 1:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {x.ndim}D) for the modes: nearest | linear | bilinear | "
                                  f"bicubic | trilinear | area | nearest-exact (got {mode})")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    in_sizes = x.shape[2:]
    if size is not None:
        out_sizes = tuple(int(s) for s in size) if isinstance(size, (list, tuple)) else \
            (int(size),) * nsp
        if len(out_sizes) != nsp:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {list(in_sizes)} and "
                             f"output size of {list(out_sizes)}. Please provide input tensor in "
                             "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                             "format.")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        scales = (None,) * nsp
    else:
        scales = tuple(float(s) for s in scale_factor) if isinstance(
            scale_factor, (list, tuple)) else (float(scale_factor),) * nsp
        if len(scales) != nsp:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_sizes)} and scale_factor of shape {list(scales)}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             "scale_factor in (s1, s2, ...,sK) format.")
        out_sizes = tuple(int(math.floor(n * s)) for n, s in zip(in_sizes, scales))
        if recompute_scale_factor:
            scales = (None,) * nsp
    if mode == "area":
        return adaptive_avg_pool1d(input, out_sizes) if nsp == 1 else \
            adaptive_avg_pool2d(input, out_sizes)
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        idxs = [_nearest_index(i, o, s, exact) for i, o, s in zip(in_sizes, out_sizes, scales)]
        return _NEAREST_NODES[(exact, nsp)].record(_gather(x, idxs), (input,), (),
                                                   (tuple(idxs), tuple(in_sizes)))
    if mode in _LINEAR_MODES:
        want, node_cls = _LINEAR_MODES[mode]
        if want != nsp:
            raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {want + 2}D "
                                      "input")
        mats = tuple(_linear_matrix(i, o, s, align_corners, x.dtype)
                     for i, o, s in zip(in_sizes, out_sizes, scales))
        return node_cls.record(_map_axes(x, mats), (input,), (), (mats,))
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                              f"{x.ndim}D) for the modes: nearest | linear | bilinear | bicubic | "
                              f"trilinear | area | nearest-exact (got {mode})")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Upsamples the input (deprecated alias of ``interpolate``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Upsamples the input using nearest neighbours' pixel values."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Upsamples the input using bilinear upsampling (with ``align_corners=True``)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
