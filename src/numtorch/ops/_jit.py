"""Optional compiled kernels (numba) for the memory-bound loops of convolution, max pooling
and ReLU, SGD's momentum update, and erf/erfc.

``im2col`` and ``col2im`` move every element of a convolution's input once per kernel offset.
NumPy does that as a strided copy whose innermost run is one output row (10 elements on LeNet's
second convolution) and, for col2im, as ``kh * kw`` separate slice-adds; a compiled loop does
the same work two to four times faster. The matrix products stay with BLAS. 2x2 max pooling
finds each window's maximum and its position in one pass instead of four whole-array passes,
ReLU runs at memory speed (NumPy's ``maximum`` against a scalar is several times slower
than a copy), SGD's momentum step reads and writes each array once instead of four passes, and
erf/erfc run libm's functions in a compiled loop instead of a Python call per element, and
float32 log1p is a loop the compiler vectorises (NumPy calls libm per element: 7 times slower).

numba is an optional dependency (``pip install "numtorch[fast]"``). Without it, or with the
environment variable ``NUMTORCH_JIT=0``, :func:`kernels` returns None and every caller uses its
pure-NumPy path: the same values up to float rounding (col2im sums in another order; im2col,
pooling, ReLU and the SGD update are bitwise equal). numba is imported on the first use, not with
numtorch, and compiled kernels are cached on disk, so only the very first run pays the
compilation (one to two seconds).
"""

import math
import os

import numpy as np

#: Whether to use the compiled kernels when numba is installed (tests switch it off and on).
ENABLED = os.environ.get("NUMTORCH_JIT", "1").strip().lower() not in ("0", "false", "no", "off")

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_kernels = None  # None: not tried yet; False: numba is missing; otherwise the namespace


def njit(numba, fn, **options):
    """``numba.njit(**options)(fn)``, cached on disk where a cache directory is writable (and
    compiled in every process where none is)."""
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:
        return numba.njit(**options)(fn)


def family(build, dtypes=_DTYPES):
    """The ``kernels(*arrays)`` gate of another module's compiled kernels, gated like this
    module's own: ``build(numba)`` makes them on first use; the gate returns them, or None when
    compiled kernels are off (:data:`ENABLED`), numba cannot be used here (:func:`_load`), the
    build fails, or an array's dtype is not one of ``dtypes``."""
    made = None  # None: not tried yet; False: unusable; otherwise what build returned

    def gate(*arrays):
        nonlocal made
        if not ENABLED:
            return None
        for a in arrays:
            if a.dtype not in dtypes:
                return None
        if made is None:
            made = False
            if kernels() is not None:  # numba loads and works here (this module's kernels)
                try:
                    import numba  # deferred: optional dependency (numba)

                    made = build(numba)
                except Exception:  # noqa: BLE001 - any failure means: NumPy alone (see _load)
                    made = False
        return made or None

    return gate


class _Kernels:
    """The compiled functions; each writes into the arrays it is given and returns nothing."""

    def __init__(self, numba):
        def jit(fn):
            return njit(numba, fn, nogil=True)

        self.im2col_unit = jit(_im2col_unit)
        self.im2col_any = jit(_im2col_any)
        self.col2im_unit = jit(_col2im_unit)
        self.col2im_any = jit(_col2im_any)
        self.pad_into = jit(_pad_into)
        self.max_pool2x2 = jit(_max_pool2x2)
        self.max_pool2x2_unless_nan = jit(_max_pool2x2_unless_nan)
        self.max_pool2x2_backward = jit(_max_pool2x2_backward)
        self.max_pool2d = jit(_max_pool2d)
        self.max_pool2d_backward = jit(_max_pool2d_backward)
        self.relu = jit(_relu)
        self.relu_backward = jit(_relu_backward)
        self.relu_backward_sum = jit(_relu_backward_sum)
        self.sgd_momentum = jit(_sgd_momentum)
        self.sgd = jit(_sgd)
        self.erf = jit(_erf)
        self.erfc = jit(_erfc)
        # (numpy's error model: a division by zero gives inf/nan instead of raising, which
        # would keep the loop from vectorising)
        self.log1p32 = njit(numba, _log1p32, nogil=True, fastmath={"contract"},
                            error_model="numpy")

    def im2col(self, xp, cols, sh, sw, dh, dw):
        """Fill ``cols`` ``(N, C, kh, kw, ho, wo)`` with the windows of ``xp`` ``(N, C, H, W)``."""
        if sh == sw == dh == dw == 1:
            self.im2col_unit(xp, cols)
        else:
            self.im2col_any(xp, cols, sh, sw, dh, dw)

    def col2im(self, cols, out, sh, sw, dh, dw):
        """Add each window column of ``cols`` onto its place in ``out`` ``(N, C, H, W)``."""
        if sh == sw == dh == dw == 1:
            self.col2im_unit(cols, out)
        else:
            self.col2im_any(cols, out, sh, sw, dh, dw)


