"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d, unfold, fold.

Every convolution runs as a 2-D one (1-D ones get a unit height) in three whole-array steps:

* ``im2col``: the windows of the padded input copied once into a contiguous
  ``(N, C, kh, kw, Ho, Wo)`` array (one strided copy, no Python loop over pixels);
* one batched ``matmul`` of the weight ``(G, O/G, C/G*kh*kw)`` with those columns viewed as
  ``(N, G, C/G*kh*kw, Ho*Wo)``, which lands directly in the ``(N, O, Ho, Wo)`` output layout;
* ``col2im`` for the way back: ``kh*kw`` slice-adds (never a per-pixel scatter). For stride 1
  without groups the block's images are laid side by side (gradient as ``(O, images, Hp, Wp)``,
  zero beyond the output), so ``W^T @ grad`` is one GEMM and each add is one long contiguous
  run over all the block's planes.

The columns are never kept: forward multiplies each block's columns while they are in cache,
and the weight gradient rebuilds them from the saved input, a block at a time (cheaper than
writing and re-reading ``kh*kw`` times the input's memory). The input gradient is
``col2im(W^T @ grad)``. Large batches are processed a block of images at a
time (about 1 MiB of columns, 4 MiB for col2im); the block temporaries live in per-thread
``scratch`` buffers reused across calls (fresh multi-MiB arrays page-fault); the blocks are
shared among up to ``numtorch.get_num_threads()`` worker threads while other processes leave
cores idle (``NUM_WORKERS``). With numba installed, im2col and col2im are compiled loops
(``_jit``). The transposed convolution is the same two kernels swapped.
"""

import functools
import math
import os
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import _threads
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import _jit
from ._lowp import lower_precision_op
from ._util import attach

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- argument helpers
def _ntuple(x, n, name="argument"):
    if isinstance(x, (list, tuple)):
        x = tuple(int(v) for v in x)
        if len(x) == 1 and n > 1:
            return x * n
        if len(x) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(x)}")
        return x
    return (int(x),) * n


def _pair(x):
    return _ntuple(x, 2)


def _single(x):
    return _ntuple(x, 1)


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "uint8": "Byte", "bool": "Bool"}
_LOWER_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                "int64": "long int", "int32": "int"}


def _check_dtypes(x, w, b):
    if x.dtype != w.dtype:
        raise RuntimeError(f"expected scalar type {_TYPE_NAMES.get(x.dtype.name, x.dtype.name)} "
                           f"but found {_TYPE_NAMES.get(w.dtype.name, w.dtype.name)}")
    if b is not None and b.dtype != x.dtype:
        raise RuntimeError(f"Input type ({_LOWER_NAMES.get(x.dtype.name, x.dtype.name)}) and bias "
                           f"type ({_LOWER_NAMES.get(b.dtype.name, b.dtype.name)}) should be the "
                           "same")
    if x.dtype.kind != "f":
        raise RuntimeError(f"\"slow_conv2d_cpu\" not implemented for "
                           f"'{_TYPE_NAMES.get(x.dtype.name, x.dtype.name)}'")


# ---------------------------------------------------------------------------- array kernels
def pad_zeros(x, top, bottom, left, right, value=0):
    """``x`` (..., H, W) surrounded by ``value``; a fresh array only when there is padding."""
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    out = np.full(x.shape[:-2] + (h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[..., top:top + h, left:left + w] = x
    return out


def windows(xp, kh, kw, sh, sw, dh, dw, ho, wo):
    """A read-only ``(N, C, kh, kw, ho, wo)`` strided view of the windows of ``xp``."""
    s0, s1, s2, s3 = xp.strides
    shape = (xp.shape[0], xp.shape[1], kh, kw, ho, wo)
    strides = (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw)
    if xp.flags.c_contiguous:  # the ndarray constructor is several times cheaper than as_strided
        v = np.ndarray(shape, xp.dtype, buffer=xp, strides=strides)
        v.flags.writeable = False
        return v
    return as_strided(xp, shape, strides, writeable=False)


def im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo):
    """The windows of the padded input ``xp`` as a contiguous ``(N, C, kh, kw, ho, wo)`` array."""
    if kh == kw == 1 and sh == sw == 1 and xp.flags.c_contiguous:
        return xp[:, :, None, None, :ho, :wo] if (ho, wo) == xp.shape[2:] else \
            np.ascontiguousarray(xp[:, :, None, None, :ho, :wo])
    jit = _jit.kernels(xp)
    if jit is None:
        return np.ascontiguousarray(windows(xp, kh, kw, sh, sw, dh, dw, ho, wo))
    cols = np.empty(xp.shape[:2] + (kh, kw, ho, wo), dtype=xp.dtype)
    jit.im2col(xp, cols, sh, sw, dh, dw)
    return cols


def col2im(cols, hp, wp, sh, sw, dh, dw):
    """Inverse of ``im2col``: sum each window column back onto an ``(N, C, hp, wp)`` array."""
    n, c, kh, kw, ho, wo = cols.shape
    out = np.zeros((n, c, hp, wp), dtype=cols.dtype)
    jit = _jit.kernels(cols)
    if jit is not None:
        jit.col2im(cols, out, sh, sw, dh, dw)
        return out
    if kh == sh and kw == sw and dh == dw == 1 and hp == ho * kh and wp == wo * kw:
        # Non-overlapping windows tiling the input: a single transposed copy.
        out.reshape(n, c, ho, kh, wo, kw)[...] = cols.transpose(0, 1, 4, 2, 5, 3)
        return out
    hspan, wspan = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    for i in range(kh):
        hi = i * dh
        for j in range(kw):
            wj = j * dw
            out[:, :, hi:hi + hspan:sh, wj:wj + wspan:sw] += cols[:, :, i, j]
    return out


_BLOCK_BYTES = 1 << 20  # a block of columns (one step of a batched kernel) should stay in cache
# The batch-folded col2im is dominated by its kh*kw adds per block: fewer, longer blocks win
# (measured 1/2/4 MiB on LeNet's conv2 at batch 64 and 256: 4 MiB best).
_COL2IM_BLOCK_BYTES = 4 << 20

# Worker threads for the batched kernels. NumPy and the compiled kernels release the GIL, so
# blocks of images can run in parallel. None (the default): ``numtorch._threads.workers()``, i.e.
# up to ``numtorch.get_num_threads()`` threads while other processes leave cores idle. An int
# forces a count.
NUM_WORKERS = None
_executor = None


def _workers():
    if NUM_WORKERS is not None:
        return max(1, int(NUM_WORKERS))
    return _threads.workers()


def _forget_executor():
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    # A forked child (e.g. a DataLoader worker) must not wait on its parent's threads.
    os.register_at_fork(after_in_child=_forget_executor)


def run_blocks(n, block, fn):
    """``[fn(start, stop) for each block of the batch]``, the blocks shared among worker threads
    when there are several (contiguous runs of blocks per thread)."""
    bounds = [(s, min(n, s + block)) for s in range(0, n, block)]
    workers = min(_workers(), len(bounds))
    if workers <= 1:
        return [fn(s, e) for s, e in bounds]
    global _executor
    if _executor is None or _executor._max_workers < workers - 1:
        from concurrent.futures import ThreadPoolExecutor
        _executor = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="numtorch")
    per = -(-len(bounds) // workers)
    groups = [bounds[i:i + per] for i in range(0, len(bounds), per)]

    def run(group):
        return [fn(s, e) for s, e in group]

    futures = [_executor.submit(run, grp) for grp in groups[1:]]
    results = run(groups[0])
    for f in futures:
        results.extend(f.result())
    return results


def _block_size(per_image_bytes):
    return max(1, _BLOCK_BYTES // max(1, per_image_bytes))


def _out_size(size, k, s, p0, p1, d):
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


# Scratch buffers: each thread keeps one flat buffer per purpose and hands out views of it,
# so the multi-MiB temporaries of the batched kernels are not fresh allocations on every call
# (large fresh arrays come from mmap and page-fault on first touch, costing more than the
# arithmetic). Requests above the cap get ordinary arrays, so little memory stays held.
_SCRATCH_CAP = 8 << 20
_SCRATCH_MIN = 64 << 10  # smaller arrays come from malloc's free lists anyway
_scratch_local = threading.local()


def scratch(name, shape, dtype):
    """An uninitialised C-contiguous array of ``shape``, a view of this thread's reusable
    buffer ``name``. Valid until the next request for ``name`` on this thread."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_CAP or nbytes < _SCRATCH_MIN:
        return np.empty(shape, dtype)
    bufs = getattr(_scratch_local, "bufs", None)
    if bufs is None:
        bufs = _scratch_local.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[name] = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def _cols(xp, geom):
    """``im2col`` of a block into the thread's scratch buffer (never to be kept)."""
    kh, kw, sh, sw, dh, dw, ho, wo = geom
    if kh == kw == 1 and sh == sw == 1:
        return im2col(xp, *geom)
    cols = scratch("im2col", (xp.shape[0], xp.shape[1], kh, kw, ho, wo), xp.dtype)
    jit = _jit.kernels(xp)
    if jit is None:
        np.copyto(cols, windows(xp, *geom))
    else:
        jit.im2col(xp, cols, *geom[2:6])
    return cols


def _conv_geometry(xp, w, stride, dilation):
    kh, kw = w.shape[2:]
    ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    return kh, kw, ho, wo


def _conv_forward(x, w, stride, pads, dilation, groups, bias=None):
    """Forward of a 2-D convolution on arrays, a block of images at a time: each block's columns
    are built and multiplied while they are still in cache, straight into the output. The
    columns are not kept (backward rebuilds them from the input, which costs less than writing
    and re-reading ``kh * kw`` times the input's memory)."""
    n = x.shape[0]
    o = w.shape[0]
    xp = pad_zeros(x, *pads)
    kh, kw, ho, wo = _conv_geometry(xp, w, stride, dilation)
    wm = w.reshape(o, -1) if groups == 1 else w.reshape(groups, o // groups, -1)
    k = w.shape[1] * kh * kw * groups
    out = np.empty((n, o, ho, wo), dtype=np.result_type(x, w))
    geom = (kh, kw) + tuple(stride) + tuple(dilation) + (ho, wo)

    def step(s, e):
        cols = _cols(xp[s:e], geom)
        np.matmul(wm, _grouped(cols, e - s, groups, ho * wo),
                  out=_grouped(out[s:e], e - s, groups, ho * wo))
        if bias is not None:  # while the block's output is still in cache
            block = out[s:e].reshape(e - s, o, ho * wo)
            block += bias[:, None]

    run_blocks(n, _block_size(k * ho * wo * x.itemsize), step)
    return out


def _grouped(a, n, groups, length):
    """``a`` viewed as ``(n, rows, length)``, or ``(n, groups, rows / groups, length)``."""
    return a.reshape(n, -1, length) if groups == 1 else a.reshape(n, groups, -1, length)


def _conv_backward_weight(g, x, kernel, stride, pads, dilation, groups):
    """Weight gradient: sum over the batch of ``cols[n] @ grad[n]^T``, the columns rebuilt from
    the input a block of images at a time (this orientation keeps BLAS's operands in their
    stored layout and runs faster than ``grad[n] @ cols[n]^T``)."""
    n, o = g.shape[:2]
    ln = g.shape[2] * g.shape[3]
    xp = pad_zeros(x, *pads)
    kh, kw = kernel
    geom = (kh, kw) + tuple(stride) + tuple(dilation) + tuple(g.shape[2:])
    gg = g.reshape(n, o, ln) if groups == 1 else g.reshape(n, groups, o // groups, ln)

    def step(s, e):
        cols = _grouped(_cols(xp[s:e], geom), e - s, groups, ln)
        return np.matmul(cols, gg[s:e].swapaxes(-1, -2)).sum(0)

    k = x.shape[1] * kh * kw
    parts = run_blocks(n, _block_size(k * ln * x.itemsize), step)
    gw = parts[0]
    for p in parts[1:]:
        gw += p
    return gw.swapaxes(-1, -2).reshape(o, -1, kh, kw)


def _conv_backward_input(g, w, x_shape, stride, pads, dilation, groups):
    """Gradient of a convolution with respect to its input: ``col2im(W^T @ grad)``, a block of
    images at a time so the intermediate columns stay in cache."""
    n = g.shape[0]
    jit = _jit.kernels(g, w)
    if jit is not None:
        return _conv_backward_input_jit(jit, g, w, x_shape, stride, pads, dilation, groups)
    if groups == 1 and stride == (1, 1):
        return _conv_backward_input_flat(g, w, x_shape, pads, dilation)
    per_image = w.shape[1] * groups * w.shape[2] * w.shape[3] * g.shape[2] * \
        (x_shape[3] + pads[2] + pads[3]) * g.itemsize
    block = _block_size(per_image)
    if n <= block:
        return _conv_backward_input_block(g, w, x_shape, stride, pads, dilation, groups)
    gx = np.empty(x_shape, dtype=g.dtype)

    def step(s, e):
        gx[s:e] = _conv_backward_input_block(g[s:e], w, (e - s,) + tuple(x_shape[1:]), stride,
                                             pads, dilation, groups)

    run_blocks(n, block, step)
    return gx


def _conv_backward_input_jit(jit, g, w, x_shape, stride, pads, dilation, groups):
    """Input gradient with the compiled col2im: per block, ``W^T @ grad`` into cached columns,
    then one pass adding every column onto the (padded) input gradient."""
    n, o, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    top, bottom, left, right = pads
    h, wd = x_shape[2:]
    hp, wp = h + top + bottom, wd + left + right
    padded = top or bottom or left or right
    if groups == 1:
        wt = np.ascontiguousarray(w.reshape(o, -1).T)
    else:
        wt = np.ascontiguousarray(w.reshape(groups, o // groups, -1).swapaxes(1, 2))
    gx = (np.empty if padded else np.zeros)(x_shape, dtype=g.dtype)
    length = ho * wo

    def step(s, e):
        b = e - s
        gcols = scratch("cols", (b, c, kh, kw, ho, wo), g.dtype)
        np.matmul(wt, _grouped(g[s:e], b, groups, length), out=_grouped(gcols, b, groups, length))
        if padded:
            gxp = scratch("gxp", (b, c, hp, wp), g.dtype)
            gxp.fill(0)
            jit.col2im(gcols, gxp, *stride, *dilation)
            gx[s:e] = gxp[:, :, top:top + h, left:left + wd]
        else:
            jit.col2im(gcols, gx[s:e], *stride, *dilation)

    run_blocks(n, _block_size(c * kh * kw * length * g.itemsize), step)
    return gx


def _conv_backward_input_flat(g, w, x_shape, pads, dilation):
    """Input gradient of a stride-1, ungrouped convolution with the images of a block side by
    side: the gradient is laid out as ``(O, images, Hp, Wp)`` (zero beyond the output), so
    ``W^T @ grad`` is one GEMM and each kernel offset's col2im add is one long contiguous run
    over all the block's planes (the shifted rows never reach into the next plane)."""
    n, o, ho, wo = g.shape
    _, c, kh, kw = w.shape
    dh, dw = dilation
    top, bottom, left, right = pads
    h, wd = x_shape[2:]
    hp, wp = h + top + bottom, wd + left + right
    wt = np.ascontiguousarray(w.reshape(o, -1).T)
    gx = np.empty(x_shape, dtype=g.dtype)
    tail = (kh - 1) * dh * wp + (kw - 1) * dw

    def step(s, e):
        b = e - s
        length = b * hp * wp
        gw_ = scratch("g", (o, b, hp, wp), g.dtype)
        gw_.fill(0)
        gw_[:, :, :ho, :wo] = g[s:e].transpose(1, 0, 2, 3)
        gcols = scratch("cols", (c * kh * kw, length), g.dtype)
        np.matmul(wt, gw_.reshape(o, length), out=gcols)
        gcols = gcols.reshape(c, kh, kw, length)
        buf = scratch("buf", (c, length + tail), g.dtype)
        buf.fill(0)
        for i in range(kh):
            for j in range(kw):
                off = i * dh * wp + j * dw
                buf[:, off:off + length] += gcols[:, i, j]
        gxp = buf[:, :length].reshape(c, b, hp, wp)[:, :, top:top + h, left:left + wd]
        gx[s:e] = gxp.transpose(1, 0, 2, 3)

    per_image = c * kh * kw * hp * wp * g.itemsize
    run_blocks(n, max(1, _COL2IM_BLOCK_BYTES // per_image), step)
    return gx


def _conv_backward_input_block(g, w, x_shape, stride, pads, dilation, groups):
    n, o, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    top, bottom, left, right = pads
    h, wd = x_shape[2:]
    hp, wp = h + top + bottom, wd + left + right
    flat = stride == (1, 1)
    if flat:
        # Give each gradient row the padded input's width: every kernel offset then maps the
        # columns onto one contiguous run of the flattened input plane (the extra columns hold
        # zeros), so col2im becomes kh*kw long 1-D slice-adds.
        if wo != wp:
            gw_ = np.zeros((n, o, ho, wp), dtype=g.dtype)
            gw_[..., :wo] = g
            g = gw_
        cols_w = wp
    else:
        cols_w = wo
    if groups == 1:
        gcols = np.matmul(w.reshape(o, -1).T, g.reshape(n, o, ho * cols_w))
    else:
        gcols = np.matmul(w.reshape(groups, o // groups, -1).swapaxes(1, 2),
                          g.reshape(n, groups, o // groups, ho * cols_w))
    if flat:
        dh, dw = dilation
        length = ho * wp
        gcols = gcols.reshape(n, c, kh, kw, length)
        buf = np.zeros((n, c, hp * wp + (kw - 1) * dw), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                off = i * dh * wp + j * dw
                buf[:, :, off:off + length] += gcols[:, :, i, j]
        gxp = buf[:, :, :hp * wp].reshape(n, c, hp, wp)
    else:
        gxp = col2im(gcols.reshape(n, c, kh, kw, ho, wo), hp, wp, *stride, *dilation)
    if top or bottom or left or right:
        return gxp[:, :, top:top + h, left:left + wd]
    return gxp


# ---------------------------------------------------------------------------- autograd node
class ConvolutionBackward0(Node):
    """Backward of a (non-transposed) convolution."""

    _saved_fields = ("x", "w")

    def backward(self, g):
        nf = self.next_functions
        nx, nw, nb = nf[0][0], nf[1][0], nf[2][0]
        g = g.reshape(self.out_shape4)
        gx = gw = gb = None
        if nx is not None:
            gx = _conv_backward_input(g, self.w, self.x_shape4, self.stride, self.pads,
                                      self.dilation, self.groups).reshape(self.x_shape)
        if nw is not None:
            gw = _conv_backward_weight(g, self.x, self.kernel, self.stride, self.pads,
                                       self.dilation, self.groups).reshape(self.w_shape)
        if nb is not None:
            gb = _bias_grad(g)
        return gx, gw, gb


def _bias_grad(g):
    """``g.sum(axis=(0, 2, 3))``; einsum runs it about three times faster."""
    return np.einsum("nol->o", g.reshape(g.shape[0], g.shape[1], -1))


class _ConvTransposeBackward(Node):
    """Backward of a transposed convolution (PyTorch shows it as ConvolutionBackward0 too)."""

    _saved_fields = ("x", "w")

    def backward(self, g):
        nf = self.next_functions
        nx, nw, nb = nf[0][0], nf[1][0], nf[2][0]
        g = g.reshape(self.out_shape4)
        x, w, groups = self.x, self.w, self.groups
        n, cin, h, wd = x.shape
        top, left = self.pads
        gp = pad_zeros(g, top, top, left, left)
        kh, kw = w.shape[2:]
        gcols = im2col(gp, kh, kw, *self.stride, *self.dilation, h, wd)
        gcols = gcols.reshape(n, groups, -1, h * wd)
        gx = gw = gb = None
        if nx is not None:
            gx = np.matmul(w.reshape(groups, cin // groups, -1), gcols).reshape(self.x_shape)
        if nw is not None:
            gw = np.matmul(x.reshape(n, groups, cin // groups, h * wd), gcols.swapaxes(2, 3))
            gw = gw.sum(0).reshape(self.w_shape)
        if nb is not None:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


_ConvTransposeBackward.__name__ = "ConvolutionBackward0"
_ConvTransposeBackward.__qualname__ = "ConvolutionBackward0"


# ---------------------------------------------------------------------------- functional forms
def _resolve_padding(padding, nd, kernel, dilation, stride):
    """Padding as a tuple of (before, after) pairs, one per spatial dim."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    p = _ntuple(padding, nd, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    return tuple((v, v) for v in p)


def _shape_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


@functools.lru_cache(maxsize=64)
def _conv_args(x_shape, w_shape, b_shape, stride, padding, dilation, groups, nd):
    """Checked ``(stride, dilation, groups, pads)`` of a convolution call (cached: a network
    calls each of its convolutions with the same arguments every step)."""
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    kernel = w_shape[2:]
    pads = _resolve_padding(padding, nd, kernel, dilation, stride)
    o, cg = w_shape[:2]
    if x_shape[1] != cg * groups or o % groups:
        if o % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"{_shape_str(w_shape)} instead")
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_str(w_shape)}, "
                           f"expected input{_shape_str(x_shape)} to have {cg * groups} channels, "
                           f"but got {x_shape[1]} channels instead")
    if b_shape is not None and (len(b_shape) != 1 or b_shape[0] != o):
        raise RuntimeError(f"Given weight of size {_shape_str(w_shape)}, expected bias to be "
                           f"1-dimensional with {o} elements, but got bias of size "
                           f"{_shape_str(b_shape)} instead")
    padded = [x_shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nd)]
    eff = [dilation[i] * (kernel[i] - 1) + 1 for i in range(nd)]
    if any(p < k for p, k in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than "
            "actual input size")
    return stride, dilation, groups, pads


def _convnd(input, weight, bias, stride, padding, dilation, groups, nd):
    name = f"conv{nd}d"
    x, w = input._data, weight._data
    if x.ndim == nd + 1:
        out = _convnd(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups, nd)
        return out.squeeze(0)
    if x.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {_shape_str(x.shape)}")
    if w.ndim != nd + 2:
        raise RuntimeError("weight should have at least three dimensions" if w.ndim < 3 else
                           f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input "
                           f"{_shape_str(x.shape)}, but got {w.ndim}-dimensional weight of size "
                           f"{_shape_str(w.shape)} instead")
    b = bias._data if bias is not None else None
    _check_dtypes(x, w, b)
    b_shape = None if b is None else b.shape
    try:
        stride, dilation, groups, pads = _conv_args(x.shape, w.shape, b_shape, stride, padding,
                                                    dilation, groups, nd)
    except TypeError:  # unhashable arguments (lists): check them without the cache
        stride, dilation, groups, pads = _conv_args.__wrapped__(
            x.shape, w.shape, b_shape, stride, padding, dilation, groups, nd)
    if nd == 1:
        x4, w4 = x[:, :, None, :], w[:, :, None, :]
        stride2, dil2, pads4 = (1, stride[0]), (1, dilation[0]), (0, 0) + pads[0]
    else:
        x4, w4, stride2, dil2 = x, w, stride, dilation
        pads4 = pads[0] + pads[1]
    out = _conv_forward(x4, w4, stride2, pads4, dil2, groups, b)
    out_shape4 = out.shape
    if nd == 1:
        out = out.reshape(out.shape[0], out.shape[1], out.shape[3])
    if _GradState.enabled and (input._requires_grad or weight._requires_grad or
                               (bias is not None and bias._requires_grad)):
        node = ConvolutionBackward0()
        node.x = x4 if weight._requires_grad else None
        node.w = w4 if input._requires_grad else None
        node.x_shape, node.x_shape4, node.w_shape = x.shape, x4.shape, w.shape
        node.kernel = w4.shape[2:]
        node.out_shape4 = out_shape4
        node.stride, node.pads, node.dilation, node.groups = stride2, pads4, dil2, groups
        node.save_versions(input, weight)
        return attach(out, node, input, weight, bias)
    return _wrap(out)


@lower_precision_op
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Applies a 1D convolution over an input signal composed of several input planes.

    ``input`` is ``(N, C_in, L)`` or unbatched ``(C_in, L)``; ``weight`` is
    ``(C_out, C_in / groups, kW)``. ``padding`` may be an int, a 1-tuple, ``'valid'`` or
    ``'same'``.
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1)


@lower_precision_op
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Applies a 2D convolution over an input image composed of several input planes.

    ``input`` is ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; ``weight`` is
    ``(C_out, C_in / groups, kH, kW)``; ``bias`` is ``(C_out,)`` or None. ``stride``,
    ``dilation`` and ``padding`` are ints or pairs; ``padding`` may also be ``'valid'`` or
    ``'same'`` (stride 1 only; an odd total padding puts the extra row/column after).
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2)


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation,
                      nd):
    name = f"conv_transpose{nd}d"
    x, w = input._data, weight._data
    if x.ndim == nd + 1:
        return _conv_transposend(input.unsqueeze(0), weight, bias, stride, padding,
                                 output_padding, groups, dilation, nd).squeeze(0)
    if x.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {_shape_str(x.shape)}")
    b = bias._data if bias is not None else None
    _check_dtypes(x, w, b)
    if isinstance(padding, str):
        raise RuntimeError(f"{name}() received an invalid combination of arguments: padding "
                           "must be an int or a tuple of ints")
    stride = _ntuple(stride, nd, "stride")
    padding = _ntuple(padding, nd, "padding")
    output_padding = _ntuple(output_padding, nd, "output_padding")
    dilation = _ntuple(dilation, nd, "dilation")
    groups = int(groups)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding_height: {output_padding[0]} "
                               f"output_padding_width: {output_padding[-1]} stride_height: "
                               f"{stride[0]} stride_width: {stride[-1]} dilation_height: "
                               f"{dilation[0]} dilation_width: {dilation[-1]}")
    cin, og = w.shape[:2]
    if x.shape[1] != cin or cin % groups:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(w.shape)}, expected "
                           f"input{_shape_str(x.shape)} to have {cin} channels, but got "
                           f"{x.shape[1]} channels instead")
    if nd == 1:
        x4, w4 = x[:, :, None, :], w[:, :, None, :]
        stride, padding, output_padding, dilation = ((1,) + stride, (0,) + padding,
                                                     (0,) + output_padding, (1,) + dilation)
    else:
        x4, w4 = x, w
    n, _, h, wd = x4.shape
    kh, kw = w4.shape[2:]
    hf = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    wf = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    ho, wo = hf - 2 * padding[0], wf - 2 * padding[1]
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"Given input size per channel: ({h} x {wd}). Calculated output size "
                           f"per channel: ({ho} x {wo}). Output size is too small")
    cols = np.matmul(w4.reshape(groups, cin // groups, -1).swapaxes(1, 2),
                     x4.reshape(n, groups, cin // groups, h * wd))
    cols = cols.reshape(n, og * groups, kh, kw, h, wd)
    full = col2im(cols, hf, wf, *stride, *dilation)
    out = full
    if padding[0] or padding[1]:
        out = np.ascontiguousarray(full[:, :, padding[0]:padding[0] + ho,
                                        padding[1]:padding[1] + wo])
    if b is not None:
        out += b[:, None, None]
    out_shape4 = out.shape
    if nd == 1:
        out = out.reshape(n, out.shape[1], wo)
    if _GradState.enabled and (input._requires_grad or weight._requires_grad or
                               (bias is not None and bias._requires_grad)):
        node = _ConvTransposeBackward()
        node.x, node.w = x4, w4
        node.x_shape, node.w_shape, node.out_shape4 = x.shape, w.shape, out_shape4
        node.stride, node.pads, node.dilation, node.groups = stride, padding, dilation, groups
        node.save_versions(input, weight)
        return attach(out, node, input, weight, bias)
    return _wrap(out)


@lower_precision_op
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Applies a 1D transposed convolution ("deconvolution") over an input signal.

    ``weight`` is ``(C_in, C_out / groups, kW)``.
    """
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1)


@lower_precision_op
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Applies a 2D transposed convolution ("deconvolution") over an input image.

    ``weight`` is ``(C_in, C_out / groups, kH, kW)``; the output size is
    ``(H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``.
    """
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2)
