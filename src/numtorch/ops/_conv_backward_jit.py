"""Compiled (numba) kernels of a convolution's backward, arranged for the matrix products that
OpenBLAS runs fast.

* Strided convolutions: the product runs in the pixel-major orientation, the many pixels as
  the result's rows and the few channels as its columns (``(pixels, O) @ (O, kh * kw * C)``
  ran 15-25 % faster on ResNet-8's stride-2 layers than ``W^T @ grad`` with col2im).
  ``to_pixel_major`` transposes the output gradient ``(N, O, Ho, Wo)`` to ``(N, Ho, Wo, O)``;
  ``gather`` sums, for each input pixel, the columns ``(N, Ho, Wo, kh, kw, C)`` of the
  windows that covered it and writes it once into the ``(N, C, H, W)`` result (no zero-filled
  scratch, no separate crop).
* ``im2col_stride2``: the columns of a stride-2 convolution (for its weight gradient) from
  each input row split once into its even and odd columns, so that every copy is contiguous
  (the general im2col reads at a stride of two: ResNet-8's 16->32 layer 0.63 -> 0.38 ms).
* The weight gradient of a 3x3 stride-1 convolution by Winograd's F(3x3, 2x2):
  ``winograd_input`` and ``winograd_grad`` transform the input's 4x4 tiles and the output
  gradient's 2x2 tiles (16 values each), the products over the tiles are 16 matrix products
  ``(C, T) @ (T, O)`` (2.25 times fewer multiply-adds than the columns' product), and the sum
  is transformed back by the caller.

numba is optional and used only when ``numtorch.ops._jit`` uses it (``NUMTORCH_JIT=0`` turns
both off); :func:`kernels` returns None otherwise and the callers keep their other paths.
"""

import numpy as np

from . import _jit


class _Kernels:
    def __init__(self, numba):
        def jit(fn):
            return _jit.njit(numba, fn, nogil=True)

        self.to_pixel_major = jit(_to_pixel_major)
        self.gather = jit(_gather)
        self.winograd_input = jit(_winograd_input)
        self.winograd_grad = jit(_winograd_grad)
        self.im2col_stride2 = jit(_im2col_stride2)


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array's dtype is not float32/float64.
kernels = _jit.family(_Kernels)


# The loop bodies below are compiled by numba (plain Python, slow, if called directly).
def _to_pixel_major(g, out):
    """``out`` ``(N, L, O)`` = ``g`` ``(N, O, L)`` transposed per image."""
    nb, no, nl = g.shape
    for b in range(nb):
        src = g[b]
        dst = out[b]
        for p in range(nl):
            for o in range(no):
                dst[p, o] = src[o, p]


