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

With numba, an ungrouped forward with enough channels (``_channels_last_path``) and a kernel
larger than 1x1 runs the other way round (``_conv_forward_rows``): the block moved to
channels-last, one row of ``(kh, kw, C)`` per output position, ``rows @ W^T`` (the faster
orientation of OpenBLAS on these shapes) and the result moved back to ``(N, O, Ho, Wo)``; a 3x3
stride-1 one by Winograd's F(2x2, 3x3) (``_conv_forward_winograd``: 16 products of
``(tiles, C) @ (C, O)``, 2.25 times fewer multiply-adds), a 3x3 stride-2 one by F(2, 2) on the
even taps of each axis (``_conv_forward_winograd_s2``: 25 products, 25 multiply-adds per 2x2
outputs instead of 36). A strided 1x1 convolution (a projection shortcut) needs no im2col: its
input subsampled into a scratch buffer and one batched product (``_conv_forward_subsampled``).

The columns are never kept: forward multiplies each block's columns while they are in cache,
and the weight gradient rebuilds them from the saved input, a block at a time (cheaper than
writing and re-reading ``kh*kw`` times the input's memory). The input gradient is
``col2im(W^T @ grad)``, except that with numba a stride-1 convolution's input gradient is the
forward convolution of the gradient with the flipped weight (no col2im, and a product in the
forward's faster orientation), a 3x3 stride-2 one is the transpose of the stride-2 forward's
split, and another strided one (kernel above 1x1) multiplies the gradient in
the pixel-major orientation and gathers each input pixel's columns (``_conv_backward_jit``);
with numba, too, a 3x3 stride-1 weight gradient uses Winograd's F(3x3, 2x2) (planar, or from 32
channels and for small images the transpose of the channels-last forward's), a 3x3 stride-2
one the transpose of the stride-2 forward's split. Before all these, with numba, convolutions
of few input channels run direct compiled kernels over each image's flat padded planes, without
columns or transforms (``_conv_small_jit``: ``_conv_forward_small``,
``_conv_backward_weight_small``, ``_conv_backward_input_small_s2``): stride-1 ones of up to 16
input channels (forward, of any kernel size, and so the flipped-weight input gradient of a
gradient of up to 16 channels) and their weight gradients up to 32 from 16x16 outputs on
(kernel rows of three taps, or of two or more for few output channels), and stride-2 ones of
up to 16 from the input's four phase planes (the forward of kernels from 3x3 up, both
gradients of 3x3 ones). With numba each
block is padded into a scratch buffer instead of the whole batch into a fresh array. Large
batches are processed a block of images at a time (about 2 MiB of columns, 4 MiB for col2im);
the block temporaries live in per-thread
``scratch`` buffers reused across calls (fresh multi-MiB arrays page-fault); the blocks are
shared among worker threads (``_runtime.run_steps``; a backward's input and weight gradients
in one job). With numba installed, im2col and col2im
are compiled loops (``_jit``). The transposed convolution is the same kernels swapped.

Autograd: a convolution records ``ConvolutionBackward0``; under ``create_graph`` its gradients
are one recorded op, ``ConvolutionBackwardBackward0`` (PyTorch's names), whose derivatives are
again convolutions and convolution backwards, so derivatives of any order work while a plain
backward runs the array kernels above.
"""

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import _threads
from ..autograd import engine
from . import _conv_backward_jit, _conv_jit, _conv_small_jit, _jit
from . import _formulas as F
from ._lowp import lower_precision_op
from ._registry import formula
from ._runtime import Blocks, run_steps, scratch

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]



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


# A block of columns (one step of a batched kernel) should stay in cache. 2 MiB: on ResNet-8's
# convolutions 2-6 % faster than 1 MiB (512 and 256 KiB slower still), LeNet's steps the same.
_BLOCK_BYTES = 2 << 20
# The batch-folded col2im is dominated by its kh*kw adds per block: fewer, longer blocks win
# (measured 1/2/4 MiB on LeNet's conv2 at batch 64 and 256: 4 MiB best).
_COL2IM_BLOCK_BYTES = 4 << 20

def _block_size(per_image_bytes):
    return max(1, _BLOCK_BYTES // max(1, per_image_bytes))


# A batch whose blocks total at least this much is cut even when it fits in one block, so the
# second thread takes half, and its gradients' single blocks run side by side: ResNet-8's 1x1
# shortcuts (256-512 KiB of columns, 0.1-0.2 ms per pass) ran on the calling thread alone,
# forward and both gradients. (Cutting the gradients too was no faster: the weight gradient's
# partial sums cost what the second thread saved.)
_SPLIT_BYTES = 256 << 10


def _shared_block_size(n, per_image_bytes):
    """:func:`_block_size`, but a batch of ``n`` images of at least :data:`_SPLIT_BYTES` that
    fits in one block is cut in two (then into ``_runtime``'s equal shares); depends on the
    shape only."""
    block = _block_size(per_image_bytes)
    if block >= n > 1 and n * per_image_bytes >= _SPLIT_BYTES:
        return -(-n // 2)
    return block


def _out_size(size, k, s, p0, p1, d):
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


def _padded_block(x, s, e, pads, jit):
    """Images ``s:e`` of ``x`` zero-padded by ``pads``: with the compiled kernels, in the
    thread's scratch buffer (one pass, no fresh whole-batch array); otherwise ``x`` is already
    padded (see ``_padded_input``)."""
    top, bottom, left, right = pads
    if jit is None or not (top or bottom or left or right):
        return x[s:e]
    n, c, h, w = x.shape
    xp = scratch("pad", (e - s, c, h + top + bottom, w + left + right), x.dtype)
    jit.pad_into(x[s:e], xp, top, left)
    return xp


def _padded_input(x, pads, jit):
    """The whole padded input for the NumPy path (the compiled one pads a block at a time)."""
    return x if jit is not None else pad_zeros(x, *pads)


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


def _conv_forward(x, w, stride, pads, dilation, groups, bias=None):
    """Forward of a 2-D convolution on arrays, a block of images at a time: each block's columns
    are built and multiplied while they are still in cache, straight into the output. The
    columns are not kept (backward rebuilds them from the input, which costs less than writing
    and re-reading ``kh * kw`` times the input's memory). With the compiled kernels and enough
    channels, the channels-last Winograd or rows' forward instead (``_channels_last_path``); where
    the weight outweighs the columns, one product over the whole batch (``_whole_batch_path``)."""
    return run_steps(_conv_forward_steps(x, w, stride, pads, dilation, groups, bias))[0]


def _conv_forward_steps(x, w, stride, pads, dilation, groups, bias=None):
    """``_conv_forward`` as a kernel of ``_runtime.run_steps`` (yields its blocks)."""
    n = x.shape[0]
    o = w.shape[0]
    kh, kw = w.shape[2:]
    ho = _out_size(x.shape[2], kh, stride[0], pads[0], pads[1], dilation[0])
    wo = _out_size(x.shape[3], kw, stride[1], pads[2], pads[3], dilation[1])
    if _whole_batch_path(x, w, (ho, wo), groups, stride, dilation):
        return _conv_forward_whole(x, w, stride, pads, dilation, bias, (ho, wo))
    if _subsampled_path(x, w, stride, pads, groups):
        return (yield from _conv_forward_subsampled(x, w, stride, bias, (ho, wo)))
    small = _small_forward_kernels(x, w, stride, dilation, groups, (ho, wo))
    if small is not None:
        return (yield from _conv_forward_small(small.small_forward, x, w, pads, bias, (ho, wo)))
    small = _small_s2_kernels(x.shape[1], (kh, kw), stride, dilation, groups, (ho, wo), x, w,
                              forward=True)
    if small is not None:
        return (yield from _conv_forward_small(small.small_forward_s2, x, w, pads, bias,
                                               (ho, wo)))
    path = _channels_last_path(x, w, stride, dilation, groups)
    if path is not None:
        kernels = _conv_jit.kernels(x, w)
        if kernels is not None and path == "winograd":
            return (yield from _conv_forward_winograd(kernels, x, w, pads, bias, (ho, wo)))
        if kernels is not None and path == "winograd_s2":
            return (yield from _conv_forward_winograd_s2(kernels, x, w, pads, bias, (ho, wo)))
        if kernels is not None:
            return (yield from _conv_forward_rows(kernels, x, w, stride, pads, dilation, bias,
                                                  (ho, wo)))
    jit = _jit.kernels(x)
    xp = _padded_input(x, pads, jit)
    wm = w.reshape(o, -1) if groups == 1 else w.reshape(groups, o // groups, -1)
    k = w.shape[1] * kh * kw * groups
    out = np.empty((n, o, ho, wo), dtype=np.result_type(x, w))
    geom = (kh, kw) + tuple(stride) + tuple(dilation) + (ho, wo)

    def step(s, e):
        cols = _cols(_padded_block(xp, s, e, pads, jit), geom)
        np.matmul(wm, _grouped(cols, e - s, groups, ho * wo),
                  out=_grouped(out[s:e], e - s, groups, ho * wo))
        if bias is not None:  # while the block's output is still in cache
            block = out[s:e].reshape(e - s, o, ho * wo)
            block += bias[:, None]

    yield Blocks(n, _shared_block_size(n, k * ho * wo * x.itemsize), step)
    return out


# A convolution whose weight outweighs its columns (no more output positions in the whole
# batch than output channels: the last stages of an ImageNet ResNet at a small batch, most layers
# of any network at batch 1) is one product over the whole batch: the block paths read the whole
# weight again for every block, and Winograd's transformed kernels are 16/9 of it again. 3x3
# convolutions on the 2-core Zen 3 (two threads), forward: 512->512 at 7x7, batch 4, 20 ->
# 8-10 ms (PyTorch 7.5); batch 1 18.8 -> 3.0 ms; 256->512 stride 2 at 14x14, batch 4, 13.7 ->
# 5.4 ms (PyTorch 5.8); 256->256 at 14x14, batch 1, 4.9 -> 2.2 ms. With more positions than
# channels the stride-1 Winograd wins (256->256 at 14x14, batch 4: 6.9 against 11.1 ms; even at
# 512->512, 7x7, batch 16); other paths lose only from about twice as many (forward and backward:
# 256->512 stride 2 at 14x14, batch 16, 79 against 132 ms; 1x1 2048->512 at 7x7, batch 16, 66
# against 88 ms; 128->256 stride 2 at 28x28, batch 4, even). Weights under
# _WHOLE_BATCH_MIN_BYTES keep the block paths (a few microseconds either way).
_WHOLE_BATCH = True
_WHOLE_BATCH_MIN_BYTES = 64 << 10


def _whole_batch_path(x, w, out_hw, groups, stride, dilation):
    """Whether ``_conv_forward_whole`` (and ``_conv_backward_whole``) compute this
    convolution: ungrouped, its weight at least :data:`_WHOLE_BATCH_MIN_BYTES`, and at least as
    many output channels as output positions in the batch, or half as many where the block path
    would not be the stride-1 Winograd (which does 2.25 times fewer multiply-adds)."""
    if not _WHOLE_BATCH or groups != 1 or w.nbytes < _WHOLE_BATCH_MIN_BYTES:
        return False
    winograd = w.shape[2:] == (3, 3) and tuple(stride) == tuple(dilation) == (1, 1)
    return w.shape[0] * (1 if winograd else 2) >= x.shape[0] * out_hw[0] * out_hw[1]


def _whole_columns(x, kernel, stride, pads, dilation, out_hw):
    """The columns of the whole batch ``x`` ``(N, C, H, W)`` as one matrix ``(C * kh * kw,
    N * Ho * Wo)`` (the images side by side)."""
    n, c = x.shape[:2]
    kh, kw = kernel
    ho, wo = out_hw
    jit = _jit.kernels(x)
    if kh == kw == 1 and tuple(stride) == (1, 1) and not any(pads):
        cols = x
    else:
        xp = _padded_block(_padded_input(x, pads, jit), 0, n, pads, jit)
        cols = np.empty((n, c, kh, kw, ho, wo), x.dtype)
        if jit is None:
            np.copyto(cols, windows(xp, kh, kw, *stride, *dilation, ho, wo))
        else:
            jit.im2col(xp, cols, *stride, *dilation)
    length = ho * wo
    return np.ascontiguousarray(cols.reshape(n, -1, length).swapaxes(0, 1)).reshape(-1, n * length)


def _conv_forward_whole(x, w, stride, pads, dilation, bias, out_hw):
    """``_conv_forward`` as one product ``W (O, C * kh * kw) @ columns`` over the whole batch
    (``_whole_columns``), cut among threads by output channels, so each thread reads its share
    of the weight once; the result moved to ``(N, O, Ho, Wo)``."""
    n = x.shape[0]
    o = w.shape[0]
    ho, wo = out_hw
    cols = _whole_columns(x, w.shape[2:], stride, pads, dilation, out_hw)
    res = _threads.matmul(w.reshape(o, -1), cols)
    if bias is not None:
        res += bias[:, None]
    out = np.empty((n, o, ho, wo), dtype=res.dtype)
    out.reshape(n, o, ho * wo)[...] = res.reshape(o, n, ho * wo).swapaxes(0, 1)
    return out


def _conv_backward_whole(g, x, w, stride, pads, dilation, mask, x_shape):
    """Input and weight gradients of a convolution that ``_conv_forward_whole`` computes, each
    one product over the whole batch: ``grad (O, N * Ho * Wo) @ columns^T`` for the weight,
    ``W^T @ grad`` for the input's columns, added back onto the (padded) input by col2im."""
    n, o, ho, wo = g.shape
    _, c, kh, kw = w.shape
    length = ho * wo
    gm = np.ascontiguousarray(g.reshape(n, o, length).swapaxes(0, 1)).reshape(o, n * length)
    gx = gw = None
    if mask[1]:
        cols = _whole_columns(x, (kh, kw), stride, pads, dilation, (ho, wo))
        gw = _threads.matmul(gm, cols.T).reshape(w.shape)
    if mask[0]:
        gcols = _threads.matmul(w.reshape(o, -1).T, gm)
        gcols = np.ascontiguousarray(
            gcols.reshape(c, kh, kw, n, ho, wo).transpose(3, 0, 1, 2, 4, 5))
        top, bottom, left, right = pads
        h, wd = x_shape[2:]
        hp, wp = h + top + bottom, wd + left + right
        jit = _jit.kernels(gcols)
        if jit is None:
            gxp = col2im(gcols, hp, wp, *stride, *dilation)
        else:
            gxp = np.zeros((n, c, hp, wp), gcols.dtype)
            jit.col2im(gcols, gxp, *stride, *dilation)
        gx = np.ascontiguousarray(gxp[:, :, top:top + h, left:left + wd])
    return gx, gw


def _subsampled_path(x, w, stride, pads, groups):
    """Whether ``_conv_forward_subsampled`` computes this convolution: an ungrouped, unpadded
    1x1 one with a stride (ResNet's projection shortcuts)."""
    return (groups == 1 and w.shape[2:] == (1, 1) and tuple(stride) != (1, 1)
            and not any(pads))


def _conv_forward_subsampled(x, w, stride, bias, out_hw):
    """A strided 1x1 ``_conv_forward``: per block, the input's pixels at the stride copied
    into a scratch ``(N, C, Ho * Wo)`` (NumPy's strided copy: faster than the compiled
    ``im2col`` here, 37 against 48 µs for 32 images of 32 channels at 16x16) and one batched
    ``W (O, C) @ (C, Ho * Wo)`` straight into the output. A batch that fits in one block
    (:func:`_block_size`) is cut for a second thread only from
    :data:`_SUBSAMPLED_SPLIT_MACS` multiply-adds."""
    n, c = x.shape[:2]
    o = w.shape[0]
    ho, wo = out_hw
    sh, sw = stride
    length = ho * wo
    wm = w.reshape(o, c)
    out = np.empty((n, o, ho, wo), dtype=np.result_type(x, w))

    def step(s, e):
        b = e - s
        sub = scratch("im2col", (b, c, ho, wo), x.dtype)
        np.copyto(sub, x[s:e, :, :sh * (ho - 1) + 1:sh, :sw * (wo - 1) + 1:sw])
        block = out[s:e].reshape(b, o, length)
        np.matmul(wm, sub.reshape(b, c, length), out=block)
        if bias is not None:
            block += bias[:, None]

    block = _block_size(c * length * x.itemsize)
    if block >= n > 1 and n * o * c * length >= _SUBSAMPLED_SPLIT_MACS:
        block = -(-n // 2)
    yield Blocks(n, block, step)
    return out


# ResNet-8's shortcuts at batch 32 (4.2 million multiply-adds, 0.13-0.15 ms on one thread) were
# no faster cut in shares on two threads (three more blocks cost 16-20 µs, a helper wakes in
# 50-100 µs), nor was batch 128 on this shared 2-core machine; from four threads' worth of
# work the second thread should pay where cores are idle.
_SUBSAMPLED_SPLIT_MACS = 4 * _threads.FLOPS_PER_THREAD


# The channels-last forwards (``_conv_jit``) pay for moving the input to channels-last and the
# result back only with enough channels on both sides (1 thread, batch 32): the rows' product
# from 16 input and 16 output channels (5x5, 16->8 at 16x16: 1.5 against 1.0 ms; 8->16: 1.0
# against 0.7 ms; 16->16: 1.8 against 1.9 ms), never for a 1x1 kernel (no im2col to save; the
# shortcut convolutions of ResNet-8 ran twice as slow); Winograd from 8 channels on each side
# and 128 channel pairs (8->16 at 32x32: 1.6 against 2.0 ms, 16->8: 2.0 against 3.5 ms; 8->8
# at 16x16 0.4 against 0.2 ms, 32->4 0.64 against 0.60 ms; a 3-channel stem 3x slower). The
# stride-2 Winograd replaces the rows' product where that is taken (16->32 at 32x32: 1.49 ->
# 1.15 ms, 32->64 at 16x16: 1.06 -> 0.84 ms).
_ROWS_MIN_CHANNELS = 16
_WINOGRAD_MIN_CHANNELS = 8
_WINOGRAD_MIN_PAIRS = 128


def _channels_last_path(x, w, stride, dilation, groups):
    """``"winograd"``, ``"rows"``, or None where the columns' forward is the faster one (the
    caller still needs the compiled kernels)."""
    if groups != 1:
        return None
    c, o = x.shape[1], w.shape[0]
    kh, kw = w.shape[2:]
    if _WINOGRAD and kh == kw == 3 and stride == dilation == (1, 1):
        if min(c, o) >= _WINOGRAD_MIN_CHANNELS and c * o >= _WINOGRAD_MIN_PAIRS:
            return "winograd"
        return None
    if (_WINOGRAD_S2 and kh == kw == 3 and stride == (2, 2) and dilation == (1, 1)
            and min(c, o) >= _ROWS_MIN_CHANNELS):
        return "winograd_s2"
    if kh * kw > 1 and min(c, o) >= _ROWS_MIN_CHANNELS:
        return "rows"
    return None


def _channels_last_rows(kernels, x, kernel, stride, pads, dilation, out_hw):
    """The rows of a block ``x`` (N, C, H, W) for a channels-last product, in the thread's
    scratch buffer: ``(N, Ho, Wo, kh, kw * C)``, each output position's window with the
    channels innermost (the input padded and moved to channels-last on the way)."""
    b, c, h, wd = x.shape
    top, bottom, left, right = pads
    xh = scratch("nhwc", (b, h + top + bottom, wd + left + right, c), x.dtype)
    kernels.channels_last_padded(x, xh, top, left)
    rows = scratch("rows", (b, *out_hw, kernel[0], kernel[1] * c), x.dtype)
    kernels.im2row(xh, rows, *stride, *dilation)
    return rows


def _conv_forward_rows(kernels, x, w, stride, pads, dilation, bias, out_hw):
    """``_conv_forward`` with the positions as the product's rows: per block of images, the
    input moved to channels-last and padded, one row ``(kh, kw, C)`` per output position, one
    ``rows @ W^T`` (the orientation OpenBLAS runs fastest here, see ``_conv_jit``) and the
    result moved back to ``(N, O, Ho, Wo)`` with the bias."""
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    ho, wo = out_hw
    k = c * kh * kw
    length = ho * wo
    wt = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(k, o)
    out = np.empty((n, o, ho, wo), dtype=np.result_type(x, w))
    has_bias = bias is not None
    bias_arr = bias if has_bias else wt[0]  # (unread; numba wants an array of the dtype)
    multiply = _entry_product(kernels, wt.astype(out.dtype, copy=False)[None])

    def step(s, e):
        b = e - s
        rows = _channels_last_rows(kernels, x[s:e], (kh, kw), stride, pads, dilation, (ho, wo))
        prod = scratch("prod", (b, length, o), out.dtype)
        multiply(rows.reshape(1, b * length, k), prod.reshape(1, b * length, o))
        kernels.rows_to_planes(prod, out[s:e].reshape(b, o, length), bias_arr, has_bias)

    yield Blocks(n, _block_size(k * length * x.itemsize), step)
    return out


_WINOGRAD = True
# Transformed tiles per block: 1 MiB is as fast as 2 on one thread (64->64 channels at 8x8 a
# little faster) and cuts a batch of 32 small images into blocks that two threads can share
# (at 2 MiB it was one block).
# On a Zen 3 (512 KiB of L2) 512 KiB blocks were no faster: ResNet-8's step with 512 KiB and
# 1 MiB alternated in one process, 24 rounds of 8 steps, was faster with 1 MiB in 9 rounds.
_WINOGRAD_BLOCK_BYTES = 1 << 20
# Winograd's F(2x2, 3x3): the kernel transformed by G, each 4x4 input tile by B^T (. ) B, the
# product's 2x2 outputs by A^T (. ) A. Not F(4x4, 3x3), though it has 1.8 times fewer products
# and transformed values: in float32 its error was 5-6e-6 of the largest output, 20 times the
# direct sum's (2-5e-7, F(2x2, 3x3)'s about the same; 16 and 64 channels), more than rounding.
# With 16 channels the products ``(tiles, 16) @ (16, O)`` run at 45-48 GFLOPS on one Zen 3 core
# in OpenBLAS and no faster in MKL (42-46), both packing the small weight again on every call;
# from the weight packed once (``_entry_product``) they run at 65-71.
_WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
# G w G^T of every 3x3 kernel as one product: flattened kernels @ (G kron G)^T (9 x 16).
_WINOGRAD_GG = np.ascontiguousarray(np.kron(_WINOGRAD_G, _WINOGRAD_G).T)
# Below this many input channels the forward transforms its tiles with the even and odd
# columns apart (``_conv_jit._winograd_input_split``: the same values, in longer runs).
_WINOGRAD_SPLIT_CHANNELS = 32
# Up to this many output channels the output transform forms each row's even and odd columns
# apart (``_conv_jit._winograd_output_split``: the same values, in longer runs; 16 channels at
# 32x32 20-30 % faster, 24 channels slower). ResNet-8's step (its 16-channel forwards and input
# gradients), alternated in one process: 2.9 ms faster in the median on two threads (10 of 16
# rounds), 2.0 ms on one (9 of 16).
_WINOGRAD_OUTPUT_SPLIT_CHANNELS = 16


def _conv_forward_winograd(kernels, x, w, pads, bias, out_hw):
    """A 3x3, stride-1 ``_conv_forward`` by Winograd's F(2x2, 3x3): per block of images, every
    4x4 input tile (at even offsets, channels-last) transformed, 16 products
    ``(tiles, C) @ (C, O)`` (2.25 times fewer multiply-adds than the direct product), each
    tile's 2x2 outputs transformed back and moved to ``(N, O, Ho, Wo)`` with the bias."""
    n, c = x.shape[:2]
    o = w.shape[0]
    top, _, left, _ = pads
    ho, wo = out_hw
    th, tw = -(-ho // 2), -(-wo // 2)  # (the tiles reach zeros beyond the padded input)
    dtype = np.result_type(x, w)
    # G w G^T of every kernel, (16, C, O), as one product from the weight moved to (3, 3, C, O)
    # (transposing the (O, C, 16) product instead read it with a stride of 16 * C: 175 against
    # 30 µs for 64 -> 64 channels)
    wk = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(9, c * o)
    u = (_WINOGRAD_GG.T.astype(dtype) @ wk).reshape(16, c, o)
    out = np.empty((n, o, ho, wo), dtype=dtype)
    transform = _winograd_input_transform(kernels, c)
    per_image = 16 * th * tw * c * x.itemsize
    if n == 1 and per_image > _WINOGRAD_BLOCK_BYTES:
        bands = min(th, -(-per_image // _WINOGRAD_BLOCK_BYTES))
        yield _winograd_bands(transform, _winograd_output_transform(kernels, o), x,
                              _entry_product(kernels, u), out, bands, (th, tw), (top, left), bias)
    else:
        yield _winograd_blocks(transform, _winograd_output_transform(kernels, o), x,
                               [_entry_product(kernels, u)], out, 16, (th, tw), (top, left), bias)
    return out


def _winograd_bands(transform, output, x, multiply, out, bands, tiles, corner, bias):
    """The ``Blocks`` of a stride-1 Winograd convolution of a single image ``x`` ``(1, C, H,
    W)``, cut into ``bands`` bands of rows of tiles (a batch of one image is otherwise one block
    on one thread: ResNet-18's 64-channel convolutions at 56x56, batch 1, took 4-6 ms on one
    thread and 1.8-2.3 ms in 4 bands on two; 3 MiB of transformed tiles for that image). A band of
    tile rows ``[ty0, ty1)`` reads the input rows ``2 * ty0 - top`` to ``2 * ty1 + 1 - top``
    (the rows beyond the input are zeros to the transform, as the padding is) and writes the
    output rows ``2 * ty0`` to ``2 * ty1 - 1``; each tile's values are those of the whole
    image's."""
    c = x.shape[1]
    o = out.shape[1]
    h = x.shape[2]
    ho = out.shape[2]
    th, tw = tiles
    top, left = corner
    dtype = out.dtype

    def step(b0, b1):
        for band in range(b0, b1):
            ty0, ty1 = th * band // bands, th * (band + 1) // bands
            first = 2 * ty0 - top  # the band's first input row (negative: in the padding)
            rows = x[:, :, max(0, first):min(h, 2 * ty1 + 2 - top)]
            count = (ty1 - ty0) * tw
            v = scratch("rows", (16, count, c), dtype)
            transform(rows, v, ty1 - ty0, tw, max(0, -first), left)
            m = scratch("wino_m", (16, count, o), dtype)
            multiply(v, m)
            output(m, out[:, :, 2 * ty0:min(ho, 2 * ty1)],
                   _no_bias(dtype) if bias is None else bias,
                   bias is not None, ty1 - ty0, tw)

    return Blocks(bands, 1, step)


def _winograd_input_transform(kernels, channels):
    """The stride-1 Winograd input transform for tiles of ``channels`` channels."""
    return (kernels.winograd_input_split if channels < _WINOGRAD_SPLIT_CHANNELS
            else kernels.winograd_input)


def _winograd_output_transform(kernels, channels):
    """The stride-1 Winograd output transform for ``channels`` output channels (the even and
    odd columns apart up to ``_WINOGRAD_OUTPUT_SPLIT_CHANNELS``)."""
    return (kernels.winograd_output_split if channels <= _WINOGRAD_OUTPUT_SPLIT_CHANNELS
            else kernels.winograd_output)


def _winograd_s2_input_transform(kernels, channels):
    """The stride-2 Winograd input transform for tiles of ``channels`` channels (the column
    phases apart below ``_WINOGRAD_SPLIT_CHANNELS``, as the stride-1 one)."""
    return (kernels.winograd_s2_input_split if channels < _WINOGRAD_SPLIT_CHANNELS
            else kernels.winograd_s2_input)


def _no_bias(dtype):
    """An empty bias of ``dtype`` for an output transform without one (it reads none; numba
    wants an array of the dtype)."""
    return np.empty(0, dtype)


#: Most output columns for which a convolution's products (Winograd's entries, the rows'
#: path) run from the weight packed once per convolution (``_entry_product``): the packed
#: products were 1.1-1.6 times BLAS's speed up to 64 columns (one thread, float32: Winograd's
#: 2048 tiles of 32 -> 32 channels 1.79 -> 1.20 ms, 16 -> 16 0.37 -> 0.24 ms, 512 tiles of 64 ->
#: 64 1.23 -> 1.05 ms; the rows of LeNet's 6 -> 16 5x5 at batch 64 0.68 -> 0.43 ms, of a
#: 3x3 64 -> 64 at 56x56 4.6 -> 3.5 ms), even at 128.
_PANEL_MAX_COLUMNS = 64


def _entry_product(kernels, u):
    """``multiply(v, m)``: ``m[e] = v[e] @ u[e]`` for each entry ``e`` (``v`` ``(E, T, C)``, ``u``
    ``(E, C, O)``, ``m`` ``(E, T, O)``; Winograd's entries, or one): by the compiled panel
    products from ``u`` packed here once (:func:`._jit_native.panel_product`: BLAS packs ``u[e]``
    again on every call, which at these few columns costs a third of the product) up to
    ``_PANEL_MAX_COLUMNS`` output columns, else by NumPy's batched ``matmul``."""
    if u.shape[2] > _PANEL_MAX_COLUMNS:
        return lambda v, m: np.matmul(v, u, out=m)
    panels = kernels.pack_entries(u)
    return lambda v, m: kernels.entry_products(v, panels, m)


def _winograd_blocks(transform, output, x, kernel, out, entries, tiles, corner, bias,
                     prepare=None):
    """The ``Blocks`` of a Winograd convolution of ``x`` ``(N, C, H, W)`` into ``out``
    ``(N, O, Ho, Wo)``: per block of images, ``transform`` writes every input tile's
    ``entries`` transformed values (``(entries, tiles, C)``, ``tiles`` = ``(th, tw)`` per image,
    the padding's top-left ``corner``), ``entries`` products ``(tiles, C) @ (C, O)`` by
    ``kernel[0]`` (the transformed kernels' ``_entry_product``; set by ``prepare`` when given)
    and ``output`` transforms each tile's outputs back into ``out``, adding ``bias`` if given."""
    n, c = x.shape[:2]
    o = out.shape[1]
    th, tw = tiles
    top, left = corner
    count = th * tw
    dtype = out.dtype

    def step(s, e):
        v = scratch("rows", (entries, (e - s) * count, c), dtype)
        transform(x[s:e], v, th, tw, top, left)
        m = scratch("wino_m", (entries, (e - s) * count, o), dtype)
        kernel[0](v, m)
        output(m, out[s:e], _no_bias(dtype) if bias is None else bias, bias is not None, th, tw)

    return Blocks(n, max(1, _WINOGRAD_BLOCK_BYTES // (entries * count * c * x.itemsize)), step,
                  prepare=prepare)


_WINOGRAD_S2 = True
_WINOGRAD_CL = True
# The channels-last Winograd weight gradient (``_conv_backward_weight_winograd_cl``) against the
# planar one (``_conv_backward_weight_winograd``), one thread: from 32 channels on each side it
# wins (batch 32: 32 at 16x16 1.39 -> 1.11 ms, 64 at 16x16 5.88 -> 4.36 ms; 64 at 8x8, batch
# 64: 3.76 -> 2.04 ms), at 16 it is even on a Zen 4 (16 at 32x32: 1.62 against 1.67 ms) and
# wins on a Zen 3 (ResNet-8's step with the threshold at 16 and at 32 alternated in one
# process: faster at 16 in 23 of 32 rounds of 8 steps, by 2 ms of 40-50 in the median), at 8
# it loses (8 at 32x32: 0.71 against 1.07 ms). Below 16 channels it is taken only where the
# planar one has too few tiles a block (64 channels at 8x8, batch 32: 1.83 -> 0.92 ms against
# the rows' product; 16 at 8x8 0.23 -> 0.13 ms against the columns').
_WINOGRAD_CL_MIN_CHANNELS = 16
# The stride-2 3x3 transforms per axis (see _conv_forward_winograd_s2): G (5 x 3) of the
# kernel, and its 25 x 9 Kronecker square for every kernel at once.
_WINOGRAD_S2_G = np.array([[1, 0, 0], [1, 0, 1], [0, 0, 1], [0, 1, 0], [0, 1, 0]])
_WINOGRAD_S2_GG = np.ascontiguousarray(np.kron(_WINOGRAD_S2_G, _WINOGRAD_S2_G))


def _conv_forward_winograd_s2(kernels, x, w, pads, bias, out_hw):
    """A 3x3, stride-2 ``_conv_forward`` by a Winograd-style split: along each axis two
    outputs ``y0 = w0 x0 + w1 x1 + w2 x2``, ``y1 = w0 x2 + w1 x3 + w2 x4`` are the even taps'
    F(2, 2) ``m0 = (x0 - x2) w0``, ``m1 = x2 (w0 + w2)``, ``m2 = (x4 - x2) w2`` plus the odd
    tap's ``m3 = x1 w1``, ``m4 = x3 w1`` (``y0 = m0 + m1 + m3``, ``y1 = m1 + m2 + m4``). Per
    block of images, every 5x5 input tile (at offsets 4 apart) transformed, 25 products
    ``(tiles, C) @ (C, O)`` (25 multiply-adds per 2x2 outputs instead of 36) and each tile's
    2x2 outputs transformed back into ``(N, O, Ho, Wo)`` with the bias. The transforms only add
    and subtract."""
    n, c = x.shape[:2]
    o = w.shape[0]
    top, _, left, _ = pads
    ho, wo = out_hw
    th, tw = -(-ho // 2), -(-wo // 2)  # (the tiles reach zeros beyond the padded input)
    dtype = np.result_type(x, w)
    wk = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(9, c * o)
    u = (_WINOGRAD_S2_GG.astype(dtype) @ wk).reshape(25, c, o)
    out = np.empty((n, o, ho, wo), dtype=dtype)
    yield _winograd_blocks(_winograd_s2_input_transform(kernels, c), kernels.winograd_s2_output,
                           x, [_entry_product(kernels, u)], out, 25, (th, tw), (top, left), bias)
    return out


def _grouped(a, n, groups, length):
    """``a`` viewed as ``(n, rows, length)``, or ``(n, groups, rows / groups, length)``."""
    return a.reshape(n, -1, length) if groups == 1 else a.reshape(n, groups, -1, length)


def _conv_backward_weight(g, x, kernel, stride, pads, dilation, groups):
    """Weight gradient: sum over the batch of ``cols[n] @ grad[n]^T``, the columns rebuilt from
    the input a block of images at a time (this orientation keeps BLAS's operands in their
    stored layout and runs faster than ``grad[n] @ cols[n]^T``); with numba, a 3x3 stride-1
    convolution's by Winograd's algorithm (``_conv_backward_weight_winograd``)."""
    return run_steps(_conv_backward_weight_steps(g, x, kernel, stride, pads, dilation,
                                                 groups))[0]


def _conv_backward_weight_steps(g, x, kernel, stride, pads, dilation, groups):
    """``_conv_backward_weight`` as a kernel of ``_runtime.run_steps`` (yields its blocks)."""
    small = _small_kernels(x, g, g.shape[1], kernel, stride, dilation, groups, g.shape[2:],
                           weight=True)
    if small is not None:
        weight = (small.small_weight_taps
                  if g.shape[2] * g.shape[3] <= _TAP_WEIGHT_MAX_POSITIONS else small.small_weight)
        return (yield from _conv_backward_weight_small(weight, g, x, kernel, pads))
    small = _small_s2_kernels(x.shape[1], kernel, stride, dilation, groups, g.shape[2:], x, g)
    if small is not None:
        return (yield from _conv_backward_weight_small(small.small_weight_s2, g, x, kernel, pads))
    cl = None  # the channels-last Winograd
    if (_WINOGRAD_CL and tuple(kernel) == (3, 3) and stride == (1, 1) and dilation == (1, 1)
            and groups == 1 and min(x.shape[1], g.shape[1]) >= _WINOGRAD_MIN_CHANNELS
            and _jit.kernels(g, x) is not None):
        cl = _conv_jit.kernels(x, g)
        if cl is not None and min(x.shape[1], g.shape[1]) >= _WINOGRAD_CL_MIN_CHANNELS:
            return (yield from _conv_backward_weight_winograd_cl(cl, g, x, pads))
    if (tuple(kernel) == (3, 3) and stride == (1, 1) and dilation == (1, 1) and groups == 1
            and g.shape[2] % 2 == 0 and g.shape[3] % 2 == 0
            and x.shape[1] >= _MIN_WINOGRAD_CHANNELS and _jit.kernels(g, x) is not None):
        k = _conv_backward_jit.kernels(g, x)
        tiles = (g.shape[2] // 2) * (g.shape[3] // 2 + 1)  # (a dummy a row: _conv_backward_jit)
        block = max(1, min(_WINOGRAD_TILES // tiles, g.shape[0] // 4))  # (four blocks to share)
        if k is not None and block * tiles >= _MIN_WINOGRAD_TILES:
            return (yield from _conv_backward_weight_winograd(k, g, x, pads, block))
    if cl is not None:  # (the planar Winograd above declined: too few tiles a block)
        return (yield from _conv_backward_weight_winograd_cl(cl, g, x, pads))
    if (_WINOGRAD_S2 and tuple(kernel) == (3, 3) and stride == (2, 2) and dilation == (1, 1)
            and groups == 1 and min(x.shape[1], g.shape[1]) >= _ROWS_MIN_CHANNELS
            and _jit.kernels(g, x) is not None):
        k = _conv_jit.kernels(x, g)
        if k is not None:
            return (yield from _conv_backward_weight_winograd_s2(k, g, x, pads))
    if (groups == 1 and tuple(kernel) != (1, 1) and x.shape[1] >= _ROWS_WEIGHT_MIN_CHANNELS
            and _jit.kernels(g, x) is not None):
        rows, pm = _conv_jit.kernels(x, g), _conv_backward_jit.kernels(g, x)
        if rows is not None and pm is not None:
            return (yield from _conv_backward_weight_rows(rows, pm, g, x, kernel, stride, pads,
                                                          dilation))
    n, o = g.shape[:2]
    ln = g.shape[2] * g.shape[3]
    jit = _jit.kernels(x)
    xp = _padded_input(x, pads, jit)
    kh, kw = kernel
    geom = (kh, kw) + tuple(stride) + tuple(dilation) + tuple(g.shape[2:])
    gg = g.reshape(n, o, ln) if groups == 1 else g.reshape(n, groups, o // groups, ln)
    s2 = None  # stride 2: the columns from each row's even and odd halves (_conv_backward_jit)
    if jit is not None and stride == (2, 2) and dilation == (1, 1) and kh * kw > 1:
        s2 = _conv_backward_jit.kernels(x)

    def step(s, e):
        xb = _padded_block(xp, s, e, pads, jit)
        if s2 is None:
            cols = _cols(xb, geom)
        else:
            cols = scratch("im2col", (e - s, x.shape[1], kh, kw) + tuple(g.shape[2:]), x.dtype)
            s2.im2col_stride2(xb, cols)
        cols = _grouped(cols, e - s, groups, ln)
        return np.matmul(cols, gg[s:e].swapaxes(-1, -2)).sum(0)

    def finish(parts):
        gw = parts[0]
        for p in parts[1:]:
            gw += p
        return gw.swapaxes(-1, -2).reshape(o, -1, kh, kw)

    k = x.shape[1] * kh * kw
    per_image = k * ln * x.itemsize
    return (yield Blocks(n, _block_size(per_image), step, n * per_image >= _SPLIT_BYTES,
                         finish=finish))


# A stride-1 convolution with at most this many input channels runs the compiled direct
# kernels (``_conv_small_jit``) instead of columns and a product with a short inner dimension
# (C * kh * kw = 27 for ResNet-8's stem). The forward (``small_forward``: every tap a shifted
# run of the image's flat planes, :func:`._jit_native.tap_product`) takes any output channels
# and kernel size; against the columns (Zen 3, one thread, medians of processes alternated):
# LeNet's 1->6 5x5 at 32x32, batch 64, 1.50 -> 0.60 ms; 6->16 5x5 at 14x14 1.39 -> 1.03 ms.
# It also beats the 3x3 Winograd up to 16 input channels (its transforms move more memory than
# the products they save, where the direct kernel's planes and sums stay in L1 and L2): batch
# 32, alternated in one process, Winograd -> direct, 16->16 at 32x32 2.99 -> 2.40 ms, at 8x8
# 0.24 -> 0.21 ms; 8->8 at 32x32 1.73 -> 0.85 ms; from 32 channels the Winograd is as fast or
# faster (32->32 at 16x16 2.92 -> 2.86 ms, 64->64 at 8x8 1.98 -> 2.98 ms). Against the kernel it
# replaces, which kept four output channels' sums in memory (batch 32, processes alternated):
# the stem 3->16 at 32x32 0.98 -> 0.77 ms, 16->16 4.27 -> 3.58 ms, at 8x8 0.55 -> 0.37 ms.
# The weight gradient's kernel (``small_weight``: passes of four output channels and three taps
# of a kernel row, see :func:`_small_pays`) beats the 3x3 Winograd up to 32 input channels from
# 16x16 outputs on (one thread, batch 32 unless said, Winograd -> direct: 16->16 at 32x32 8.0 ->
# 3.7 ms; 8->8 at 32x32 3.7 -> 1.1 ms; 16 channels at 224x224, one image, 11.4 -> 5.7 ms;
# 32->32 at 16x16 5.8 -> 3.7 ms, at 32x32 20.6 -> 11.5 ms, at 8x8 1.5 -> 1.6 ms).
_SMALL_MAX_CHANNELS = 16
_SMALL_WEIGHT_MAX_CHANNELS = 32
_SMALL_WEIGHT_MIN_POSITIONS = 256
# Most output channels for which the weight gradient's kernel takes kernel rows that leave a
# pass of one or two taps (two threads, columns -> direct: LeNet's 1->6 5x5 at 32x32, batch 64,
# 2.21 -> 1.10 ms; 6->16 5x5 at 14x14 2.23 -> 1.60 ms; 16->10 4x4 at 16x16, batch 32, 2.50 ->
# 1.40 ms; but 3->64 7x7 at 32x32 9.8 -> 13.0 ms, and 1x1 kernels, 16->64, 2.8 -> 5.0 ms).
_SMALL_WEIGHT_UNEVEN_MAX_OUTPUTS = 16


# Most output positions for which the direct weight gradient runs as one product per image
# from the gradient moved to channels-last (``small_weight_taps``, with
# :func:`._jit_native.tap_panel_product`) instead of dot products of runs (``small_weight``:
# sums over short runs, each reduced across a vector at its end). One thread, batch 32 unless
# said, dot products -> product: 32->32 at 16x16 3.32 -> 2.84 ms; LeNet's 6->16 5x5 at 10x10
# outputs, batch 64, 1.30 -> 0.78 ms; 16->16 at 8x8 0.38 -> 0.23 ms, at 16x16 0.89 -> 0.75
# ms, at 20x20 1.26 -> 1.10 ms; but at 32x32 2.8 -> 3.3 ms, where moving the gradient (about
# 20 µs an image) outweighs what the product saves, and the stem's 3->16 0.64 -> 1.47 ms.
_TAP_WEIGHT_MAX_POSITIONS = 400


def _small_pays(o, kernel):
    """Whether the direct weight gradient beats the columns' path for ``o`` output channels
    and this kernel size: kernel rows of three taps a pass, or rows of two or more taps for
    up to :data:`_SMALL_WEIGHT_UNEVEN_MAX_OUTPUTS` output channels."""
    return kernel[1] % 3 == 0 or kernel[1] > 1 and o <= _SMALL_WEIGHT_UNEVEN_MAX_OUTPUTS


def _small_kernels(x, other, o, kernel, stride, dilation, groups, out_hw, weight=False):
    """The direct kernels (``_conv_small_jit``) where they take and pay for this convolution
    of ``x`` with ``o`` output channels (``other``: the weight, or for the weight gradient
    (``weight``) the output's gradient, of the same dtype), or None for the other paths."""
    channels = _SMALL_MAX_CHANNELS
    if weight and _SMALL_MAX_CHANNELS and out_hw[0] * out_hw[1] >= _SMALL_WEIGHT_MIN_POSITIONS:
        channels = max(channels, _SMALL_WEIGHT_MAX_CHANNELS)
    if (groups != 1 or stride != (1, 1) or dilation != (1, 1) or min(out_hw) < 1
            or x.shape[1] > channels or weight and not _small_pays(o, kernel)
            or _jit.kernels(x) is None):
        return None
    return _conv_small_jit.kernels(x, other)


def _small_forward_kernels(x, w, stride, dilation, groups, out_hw):
    """:func:`_small_kernels` for the forward of ``x`` with the weight ``w``, except for a
    single image that the stride-1 Winograd shares among the threads in bands (the direct
    kernels run an image on one thread)."""
    small = _small_kernels(x, w, w.shape[0], w.shape[2:], stride, dilation, groups, out_hw)
    if small is not None and x.shape[0] == 1 and _channels_last_path(x, w, stride, dilation,
                                                                     groups) is not None:
        return None
    return small


# The stride-2 direct kernels (``_conv_small_jit``'s ``small_forward_s2``, ``small_input_s2``,
# ``small_weight_s2``) beat the stride-2 Winograd up to this many input channels (one thread,
# batch 32, medians of rounds alternated in one process: 16->32 at 32x32, forward 2.8 -> 1.9
# ms, input gradient 5.7 -> 3.4 ms, weight gradient 4.5 -> 2.4 ms, both gradients 9.0 -> 5.8
# ms; 32->64 at 16x16, input gradient 3.0 -> 4.7 ms and forward 2.0 -> 2.6 ms: slower), and
# the columns below 16 (3->16 at 32x32 forward
# 0.56 -> 0.24 ms, weight gradient 0.64 -> 0.39 ms; 8->16 weight gradient 1.58 -> 0.83 ms).
# Two threads, 16->32 at 32x32: forward 3.1 -> 2.1 ms, both gradients 5.2 -> 4.0 ms. ResNet-8's
# step, paired: with the gradients' kernels -1.2 and -7.1 ms of 76 and 100 ms on a noisy host
# (faster in 11 of 16 rounds both times); with the forward's too, +2.2 ms (5 of 16) and -0.5
# ms (11 of 20): within the step's noise.
# The stride-2 direct forward takes other kernels of at least 3x3 too (two threads, columns ->
# direct, medians of rounds alternated in one process: 3->32 5x5 at 32x32, batch 32, 2.17 ->
# 1.45 ms; 1->8 4x4 at 28x28, batch 16, 0.22 -> 0.19 ms; 3->64 4x4 at 64x64, batch 64, 10.3 ->
# 10.0 ms; ResNet's 7x7 stem, batch 4, 16.3-20.0 -> 16.4-17.5 ms), but not 2x2 ones (16->32 at
# 33x33: 0.61-0.81 -> 0.65-0.89 ms).
_SMALL_S2_MAX_CHANNELS = 16


def _small_s2_kernels(channels, kernel, stride, dilation, groups, out_hw, *arrays,
                      forward=False):
    """The direct kernels where they take this 3x3 stride-2 convolution of ``channels`` input
    channels (its forward, input or weight gradient; ``arrays``: the operands, of one dtype),
    or None; the ``forward`` of a stride-2 convolution with a kernel of at least 3x3."""
    if (groups != 1 or tuple(stride) != (2, 2) or tuple(dilation) != (1, 1)
            or not (forward and min(kernel) >= 3 or tuple(kernel) == (3, 3))
            or channels > _SMALL_S2_MAX_CHANNELS or min(out_hw) < 1
            or _jit.kernels(*arrays) is None):
        return None
    return _conv_small_jit.kernels(*arrays)


def _conv_backward_input_small_s2(small, g, w, x_shape, pads):
    """Input gradient of a 3x3 stride-2 convolution by the direct kernel
    (``_conv_small_jit.small_input_s2``), a block of images at a time."""
    n = g.shape[0]
    wt = _conv_small_jit.grouped_weight(w.transpose(1, 0, 2, 3))
    gx = np.empty(x_shape, dtype=np.result_type(g, w))

    def step(s, e):
        small.small_input_s2(g[s:e], wt, gx[s:e], pads[0], pads[2])

    per_image = (g[0].size + math.prod(x_shape[1:])) * gx.itemsize
    yield Blocks(n, _shared_block_size(n, per_image), step)
    return gx


def _small_bytes(x, o, pads, out_hw):
    """One image's padded input and output, in bytes (sizes the blocks of the direct kernels)."""
    hp, wp = x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]
    return (x.shape[1] * hp * wp + o * out_hw[0] * out_hw[1]) * x.itemsize


def _conv_forward_small(forward, x, w, pads, bias, out_hw):
    """``_conv_forward`` by the direct kernel ``forward`` (``_conv_small_jit``'s
    ``small_forward``, or ``small_forward_s2`` for a 3x3 stride-2 convolution; each pads its
    images itself), a block at a time."""
    n = x.shape[0]
    o = w.shape[0]
    wq = _conv_small_jit.grouped_weight(w)
    out = np.empty((n, o) + tuple(out_hw), dtype=np.result_type(x, w))
    has_bias = bias is not None
    bias_arr = bias if has_bias else wq[:, 0, 0, 0]  # (unread; numba wants an array)

    def step(s, e):
        forward(x[s:e], wq, out[s:e], bias_arr, has_bias, pads[0], pads[2])

    yield Blocks(n, _shared_block_size(n, _small_bytes(x, o, pads, out_hw)), step)
    return out


def _conv_backward_weight_small(weight, g, x, kernel, pads):
    """``_conv_backward_weight`` by the direct kernel ``weight`` (``_conv_small_jit``'s
    ``small_weight`` or ``small_weight_taps``, or ``small_weight_s2`` for a 3x3 stride-2
    convolution): each block's part of the sum, the parts added in block order (the blocks
    depend on the shape only)."""
    n, o = g.shape[:2]
    o4 = -(-o // _conv_small_jit.GROUP) * _conv_small_jit.GROUP

    def step(s, e):
        part = np.zeros((o4, x.shape[1]) + tuple(kernel), dtype=x.dtype)
        weight(x[s:e], g[s:e], part, pads[0], pads[2])
        return part

    def finish(parts):
        gw = parts[0]
        for p in parts[1:]:
            gw += p
        return gw[:o] if o4 == o else np.ascontiguousarray(gw[:o])

    per_image = _small_bytes(x, o, pads, g.shape[2:])
    return (yield Blocks(n, _shared_block_size(n, per_image), step, finish=finish))


# The weight gradient's product in the rows' orientation, ``grad^T (O, positions) @ rows
# (positions, kh * kw * C)``, one product per block with all its positions as the inner
# dimension, pays from 32 input channels (one thread, batch 32: ResNet-8's 64 channels at 8x8
# 2.17 -> 1.80 ms, 32->64 at stride 2 1.43 -> 1.04 ms; 16->32 at stride 2 1.51 -> 1.70 ms,
# slower: its stride-2 columns are cheap, see ``_conv_backward_jit``).
_ROWS_WEIGHT_MIN_CHANNELS = 32


def _conv_backward_weight_rows(rows_k, pm, g, x, kernel, stride, pads, dilation):
    """Weight gradient of an ungrouped convolution from the channels-last rows of the forward's
    rows path (``_conv_jit``): per block of images, the output gradient moved to
    ``(positions, O)`` and ``grad^T @ rows`` summed over the blocks in order, then moved from
    ``(O, kh, kw, C)`` to ``(O, C, kh, kw)``."""
    n, o, ho, wo = g.shape
    c = x.shape[1]
    kh, kw = kernel
    length, kk = ho * wo, kh * kw * c

    def step(s, e):
        b = e - s
        rows = _channels_last_rows(rows_k, x[s:e], kernel, stride, pads, dilation, (ho, wo))
        gt = scratch("gpm", (b, length, o), g.dtype)
        pm.to_pixel_major(g[s:e].reshape(b, o, length), gt)
        return gt.reshape(b * length, o).T @ rows.reshape(b * length, kk)

    def finish(parts):
        gw = parts[0]
        for p in parts[1:]:
            gw += p
        return np.ascontiguousarray(gw.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))

    return (yield Blocks(n, _block_size(kk * length * x.itemsize), step, finish=finish))


# Winograd F(3x3, 2x2) for the weight gradient: per 2x2 tile of the output gradient, 16
# products instead of 36 multiply-adds; the sum over tiles is 16 products (C, T) @ (T, O)
# that BLAS runs at about 100 GFLOP/s on T of a few hundred tiles (blocks of _WINOGRAD_TILES).
_MIN_WINOGRAD_CHANNELS = 8
_WINOGRAD_TILES = 1024
# Fewer tiles a block make products too small for BLAS: ResNet-8's 64 channels of 8x8 in
# blocks of 8 images (160 tiles) were 9 % faster alone but 2 % slower inside the model's
# backward (its input no longer in cache), so they keep the columns' path.
_MIN_WINOGRAD_TILES = 256


def _conv_backward_weight_winograd(k, g, x, pads, block):
    """Weight gradient of a 3x3 stride-1 ungrouped convolution (``Ho``, ``Wo`` even) by
    Winograd's F(3x3, 2x2): the 4x4 input tiles and 2x2 gradient tiles transformed
    (``_conv_backward_jit``), multiplied and summed over the tiles of a block of images as 16
    products ``U (C, T) @ V (T, O)``, the block sums added in order, and transformed back."""
    n, o, ho, wo = g.shape
    c = x.shape[1]
    jit = _jit.kernels(x)
    tiles = (ho // 2) * (wo // 2 + 1)

    def step(s, e):
        b = e - s
        xp = _padded_block(x, s, e, pads, jit)
        u = scratch("wino_u", (16, c, b * tiles), x.dtype)
        k.winograd_input(xp, u)
        v = scratch("wino_v", (16, o, b * tiles), x.dtype)
        k.winograd_grad(g[s:e], v)
        return np.matmul(u, v.swapaxes(1, 2))

    def finish(parts):
        m = parts[0]
        for p in parts[1:]:
            m += p
        gt = _WINOGRAD_G.T.astype(x.dtype)  # (3, 4): the output transform gw = G^T M G
        half = np.matmul(gt, m.reshape(4, 4 * c * o)).reshape(3, 4, c * o)
        full = np.matmul(gt, half)  # (3, 3, C * O): G^T M G for every channel pair
        return np.ascontiguousarray(full.reshape(3, 3, c, o).transpose(3, 2, 0, 1))

    return (yield Blocks(n, block, step, finish=finish))


def _conv_backward_weight_winograd_s2(k, g, x, pads):
    """Weight gradient of a 3x3 stride-2 ungrouped convolution by the transpose of
    ``_conv_forward_winograd_s2`` (``_winograd_weight_gradient`` with its 5x5 tiles; one
    thread, batch 32: 16->32 at 32x32 1.52 -> 1.20 ms, 32->64 at 16x16 1.06 -> 0.88 ms against
    the columns' and rows' paths)."""
    return (yield from _winograd_weight_gradient(_winograd_s2_input_transform(k, x.shape[1]),
                                                 k.winograd_s2_grad, _WINOGRAD_S2_GG, g, x, pads))


def _conv_backward_weight_winograd_cl(k, g, x, pads):
    """Weight gradient of a 3x3 stride-1 ungrouped convolution by the transpose of the
    channels-last ``_conv_forward_winograd`` (``_winograd_weight_gradient`` with its 4x4
    tiles)."""
    return (yield from _winograd_weight_gradient(k.winograd_input, k.winograd_grad,
                                                 _WINOGRAD_GG.T, g, x, pads))


def _winograd_weight_gradient(transform_input, transform_grad, kron, g, x, pads):
    """Weight gradient of a 3x3 ungrouped convolution by the transpose of a channels-last
    Winograd forward whose kernel transform is ``kron`` ``(entries, 9)``: the input's tiles
    transformed as in that forward (``transform_input``), the gradient's 2x2 tiles by ``A``
    (``transform_grad``), per block of images ``entries`` products ``V^T (C, T) @ Gt (T, O)``,
    and the block sums back to 3x3 (:func:`_winograd_weight_from_sums`)."""
    n, o, ho, wo = g.shape
    c = x.shape[1]
    entries = kron.shape[0]
    top, _, left, _ = pads
    th, tw = -(-ho // 2), -(-wo // 2)
    tiles = th * tw

    def step(s, e):
        b = e - s
        v = scratch("rows", (entries, b * tiles, c), x.dtype)
        transform_input(x[s:e], v, th, tw, top, left)
        gt = scratch("wino_m", (entries, b * tiles, o), x.dtype)
        transform_grad(g[s:e], gt, th, tw)
        return np.matmul(v.swapaxes(1, 2), gt)

    block = max(1, _WINOGRAD_BLOCK_BYTES // (entries * tiles * c * x.itemsize))
    return (yield Blocks(n, block, step,
                         finish=lambda parts: _winograd_weight_from_sums(parts, kron, c, o,
                                                                         x.dtype)))


def _winograd_weight_from_sums(parts, kron, c, o, dtype):
    """The ``(O, C, 3, 3)`` weight gradient from the blocks' ``(entries, C, O)`` products,
    added in order (so the bits do not depend on the threads), through ``kron^T``."""
    m = parts[0]
    for p in parts[1:]:
        m += p
    full = kron.T.astype(dtype) @ m.reshape(len(kron), c * o)  # (9, C * O)
    return np.ascontiguousarray(full.reshape(3, 3, c, o).transpose(3, 2, 0, 1))


def _conv_backward_input(g, w, x_shape, stride, pads, dilation, groups):
    """Gradient of a convolution with respect to its input: ``col2im(W^T @ grad)``, a block of
    images at a time so the intermediate columns stay in cache. With the compiled kernels a
    stride-1 ungrouped convolution (of at least ``_MIN_FLIP_CHANNELS`` input channels) instead
    convolves the gradient, padded by ``d * (k - 1) - p``, with the flipped weight."""
    return run_steps(_conv_backward_input_steps(g, w, x_shape, stride, pads, dilation,
                                                groups))[0]


def _conv_backward_input_steps(g, w, x_shape, stride, pads, dilation, groups):
    """``_conv_backward_input`` as a kernel of ``_runtime.run_steps`` (yields its blocks)."""
    n = g.shape[0]
    jit = _jit.kernels(g, w)
    full = (_full_correlation_pads(w.shape[2:], pads, dilation)
            if jit is not None and groups == 1 and stride == (1, 1) else None)
    if full is not None:
        adjoint = w.transpose(1, 0, 2, 3)  # (its shape: the flipped weight's)
        small = _small_forward_kernels(g, adjoint, (1, 1), dilation, 1, x_shape[2:])
        if small is not None or w.shape[1] >= _MIN_FLIP_CHANNELS:
            if small is None and _channels_last_path(g, adjoint, (1, 1), dilation,
                                                     1) == "winograd":
                k = _conv_jit.kernels(g, w)
                if k is not None:
                    return (yield from _conv_backward_input_winograd(k, g, w, x_shape, full))
            return (yield from _conv_forward_steps(g, _flipped(w), (1, 1), full, dilation, 1))
    small = _small_s2_kernels(w.shape[1], w.shape[2:], stride, dilation, groups, g.shape[2:],
                              g, w)
    if small is not None:
        return (yield from _conv_backward_input_small_s2(small, g, w, x_shape, pads))
    if (jit is not None and _WINOGRAD_S2 and groups == 1 and dilation == (1, 1)
            and stride == (2, 2) and w.shape[2:] == (3, 3)
            and min(w.shape[:2]) >= _ROWS_MIN_CHANNELS):
        k = _conv_jit.kernels(g, w)
        if k is not None:
            return (yield from _conv_backward_input_winograd_s2(k, g, w, x_shape, pads))
    if (jit is not None and groups == 1 and dilation == (1, 1) and stride != (1, 1)
            and w.shape[2] * w.shape[3] > 1 and w.shape[1] >= _MIN_GATHER_CHANNELS):
        pm = _conv_backward_jit.kernels(g, w)
        if pm is not None:
            return (yield from _conv_backward_input_gather(pm, g, w, x_shape, stride, pads))
    if jit is not None:
        return (yield from _conv_backward_input_jit(jit, g, w, x_shape, stride, pads, dilation,
                                                    groups))
    if groups == 1 and stride == (1, 1):
        return (yield from _conv_backward_input_flat(g, w, x_shape, pads, dilation))
    per_image = w.shape[1] * groups * w.shape[2] * w.shape[3] * g.shape[2] * \
        (x_shape[3] + pads[2] + pads[3]) * g.itemsize
    block = _block_size(per_image)
    if n <= block:
        return _conv_backward_input_block(g, w, x_shape, stride, pads, dilation, groups)
    gx = np.empty(x_shape, dtype=g.dtype)

    def step(s, e):
        gx[s:e] = _conv_backward_input_block(g[s:e], w, (e - s,) + tuple(x_shape[1:]), stride,
                                             pads, dilation, groups)

    yield Blocks(n, block, step)
    return gx


# The input gradient as a convolution has the input's channels as its outputs: its product has
# that many rows, too few for BLAS below this (a 3-channel input: several times slower than
# the columns' path). The direct kernels (``_conv_small_jit``, for a gradient of up to
# ``_SMALL_MAX_CHANNELS`` channels) take any count: one thread, batch 32 unless said, columns ->
# flipped forward, 3->16 3x3 at 32x32 1.39 -> 0.97 ms, 8->16 3.25 -> 2.08 ms; LeNet's 6->16
# 5x5 at 14x14, batch 256, 6.73 -> 6.37 ms.
_MIN_FLIP_CHANNELS = 16


# The gather adds rows of C values per window column: below this it loses to col2im (LeNet's
# 6-channel input gradient: twice as slow). A 1x1 convolution's columns are the gradient
# itself: col2im's path is faster there.
_MIN_GATHER_CHANNELS = 16


def _full_correlation_pads(kernel, pads, dilation):
    """Paddings of the convolution of the output gradient that gives a stride-1 convolution's
    input gradient (``d * (k - 1) - p`` per side), or None where one would be negative."""
    (kh, kw), (dh, dw) = kernel, dilation
    top, bottom, left, right = pads
    full = (dh * (kh - 1) - top, dh * (kh - 1) - bottom, dw * (kw - 1) - left,
            dw * (kw - 1) - right)
    return full if min(full) >= 0 else None


def _conv_backward_input_winograd(k, g, w, x_shape, full):
    """Input gradient of a 3x3 stride-1 convolution as the Winograd forward
    (``_conv_forward_winograd``, the same blocks and bits) of the gradient padded by ``full``
    with the flipped weight, the flipped kernels transformed inside the job
    (``Blocks.prepare``, while the helper wakes) from one copy of ``w`` moved to
    ``(3, 3, O, C)`` and rotated on the way."""
    n, o = g.shape[:2]
    c = w.shape[1]
    top, _, left, _ = full
    h, wd = x_shape[2:]
    dtype = np.result_type(g, w)
    gx = np.empty((n, c, h, wd), dtype=dtype)
    kernel = []

    def prepare():  # G w' G^T of the flipped kernels w', (16, O, C)
        wk = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)).reshape(9, o * c)
        kernel.append(_entry_product(k, (_WINOGRAD_GG.T.astype(dtype) @ wk).reshape(16, o, c)))

    yield _winograd_blocks(_winograd_input_transform(k, o), _winograd_output_transform(k, c), g,
                           kernel, gx, 16, (-(-h // 2), -(-wd // 2)), (top, left), None, prepare)
    return gx


def _flipped(w):
    """``w`` ``(O, C, kh, kw)`` as the weight ``(C, O, kh, kw)`` of the adjoint stride-1
    convolution: channels swapped, kernel rotated by 180 degrees."""
    return np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def _conv_backward_input_winograd_s2(k, g, w, x_shape, pads):
    """Input gradient of a 3x3 stride-2 ungrouped convolution by the transpose of
    ``_conv_forward_winograd_s2``: per block of images, the gradient's 2x2 tiles transformed by
    ``A``, 25 products ``Gt (T, O) @ U^T (O, C)`` and each tile's ``B P B^T`` added onto the
    input gradient (neighbouring tiles share an edge row and column)."""
    n, o, ho, wo = g.shape
    c = w.shape[1]
    top, _, left, _ = pads
    th, tw = -(-ho // 2), -(-wo // 2)
    tiles = th * tw
    wk = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(9, o * c)
    multiply = _entry_product(k, (_WINOGRAD_S2_GG.astype(g.dtype) @ wk).reshape(25, o, c))
    gx = np.empty(x_shape, dtype=g.dtype)

    def step(s, e):
        b = e - s
        gt = scratch("wino_m", (25, b * tiles, o), g.dtype)
        k.winograd_s2_grad(g[s:e], gt, th, tw)
        prod = scratch("rows", (25, b * tiles, c), g.dtype)
        multiply(gt, prod)
        k.winograd_s2_scatter(prod, gx[s:e], th, tw, top, left)

    yield Blocks(n, max(1, _WINOGRAD_BLOCK_BYTES // (25 * tiles * c * g.itemsize)), step)
    return gx


def _winograd_s2_kernels(g, x, w, stride, dilation, groups):
    """The compiled kernels where a backward's input and weight gradients both go the stride-2
    Winograd way (``_conv_backward_winograd_s2``), else None (also where the direct kernels
    take them, ``_small_s2_kernels``)."""
    if _small_s2_kernels(w.shape[1], w.shape[2:], stride, dilation, groups, g.shape[2:],
                         g, x, w) is not None:
        return None
    if (_WINOGRAD_S2 and groups == 1 and stride == (2, 2) and dilation == (1, 1)
            and g.ndim == 4 and w.shape[2:] == (3, 3) and min(w.shape[:2]) >= _ROWS_MIN_CHANNELS
            and _jit.kernels(g, x, w) is not None):
        return _conv_jit.kernels(g, x, w)
    return None


def _conv_backward_winograd_s2(k, g, x, w, pads):
    """Input and weight gradients of a 3x3 stride-2 convolution in one pass over the blocks
    (``_conv_backward_input_winograd_s2`` and ``_conv_backward_weight_winograd_s2``, the same
    blocks and results): each block's gradient tiles are transformed once for both."""
    n, o, ho, wo = g.shape
    c = w.shape[1]
    top, _, left, _ = pads
    th, tw = -(-ho // 2), -(-wo // 2)
    tiles = th * tw
    wk = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(9, o * c)
    multiply = _entry_product(k, (_WINOGRAD_S2_GG.astype(g.dtype) @ wk).reshape(25, o, c))
    gx = np.empty(x.shape, dtype=g.dtype)
    transform = _winograd_s2_input_transform(k, c)

    def step(s, e):
        b = e - s
        gt = scratch("wino_m", (25, b * tiles, o), g.dtype)
        k.winograd_s2_grad(g[s:e], gt, th, tw)
        prod = scratch("rows", (25, b * tiles, c), g.dtype)
        multiply(gt, prod)
        k.winograd_s2_scatter(prod, gx[s:e], th, tw, top, left)
        v = prod  # (its products are spent: the input's tiles go there)
        transform(x[s:e], v, th, tw, top, left)
        return np.matmul(v.swapaxes(1, 2), gt)

    gw = yield Blocks(n, max(1, _WINOGRAD_BLOCK_BYTES // (25 * tiles * c * g.itemsize)), step,
                      finish=lambda parts: _winograd_weight_from_sums(parts, _WINOGRAD_S2_GG,
                                                                      c, o, x.dtype))
    return gx, gw


def _conv_backward_input_gather(k, g, w, x_shape, stride, pads):
    """Input gradient of an ungrouped, undilated convolution with the product in the
    pixel-major orientation that BLAS runs fastest on few channels (see
    ``_conv_backward_jit``): per block, the output gradient transposed to ``(pixels, O)``
    times the weight as ``(O, kh * kw * C)``, then each input pixel gathers the columns of the
    windows that cover it."""
    n, o, ho, wo = g.shape
    c, kh, kw = w.shape[1:]
    length, kk = ho * wo, c * kh * kw
    w2 = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(o, kk)
    gx = np.empty(x_shape, dtype=g.dtype)

    def step(s, e):
        b = e - s
        gt = scratch("gpm", (b, length, o), g.dtype)
        k.to_pixel_major(g[s:e].reshape(b, o, length), gt)
        gcols = scratch("gcols", (b * length, kk), g.dtype)
        np.matmul(gt.reshape(b * length, o), w2, out=gcols)
        k.gather(gcols.reshape(b, ho, wo, kh, kw, c), gx[s:e], *stride, pads[0], pads[2],
                 np.empty((x_shape[3], c), g.dtype))

    yield Blocks(n, _block_size(kk * length * g.itemsize), step)
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

    per_image = c * kh * kw * length * g.itemsize
    yield Blocks(n, _block_size(per_image), step, n * per_image >= _SPLIT_BYTES)
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
    yield Blocks(n, max(1, _COL2IM_BLOCK_BYTES // per_image), step)
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


# ---------------------------------------------------------------------------- autograd nodes
# A convolution is described by ``geom = (stride, pads, dilation, groups, transposed,
# output_padding, nd)`` in its 2-D form (1-D ones get a unit height; ``pads`` is (top, bottom,
# left, right)). Forward and backward are bilinear in (input, weight), so every derivative is
# again a convolution or a convolution's backward: ``_conv_any`` and ``_conv_backward_any`` run
# the array kernels on ndarrays (plain backward) and the recorded ops on Tensors
# (``create_graph``), which is what makes any order of derivative work.
_NO_GRAD = np.empty(0)


def _shape4(shape, nd):
    return tuple(shape[:2]) + (1,) + tuple(shape[2:]) if nd == 1 else tuple(shape)


def _as4(a, nd):
    return a.reshape(a.shape[:2] + (1,) + a.shape[2:]) if nd == 1 else a


def _from4(a, nd):
    return a.reshape(a.shape[:2] + a.shape[3:]) if nd == 1 else a


def _conv_arrays(x, w, b, geom):
    """The convolution (or transposed convolution) of arrays ``x`` and ``w`` plus bias ``b``."""
    stride, pads, dilation, groups, transposed, out_pad, nd = geom
    x4, w4 = _as4(x, nd), _as4(w, nd)
    if not transposed:
        return _from4(_conv_forward(x4, w4, stride, pads, dilation, groups, b), nd)
    n, cin, h, wd = x4.shape
    kh, kw = w4.shape[2:]
    hf = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + out_pad[0]
    wf = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + out_pad[1]
    top, _, left, _ = pads
    cols = np.matmul(w4.reshape(groups, cin // groups, -1).swapaxes(1, 2),
                     x4.reshape(n, groups, cin // groups, h * wd))
    cols = cols.reshape(n, w4.shape[1] * groups, kh, kw, h, wd)
    out = col2im(cols, hf, wf, *stride, *dilation)
    if top or left:
        out = np.ascontiguousarray(out[:, :, top:hf - top, left:wf - left])
    if b is not None:
        out += b[:, None, None]
    return _from4(out, nd)


_BACKGROUND_WEIGHT = True


def _conv_backward_arrays(g, x, w, geom, mask, x_shape, background=False):
    """``(grad_input, grad_weight, grad_bias)`` of a convolution on arrays, None where ``mask``
    is false. For a transposed convolution the input gradient is the ordinary convolution of
    the gradient and the weight gradient swaps the roles of input and gradient. With
    ``background`` (the engine's plain backward) the weight gradient may be an
    ``engine.Background``, computed on a helper thread."""
    stride, pads, dilation, groups, transposed, _, nd = geom
    g4 = _as4(g, nd)
    gx = gw = gb = None
    if transposed and (mask[0] or mask[1]):
        gx, gw = _conv_transpose_backward(g4, x, w, x_shape, geom, mask)
    elif (mask[0] or mask[1]) and _whole_batch_path(g4, _as4(w, nd), g4.shape[2:], groups,
                                                     stride, dilation):
        gx, gw = _conv_backward_whole(g4, _as4(x, nd) if mask[1] else None, _as4(w, nd),
                                      stride, pads, dilation, mask, _shape4(x_shape, nd))
        gx = None if gx is None else gx.reshape(x_shape)
        gw = None if gw is None else _from4(gw, nd)
    elif mask[0] and mask[1] and (k := _winograd_s2_kernels(g4, x, w, stride, dilation,
                                                             groups)) is not None:
        gx, gw = run_steps(_conv_backward_winograd_s2(k, g4, x, w, pads))[0]
        gx = gx.reshape(x_shape)
    elif mask[0] and mask[1] and background and _BACKGROUND_WEIGHT and g4.dtype.kind == "f" \
            and _threads.threads_for(2, 1) > 1:
        # the weight gradient on a helper thread while this one computes the input gradient
        # and walks on (the batch norm and ReLU backwards that follow run on one thread); the
        # engine takes it when the weight's AccumulateGrad runs
        weight = _conv_backward_weight_steps(g4, _as4(x, nd), _as4(w, nd).shape[2:], stride,
                                             pads, dilation, groups)
        gw = engine.Background(lambda: _from4(run_steps(weight)[0], nd))
        gx = run_steps(_conv_backward_input_steps(g4, _as4(w, nd), _shape4(x_shape, nd),
                                                  stride, pads, dilation, groups))[0]
        gx = gx.reshape(x_shape)
    elif mask[0] or mask[1]:
        # both gradients' blocks in one job: the helpers are woken once, and the two kernels'
        # blocks keep both threads busy to the end
        kernels = []
        if mask[0]:
            kernels.append(_conv_backward_input_steps(g4, _as4(w, nd), _shape4(x_shape, nd),
                                                      stride, pads, dilation, groups))
        if mask[1]:
            kernels.append(_conv_backward_weight_steps(g4, _as4(x, nd), _as4(w, nd).shape[2:],
                                                       stride, pads, dilation, groups))
        results = run_steps(*kernels)
        if mask[0]:
            gx = results[0].reshape(x_shape)
        if mask[1]:
            gw = _from4(results[-1], nd)
    if mask[2]:
        gb = _bias_grad(g4)
    return gx, gw, gb


def _conv_transpose_backward(g4, x, w, x_shape, geom, mask):
    """Input and weight gradients of a transposed convolution from one ``im2col`` of the padded
    gradient: the input gradient is the ordinary convolution of the gradient, the weight
    gradient pairs the input with the same columns."""
    stride, pads, dilation, groups, _, _, nd = geom
    w4 = _as4(w, nd)
    n, _, h, wd = _shape4(x_shape, nd)
    cin = x_shape[1]
    kh, kw = w4.shape[2:]
    gp = pad_zeros(g4, *pads)
    gcols = im2col(gp, kh, kw, *stride, *dilation, h, wd).reshape(n, groups, -1, h * wd)
    gx = gw = None
    if mask[0]:
        gx = np.matmul(w4.reshape(groups, cin // groups, -1), gcols).reshape(x_shape)
    if mask[1]:
        xg = _as4(x, nd).reshape(n, groups, cin // groups, h * wd)
        gw = np.matmul(xg, gcols.swapaxes(2, 3)).sum(0).reshape(w.shape)
    return gx, gw


def _conv_any(x, w, b, geom):
    """Convolution on arrays or, recorded, on Tensors."""
    if F.is_array(x):
        return _conv_arrays(x, w, b, geom)
    return _convolution(x, w, b, geom)


def _conv_backward_any(g, x, w, geom, mask, x_shape, background=False):
    """Convolution backward on arrays or, recorded (differentiable again), on Tensors."""
    if F.is_array(g):
        return _conv_backward_arrays(g, x, w, geom, mask, x_shape, background)
    return _convolution_backward(g, x, w, geom, mask, x_shape)


@formula("ConvolutionBackward0", saves={"x": 0, "w": 1}, attrs=("geom", "x_shape"))
def ConvolutionBackward0(ctx, g):
    mask = (ctx.needs(0), ctx.needs(1), ctx.needs(2))
    return _conv_backward_any(g, ctx.x, ctx.w, ctx.geom, mask, ctx.x_shape,
                              engine.background_allowed())


@formula("ConvolutionBackwardBackward0", saves={"g": 0, "x": 1, "w": 2},
         attrs=("geom", "mask", "x_shape"), outputs=3)
def ConvolutionBackwardBackward0(ctx, grads):
    ggx, ggw, ggb = grads
    if not ctx.mask[0]:
        ggx = None
    if not ctx.mask[1]:
        ggw = None
    if not ctx.mask[2]:
        ggb = None
    geom = ctx.geom
    # (x is absent from the node of an input gradient taken alone)
    g, x, w = ctx.g, getattr(ctx, "x", None), ctx.w
    dg = dx = dw = None
    if ctx.needs(0):
        if ggx is not None:
            dg = _conv_any(ggx, w, ggb, geom)
        if ggw is not None:
            term = _conv_any(x, ggw, None, geom)
            dg = term if dg is None else dg + term
        if ggb is not None and ggx is None:
            shape = (1, ggb.shape[0]) + (1,) * (len(g.shape) - 2)
            term = F.expand(F.reshape(ggb, shape), g.shape)
            dg = term if dg is None else dg + term
    if ctx.needs(1) and ggw is not None:
        dx = _conv_backward_any(g, None, ggw, geom, (True, False, False), ctx.x_shape)[0]
    if ctx.needs(2) and ggx is not None:
        dw = _conv_backward_any(g, ggx, w, geom, (False, True, False), ctx.x_shape)[1]
    return dg, dx, dw


def _convolution(x, w, b, geom):
    """The recorded convolution of Tensors (``x`` batched)."""
    xd, wd = x._data, w._data
    out = _conv_arrays(xd, wd, None if b is None else b._data, geom)
    return ConvolutionBackward0.record(out, (x, w, b), (xd, wd), (geom, xd.shape))


def _convolution_backward(g, x, w, geom, mask, x_shape):
    """The recorded backward of a convolution (its gradients can be differentiated again)."""
    gd = g._data
    xd = None if x is None else x._data
    wd = None if w is None else w._data
    res = _conv_backward_arrays(gd, xd, wd, geom, mask, x_shape)
    empty = _NO_GRAD.astype(gd.dtype)
    outs = ConvolutionBackwardBackward0.record(
        tuple(empty if r is None else r for r in res), (g, x, w), (gd, xd, wd),
        (geom, mask, x_shape))
    return tuple(o if m else None for o, m in zip(outs, mask))


def _bias_grad(g):
    """``g.sum(axis=(0, 2, 3))``; einsum runs it about three times faster."""
    return np.einsum("nol->o", g.reshape(g.shape[0], g.shape[1], -1))


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
        geom = ((1, stride[0]), (0, 0) + pads[0], (1, dilation[0]), groups, False, (0, 0), 1)
    else:
        geom = (stride, pads[0] + pads[1], dilation, groups, False, (0, 0), 2)
    return _convolution(input, weight, bias, geom)


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
        stride, padding, output_padding, dilation = ((1,) + stride, (0,) + padding,
                                                     (0,) + output_padding, (1,) + dilation)
        h, wd = 1, x.shape[2]
        kh, kw = 1, w.shape[2]
    else:
        (h, wd), (kh, kw) = x.shape[2:], w.shape[2:]
    ho = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0] - 2 * padding[0]
    wo = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1] - 2 * padding[1]
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"Given input size per channel: ({h} x {wd}). Calculated output size "
                           f"per channel: ({ho} x {wo}). Output size is too small")
    geom = (stride, (padding[0], padding[0], padding[1], padding[1]), dilation, groups, True,
            output_padding, nd)
    return _convolution(input, weight, bias, geom)


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


