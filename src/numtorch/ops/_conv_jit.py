"""Compiled (numba) kernels of the convolution's channels-last forwards: the "rows" product
(positions as rows, output channels as columns) and Winograd's F(2x2, 3x3).

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

A 3x3 stride-1 convolution instead transforms every 4x4 tile of the input
(``winograd_input``: ``B^T d B``, reading ``(N, C, H, W)`` and moving four padded rows at a time
to channels-last), multiplies the 16 entries' ``(tiles, C) @ (C, O)`` (``entry_products``, from
the transformed kernels packed once per convolution, where they are small) and transforms each
product tile back to 2x2 outputs (``winograd_output``: ``A^T m A``, written a row at a time
straight into the ``(N, O, Ho, Wo)`` planes with the bias): 2.25 times fewer multiply-adds
than the direct product. Moving the layout inside the transforms, where a row is in L1,
instead of in separate passes over the whole block was 5-10 % faster (one thread, batch 32:
16 channels at 32x32 2.01 -> 1.80 ms, 32 at 16x16 1.28 -> 1.20 ms, 64 at 8x8 1.12 -> 1.07 ms).
Below 32 input channels the forward transforms with the even and odd columns of each row kept
apart (``winograd_input_split``, the same values): the column stage then runs over whole rows
of tiles instead of one tile's channels at a time (16 channels at 32x32: 1.72 -> 1.57 ms); up
to 16 output channels the output transform likewise forms a row's even and odd output columns
as runs over the whole row (``winograd_output_split``).

A 3x3 stride-2 convolution has its own pair (``winograd_s2_input``: 5x5 tiles 4 apart, 25
entries; ``winograd_s2_output``), whose transforms only add and subtract; below 32 input
channels its input transform keeps the four column phases apart (``winograd_s2_input_split``).

numba is optional and used only when ``numtorch.ops._jit`` uses it (``NUMTORCH_JIT=0`` turns
both off); :func:`kernels` returns None otherwise and the convolution keeps its columns' path.
"""

import numpy as np

from . import _jit as _ops_jit
from . import _jit_native as _native

# the compiled first stage of the stride-1 output transforms, ``_output_rows_py`` (set by
# ``_Kernels``; the stride-2 input transforms keep theirs inline: shared the same way, it made
# the split one 5-9 % slower)
_output_rows = None


class _Kernels:
    def __init__(self, numba):
        global _output_rows

        def jit(fn):
            return _ops_jit.njit(numba, fn, nogil=True)

        _output_rows = jit(_output_rows_py)

        self.channels_last_padded = jit(_channels_last_padded)
        self.im2row = jit(_im2row)
        self.rows_to_planes = jit(_rows_to_planes)
        self.winograd_input = jit(_winograd_input)
        self.winograd_input_split = jit(_winograd_input_split)
        self.winograd_output = jit(_winograd_output)
        self.winograd_output_split = jit(_winograd_output_split)
        self.winograd_s2_input = jit(_winograd_s2_input)
        self.winograd_s2_input_split = jit(_winograd_s2_input_split)
        self.winograd_s2_output = jit(_winograd_s2_output)
        self.winograd_s2_grad = jit(_winograd_s2_grad)
        self.winograd_s2_scatter = jit(_winograd_s2_scatter)
        self.winograd_grad = jit(_winograd_grad)
        _native.install(numba)
        self._pack_entries = jit(_pack_entries)
        self.entry_products = jit(_entry_products)

    def pack_entries(self, u):
        """The panels of each entry's ``u[e]`` (``(E, C, O)``) for :meth:`entry_products`
        (:func:`._jit_native.pack_panels`)."""
        panels = np.empty(u.shape[:1] + _native.panels_shape(u.shape[1], u.shape[2], u.dtype),
                          dtype=u.dtype)
        self._pack_entries(u, panels)
        return panels


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array's dtype is not float32/float64.
kernels = _ops_jit.family(_Kernels)


def _pack_entries(u, panels):
    for e in range(u.shape[0]):
        _native.pack_panels(u[e], panels[e])