def _load():
    """The kernels, or False when numba cannot be used here. Any failure counts, not only a
    missing package: an installed numba that does not match NumPy's version raises ImportError,
    a broken llvmlite OSError, and numtorch must then run on NumPy alone."""
    global unavailable_reason
    try:
        import numba  # deferred: optional dependency (numba)

        return _Kernels(numba)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        unavailable_reason = f"{type(exc).__name__}: {exc}"
        return False


#: Why the compiled kernels are not used (None while they are, or before the first attempt).
unavailable_reason = None


def kernels(*arrays):
    """The compiled kernels, or None when they are off, numba is missing, or an array's dtype
    is not float32/float64."""
    global _kernels
    if not ENABLED:
        return None
    if _kernels is None:
        _kernels = _load()
    if _kernels is False:
        return None
    for a in arrays:
        if a.dtype not in _DTYPES:
            return None
    return _kernels


# The loop bodies below are compiled by numba (plain Python, slow, if called directly). Indices
# are written so the compiler can see they are never negative; otherwise it adds a wrap-around
# check per element and cannot vectorise the inner loop.
def _im2col_unit(xp, cols):
    n, c, kh, kw, ho, wo = cols.shape
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    for y in range(ho):
                        src = xp[b, ch, y + i]
                        dst = cols[b, ch, i, j, y]
                        for x in range(wo):
                            dst[x] = src[x + j]


def _im2col_any(xp, cols, sh, sw, dh, dw):
    n, c, kh, kw, ho, wo = cols.shape
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    off = max(j * dw, 0)
                    for y in range(ho):
                        src = xp[b, ch, max(y * sh + i * dh, 0)]
                        dst = cols[b, ch, i, j, y]
                        for x in range(wo):
                            dst[x] = src[off + x * sw]


def _col2im_unit(cols, out):
    n, c, kh, kw, ho, wo = cols.shape
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    for y in range(ho):
                        src = cols[b, ch, i, j, y]
                        dst = out[b, ch, y + i]
                        for x in range(wo):
                            dst[x + j] += src[x]


def _col2im_any(cols, out, sh, sw, dh, dw):
    n, c, kh, kw, ho, wo = cols.shape
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    off = max(j * dw, 0)
                    for y in range(ho):
                        src = cols[b, ch, i, j, y]
                        dst = out[b, ch, max(y * sh + i * dh, 0)]
                        for x in range(wo):
                            dst[off + x * sw] += src[x]


def _pad_into(x, xp, top, left):
    """``xp`` ``(N, C, Hp, Wp)`` = ``x`` ``(N, C, H, W)`` at ``(top, left)``, zero around it
    (one pass writing every element of ``xp`` once)."""
    n, c, h, w = x.shape
    hp, wp = xp.shape[2], xp.shape[3]
    top = max(top, 0)
    left = max(left, 0)
    for b in range(n):
        for ch in range(c):
            src = x[b, ch]
            dst = xp[b, ch]
            for y in range(top):
                for q in range(wp):
                    dst[y, q] = 0
            for y in range(h):
                row = dst[y + top]
                srow = src[y]
                for q in range(left):
                    row[q] = 0
                for q in range(w):
                    row[left + q] = srow[q]
                for q in range(left + w, wp):
                    row[q] = 0
            for y in range(top + h, hp):
                for q in range(wp):
                    dst[y, q] = 0


