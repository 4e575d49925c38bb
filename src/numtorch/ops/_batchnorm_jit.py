"""Compiled (numba) kernels of batch normalization (training mode).

NumPy's batch norm makes about nine passes over the input forward (mean, centring, squares,
variance, scaling, the affine step) and a dozen backward, each a fresh temporary. The compiled
kernels make, forward, two passes for the statistics (float64 sums) and one writing the output;
backward, one pass for the two sums and one writing the input gradient, with ``xhat``
recomputed from the input instead of being stored. Each pass sweeps its block of channels in
memory order, sample by sample. A channel's rows are a page or less each, a sample apart: walked
one channel at a time (the earlier order, which kept a channel's passes in the L2 cache), cold
arrays came from memory at about half the speed, and ResNet-8's batch norms took 25-35 % longer
forward and backward (and no less hot). Each channel's sums add its runs in sample order either
way, so the bits are those of a channel at a time, whatever the blocks.

A ReLU applied to the batch norm's result can leave its backward to the batch norm's
(:func:`_bn_relu_backward`): the ReLU's mask is recomputed from the input, and the pass that
masks the gradient (reading the ReLU's saved result, writing the masked gradient) is spared.

numba is optional and used only when ``numtorch.ops._jit`` uses it (``NUMTORCH_JIT=0`` turns
both off); :func:`kernels` returns None otherwise and the callers keep their NumPy paths.
"""

import numpy as np

from . import _jit as _ops_jit


class _Kernels:
    def __init__(self, numba):
        def jit_sums(fn, **extra):  # reductions: reassociation lets the sums vectorize
            return _ops_jit.njit(numba, fn, nogil=True, error_model="numpy",
                                 fastmath={"reassoc"}, **extra)

        self.bn_forward = jit_sums(_bn_forward)
        # numba compiles a kernel's callees from the module's globals: the shared steps, compiled
        global _add_row_sums, _bn_grad_coefs
        # (inlined: called per row, it made the backward 12 % slower)
        _add_row_sums = jit_sums(_py_add_row_sums, inline="always")
        _bn_grad_coefs = jit_sums(_py_bn_grad_coefs)
        self.bn_backward = jit_sums(_bn_backward)
        self.bn_relu_backward = jit_sums(_bn_relu_backward)


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array's dtype is not float32/float64.
kernels = _ops_jit.family(_Kernels)


# The loop bodies below are compiled by numba (plain Python, slow, if called directly). Sums
# run in the arrays' dtype over runs of _RUN values (vectorized: a float32 lane sums a few
# values) and the runs are added in float64; the element-wise passes run in the arrays' dtype
# (float64 arithmetic on float32 arrays vectorized at half the width and took twice as long).
_RUN = 256


def _bn_forward(x, weight, bias, eps, out, mean, var, invstd, c0, c1):
    """Batch normalization of channels ``[c0, c1)`` of ``x`` ``(N, C, L)`` into ``out``, with
    the batch statistics: ``mean`` and biased ``var`` (two passes), ``invstd``. ``weight`` and
    ``bias`` are ``(C,)`` (ones and zeros when the module has none)."""
    nb, _, length = x.shape
    count = nb * length
    nch = c1 - c0
    zero = np.zeros(1, x.dtype)[0]
    total = np.zeros(nch)
    for b in range(nb):
        for j in range(nch):
            row = x[b, c0 + j]
            for k0 in range(0, length, _RUN):
                run = row[k0:k0 + _RUN]
                part = zero
                for k in range(run.size):
                    part += run[k]
                total[j] += part
    mx = np.empty(nch, x.dtype)  # the means in x's dtype
    for j in range(nch):
        m = total[j] / count
        mean[c0 + j] = m
        mx[j] = m
        total[j] = 0.0
    for b in range(nb):
        for j in range(nch):
            row = x[b, c0 + j]
            m = mx[j]
            for k0 in range(0, length, _RUN):
                run = row[k0:k0 + _RUN]
                part = zero
                for k in range(run.size):
                    d = run[k] - m
                    part += d * d
                total[j] += part
    scale = np.empty(nch, x.dtype)
    for j in range(nch):
        c = c0 + j
        v = total[j] / count
        inv = 1.0 / np.sqrt(v + eps)
        var[c] = v
        invstd[c] = inv
        scale[j] = inv * weight[c]
    for b in range(nb):
        for j in range(nch):
            row = x[b, c0 + j]
            dst = out[b, c0 + j]
            m, a, t = mx[j], scale[j], bias[c0 + j]
            for k in range(length):
                dst[k] = (row[k] - m) * a + t


