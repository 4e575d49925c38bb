"""Compiled (numba) kernels of the convolution's "rows" forward: the product with positions as
rows and output channels as columns.

OpenBLAS multiplies ``rows (positions, C*kh*kw) @ W^T (C*kh*kw, O)`` markedly faster than the
columns' ``W (O, C*kh*kw) @ cols (C*kh*kw, positions)`` when ``O`` is small (16 output channels
of a 32x32 image: about 80 against 55 GFLOP/s on one core), and no slower on the other shapes
of a small CNN. Its operands and result are channels-last, so three layout kernels surround it,
each one pass over a block that is in cache:

* ``channels_last_padded``: the block ``(N, C, H, W)`` into ``(N, Hp, Wp, C)``, zero-padded;
* ``im2row``: each output position's window of that into one row ``(kh, kw, C)`` (for dilation
  1 the ``kw * C`` values of a kernel row are one contiguous run, copied as one);
* ``rows_to_planes``: the product ``(N, positions, O)`` back into ``(N, O, positions)``, with
  the bias added on the way.

numba is optional and used only when ``numtorch.ops._jit`` uses it (``NUMTORCH_JIT=0`` turns
both off); :func:`kernels` returns None otherwise and the convolution keeps its columns' path.
"""

import numpy as np

from . import _jit as _ops_jit


class _Kernels:
    def __init__(self, numba):
        def jit(fn):
            return _ops_jit.njit(numba, fn, nogil=True)

        self.channels_last_padded = jit(_channels_last_padded)
        self.im2row = jit(_im2row)
        self.rows_to_planes = jit(_rows_to_planes)


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array's dtype is not float32/float64.
kernels = _ops_jit.family(_Kernels)


# The loop bodies below are compiled by numba (plain Python, slow, if called directly). As in
# ``_jit``, the innermost indices are loop counters or slices, so that no wrap-around check is
# needed per element and the copies vectorise.
def _channels_last_padded(x, xh, top, left):
    """``xh`` ``(N, Hp, Wp, C)`` = ``x`` ``(N, C, H, W)`` moved to channels-last at
    ``(top, left)``, zero around it. Each image row goes through a small ``(W, C)`` buffer: the
    strided half of the transpose then stays in L1 (reading the C planes at once, 4 KiB apart
    for 32x32 float32 images, was half as fast)."""
    n, c, h, w = x.shape
    hp, wp = xh.shape[1], xh.shape[2]
    top = max(top, 0)
    left = max(left, 0)
    buf = np.empty((w, c), x.dtype)
    for b in range(n):
        for y in range(top):
            xh[b, y] = 0
        for y in range(top + h, hp):
            xh[b, y] = 0
        for y in range(h):
            for ch in range(c):
                src = x[b, ch, y]
                for q in range(w):
                    buf[q, ch] = src[q]
            row = xh[b, y + top]
            for q in range(left):
                row[q] = 0
            for q in range(left + w, wp):
                row[q] = 0
            for q in range(w):
                dst = row[left + q]
                bq = buf[q]
                for ch in range(c):
                    dst[ch] = bq[ch]


def _im2row(xh, rows, sh, sw, dh, dw):
    """``rows`` ``(N, Ho, Wo, kh, kw * C)``: for each output position the window of ``xh``
    ``(N, Hp, Wp, C)`` it sees, kernel row by kernel row."""
    n, ho, wo, kh, run = rows.shape
    c = xh.shape[3]
    kw = run // c
    for b in range(n):
        for y in range(ho):
            for i in range(kh):
                src_row = xh[b, y * sh + i * dh].reshape(-1)
                for x in range(wo):
                    dst = rows[b, y, x, i]
                    start = x * sw * c
                    if dw == 1:  # the kernel row's kw * C values are contiguous
                        src = src_row[start:start + run]
                        for q in range(run):
                            dst[q] = src[q]
                    else:
                        for j in range(kw):
                            src = src_row[start + j * dw * c:start + (j * dw + 1) * c]
                            d = dst[j * c:(j + 1) * c]
                            for q in range(c):
                                d[q] = src[q]


def _rows_to_planes(prod, out, bias, has_bias):
    """``out`` ``(N, O, L)`` = ``prod`` ``(N, L, O)`` transposed, plus ``bias[o]`` when
    ``has_bias`` (one output plane at a time: contiguous writes, reads strided by ``O``)."""
    n, length, o = prod.shape
    for b in range(n):
        for ch in range(o):
            dst = out[b, ch]
            src = prod[b, :, ch]
            if has_bias:
                add = bias[ch]
                for p in range(length):
                    dst[p] = src[p] + add
            else:
                for p in range(length):
                    dst[p] = src[p]
