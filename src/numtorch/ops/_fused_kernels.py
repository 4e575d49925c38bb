"""The compiled kernels of :mod:`numtorch.ops._fused` (imported only where numba is)."""

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic


def _inline(fn):
    """A helper compiled into its callers (numba IR inlining, so LLVM can vectorise the loop)."""
    return numba.njit(inline="always", error_model="numpy")(fn)


def _jit(fn=None, *, reduces=False):
    """Compile a kernel. ``error_model="numpy"``: no ZeroDivisionError check per division (it
    stops vectorisation). ``reduces``: the kernel sums along rows, and may do so in any order
    (``fastmath`` reassociation, so sums vectorise; fixed for a given build, whatever the
    thread count)."""
    if fn is None:
        return lambda f: _jit(f, reduces=reduces)
    options = {"nogil": True, "error_model": "numpy"}
    if reduces:
        options["fastmath"] = {"reassoc", "nsz"}
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:  # pragma: no cover - no writable cache directory
        return numba.njit(**options)(fn)


@intrinsic
def as_float32(typingctx, bits):
    """The float32 whose bit pattern is the int32 ``bits``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@_inline
def _exp(v):
    """exp(v) for float32 v: 0 below -87.3 (float32 underflow, denormals flushed), inf above
    88.7, nan for nan."""
    c = min(max(v, np.float32(-87.0)), np.float32(88.0))
    n = np.floor(c * np.float32(1.4426950408889634) + np.float32(0.5))
    r = c - n * np.float32(0.693359375)
    r = r - n * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * (r * r) + r + np.float32(1.0)
    p = p * as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
    if v < np.float32(-87.0):
        p = np.float32(0.0)
    if v > np.float32(88.0):
        p = np.float32(np.inf)
    if v != v:
        p = v
    return p


@_inline
def _erfc_scaled(z):
    a = abs(z)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.5) * a)
    p = np.float32(0.17087277)
    p = p * t + np.float32(-0.82215223)
    p = p * t + np.float32(1.48851587)
    p = p * t + np.float32(-1.13520398)
    p = p * t + np.float32(0.27886807)
    p = p * t + np.float32(-0.18628806)
    p = p * t + np.float32(0.09678418)
    p = p * t + np.float32(0.37409196)
    p = p * t + np.float32(1.00002368)
    p = p * t + np.float32(-1.26551223)
    return t * _exp(p), _exp(-(a * a))


@_jit
def gelu(x, out):
    """out = x * Phi(x) = x * erfc(-x / sqrt 2) / 2 (1-d arrays)."""
    for k in range(x.size):
        v = x[k]
        z = v * np.float32(-0.7071067811865476)
        s, e = _erfc_scaled(z)
        c = s * e
        if z < 0:
            c = np.float32(2.0) - c
        out[k] = v * (c * np.float32(0.5))


@_jit
def gelu_backward(x, g, out):
    """out = g * (Phi(x) + x * phi(x)) (1-d arrays)."""
    for k in range(x.size):
        v = x[k]
        z = v * np.float32(-0.7071067811865476)
        s, e = _erfc_scaled(z)
        c = s * e
        if z < 0:
            c = np.float32(2.0) - c
        out[k] = g[k] * (c * np.float32(0.5) + v * (e * np.float32(0.3989422804014327)))


@_jit
def sigmoid(x, out):
    """out = 1 / (1 + exp(-x)) (1-d arrays): 0 where exp(-x) overflows, 1 where it underflows;
    results below float32's smallest normal number are flushed to 0 (see :func:`_exp`)."""
    for k in range(x.size):
        out[k] = np.float32(1.0) / (np.float32(1.0) + _exp(-x[k]))


@_jit
def sigmoid_backward(y, g, out):
    """out = g * y * (1 - y), rounded as the NumPy path rounds it ((g * y) * (1 - y))."""
    for k in range(y.size):
        v = y[k]
        out[k] = g[k] * v * (np.float32(1.0) - v)


@_jit(reduces=True)
def softmax(x, out, start, stop, safe):
    """Softmax of rows start:stop of the 2-d x into out. Rows of all -inf give nan, as
    NumPy's and PyTorch's softmax, or with ``safe`` zeros (PyTorch's ``_safe_softmax``)."""
    n = x.shape[1]
    for i in range(start, stop):
        xi = x[i]
        oi = out[i]
        top = xi[0]
        for j in range(1, n):
            top = max(top, xi[j])
        if safe and top == -np.inf:
            for j in range(n):
                oi[j] = np.float32(0.0)
            continue
        total = np.float32(0.0)
        for j in range(n):
            e = _exp(xi[j] - top)
            oi[j] = e
            total += e
        inv = np.float32(1.0) / total
        for j in range(n):
            oi[j] *= inv