def _bn_backward(g, x, mean, invstd, weight, gi, gw, gb, need_input, c0, c1):
    """Gradients of batch normalization (batch statistics) for channels ``[c0, c1)``: ``gb``
    and ``gw`` (the sums of ``g`` and ``g * xhat``) and, when ``need_input``, ``gi`` through
    the statistics, with ``xhat`` recomputed from ``x``."""
    nb, _, length = x.shape
    nch = c1 - c0
    mx = np.empty(nch, x.dtype)  # the means in x's dtype
    for j in range(nch):
        mx[j] = mean[c0 + j]
    zero = np.zeros(1, x.dtype)[0]
    sg = np.zeros(nch)
    sgx = np.zeros(nch)
    for b in range(nb):
        for j in range(nch):
            _add_row_sums(g[b, c0 + j], x[b, c0 + j], mx[j], zero, sg, sgx, j)
    k1, k2, k3 = _bn_grad_coefs(sg, sgx, invstd, weight, gw, gb, nb * length, x.dtype, c0)
    if need_input:
        for b in range(nb):
            for j in range(nch):
                grow = g[b, c0 + j]
                xrow = x[b, c0 + j]
                dst = gi[b, c0 + j]
                a1, m, a2, a3 = k1[j], mx[j], k2[j], k3[j]
                for k in range(length):
                    dst[k] = grow[k] * a1 + (xrow[k] - m) * a2 + a3


def _add_row_sums(grow, xrow, m, zero, sg, sgx, j):
    """Adds one row's sums of ``g`` and ``g * (x - m)`` to ``sg[j]`` and ``sgx[j]`` (float64),
    in runs of ``_RUN`` summed in ``x``'s dtype: the order every backward kernel sums in."""
    length = grow.size
    for k0 in range(0, length, _RUN):
        grun = grow[k0:k0 + _RUN]
        xrun = xrow[k0:k0 + _RUN]
        part_g = zero
        part_gx = zero
        for k in range(grun.size):
            gv = grun[k]
            part_g += gv
            part_gx += gv * (xrun[k] - m)
        sg[j] += part_g
        sgx[j] += part_gx


def _bn_grad_coefs(sg, sgx, invstd, weight, gw, gb, count, dtype, c0):
    """``gb`` and ``gw`` of the block's channels from the float64 sums of ``g`` and
    ``g * (x - mean)``, and the input gradient's coefficients in ``dtype``:
    ``gi = g * k1 + (x - mean) * k2 + k3``."""
    nch = sg.size
    k1 = np.empty(nch, dtype)
    k2 = np.empty(nch, dtype)
    k3 = np.empty(nch, dtype)
    for j in range(nch):
        c = c0 + j
        inv = invstd[c]
        gb[c] = sg[j]
        gw[c] = sgx[j] * inv
        scale = inv * weight[c]
        k1[j] = scale
        k2[j] = -scale * inv * inv * sgx[j] / count
        k3[j] = -scale * sg[j] / count
    return k1, k2, k3


def _bn_relu_backward(g, g2, two, x, mean, invstd, weight, shift, gi, gw, gb, c0, c1):
    """:func:`_bn_backward` (with the input gradient) of ``relu(batch_norm(x))`` given the
    ReLU's gradient ``g`` (plus ``g2`` when ``two``: a ReLU with two consumers, their gradients
    added here as the engine adds them). The ReLU's result is recomputed per element with the
    forward's own expression and rounding (``(x - mean) * scale + shift`` in ``x``'s dtype,
    ``shift`` the bias as the forward used it), so its mask is exactly the forward's. A row's
    masked gradient goes into ``gi`` and is summed from there as :func:`_bn_backward` sums
    ``g`` (the same bits); the second pass overwrites it with the input gradient."""
    nb, _, length = x.shape
    nch = c1 - c0
    mx = np.empty(nch, x.dtype)
    scale = np.empty(nch, x.dtype)
    for j in range(nch):
        mx[j] = mean[c0 + j]
        scale[j] = invstd[c0 + j] * weight[c0 + j]  # the forward's scale, rounded as there
    zero = np.zeros(1, x.dtype)[0]
    sg = np.zeros(nch)
    sgx = np.zeros(nch)
    for b in range(nb):
        for j in range(nch):
            m, a, t = mx[j], scale[j], shift[c0 + j]
            grow = g[b, c0 + j]
            grow2 = g2[b, c0 + j]
            xrow = x[b, c0 + j]
            dst = gi[b, c0 + j]
            if two:
                for k in range(length):
                    dst[k] = 0 if (xrow[k] - m) * a + t <= 0 else grow[k] + grow2[k]
            else:
                for k in range(length):
                    dst[k] = 0 if (xrow[k] - m) * a + t <= 0 else grow[k]
            _add_row_sums(dst, xrow, m, zero, sg, sgx, j)
    k1, k2, k3 = _bn_grad_coefs(sg, sgx, invstd, weight, gw, gb, nb * length, x.dtype, c0)
    for b in range(nb):
        for j in range(nch):
            xrow = x[b, c0 + j]
            dst = gi[b, c0 + j]
            a1, m, a2, a3 = k1[j], mx[j], k2[j], k3[j]
            for k in range(length):
                dst[k] = dst[k] * a1 + (xrow[k] - m) * a2 + a3


# (the Python functions, which _Kernels compiles)
_py_add_row_sums = _add_row_sums
_py_bn_grad_coefs = _bn_grad_coefs
