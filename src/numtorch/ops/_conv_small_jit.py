"""Compiled (numba) kernels of a stride-1 convolution with few input channels (ResNet's 3->16
stem): the forward and the weight gradient computed directly, without columns.

With ``C * kh * kw`` as small as 27, the columns' path spends a good part of its time on
building the columns (the stem's im2col, batch 32: about 70 of 420 µs on one thread), and its
products with so short an inner dimension make poor use of OpenBLAS's kernels.
Both kernels here work on an image's padded planes read *flat*: for a stride-1 convolution,
output position ``(y, x)`` of tap ``(i, j)`` reads the padded plane at ``(y + i) * Wp + x + j``,
so every tap is one shifted run of ``(Ho - 1) * Wp + Wo`` elements of the flat plane (the
positions ``x >= Wo`` of each row, and a few past the last, are computed and dropped). The
loops are then long, contiguous and vectorise, whatever the image width.

* ``small_forward``: image by image, the padded planes, then every output channel at once by
  :func:`._jit_native.tap_product`: the taps ``(c, i, j)`` are the offsets ``c * plane + i *
  Wp + j`` into the flat planes, and each block of 16 positions (8 in float64) of five or six
  output channels keeps its sums in vector registers over all taps (one load of two input
  vectors and a broadcast weight per tap and channel; the planes and the weight stay in L1 and
  L2). The taps are added one after the other in the order ``(c, i, j)`` as fused
  multiply-adds, then the valid positions are copied out with the bias. (The kernel before it
  kept four output channels' sums in memory, a load and a store per tap and position: one
  thread, 16->16 at 32x32, batch 32, 4.3 against 3.6 ms.)
* ``small_weight``: image by image, the padded planes and four output channels' gradient made
  flat the same way (zero at the dropped positions); for up to three taps of one input channel
  and kernel row, the twelve dot products of the gradient's runs with the shifted input runs,
  added into the weight gradient. These are reductions: the kernel is compiled with
  ``fastmath={"reassoc", "contract"}`` so that they vectorise with partial sums in registers
  (strictly in order, they ran seven times slower; fused multiply-adds, 5 % faster, round
  once where a product and a sum round twice); the order is fixed by the compiled code, so
  the bits do not depend on the threads.
* ``small_weight_taps``: for outputs of up to 400 positions (``conv._TAP_WEIGHT_MAX_POSITIONS``,
  where ``small_weight``'s runs are short and each sum's reduction across a vector costs as
  much as the run), one product per image: the gradient moved to channels-last panels and
  every tap's shifted run multiplied by them (:func:`._jit_native.tap_panel_product`).

Copying each image into ``kw`` planes shifted by a tap each (no dropped positions) instead was
slower: the copies cost three times the padding's, and the planes no longer fit in L1.

A stride-2 convolution is read flat the same way from phase planes:

* ``small_forward_s2``: ``small_forward`` with each tap's offset into its phase plane (below),
  for any kernel (the dispatch sends it those from 3x3 up); the gradients' kernels take 3x3
  ones:
* ``small_weight_s2``: each padded input plane split into its four phases (even and odd rows
  by even and odd columns, ``_place_phases``); the output position ``(y, x)`` of tap ``(i, j)``
  reads phase ``(i % 2, j % 2)`` at ``(y + i // 2) * Wq + x + j // 2`` (``Wq = Wo + 1``), so a
  kernel row's three taps are three runs of two phase planes, and the dot products are those
  of ``small_weight``.
* ``small_input_s2``: the input gradient at padded position ``(2 * i + a, 2 * j + b)`` (phase
  ``(a, b)``) gathers the output gradient at rows ``i`` and ``i - 1`` (``a = 0``: taps 0 and 2)
  or ``i`` (``a = 1``: tap 1), the same for columns; with the gradient padded by one row and
  column on top and left, the four phases of four input channels are accumulated from four
  shifted runs of each gradient plane (4 + 2 + 2 + 1 taps), then moved to the interleaved
  ``(N, C, H, W)`` gradient.
"""

import numpy as np

from . import _jit as _ops_jit
from . import _jit_native as _native