@_jit(reduces=True)
def softmax_backward(y, g, out, start, stop):
    """out = y * (g - sum(g * y)) for rows start:stop (2-d arrays)."""
    n = y.shape[1]
    for i in range(start, stop):
        yi = y[i]
        gi = g[i]
        oi = out[i]
        dot = np.float32(0.0)
        for j in range(n):
            dot += yi[j] * gi[j]
        for j in range(n):
            oi[j] = yi[j] * (gi[j] - dot)


@_jit(reduces=True)
def layer_norm(x, w, b, eps, out, xhat, invstd, start, stop):
    """Rows start:stop of the 2-d x normalized (two-pass mean and biased variance, in float64
    sums) into xhat and invstd, and xhat * w + b into out (w, b: 1-d; empty when absent)."""
    n = x.shape[1]
    has_w = w.shape[0] > 0
    has_b = b.shape[0] > 0
    for i in range(start, stop):
        xi = x[i]
        hi = xhat[i]
        oi = out[i]
        total = np.float32(0.0)
        for j in range(n):
            total += xi[j]
        mean = total / np.float32(n)
        sq = np.float32(0.0)
        for j in range(n):
            d = xi[j] - mean
            hi[j] = d
            sq += d * d
        inv = np.float32(1.0) / np.sqrt(sq / np.float32(n) + eps)
        invstd[i] = inv
        for j in range(n):
            h = hi[j] * inv
            hi[j] = h
            if has_w:
                h = h * w[j]
            if has_b:
                h = h + b[j]
            oi[j] = h


@_jit(reduces=True)
def layer_norm_backward(g, xhat, invstd, w, gi, gw, gb, start, stop):
    """For rows start:stop: the input gradient into gi (when it has rows) and the sums over
    these rows of g * xhat and g added into gw and gb (1-d float64; empty when not needed)."""
    n = g.shape[1]
    has_w = w.shape[0] > 0
    want_i = gi.shape[0] > 0
    want_w = gw.shape[0] > 0
    want_b = gb.shape[0] > 0
    for i in range(start, stop):
        g_i = g[i]
        h_i = xhat[i]
        if want_w:
            for j in range(n):
                gw[j] += g_i[j] * h_i[j]
        if want_b:
            for j in range(n):
                gb[j] += g_i[j]
        if want_i:
            o_i = gi[i]
            s1 = np.float32(0.0)
            s2 = np.float32(0.0)
            for j in range(n):
                gh = g_i[j] * w[j] if has_w else g_i[j]
                o_i[j] = gh
                s1 += gh
                s2 += gh * h_i[j]
            m1 = s1 / np.float32(n)
            m2 = s2 / np.float32(n)
            inv = invstd[i]
            for j in range(n):
                o_i[j] = (o_i[j] - m1 - h_i[j] * m2) * inv


@_inline
def _mix32(h):
    """Chris Wellons's "lowbias32" integer hash (a bijection of uint32), in uint32 arithmetic
    (products reduced mod 2**32, which LLVM narrows back to 32-bit multiplies)."""
    h = np.uint32(h ^ (h >> np.uint32(16)))
    h = np.uint32((np.uint64(h) * np.uint64(0x7FEB352D)) & np.uint64(0xFFFFFFFF))
    h = np.uint32(h ^ (h >> np.uint32(15)))
    h = np.uint32((np.uint64(h) * np.uint64(0x846CA68B)) & np.uint64(0xFFFFFFFF))
    return np.uint32(h ^ (h >> np.uint32(16)))


@_jit
def dropout_noise(start, s0, s1, threshold, scale, out):
    """out[i] = scale where the hash of the element index start + i under the key (s0, s1) is
    at least threshold, else 0 (out 1-d); see ops.dropout._hash_bits."""
    for i in range(out.size):
        h = _mix32(np.uint32((start + i + s0) & 0xFFFFFFFF))
        h = _mix32(np.uint32(h ^ s1))
        out[i] = scale if h >= threshold else np.float32(0.0)


@_jit
def dropout_apply(start, s0, s1, threshold, scale, x, noise, out):
    """dropout_noise into noise, and x * noise into out."""
    for i in range(out.size):
        h = _mix32(np.uint32((start + i + s0) & 0xFFFFFFFF))
        h = _mix32(np.uint32(h ^ s1))
        m = scale if h >= threshold else np.float32(0.0)
        noise[i] = m
        out[i] = x[i] * m