def _max_pool2x2(xp, out, arg):
    """2x2 windows at stride 2 (the common max pooling): the maxima of ``xp`` (padded with -inf
    where needed) into ``out``, and into ``arg`` the in-window position ``2 * i + j`` of the
    first maximum, or of the last NaN (a NaN always takes over, as in PyTorch). Written out for
    this one shape: a loop over a run-time kernel size was slower than NumPy."""
    n, c, ho, wo = out.shape
    for b in range(n):
        for ch in range(c):
            for y in range(ho):
                r0 = xp[b, ch, 2 * y]
                r1 = xp[b, ch, 2 * y + 1]
                o = out[b, ch, y]
                a = arg[b, ch, y]
                for x in range(wo):
                    best = r0[2 * x]
                    pos = 0
                    v = r0[2 * x + 1]
                    if v > best or v != v:
                        best = v
                        pos = 1
                    v = r1[2 * x]
                    if v > best or v != v:
                        best = v
                        pos = 2
                    v = r1[2 * x + 1]
                    if v > best or v != v:
                        best = v
                        pos = 3
                    o[x] = best
                    a[x] = pos


def _max_pool2x2_unless_nan(xp, out, arg, positions):
    """:func:`_max_pool2x2` for inputs without NaN (``arg`` written only with ``positions``),
    and whether there was one (then ``out`` and ``arg`` are not final: run
    :func:`_max_pool2x2` instead). Without the per-element NaN rule the window comparisons
    become selects the compiler vectorises: about six times faster, twelve without the
    positions (the compiler takes the test of ``positions`` out of the loop)."""
    n, c, ho, wo = out.shape
    nan = False
    for b in range(n):
        for ch in range(c):
            for y in range(ho):
                r0 = xp[b, ch, 2 * y]
                r1 = xp[b, ch, 2 * y + 1]
                o = out[b, ch, y]
                a = arg[b, ch, y]
                for x in range(wo):
                    v0 = r0[2 * x]
                    v1 = r0[2 * x + 1]
                    v2 = r1[2 * x]
                    v3 = r1[2 * x + 1]
                    later = v1 > v0
                    best = v1 if later else v0
                    pos = 1 if later else 0
                    later = v2 > best
                    best = v2 if later else best
                    pos = 2 if later else pos
                    later = v3 > best
                    best = v3 if later else best
                    pos = 3 if later else pos
                    o[x] = best
                    if positions:
                        a[x] = pos
                    nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3)
    return nan


def _max_pool2x2_backward(g, arg, gx):
    """Writes each output gradient to the input position of its window's maximum and zeros to
    the window's other three positions (``gx`` beyond ``2 * ho`` x ``2 * wo`` is left as is).
    ``g`` and ``gx`` are the gradients' bits (viewed as same-sized integers): each value is
    masked with all ones or all zeros, which vectorises, where a select between the value and
    0.0 compiled to branches (3.5 times slower)."""
    n, c, ho, wo = g.shape
    for b in range(n):
        for ch in range(c):
            for y in range(ho):
                r0 = gx[b, ch, 2 * y]
                r1 = gx[b, ch, 2 * y + 1]
                gr = g[b, ch, y]
                ar = arg[b, ch, y]
                for x in range(wo):
                    v = gr[x]
                    a = np.int32(ar[x])
                    r0[2 * x] = v & -np.int32(a == 0)
                    r0[2 * x + 1] = v & -np.int32(a == 1)
                    r1[2 * x] = v & -np.int32(a == 2)
                    r1[2 * x + 1] = v & -np.int32(a == 3)