# Output channels computed together; the weight is padded with zero channels to a multiple.
GROUP = 4
_place = None  # the compiled ``_place_image``, which both kernels call (set by ``_Kernels``)
_phases = None  # the compiled ``_place_phases`` (the same, for the stride-2 weight gradient)
_rows = None  # the compiled ``_aligned_rows`` (the same)
_store = None  # the compiled ``_store_outputs`` (both forwards)
_outputs = None  # the compiled ``_tap_outputs`` (both forwards)
_taps = None  # the compiled ``_tap_weights`` (both forwards)
_planes = None  # the compiled ``_tap_planes`` (the stride-1 forward and ``small_weight_taps``)
_length = None  # the compiled ``_run_length`` (both forwards)
_flatten = None  # the compiled ``_flat_gradient`` (both weight gradients)
_dots = None  # the compiled ``_weight_taps`` (both weight gradients; inlined)
# The runs are computed in whole multiples of this many elements, past the last position
# (and read as far past the planes, zeros): a run of 1086 (the stem) left 14 elements to the
# loops' scalar tails, 6-8 % of both kernels' time.
_TAIL = 16
# The forwards' sums of a band of output rows, at most (in bytes; at least one row): they stay
# in L2 until the band is stored.
_BAND_BYTES = 128 << 10


class _Kernels:
    def __init__(self, numba):
        global _place, _phases, _rows, _store, _outputs, _taps, _planes, _length, _flatten
        global _dots
        _place = _ops_jit.njit(numba, _place_image, nogil=True)
        _phases = _ops_jit.njit(numba, _place_phases, nogil=True)
        _rows = _ops_jit.njit(numba, _aligned_rows, nogil=True)
        _store = _ops_jit.njit(numba, _store_outputs, nogil=True)
        _outputs = _ops_jit.njit(numba, _tap_outputs, nogil=True)
        _taps = _ops_jit.njit(numba, _tap_weights, nogil=True)
        _planes = _ops_jit.njit(numba, _tap_planes, nogil=True)
        _length = _ops_jit.njit(numba, _run_length, nogil=True)
        _flatten = _ops_jit.njit(numba, _flat_gradient, nogil=True)
        # (inlined into the callers, so compiled with their flags: the sums reassociated)
        _dots = _ops_jit.njit(numba, _weight_taps, nogil=True, inline="always")
        _native.install(numba)
        self.small_forward = _ops_jit.njit(numba, _small_forward, nogil=True)
        self.small_weight = _ops_jit.njit(numba, _small_weight, nogil=True,
                                          fastmath={"reassoc", "contract"})
        self.small_forward_s2 = _ops_jit.njit(numba, _small_forward_s2, nogil=True)
        self.small_weight_taps = _ops_jit.njit(numba, _small_weight_taps, nogil=True)
        self.small_weight_s2 = _ops_jit.njit(numba, _small_weight_s2, nogil=True,
                                             fastmath={"reassoc", "contract"})
        self.small_input_s2 = _ops_jit.njit(numba, _small_input_s2, nogil=True)


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array's dtype is not float32/float64.
kernels = _ops_jit.family(_Kernels)