def _entry_products(v, panels, m):
    """``m[e] = v[e] @ u[e]`` for each Winograd entry ``e`` from ``u``'s panels
    (:meth:`_Kernels.pack_entries`)."""
    for e in range(v.shape[0]):
        _native.panel_product(v[e], panels[e], m[e])


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
    ``has_bias``: 64 positions at a time (their rows stay in L1 while each output plane gets a
    contiguous run; whole planes at a time, twice as slow with 16 channels of 32x32)."""
    n, length, o = prod.shape
    for b in range(n):
        for p0 in range(0, length, 64):
            p1 = min(p0 + 64, length)
            for ch in range(o):
                dst = out[b, ch, p0:p1]
                src = prod[b, p0:p1, ch]
                if has_bias:
                    add = bias[ch]
                    for p in range(p1 - p0):
                        dst[p] = src[p] + add
                else:
                    for p in range(p1 - p0):
                        dst[p] = src[p]



def _winograd_input(x, v, th, tw, top, left):
    """``v`` ``(16, N * th * tw, C)``: ``B^T d B`` of every 4x4 tile ``d`` (tiles at even
    offsets, ``th`` x ``tw`` per image) of ``x`` ``(N, C, H, W)`` zero-padded by ``top`` and
    ``left`` (and with zeros beyond it), the 16 entries of the transformed tile first, channels
    last. A row of tiles at a time: its four padded input rows moved to channels-last (a ring
    of four rows, so each input row is moved once; no channels-last copy of the whole block
    is written and read back), then two stages of contiguous elementwise loops (combining
    rows, then columns), which vectorise."""
    n, c, h, w = x.shape
    wp = 2 * tw + 2
    rc = wp * c
    cols = max(0, min(w, wp - left))
    ring = np.zeros((4, wp, c), x.dtype)
    e = np.empty((4, rc), x.dtype)
    vf = v.reshape(16, -1)  # (see _winograd_output)
    for b in range(n):
        for ty in range(th):
            for k in range(4):
                yy = 2 * ty + k
                if ty > 0 and k < 2:
                    continue  # (loaded for the previous row of tiles)
                slot = ring[yy % 4]
                sy = yy - top
                if sy < 0 or sy >= h:
                    slot[:] = 0
                    continue
                slot[:left] = 0
                slot[left + cols:] = 0
                inside = slot[left:left + cols]  # (slices: no wrap-around check per element)
                for ch in range(c):
                    src = x[b, ch, sy]
                    for q in range(cols):
                        inside[q, ch] = src[q]
            r0 = ring[(2 * ty) % 4].reshape(-1)
            r1 = ring[(2 * ty + 1) % 4].reshape(-1)
            r2 = ring[(2 * ty + 2) % 4].reshape(-1)
            r3 = ring[(2 * ty + 3) % 4].reshape(-1)
            e0, e1, e2, e3 = e[0], e[1], e[2], e[3]
            for q in range(rc):  # B^T d: the tile rows combined, whole image rows at once
                e0[q] = r0[q] - r2[q]
                e1[q] = r1[q] + r2[q]
                e2[q] = r2[q] - r1[q]
                e3[q] = r1[q] - r3[q]
            t0 = (b * th + ty) * tw
            for i in range(4):  # (B^T d) B: the columns combined
                ei = e[i]
                v0 = vf[4 * i, t0 * c:(t0 + tw) * c]
                v1 = vf[4 * i + 1, t0 * c:(t0 + tw) * c]
                v2 = vf[4 * i + 2, t0 * c:(t0 + tw) * c]
                v3 = vf[4 * i + 3, t0 * c:(t0 + tw) * c]
                for tx in range(tw):
                    a = ei[2 * tx * c:(2 * tx + 4) * c]
                    d = tx * c
                    for ch in range(c):
                        x0 = a[ch]
                        x1 = a[c + ch]
                        x2 = a[2 * c + ch]
                        x3 = a[3 * c + ch]
                        v0[d + ch] = x0 - x2
                        v1[d + ch] = x1 + x2
                        v2[d + ch] = x2 - x1
                        v3[d + ch] = x1 - x3


def _winograd_input_split(x, v, th, tw, top, left):
    """``_winograd_input`` (the same ``v``, bit for bit) with the even and the odd padded
    columns of each ring row kept apart, ``(2, tw + 1, C)``: the second stage's four outputs
    are then runs of ``tw * C`` values (the even columns and the same one tile further, the odd
    columns likewise) instead of ``tw`` runs of ``C``. Faster with few channels, where each
    short run cost a loop's set-up (one thread, a block of 4 images of 16 channels at 32x32:
    59 -> 51 µs; 8 channels 49 -> 27 µs; even at 32; slower at 64, where the strided fill
    costs more than the runs save)."""
    n, c, h, w = x.shape
    half = tw + 1
    rc = 2 * half * c
    cols = max(0, min(w, 2 * tw + 2 - left))
    ring = np.zeros((4, 2, half, c), x.dtype)
    e = np.empty((4, rc), x.dtype)
    vf = v.reshape(16, -1)
    length = tw * c
    odd = half * c  # where the odd columns start in a row of e
    for b in range(n):
        for ty in range(th):
            for k in range(4):
                yy = 2 * ty + k
                if ty > 0 and k < 2:
                    continue  # (loaded for the previous row of tiles)
                slot = ring[yy % 4]
                sy = yy - top
                if sy < 0 or sy >= h:
                    slot[:] = 0
                    continue
                # (the padding columns are never written: they stay zero)
                for parity in range(2):
                    q0 = (parity - left) % 2  # the first source column of this parity
                    p0 = (left + q0) >> 1
                    count = (cols - q0 + 1) // 2
                    dst = slot[parity, p0:p0 + count]
                    for ch in range(c):
                        src = x[b, ch, sy]
                        for j in range(count):
                            dst[j, ch] = src[q0 + 2 * j]
            r0 = ring[(2 * ty) % 4].reshape(-1)
            r1 = ring[(2 * ty + 1) % 4].reshape(-1)
            r2 = ring[(2 * ty + 2) % 4].reshape(-1)
            r3 = ring[(2 * ty + 3) % 4].reshape(-1)
            e0, e1, e2, e3 = e[0], e[1], e[2], e[3]
            for q in range(rc):  # B^T d: the tile rows combined, whole image rows at once
                e0[q] = r0[q] - r2[q]
                e1[q] = r1[q] + r2[q]
                e2[q] = r2[q] - r1[q]
                e3[q] = r1[q] - r3[q]
            t0 = (b * th + ty) * tw
            for i in range(4):  # (B^T d) B: tile tx reads columns 2tx .. 2tx + 3
                ei = e[i]
                v0 = vf[4 * i, t0 * c:t0 * c + length]
                v1 = vf[4 * i + 1, t0 * c:t0 * c + length]
                v2 = vf[4 * i + 2, t0 * c:t0 * c + length]
                v3 = vf[4 * i + 3, t0 * c:t0 * c + length]
                even0 = ei[:length]  # column 2tx of every tile
                even1 = ei[c:c + length]  # 2tx + 2
                odd0 = ei[odd:odd + length]  # 2tx + 1
                odd1 = ei[odd + c:odd + c + length]  # 2tx + 3
                for q in range(length):
                    x1 = odd0[q]
                    x2 = even1[q]
                    v0[q] = even0[q] - x2
                    v1[q] = x1 + x2
                    v2[q] = x2 - x1
                    v3[q] = x1 - odd1[q]


def _output_rows_py(mf, f, start, length):
    """The output transforms' first stage, ``A^T m`` for a row of tiles: ``f`` ``(2, 4, L)``
    from the 16 entries' runs ``mf[:, start:start + L]`` (the rows combined, the whole row of
    tiles at once)."""
    for j in range(4):
        m0 = mf[j, start:start + length]
        m1 = mf[4 + j, start:start + length]
        m2 = mf[8 + j, start:start + length]
        m3 = mf[12 + j, start:start + length]
        f0 = f[0, j]
        f1 = f[1, j]
        for q in range(length):
            f0[q] = m0[q] + m1[q] + m2[q]
            f1[q] = m1[q] - m2[q] - m3[q]


def _winograd_output(m, out, bias, has_bias, th, tw):
    """``out`` ``(N, O, Ho, Wo)``: ``A^T m A`` of every transformed tile of ``m``
    ``(16, N * th * tw, O)``, each giving a 2x2 block of outputs (those inside ``Ho`` x
    ``Wo``), plus ``bias[o]`` when ``has_bias``. A row of tiles at a time, in the two stages of
    ``_winograd_input``; each output row is made channels-last in a small buffer (in L1) and
    moved from there to the O planes, so no channels-last copy of the block is written and
    read back."""
    n, o, ho, wo = out.shape
    tc = tw * o
    f = np.empty((2, 4, tc), m.dtype)
    row = np.empty((2 * tw, o), m.dtype)
    flat = row.reshape(-1)
    # a row of tiles as a slice of the last axis of m viewed 2-D: slicing the tile axis of the
    # 3-D m and flattening that gave numba an array of unknown layout, whose loops ran one
    # scalar at a time (both transforms 25-30 % slower)
    mf = m.reshape(16, -1)
    for b in range(n):
        for ty in range(th):
            t0 = (b * th + ty) * tw
            _output_rows(mf, f, t0 * o, tc)
            for r in range(2):  # (A^T m) A: the columns combined
                yy = 2 * ty + r
                if yy >= ho:
                    continue
                fr = f[r]
                g0, g1, g2, g3 = fr[0], fr[1], fr[2], fr[3]
                for tx in range(tw):
                    d = 2 * tx * o
                    s0 = tx * o
                    for ch in range(o):
                        a1 = g1[s0 + ch]
                        a2 = g2[s0 + ch]
                        flat[d + ch] = g0[s0 + ch] + a1 + a2
                        flat[d + o + ch] = a1 - a2 - g3[s0 + ch]
                for ch in range(o):
                    dst = out[b, ch, yy]
                    if has_bias:
                        add = bias[ch]
                        for q in range(wo):
                            dst[q] = row[q, ch] + add
                    else:
                        for q in range(wo):
                            dst[q] = row[q, ch]


def _winograd_output_split(m, out, bias, has_bias, th, tw):
    """``_winograd_output`` (the same ``out``, bit for bit) with a row's even and odd output
    columns formed apart, each as one run of ``tw * O`` values over the whole row of tiles
    (instead of ``tw`` runs of ``O``), then moved to the planes. Faster with few output
    channels (one thread, a block of 4 images of 16 channels at 32x32: 121-127 -> 84-99 µs;
    8 channels 69 -> 52 µs), slower from 24 (121 -> 153 µs; 32 at 16x16: 43 -> 57 µs)."""
    n, o, ho, wo = out.shape
    tc = tw * o
    f = np.empty((2, 4, tc), m.dtype)
    ev = np.empty((2, tc), m.dtype)
    pairs = wo // 2  # (an odd width's last column is an even one)
    mf = m.reshape(16, -1)  # (see _winograd_output)
    for b in range(n):
        for ty in range(th):
            t0 = (b * th + ty) * tw
            _output_rows(mf, f, t0 * o, tc)
            for r in range(2):  # (A^T m) A: each tile's two output columns
                yy = 2 * ty + r
                if yy >= ho:
                    continue
                fr = f[r]
                g0, g1, g2, g3 = fr[0], fr[1], fr[2], fr[3]
                even, odd = ev[0], ev[1]
                for q in range(tc):
                    a1 = g1[q]
                    a2 = g2[q]
                    even[q] = g0[q] + a1 + a2
                    odd[q] = a1 - a2 - g3[q]
                for ch in range(o):
                    dst = out[b, ch, yy]
                    if has_bias:
                        add = bias[ch]
                        for tx in range(pairs):
                            dst[2 * tx] = even[tx * o + ch] + add
                            dst[2 * tx + 1] = odd[tx * o + ch] + add
                        if wo % 2:
                            dst[wo - 1] = even[pairs * o + ch] + add
                    else:
                        for tx in range(pairs):
                            dst[2 * tx] = even[tx * o + ch]
                            dst[2 * tx + 1] = odd[tx * o + ch]
                        if wo % 2:
                            dst[wo - 1] = even[pairs * o + ch]


def _winograd_s2_input(x, v, th, tw, top, left):
    """``v`` ``(25, N * th * tw, C)``: the stride-2 transform ``B^T d B`` of every 5x5 tile
    ``d`` (tiles at offsets that are multiples of 4, ``th`` x ``tw`` per image) of ``x``
    ``(N, C, H, W)`` zero-padded by ``top`` and ``left`` (and with zeros beyond it), channels
    last. Per axis ``B^T d = (d0 - d2, d2, d4 - d2, d1, d3)``: the even taps' two outputs by
    Winograd's F(2, 2), the odd tap's as they are (see ``conv._conv_forward_winograd_s2``).
    A row of tiles at a time, as ``_winograd_input`` (a ring of five channels-last rows)."""
    n, c, h, w = x.shape
    wp = 4 * tw + 1
    rc = wp * c
    cols = max(0, min(w, wp - left))
    ring = np.zeros((5, wp, c), x.dtype)
    e = np.empty((2, rc), x.dtype)
    vf = v.reshape(25, -1)  # (see _winograd_output)
    for b in range(n):
        for ty in range(th):
            for k in range(5):
                yy = 4 * ty + k
                if ty > 0 and k == 0:
                    continue  # (loaded for the previous row of tiles)
                slot = ring[yy % 5]
                sy = yy - top
                if sy < 0 or sy >= h:
                    slot[:] = 0
                    continue
                slot[:left] = 0
                slot[left + cols:] = 0
                inside = slot[left:left + cols]
                for ch in range(c):
                    src = x[b, ch, sy]
                    for q in range(cols):
                        inside[q, ch] = src[q]
            r0 = ring[(4 * ty) % 5].reshape(-1)
            r1 = ring[(4 * ty + 1) % 5].reshape(-1)
            r2 = ring[(4 * ty + 2) % 5].reshape(-1)
            r3 = ring[(4 * ty + 3) % 5].reshape(-1)
            r4 = ring[(4 * ty + 4) % 5].reshape(-1)
            e0, e2 = e[0], e[1]
            for q in range(rc):  # B^T d: the tile rows combined, whole image rows at once
                e0[q] = r0[q] - r2[q]
                e2[q] = r4[q] - r2[q]
            t0 = (b * th + ty) * tw
            for i in range(5):  # (B^T d) B: the columns combined
                # (rows 1, 3 and 4 of B^T d are ring rows 2, 1 and 3 as they are: read there,
                # not copied first, 7-10 % of the transform)
                if i == 0:
                    ei = e0
                elif i == 1:
                    ei = r2
                elif i == 2:
                    ei = e2
                elif i == 3:
                    ei = r1
                else:
                    ei = r3
                v0 = vf[5 * i, t0 * c:(t0 + tw) * c]
                v1 = vf[5 * i + 1, t0 * c:(t0 + tw) * c]
                v2 = vf[5 * i + 2, t0 * c:(t0 + tw) * c]
                v3 = vf[5 * i + 3, t0 * c:(t0 + tw) * c]
                v4 = vf[5 * i + 4, t0 * c:(t0 + tw) * c]
                for tx in range(tw):
                    a = ei[4 * tx * c:(4 * tx + 5) * c]
                    d = tx * c
                    for ch in range(c):
                        x1 = a[c + ch]
                        x2 = a[2 * c + ch]
                        v0[d + ch] = a[ch] - x2
                        v1[d + ch] = x2
                        v2[d + ch] = a[4 * c + ch] - x2
                        v3[d + ch] = x1
                        v4[d + ch] = a[3 * c + ch]


def _winograd_s2_input_split(x, v, th, tw, top, left):
    """``_winograd_s2_input`` (the same ``v``, bit for bit) with the padded columns of each
    ring row kept apart by their position modulo 4, ``(4, tw + 1, C)``: each of the column
    stage's five outputs is then one run of ``tw * C`` values (tile ``tx`` reads columns
    ``4 tx`` to ``4 tx + 4``: phases 0 to 3 at ``tx`` and phase 0 at ``tx + 1``) instead of
    ``tw`` runs of ``C``. Faster with few channels on wide images (one thread, a block of 8
    images of 16 channels at 32x32: 242-399 -> 200-215 µs; the 16->32 forward of a batch of
    32: 4.76 -> 4.05 ms), slower with 32 channels at 16x16 (93-115 -> 156-174 µs), where each
    phase's fill is only four columns long."""
    n, c, h, w = x.shape
    half = tw + 1  # columns of each phase
    plane = half * c
    cols = max(0, min(w, 4 * tw + 1 - left))
    ring = np.zeros((5, 4, half, c), x.dtype)
    e = np.empty((2, 4 * plane), x.dtype)
    vf = v.reshape(25, -1)
    length = tw * c
    for b in range(n):
        for ty in range(th):
            for k in range(5):
                yy = 4 * ty + k
                if ty > 0 and k == 0:
                    continue  # (loaded for the previous row of tiles)
                slot = ring[yy % 5]
                sy = yy - top
                if sy < 0 or sy >= h:
                    slot[:] = 0
                    continue
                # (the padding columns are never written: they stay zero)
                for phase in range(4):
                    q0 = (phase - left) % 4  # the first source column of this phase
                    p0 = (left + q0) >> 2
                    count = max(0, (cols - q0 + 3) // 4)
                    dst = slot[phase, p0:p0 + count]
                    for ch in range(c):
                        src = x[b, ch, sy]
                        for j in range(count):
                            dst[j, ch] = src[q0 + 4 * j]
            r0 = ring[(4 * ty) % 5].reshape(-1)
            r1 = ring[(4 * ty + 1) % 5].reshape(-1)
            r2 = ring[(4 * ty + 2) % 5].reshape(-1)
            r3 = ring[(4 * ty + 3) % 5].reshape(-1)
            r4 = ring[(4 * ty + 4) % 5].reshape(-1)
            e0, e2 = e[0], e[1]
            for q in range(4 * plane):  # B^T d: the tile rows combined, whole rows at once
                e0[q] = r0[q] - r2[q]
                e2[q] = r4[q] - r2[q]
            t0 = (b * th + ty) * tw
            for i in range(5):  # (B^T d) B: rows 1, 3 and 4 of B^T d are ring rows 2, 1, 3
                if i == 0:
                    ei = e0
                elif i == 1:
                    ei = r2
                elif i == 2:
                    ei = e2
                elif i == 3:
                    ei = r1
                else:
                    ei = r3
                v0 = vf[5 * i, t0 * c:t0 * c + length]
                v1 = vf[5 * i + 1, t0 * c:t0 * c + length]
                v2 = vf[5 * i + 2, t0 * c:t0 * c + length]
                v3 = vf[5 * i + 3, t0 * c:t0 * c + length]
                v4 = vf[5 * i + 4, t0 * c:t0 * c + length]
                d0 = ei[:length]  # column 4tx of every tile
                d4 = ei[c:c + length]  # 4tx + 4
                d1 = ei[plane:plane + length]  # 4tx + 1
                d2 = ei[2 * plane:2 * plane + length]  # 4tx + 2
                d3 = ei[3 * plane:3 * plane + length]  # 4tx + 3
                for q in range(length):
                    x2 = d2[q]
                    v0[q] = d0[q] - x2
                    v1[q] = x2
                    v2[q] = d4[q] - x2
                    v3[q] = d1[q]
                    v4[q] = d3[q]


def _winograd_s2_output(m, out, bias, has_bias, th, tw):
    """``out`` ``(N, O, Ho, Wo)``: ``A^T m A`` of every stride-2 transformed tile of ``m``
    ``(25, N * th * tw, O)`` (per axis ``(m0 + m1 + m3, m1 + m2 + m4)``), each giving a 2x2
    block of outputs (those inside ``Ho`` x ``Wo``), plus ``bias[o]`` when ``has_bias``; in the
    two stages of ``_winograd_output``."""
    n, o, ho, wo = out.shape
    tc = tw * o
    f = np.empty((2, 5, tc), m.dtype)
    row = np.empty((2 * tw, o), m.dtype)
    flat = row.reshape(-1)
    mf = m.reshape(25, -1)
    for b in range(n):
        for ty in range(th):
            t0 = (b * th + ty) * tw
            for j in range(5):  # A^T m: the rows combined, a row of tiles at once
                m0 = mf[j, t0 * o:(t0 + tw) * o]
                m1 = mf[5 + j, t0 * o:(t0 + tw) * o]
                m2 = mf[10 + j, t0 * o:(t0 + tw) * o]
                m3 = mf[15 + j, t0 * o:(t0 + tw) * o]
                m4 = mf[20 + j, t0 * o:(t0 + tw) * o]
                f0 = f[0, j]
                f1 = f[1, j]
                for q in range(tc):
                    f0[q] = m0[q] + m1[q] + m3[q]
                    f1[q] = m1[q] + m2[q] + m4[q]
            for r in range(2):  # (A^T m) A: the columns combined
                yy = 2 * ty + r
                if yy >= ho:
                    continue
                fr = f[r]
                g0, g1, g2, g3, g4 = fr[0], fr[1], fr[2], fr[3], fr[4]
                for tx in range(tw):
                    d = 2 * tx * o
                    s0 = tx * o
                    for ch in range(o):
                        a1 = g1[s0 + ch]
                        flat[d + ch] = g0[s0 + ch] + a1 + g3[s0 + ch]
                        flat[d + o + ch] = a1 + g2[s0 + ch] + g4[s0 + ch]
                for ch in range(o):
                    dst = out[b, ch, yy]
                    if has_bias:
                        add = bias[ch]
                        for q in range(wo):
                            dst[q] = row[q, ch] + add
                    else:
                        for q in range(wo):
                            dst[q] = row[q, ch]


def _winograd_s2_grad(g, gt, th, tw):
    """``gt`` ``(25, N * th * tw, O)``: ``A g A^T`` of every 2x2 tile ``g`` of the output
    gradient ``(N, O, Ho, Wo)`` (zeros beyond it), per axis ``A g = (g0, g0 + g1, g1, g0, g1)``:
    the weight gradient of the stride-2 Winograd forward pairs these with the input's
    transformed tiles. A row of tiles at a time: its two gradient rows moved to channels-last,
    combined as whole rows, then split into the tiles' columns."""
    n, o, ho, wo = g.shape
    wt = 2 * tw
    rc = wt * o
    r = np.zeros((2, wt, o), g.dtype)
    e = np.empty((3, rc), g.dtype)
    gf = gt.reshape(25, -1)
    for b in range(n):
        for ty in range(th):
            for k in range(2):
                yy = 2 * ty + k
                slot = r[k]
                if yy >= ho:
                    slot[:] = 0
                    continue
                for ch in range(o):
                    src = g[b, ch, yy]
                    for q in range(wo):
                        slot[q, ch] = src[q]
            r0 = r[0].reshape(-1)
            r1 = r[1].reshape(-1)
            e0, e1, e2 = e[0], e[1], e[2]
            for q in range(rc):  # A g: the tile rows combined
                a = r0[q]
                c = r1[q]
                e0[q] = a
                e1[q] = a + c
                e2[q] = c
            t0 = (b * th + ty) * tw
            for i in range(5):  # (A g) A^T: the columns combined
                ei = e[(0, 1, 2, 0, 2)[i]]
                v0 = gf[5 * i, t0 * o:(t0 + tw) * o]
                v1 = gf[5 * i + 1, t0 * o:(t0 + tw) * o]
                v2 = gf[5 * i + 2, t0 * o:(t0 + tw) * o]
                v3 = gf[5 * i + 3, t0 * o:(t0 + tw) * o]
                v4 = gf[5 * i + 4, t0 * o:(t0 + tw) * o]
                for tx in range(tw):
                    a = ei[2 * tx * o:(2 * tx + 2) * o]
                    d = tx * o
                    for ch in range(o):
                        a0 = a[ch]
                        a1 = a[o + ch]
                        v0[d + ch] = a0
                        v1[d + ch] = a0 + a1
                        v2[d + ch] = a1
                        v3[d + ch] = a0
                        v4[d + ch] = a1


def _winograd_s2_scatter(p, gx, th, tw, top, left):
    """``gx`` ``(N, C, H, W)``: the input gradient of the stride-2 Winograd forward from ``p``
    ``(25, N * th * tw, C)``, each tile's products summed over the output channels: ``B p
    B^T`` of every tile (per axis ``x0 += p0``, ``x1 = p3``, ``x2 = p1 - p0 - p2``, ``x3 =
    p4``, ``x4 += p2``), the tiles' shared edge rows and columns added, at ``(-top, -left)``
    (the padding dropped; zero where no tile reaches). A row of tiles at a time: its columns
    combined into five channels-last rows, those into four finished image rows (the fifth
    carried to the next row of tiles), each moved to the C planes."""
    n, c, h, w = gx.shape
    wp = 4 * tw + 1
    rc = wp * c
    cols = max(0, min(w, wp - left))
    rr = np.empty((5, wp, c), p.dtype)
    rows = np.empty((5, wp, c), p.dtype)
    pf = p.reshape(25, -1)
    for b in range(n):
        for ty in range(th):
            t0 = (b * th + ty) * tw
            for i in range(5):  # B p: the columns combined, one channels-last row per tile row
                ri = rr[i].reshape(-1)
                p0 = pf[5 * i, t0 * c:(t0 + tw) * c]
                p1 = pf[5 * i + 1, t0 * c:(t0 + tw) * c]
                p2 = pf[5 * i + 2, t0 * c:(t0 + tw) * c]
                p3 = pf[5 * i + 3, t0 * c:(t0 + tw) * c]
                p4 = pf[5 * i + 4, t0 * c:(t0 + tw) * c]
                for tx in range(tw):  # the tile's three inner columns
                    a = ri[(4 * tx + 1) * c:(4 * tx + 4) * c]
                    d = tx * c
                    for ch in range(c):
                        a[ch] = p3[d + ch]
                        a[c + ch] = p1[d + ch] - p0[d + ch] - p2[d + ch]
                        a[2 * c + ch] = p4[d + ch]
                edge = ri[:c]  # its edge columns, shared with the neighbours
                for ch in range(c):
                    edge[ch] = p0[ch]
                for tx in range(1, tw):
                    edge = ri[4 * tx * c:(4 * tx + 1) * c]
                    d = tx * c
                    for ch in range(c):
                        edge[ch] = p0[d + ch] + p2[d - c + ch]
                edge = ri[4 * tw * c:(4 * tw + 1) * c]
                for ch in range(c):
                    edge[ch] = p2[(tw - 1) * c + ch]
            r0, r1, r2 = rr[0].reshape(-1), rr[1].reshape(-1), rr[2].reshape(-1)
            s0, s1, s2 = rows[0].reshape(-1), rows[1].reshape(-1), rows[2].reshape(-1)
            s3, s4 = rows[3].reshape(-1), rows[4].reshape(-1)
            r3, r4 = rr[3].reshape(-1), rr[4].reshape(-1)
            if ty == 0:
                s4[:] = 0  # (no row of tiles above shares the first row)
            for q in range(rc):  # (B p) B^T: the rows combined
                c0 = r0[q]
                c2 = r2[q]
                s0[q] = c0 + s4[q]
                s1[q] = r3[q]
                s2[q] = r1[q] - c0 - c2
                s3[q] = r4[q]
                s4[q] = c2
            last = 5 if ty == th - 1 else 4
            for k in range(last):
                sy = 4 * ty + k - top
                if sy < 0 or sy >= h:
                    continue
                inside = rows[k, left:left + cols]
                for ch in range(c):
                    dst = gx[b, ch, sy]
                    for q in range(cols):
                        dst[q] = inside[q, ch]
                    for q in range(cols, w):
                        dst[q] = 0
        for sy in range(max(0, 4 * th + 1 - top), h):  # rows no tile reaches
            for ch in range(c):
                gx[b, ch, sy] = 0


def _winograd_grad(g, gt, th, tw):
    """``gt`` ``(16, N * th * tw, O)``: ``A g A^T`` of every 2x2 tile ``g`` of the output
    gradient ``(N, O, Ho, Wo)`` (zeros beyond it), per axis ``A g = (g0, g0 + g1, g0 - g1,
    -g1)``: the weight gradient of the stride-1 Winograd forward pairs these with the input's
    tiles as ``winograd_input`` transforms them. Laid out and computed as
    ``_winograd_s2_grad``."""
    n, o, ho, wo = g.shape
    wt = 2 * tw
    rc = wt * o
    r = np.zeros((2, wt, o), g.dtype)
    e = np.empty((4, rc), g.dtype)
    gf = gt.reshape(16, -1)
    for b in range(n):
        for ty in range(th):
            for k in range(2):
                yy = 2 * ty + k
                slot = r[k]
                if yy >= ho:
                    slot[:] = 0
                    continue
                for ch in range(o):
                    src = g[b, ch, yy]
                    for q in range(wo):
                        slot[q, ch] = src[q]
            r0 = r[0].reshape(-1)
            r1 = r[1].reshape(-1)
            e0, e1, e2, e3 = e[0], e[1], e[2], e[3]
            for q in range(rc):  # A g: the tile rows combined
                a = r0[q]
                c = r1[q]
                e0[q] = a
                e1[q] = a + c
                e2[q] = a - c
                e3[q] = -c
            t0 = (b * th + ty) * tw
            for i in range(4):  # (A g) A^T: the columns combined
                ei = e[i]
                v0 = gf[4 * i, t0 * o:(t0 + tw) * o]
                v1 = gf[4 * i + 1, t0 * o:(t0 + tw) * o]
                v2 = gf[4 * i + 2, t0 * o:(t0 + tw) * o]
                v3 = gf[4 * i + 3, t0 * o:(t0 + tw) * o]
                for tx in range(tw):
                    a = ei[2 * tx * o:(2 * tx + 2) * o]
                    d = tx * o
                    for ch in range(o):
                        a0 = a[ch]
                        a1 = a[o + ch]
                        v0[d + ch] = a0
                        v1[d + ch] = a0 + a1
                        v2[d + ch] = a0 - a1
                        v3[d + ch] = -a1