def _max_pool2d(x, out, arg, kh, kw, sh, sw, ph, pw, dh, dw):
    """Any other max pooling of ``x`` ``(N, C, H, W)``, padded by ``ph``/``pw`` (left out, never
    read), into ``out`` and, in ``arg``, each window's in-window position ``i * kw + j`` of its
    first maximum or last NaN (PyTorch's scan; a window's first valid position where all its
    values are -inf). Separable: each input row's maxima over a kernel row's taps for every
    output column first (the rows shared by overlapping windows are swept once), then those
    over the window's rows (ResNet's 3x3 stride-2 pooling of (4, 64, 112, 112): NumPy's views
    58, whole windows 38 to 46, separable 32 to 40 ms)."""
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    row_best = np.empty((h, wo), x.dtype)
    row_pos = np.empty((h, wo), np.int32)
    best = np.empty(wo, x.dtype)
    pos = np.empty(wo, np.int32)
    lowest = -np.inf
    first_j = np.zeros(wo, np.int32)  # each output column's first tap inside the input
    for q in range(wo):
        while first_j[q] < kw - 1 and q * sw - pw + first_j[q] * dw < 0:
            first_j[q] += 1
    for b in range(n):
        for ch in range(c):
            plane = x[b, ch]
            for r in range(h):
                src = plane[r]
                rb = row_best[r]
                rp = row_pos[r]
                for q in range(wo):
                    rb[q] = lowest
                    rp[q] = first_j[q]
                for j in range(kw):
                    off = j * dw - pw
                    q0 = (-off + sw - 1) // sw if off < 0 else 0
                    q1 = min(wo, (w - 1 - off) // sw + 1) if w - 1 - off >= 0 else 0
                    for q in range(q0, q1):
                        v = src[q * sw + off]
                        take = (v > rb[q]) | (v != v)
                        rb[q] = v if take else rb[q]
                        rp[q] = j if take else rp[q]
            for y in range(ho):
                y0 = y * sh - ph
                first_i = 0
                while first_i < kh - 1 and y0 + first_i * dh < 0:
                    first_i += 1
                for q in range(wo):
                    best[q] = lowest
                    pos[q] = first_i * kw + first_j[q]
                for i in range(kh):
                    r = y0 + i * dh
                    if r < 0 or r >= h:
                        continue
                    rb = row_best[r]
                    rp = row_pos[r]
                    for q in range(wo):
                        v = rb[q]
                        take = (v > best[q]) | (v != v)
                        best[q] = v if take else best[q]
                        pos[q] = i * kw + rp[q] if take else pos[q]
                o = out[b, ch, y]
                a = arg[b, ch, y]
                for q in range(wo):
                    o[q] = best[q]
                    a[q] = pos[q]


def _max_pool2d_backward(g, arg, gx, kh, kw, sh, sw, ph, pw, dh, dw):
    """Adds each output gradient of :func:`_max_pool2d` into ``gx`` (zeros) at its window's
    maximum (positions outside the input, possible only for positions another path
    computed, are skipped)."""
    n, c, ho, wo = g.shape
    h, w = gx.shape[2], gx.shape[3]
    for b in range(n):
        for ch in range(c):
            dst = gx[b, ch]
            for y in range(ho):
                gr = g[b, ch, y]
                ar = arg[b, ch, y]
                for q in range(wo):
                    k = np.int64(ar[q])
                    r = y * sh - ph + (k // kw) * dh
                    col = q * sw - pw + (k % kw) * dw
                    if 0 <= r < h and 0 <= col < w:
                        dst[r, col] += gr[q]


def _relu(x, out):
    """``out = max(x, 0)`` over flat arrays; NaN and -0.0 stay as they are (as in PyTorch)."""
    for k in range(x.size):
        v = x[k]
        out[k] = 0 if v < 0 else v


def _relu_backward(g, result, out):
    """``out = 0 where the ReLU's result is <= 0, else g`` over flat arrays (a NaN result
    passes its gradient, as in PyTorch)."""
    for k in range(g.size):
        out[k] = 0 if result[k] <= 0 else g[k]


def _relu_backward_sum(a, b, result, out):
    """``_relu_backward`` of the gradient ``a + b`` (two consumers' gradients, added here as
    the engine adds them: the same bits without a pass writing the sum)."""
    for k in range(a.size):
        out[k] = 0 if result[k] <= 0 else a[k] + b[k]


def _sgd_momentum(param, buf, grad, apply_decay, decay, momentum, neg_lr):
    """``g = grad (+ decay * param if apply_decay); buf = buf * momentum + g; param += neg_lr *
    buf`` over flat arrays, rounding after each operation exactly as the NumPy path's in-place
    steps do (scalars of the arrays' dtype; no fused multiply-add)."""
    for k in range(param.size):
        g = grad[k]
        if apply_decay:
            g = param[k] * decay + g
        b = buf[k] * momentum
        b = b + g
        buf[k] = b
        param[k] += neg_lr * b


def _sgd(param, grad, apply_decay, decay, neg_lr):
    """``param += neg_lr * (grad (+ decay * param if apply_decay))`` over flat arrays, rounding
    after each operation as the NumPy path does (no fused multiply-add)."""
    for k in range(param.size):
        g = grad[k]
        if apply_decay:
            g = param[k] * decay + g
        param[k] += neg_lr * g


def _erf(x, out):
    """``out = erf(x)`` over flat arrays, computed in float64 (libm's erf, as ``math.erf``)."""
    for k in range(x.size):
        out[k] = math.erf(np.float64(x[k]))


def _erfc(x, out):
    """``out = erfc(x)`` over flat arrays, computed in float64 (libm's erfc)."""
    for k in range(x.size):
        out[k] = math.erfc(np.float64(x[k]))


def _log1p32(x, out):
    """``out = log1p(x)`` over flat float32 arrays, computed in float64 in a form the compiler
    vectorises: ``u = 1 + x`` (rounded), ``log(u)`` by the exponent of ``u`` and, for its
    mantissa ``1 + f`` in ``[sqrt(1/2), sqrt(2))``, ``2 atanh(s)`` with ``s = f / (2 + f)`` as a
    degree-13 odd series (relative error below 1e-10), plus ``(x - (u - 1)) / u``, what the
    rounding of ``1 + x`` lost (to first order; it is the whole result for tiny ``x``). Then
    rounded once to float32. Checked against float64 ``log1p`` rounded to float32 on every
    seventh float32: within one unit in the last place, all but 3e-8 of them exact; -1 gives
    -inf, below -1 nan, and inf, nan and signed zeros pass through."""
    for k in range(x.size):
        v = x[k]
        d = np.float64(v)
        u = 1.0 + d
        c = (d - (u - 1.0)) / u
        # u = 2**e * m with m in [sqrt(1/2), sqrt(2)): the exponent and mantissa fields of u
        # moved by sqrt(1/2)'s bits, so that the split falls at sqrt(1/2)
        bits = np.float64(u).view(np.int64) - np.int64(0x3FE6A09E667F3BCD)
        e = np.float64(bits >> np.int64(52))
        m = np.int64((bits & np.int64(0x000FFFFFFFFFFFFF))
                     + np.int64(0x3FE6A09E667F3BCD)).view(np.float64)
        f = m - 1.0
        s = f / (2.0 + f)
        z = s * s
        p = 2.0 / 13.0
        p = p * z + 2.0 / 11.0
        p = p * z + 2.0 / 9.0
        p = p * z + 2.0 / 7.0
        p = p * z + 2.0 / 5.0
        p = p * z + 2.0 / 3.0
        p = p * z + 2.0
        res = np.float32(e * 0.6931471805599453 + (s * p + c))
        if not v > np.float32(-1.0):  # -1 gives -inf, below -1 (and nan) nan
            res = np.float32(-np.inf) if v == np.float32(-1.0) else np.float32(np.nan)
        if v == np.float32(np.inf) or v == np.float32(0.0):  # (0.0 keeps its sign)
            res = v
        out[k] = res
