"""Compiled (numba) kernels of a convolution's input gradient, arranged for the matrix products
that OpenBLAS runs fast.

* Strided convolutions: the product runs in the pixel-major orientation, the many pixels as
  the result's rows and the few channels as its columns (``(pixels, O) @ (O, kh * kw * C)``
  ran 15-25 % faster on ResNet-8's stride-2 layers than ``W^T @ grad`` with col2im).
  ``to_pixel_major`` transposes the output gradient ``(N, O, Ho, Wo)`` to ``(N, Ho, Wo, O)``;
  ``gather`` sums, for each input pixel, the columns ``(N, Ho, Wo, kh, kw, C)`` of the
  windows that covered it and writes it once into the ``(N, C, H, W)`` result (no zero-filled
  scratch, no separate crop).
* Stride 1: the input gradient is the convolution of the padded gradient with the flipped
  weight. ``windows_rows`` writes its windows as rows of a scratch matrix whose row stride is
  padded past a multiple of 2 KiB: OpenBLAS reads a matrix with 4 KiB rows with cache-set
  conflicts (ResNet-8's ``(16, 144) @ (144, 1024)``: 44 GFLOP/s, 76-80 with rows of 1040).

numba is optional and used only when ``numtorch.ops._jit`` uses it (``NUMTORCH_JIT=0`` turns
both off); :func:`kernels` returns None otherwise and the callers keep their other paths.
"""

from . import _jit


class _Kernels:
    def __init__(self, numba):
        def jit(fn):
            return _jit.njit(numba, fn, nogil=True)

        self.to_pixel_major = jit(_to_pixel_major)
        self.gather = jit(_gather)
        self.windows_rows = jit(_windows_rows)


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


def _windows_rows(xp, cols, h, w, dh, dw):
    """The stride-1 windows (dilation ``dh, dw``) of ``xp`` ``(N, C, Hp, Wp)`` into ``cols``
    ``(N, C, kh, kw, ld)``: each row holds the ``h * w`` values of one kernel offset (the rest
    of its ``ld`` is left as is)."""
    nb, nc, kh, kw = cols.shape[:4]
    for b in range(nb):
        for c in range(nc):
            for i in range(kh):
                for j in range(kw):
                    dst = cols[b, c, i, j]
                    for y in range(h):
                        src = xp[b, c, y + i * dh][j * dw:]
                        d = dst[y * w:]
                        for x in range(w):
                            d[x] = src[x]