def grouped_weight(w):
    """``w`` ``(O, C, kh, kw)`` with zero output channels up to a multiple of :data:`GROUP`,
    C-contiguous (what ``small_forward`` takes)."""
    o = w.shape[0]
    o4 = -(-o // GROUP) * GROUP
    wq = np.zeros((o4,) + w.shape[1:], w.dtype)
    wq[:o] = w
    return wq


# The loop bodies below are compiled by numba (plain Python, slow, if called directly). As in
# ``_jit``, the innermost indices are loop counters over slices, so that no wrap-around check
# is needed per element and the loops vectorise; the runs a loop reads are slices of one array
# (a plane), so that LLVM can tell them apart from the accumulators it writes with few checks.
def _aligned_rows(rows, length, like):
    """An uninitialised ``(rows, >= length)`` array of ``like``'s dtype whose rows start on
    64-byte lines (rows across lines made the forward 15 % slower; numba's arrays start on 32
    bytes), one line more than they need apart, so never a multiple of 4 KiB apart (32x32
    float32 planes: stores to one row and loads from the next then alias in the store buffer's
    address check, two to three times slower at times)."""
    line = 64 // like.itemsize
    stride = (length + line - 1) // line * line + line
    buf = np.empty(rows * stride + line, like.dtype)
    start = (-buf.ctypes.data) % 64 // buf.itemsize
    return buf[start:start + rows * stride].reshape(rows, stride)


def _place_image(x, b, xp, top, left, wp):
    """Image ``b`` of ``x`` ``(N, C, H, W)`` into the planes ``xp[c]`` (rows of ``Wp``) at
    ``(top, left)``; what is around it stays as it is (the zeros of the padding, written once
    per call of a kernel)."""
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    for ch in range(c):
        plane = xp[ch]
        for y in range(h):
            dst = plane[(y + top) * wp + left:(y + top) * wp + left + w]
            src = x[b, ch, y]
            for q in range(w):
                dst[q] = src[q]


def _store_outputs(acc, out, b, bias, has_bias, wp, y0, y1):
    """Rows ``y0`` to ``y1`` of image ``b`` of the forwards' ``out``: the valid positions of
    the sums ``acc`` (a row per output channel, output rows ``wp`` apart from row ``y0``), plus
    the bias."""
    o, wo = out.shape[1], out.shape[3]
    for k in range(o):
        for y in range(y0, y1):
            dst = out[b, k, y]
            src = acc[k, (y - y0) * wp:(y - y0) * wp + wo]
            if has_bias:
                add = bias[k]
                for q in range(wo):
                    dst[q] = src[q] + add
            else:  # (a plain copy: a memcpy, several times faster on short rows)
                for q in range(wo):
                    dst[q] = src[q]


def _tap_outputs(flat, offsets, wt, out, b, bias, has_bias, wp):
    """Image ``b`` of the forwards' ``out`` from its planes ``flat`` (placed): the taps'
    products (:func:`._jit_native.tap_product`) for bands of output rows whose sums stay in L2
    (``_BAND_BYTES``; a 64-channel output of 112x112 is 3 MiB), each band stored with the bias
    while in cache."""
    o, ho, wo = out.shape[1], out.shape[2], out.shape[3]
    band = min(ho, max(1, _BAND_BYTES // (o * wp * out.itemsize)))
    acc = _rows(o, _length(band, wp, wo, out), out)
    for y0 in range(0, ho, band):
        y1 = min(ho, y0 + band)
        _native.tap_product(flat[y0 * wp:], offsets, wt, acc[:, :_length(y1 - y0, wp, wo, out)])
        _store(acc, out, b, bias, has_bias, wp, y0, y1)


def _tap_planes(x, hp, wp, kh, kw):
    """The stride-1 tap kernels' zeroed planes for ``x``'s channels (``hp * wp`` each, the
    runs' reach past the last position included, rows 64-byte aligned) and the offsets of the
    taps ``(c, i, j)`` into them read flat, in that order."""
    c = x.shape[1]
    xp = _rows(c, hp * wp + _native._PANEL_BYTES // x.itemsize, x)
    xp[:, :] = x.dtype.type(0)
    offsets = np.empty(c * kh * kw, np.int64)
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                offsets[(ch * kh + i) * kw + j] = ch * xp.shape[1] + i * wp + j
    return xp, offsets


def _tap_weights(wq, o):
    """The forwards' weight as taps: ``(C * kh * kw, o)``, row ``(c * kh + i) * kw + j`` the
    tap ``(i, j)`` of input channel ``c`` for the first ``o`` output channels of ``wq``."""
    c, kh, kw = wq.shape[1], wq.shape[2], wq.shape[3]
    wt = np.empty((c * kh * kw, o), wq.dtype)
    for k in range(o):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    wt[(ch * kh + i) * kw + j, k] = wq[k, ch, i, j]
    return wt


def _run_length(ho, wp, wo, like):
    """The forwards' runs: ``(Ho - 1) * Wp + Wo`` positions, rounded up to a multiple of
    :func:`._jit_native.panel_width` (the positions past the last are computed and dropped)."""
    width = _native._PANEL_BYTES // like.itemsize
    return ((ho - 1) * wp + wo + width - 1) // width * width


def _flat_gradient(g, b, o0, flat, wp):
    """The weight gradients' runs: output channels ``o0`` to ``o0 + 3`` of ``g``'s image ``b``
    into the rows of ``flat``, rows ``wp`` apart (zeros for channels beyond ``O``; the dropped
    positions between rows stay zero)."""
    o, ho, wo = g.shape[1], g.shape[2], g.shape[3]
    zero = flat.dtype.type(0)
    for k in range(4):
        for y in range(ho):
            dst = flat[k, y * wp:y * wp + wo]
            if o0 + k < o:
                src = g[b, o0 + k, y]
                for q in range(wo):
                    dst[q] = src[q]
            else:
                for q in range(wo):
                    dst[q] = zero


def _weight_taps(gw, o0, ch, i, j, taps, r0, r1, r2, flat, length):
    """The weight gradients' twelve dot products of the runs ``flat[0:4, :length]`` (output
    channels ``o0`` to ``o0 + 3``) with the input runs ``r0``-``r2`` of taps ``(i, j)`` to
    ``(i, j + taps - 1)`` of input channel ``ch``, added into ``gw`` (a run beyond ``taps``
    is read and dropped)."""
    g0 = flat[0, :length]
    g1 = flat[1, :length]
    g2 = flat[2, :length]
    g3 = flat[3, :length]
    zero = gw.dtype.type(0)
    a0 = a1 = a2 = b0 = b1 = b2 = zero
    c0 = c1 = c2 = d0 = d1 = d2 = zero
    for q in range(length):
        u0 = r0[q]
        u1 = r1[q]
        u2 = r2[q]
        v = g0[q]
        a0 += v * u0
        a1 += v * u1
        a2 += v * u2
        v = g1[q]
        b0 += v * u0
        b1 += v * u1
        b2 += v * u2
        v = g2[q]
        c0 += v * u0
        c1 += v * u1
        c2 += v * u2
        v = g3[q]
        d0 += v * u0
        d1 += v * u1
        d2 += v * u2
    gw[o0, ch, i, j] += a0
    gw[o0 + 1, ch, i, j] += b0
    gw[o0 + 2, ch, i, j] += c0
    gw[o0 + 3, ch, i, j] += d0
    if taps > 1:
        gw[o0, ch, i, j + 1] += a1
        gw[o0 + 1, ch, i, j + 1] += b1
        gw[o0 + 2, ch, i, j + 1] += c1
        gw[o0 + 3, ch, i, j + 1] += d1
    if taps > 2:
        gw[o0, ch, i, j + 2] += a2
        gw[o0 + 1, ch, i, j + 2] += b2
        gw[o0 + 2, ch, i, j + 2] += c2
        gw[o0 + 3, ch, i, j + 2] += d2


def _small_forward(x, wq, out, bias, has_bias, top, left):
    """``out`` ``(N, O, Ho, Wo)`` = the stride-1 convolution of ``x`` ``(N, C, H, W)``
    zero-padded by ``top`` and ``left`` (and up to the output's size beyond it) with ``wq``
    ``(O4, C, kh, kw)`` (see :func:`grouped_weight`), plus ``bias[o]`` when ``has_bias``."""
    n = x.shape[0]
    kh, kw = wq.shape[2], wq.shape[3]
    ho, wo = out.shape[2], out.shape[3]
    wp = wo + kw - 1
    xp, offsets = _planes(x, ho + kh - 1, wp, kh, kw)
    wt = _taps(wq, out.shape[1])
    flat = xp.reshape(xp.size)
    for b in range(n):
        _place(x, b, xp, top, left, wp)
        _outputs(flat, offsets, wt, out, b, bias, has_bias, wp)


def _small_weight(x, g, gw, top, left):
    """``gw`` ``(O4, C, kh, kw)`` += the weight gradient of a stride-1 convolution of ``x``
    ``(N, C, H, W)`` zero-padded by ``top`` and ``left`` (and up to the output's size beyond
    it), from its output's gradient ``g`` ``(N, O, Ho, Wo)`` (channels ``O`` to ``O4`` of
    ``gw`` get nothing)."""
    n, c = x.shape[0], x.shape[1]
    ho, wo = g.shape[2], g.shape[3]
    o4, _, kh, kw = gw.shape
    hp, wp = ho + kh - 1, wo + kw - 1
    length = ((ho - 1) * wp + wo + _TAIL - 1) // _TAIL * _TAIL  # (see _TAIL)
    zero = gw.dtype.type(0)
    xp = _rows(c, hp * wp + _TAIL, x)
    xp[:, :] = zero
    flat = _rows(4, length, gw)
    flat[:, :] = zero  # (zero at the dropped positions)
    for b in range(n):
        _place(x, b, xp, top, left, wp)
        for o0 in range(0, o4, 4):
            _flatten(g, b, o0, flat, wp)
            for ch in range(c):
                plane = xp[ch]
                for i in range(kh):
                    for j in range(0, kw, 3):
                        taps = min(3, kw - j)
                        s = i * wp + j
                        # (a tap beyond kw reads the last one's run again, unused)
                        s1 = s + min(1, taps - 1)
                        s2 = s + taps - 1
                        r0 = plane[s:s + length]
                        r1 = plane[s1:s1 + length]
                        r2 = plane[s2:s2 + length]
                        _dots(gw, o0, ch, i, j, taps, r0, r1, r2, flat, length)


def _small_weight_taps(x, g, gw, top, left):
    """:func:`_small_weight` as one product per image: ``g``'s image moved to channels-last
    panels (``(positions, O)``, rows ``Wp`` apart, zero at the dropped positions) and every tap's
    shifted run of the planes multiplied by them (:func:`._jit_native.tap_panel_product`: five
    or six taps by 16 output channels in registers), summed over the images in order, then
    added into ``gw``."""
    n, c = x.shape[0], x.shape[1]
    o, ho, wo = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = gw.shape[2], gw.shape[3]
    wp = wo + kw - 1
    length = _length(ho, wp, wo, x)
    xp, offsets = _planes(x, ho + kh - 1, wp, kh, kw)
    width = _native._PANEL_BYTES // x.itemsize
    panels = np.zeros((-(-o // width), length, width), gw.dtype)
    sums = np.zeros((c * kh * kw, o), gw.dtype)
    flat = xp.reshape(xp.size)
    for b in range(n):
        _place(x, b, xp, top, left, wp)
        for p in range(panels.shape[0]):
            panel = panels[p]
            k0 = p * width
            cols = min(width, o - k0)
            for y in range(ho):
                src = g[b, k0:k0 + cols, y]
                for q in range(wo):
                    row = panel[y * wp + q]
                    for j in range(cols):
                        row[j] = src[j, q]
        _native.tap_panel_product(flat, offsets, panels, sums)
    for k in range(o):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    gw[k, ch, i, j] += sums[(ch * kh + i) * kw + j, k]


def _place_phases(x, b, xp, top, left, hq, wq):
    """Image ``b`` of ``x`` ``(N, C, H, W)``, padded by ``top`` and ``left``, into its phase
    planes: ``xp[4 * c + 2 * a + e]`` holds the padded plane's rows ``2 * i + a`` and columns
    ``2 * j + e`` at ``i * wq + j`` (``i < hq``, ``j < wq``); what is around them stays as it
    is (zeros, written once per call of the kernel)."""
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    for ch in range(c):
        for y in range(h):
            i = (y + top) // 2
            if i >= hq:
                continue
            phase = 4 * ch + 2 * ((y + top) % 2)
            src = x[b, ch, y]
            for e in range(2):
                x0 = (e - left) % 2  # the first column of this column phase
                j0 = (x0 + left) // 2
                count = min((w - x0 + 1) // 2, wq - j0)
                dst = xp[phase + e, i * wq + j0:i * wq + j0 + max(count, 0)]
                for q in range(count):
                    dst[q] = src[x0 + 2 * q]


def _small_forward_s2(x, wq, out, bias, has_bias, top, left):
    """``out`` ``(N, O, Ho, Wo)`` = the stride-2 convolution of ``x`` ``(N, C, H, W)``
    zero-padded by ``top`` and ``left`` with ``wq`` ``(O4, C, kh, kw)`` (see
    :func:`grouped_weight`), plus ``bias[o]`` when ``has_bias``: ``small_forward`` with each
    tap ``(i, j)`` read from its phase plane ``(i % 2, j % 2)`` at ``(i // 2, j // 2)``
    (``small_weight_s2``)."""
    n, c = x.shape[0], x.shape[1]
    kh, kw = wq.shape[2], wq.shape[3]
    ho, wo = out.shape[2], out.shape[3]
    hq, wp = ho + (kh - 1) // 2, wo + (kw - 1) // 2
    xp = _rows(4 * c, hq * wp + wp + _native._PANEL_BYTES // x.itemsize, x)
    xp[:, :] = out.dtype.type(0)
    offsets = np.empty(c * kh * kw, np.int64)
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                phase = 4 * ch + 2 * (i % 2) + j % 2
                offsets[(ch * kh + i) * kw + j] = (phase * xp.shape[1] + (i // 2) * wp
                                                   + j // 2)
    wt = _taps(wq, out.shape[1])
    flat = xp.reshape(xp.size)
    for b in range(n):
        _phases(x, b, xp, top, left, hq, wp)
        _outputs(flat, offsets, wt, out, b, bias, has_bias, wp)


def _small_weight_s2(x, g, gw, top, left):
    """``gw`` ``(O4, C, 3, 3)`` += the weight gradient of a 3x3 stride-2 convolution of ``x``
    ``(N, C, H, W)`` zero-padded by ``top`` and ``left``, from its output's gradient ``g``
    ``(N, O, Ho, Wo)`` (channels ``O`` to ``O4`` of ``gw`` get nothing)."""
    n, c = x.shape[0], x.shape[1]
    ho, wo = g.shape[2], g.shape[3]
    o4 = gw.shape[0]
    hq, wq = ho + 1, wo + 1
    length = ((ho - 1) * wq + wo + _TAIL - 1) // _TAIL * _TAIL  # (see _TAIL)
    zero = gw.dtype.type(0)
    xp = _rows(4 * c, hq * wq + wq + _TAIL, x)
    xp[:, :] = zero
    flat = _rows(4, length, gw)
    flat[:, :] = zero  # (zero at the dropped positions)
    for b in range(n):
        _phases(x, b, xp, top, left, hq, wq)
        for o0 in range(0, o4, 4):
            _flatten(g, b, o0, flat, wq)
            for ch in range(c):
                for i in range(3):
                    s = (i // 2) * wq
                    even = xp[4 * ch + 2 * (i % 2)]
                    odd = xp[4 * ch + 2 * (i % 2) + 1]
                    r0 = even[s:s + length]  # tap (i, 0)
                    r1 = odd[s:s + length]  # tap (i, 1)
                    r2 = even[s + 1:s + 1 + length]  # tap (i, 2)
                    _dots(gw, o0, ch, i, 0, 3, r0, r1, r2, flat, length)


def _small_input_s2(g, wt, gx, top, left):
    """``gx`` ``(N, C, H, W)`` = the input gradient of a 3x3 stride-2 convolution whose input
    was padded by ``top`` and ``left``, from its output's gradient ``g`` ``(N, O, Ho, Wo)``;
    ``wt`` ``(C4, O, 3, 3)`` is the weight with its channels swapped, zero channels up to a
    multiple of four (see :func:`grouped_weight`)."""
    n, o, ho, wo = g.shape
    c4 = wt.shape[0]
    c, h, w = gx.shape[1], gx.shape[2], gx.shape[3]
    imax, jmax = (top + h - 1) // 2, (left + w - 1) // 2  # the last phase row and column
    wg = max(wo, jmax + 1) + 1  # the gradient's rows, one zero column ahead
    hg = max(ho, imax + 1) + 1
    length = (imax * wg + jmax + _TAIL) // _TAIL * _TAIL  # (see _TAIL)
    zero = gx.dtype.type(0)
    gp = _rows(o, hg * wg + wg + _TAIL, g)
    gp[:, :] = zero
    acc = _rows(16, length, gx)  # phase (a, e), input channel k: row 4 * (2 * a + e) + k
    for b in range(n):
        for oc in range(o):
            plane = gp[oc]
            for y in range(ho):
                dst = plane[(y + 1) * wg + 1:(y + 1) * wg + 1 + wo]
                src = g[b, oc, y]
                for q in range(wo):
                    dst[q] = src[q]
        for c0 in range(0, c4, 4):
            acc[:, :] = zero
            for oc in range(o):
                plane = gp[oc]
                # the gradient at (i - 1, j - 1), (i - 1, j), (i, j - 1) and (i, j)
                r00 = plane[0:length]
                r01 = plane[1:1 + length]
                r10 = plane[wg:wg + length]
                r11 = plane[wg + 1:wg + 1 + length]
                # phase (0, 0): taps (0, 0), (0, 2), (2, 0), (2, 2)
                p0, p1 = acc[0, :length], acc[1, :length]
                p2, p3 = acc[2, :length], acc[3, :length]
                a0, a1 = wt[c0, oc, 0, 0], wt[c0, oc, 0, 2]
                a2, a3 = wt[c0, oc, 2, 0], wt[c0, oc, 2, 2]
                b0, b1 = wt[c0 + 1, oc, 0, 0], wt[c0 + 1, oc, 0, 2]
                b2, b3 = wt[c0 + 1, oc, 2, 0], wt[c0 + 1, oc, 2, 2]
                d0, d1 = wt[c0 + 2, oc, 0, 0], wt[c0 + 2, oc, 0, 2]
                d2, d3 = wt[c0 + 2, oc, 2, 0], wt[c0 + 2, oc, 2, 2]
                e0, e1 = wt[c0 + 3, oc, 0, 0], wt[c0 + 3, oc, 0, 2]
                e2, e3 = wt[c0 + 3, oc, 2, 0], wt[c0 + 3, oc, 2, 2]
                for q in range(length):
                    u0 = r11[q]
                    u1 = r10[q]
                    u2 = r01[q]
                    u3 = r00[q]
                    p0[q] = p0[q] + a0 * u0 + a1 * u1 + a2 * u2 + a3 * u3
                    p1[q] = p1[q] + b0 * u0 + b1 * u1 + b2 * u2 + b3 * u3
                    p2[q] = p2[q] + d0 * u0 + d1 * u1 + d2 * u2 + d3 * u3
                    p3[q] = p3[q] + e0 * u0 + e1 * u1 + e2 * u2 + e3 * u3
                # phase (0, 1): taps (0, 1), (2, 1); phase (1, 0): taps (1, 0), (1, 2)
                for phase in range(1, 3):
                    p0, p1 = acc[4 * phase, :length], acc[4 * phase + 1, :length]
                    p2, p3 = acc[4 * phase + 2, :length], acc[4 * phase + 3, :length]
                    if phase == 1:
                        far = r01
                        a0, a1 = wt[c0, oc, 0, 1], wt[c0, oc, 2, 1]
                        b0, b1 = wt[c0 + 1, oc, 0, 1], wt[c0 + 1, oc, 2, 1]
                        d0, d1 = wt[c0 + 2, oc, 0, 1], wt[c0 + 2, oc, 2, 1]
                        e0, e1 = wt[c0 + 3, oc, 0, 1], wt[c0 + 3, oc, 2, 1]
                    else:
                        far = r10
                        a0, a1 = wt[c0, oc, 1, 0], wt[c0, oc, 1, 2]
                        b0, b1 = wt[c0 + 1, oc, 1, 0], wt[c0 + 1, oc, 1, 2]
                        d0, d1 = wt[c0 + 2, oc, 1, 0], wt[c0 + 2, oc, 1, 2]
                        e0, e1 = wt[c0 + 3, oc, 1, 0], wt[c0 + 3, oc, 1, 2]
                    for q in range(length):
                        u0 = r11[q]
                        u1 = far[q]
                        p0[q] = p0[q] + a0 * u0 + a1 * u1
                        p1[q] = p1[q] + b0 * u0 + b1 * u1
                        p2[q] = p2[q] + d0 * u0 + d1 * u1
                        p3[q] = p3[q] + e0 * u0 + e1 * u1
                # phase (1, 1): tap (1, 1)
                p0, p1 = acc[12, :length], acc[13, :length]
                p2, p3 = acc[14, :length], acc[15, :length]
                a0, b0 = wt[c0, oc, 1, 1], wt[c0 + 1, oc, 1, 1]
                d0, e0 = wt[c0 + 2, oc, 1, 1], wt[c0 + 3, oc, 1, 1]
                for q in range(length):
                    u0 = r11[q]
                    p0[q] = p0[q] + a0 * u0
                    p1[q] = p1[q] + b0 * u0
                    p2[q] = p2[q] + d0 * u0
                    p3[q] = p3[q] + e0 * u0
            for k in range(min(4, c - c0)):
                for y in range(h):
                    i = (y + top) // 2
                    dst = gx[b, c0 + k, y]
                    for e in range(2):
                        src = acc[4 * (2 * ((y + top) % 2) + e) + k]
                        x0 = (e - left) % 2  # the first column of this column phase
                        j0 = (x0 + left) // 2
                        for t in range((w - x0 + 1) // 2):
                            dst[x0 + 2 * t] = src[i * wg + j0 + t]