def _gather(cols, gx, sh, sw, top, left, row):
    """``gx`` ``(N, C, H, W)`` = the sum, per input pixel, of the columns ``cols``
    ``(N, Ho, Wo, kh, kw, C)`` of the windows (stride ``sh, sw``, padding ``top, left``) that
    cover it; ``row`` is a ``(W, C)`` scratch array (one input row, pixel-major)."""
    nb, ho, wo, kh, kw, nc = cols.shape
    h, w = gx.shape[2], gx.shape[3]
    for b in range(nb):
        for yy in range(h):
            for q in range(w):
                for c in range(nc):
                    row[q, c] = 0
            for i in range(kh):
                t = yy + top - i
                if t < 0 or t % sh != 0:
                    continue
                y = t // sh
                if y >= ho:
                    continue
                for j in range(kw):
                    # the window columns x with 0 <= x * sw + j - left < w
                    x0 = 0
                    if left > j:
                        x0 = (left - j + sw - 1) // sw
                    x1 = min(wo, (w - 1 + left - j) // sw + 1)
                    for x in range(x0, x1):
                        src = cols[b, y, x, i, j]
                        dst = row[x * sw + j - left]
                        for c in range(nc):
                            dst[c] += src[c]
            for c in range(nc):
                dst = gx[b, c, yy]
                for q in range(w):
                    dst[q] = row[q, c]


def _winograd_input(xp, u):
    """The Winograd F(3x3, 2x2) data transform ``B^T d B`` of the 4x4 tiles of ``xp``
    ``(N, C, Hp, Wp)`` (``Hp``, ``Wp`` even) at even offsets into ``u`` ``(16, C, T)``.

    Tile ``(p, q)`` covers rows ``2p..2p+3`` and columns ``2q..2q+3``; the tiles are numbered
    ``(image, p, q)`` with ``Wp / 2`` per row, the last of each row a dummy that spans two rows
    (its gradient tile is zero, see :func:`_winograd_grad`): every loop then runs over a whole
    image's tiles as one contiguous run and vectorizes (loops over a row's 4 to 16 tiles ran at
    one value a cycle). ``B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]``
    is applied to whole rows, whose even and odd columns are then split."""
    nb, nc, hp, wp = xp.shape
    th, tw = (hp - 2) // 2, wp // 2
    plane = th * tw
    t = np.empty(th * wp, xp.dtype)
    ev = np.empty(plane + 1, xp.dtype)
    od = np.empty(plane + 1, xp.dtype)
    ev[plane] = 0
    od[plane] = 0
    for b in range(nb):
        base = b * plane
        for c in range(nc):
            x2 = xp[b, c]
            for i in range(4):
                for p in range(th):
                    r0 = x2[2 * p]
                    r1 = x2[2 * p + 1]
                    r2 = x2[2 * p + 2]
                    r3 = x2[2 * p + 3]
                    tr = t[p * wp:(p + 1) * wp]
                    if i == 0:
                        for k in range(wp):
                            tr[k] = r0[k] - r2[k]
                    elif i == 1:
                        for k in range(wp):
                            tr[k] = r1[k] + r2[k]
                    elif i == 2:
                        for k in range(wp):
                            tr[k] = r2[k] - r1[k]
                    else:
                        for k in range(wp):
                            tr[k] = r1[k] - r3[k]
                for m in range(plane):
                    ev[m] = t[2 * m]
                    od[m] = t[2 * m + 1]
                dst = u[4 * i, c, base:base + plane]
                for m in range(plane):
                    dst[m] = ev[m] - ev[m + 1]
                dst = u[4 * i + 1, c, base:base + plane]
                for m in range(plane):
                    dst[m] = od[m] + ev[m + 1]
                dst = u[4 * i + 2, c, base:base + plane]
                for m in range(plane):
                    dst[m] = ev[m + 1] - od[m]
                dst = u[4 * i + 3, c, base:base + plane]
                for m in range(plane):
                    dst[m] = od[m] - od[m + 1]


def _winograd_grad(g, v):
    """The Winograd F(3x3, 2x2) transform ``A h A^T`` of the 2x2 tiles of the output gradient
    ``g`` ``(N, O, Ho, Wo)`` (``Ho``, ``Wo`` even) into ``v`` ``(16, O, T)``, numbered as in
    :func:`_winograd_input` (``Wo / 2 + 1`` a row, the last zero);
    ``A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]``. Each image's two rows of tiles are split into
    their even and odd columns once, then every output is one contiguous loop."""
    nb, no, ho, wo = g.shape
    th, tw = ho // 2, wo // 2 + 1
    plane = th * tw
    # the tiles' four values (rows 0/1, columns even/odd); each row's dummy tile stays zero
    e0 = np.zeros(plane, g.dtype)
    o0 = np.zeros(plane, g.dtype)
    e1 = np.zeros(plane, g.dtype)
    o1 = np.zeros(plane, g.dtype)
    a = np.empty((4, plane), g.dtype)  # the row transform's columns (even, odd) per i
    c = np.empty((4, plane), g.dtype)
    for b in range(nb):
        base = b * plane
        for o in range(no):
            g2 = g[b, o]
            for p in range(th):
                h0 = g2[2 * p]
                h1 = g2[2 * p + 1]
                d = p * tw
                for q in range(tw - 1):
                    e0[d + q] = h0[2 * q]
                    o0[d + q] = h0[2 * q + 1]
                    e1[d + q] = h1[2 * q]
                    o1[d + q] = h1[2 * q + 1]
            for m in range(plane):
                a[0, m] = e0[m]
                c[0, m] = o0[m]
            for m in range(plane):
                a[1, m] = e0[m] + e1[m]
                c[1, m] = o0[m] + o1[m]
            for m in range(plane):
                a[2, m] = e0[m] - e1[m]
                c[2, m] = o0[m] - o1[m]
            for m in range(plane):
                a[3, m] = -e1[m]
                c[3, m] = -o1[m]
            for i in range(4):
                ai = a[i]
                ci = c[i]
                dst = v[4 * i, o, base:base + plane]
                for m in range(plane):
                    dst[m] = ai[m]
                dst = v[4 * i + 1, o, base:base + plane]
                for m in range(plane):
                    dst[m] = ai[m] + ci[m]
                dst = v[4 * i + 2, o, base:base + plane]
                for m in range(plane):
                    dst[m] = ai[m] - ci[m]
                dst = v[4 * i + 3, o, base:base + plane]
                for m in range(plane):
                    dst[m] = -ci[m]


def _im2col_stride2(xp, cols):
    """``cols`` ``(N, C, kh, kw, Ho, Wo)`` = the stride-2 windows of ``xp`` ``(N, C, Hp, Wp)``
    (no dilation), each input row read once into its even and odd columns."""
    nb, nc, kh, kw, ho, wo = cols.shape
    wp = xp.shape[3]
    half = (wp + 1) // 2
    ev = np.empty(half, xp.dtype)
    od = np.empty(half, xp.dtype)
    for b in range(nb):
        for c in range(nc):
            for i in range(kh):
                for y in range(ho):
                    src = xp[b, c, 2 * y + i]
                    for q in range(wp // 2):
                        ev[q] = src[2 * q]
                        od[q] = src[2 * q + 1]
                    if wp % 2:
                        ev[half - 1] = src[wp - 1]
                    for j in range(kw):
                        dst = cols[b, c, i, j, y]
                        run = ev[j // 2:] if j % 2 == 0 else od[j // 2:]
                        for x in range(wo):
                            dst[x] = run[x]
