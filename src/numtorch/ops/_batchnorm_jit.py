"""Compiled (numba) kernels of batch normalization (training mode).

NumPy's batch norm makes about nine passes over the input forward (mean, centring, squares,
variance, scaling, the affine step) and a dozen backward, each a fresh temporary. The compiled
kernels work a channel at a time while it is in cache: forward, two passes for the statistics
(float64 sums) and one writing the output; backward, one pass for the two sums and one writing
the input gradient, with ``xhat`` recomputed from the input instead of being stored.

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
        def jit_sums(fn):  # reductions: reassociation lets the sums vectorize
            return _ops_jit.njit(numba, fn, nogil=True, error_model="numpy",
                                 fastmath={"reassoc"})

        self.bn_forward = jit_sums(_bn_forward)
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
    coef = np.zeros(3, x.dtype)  # scalars in x's dtype
    for c in range(c0, c1):
        total = 0.0
        for b in range(nb):
            row = x[b, c]
            for k0 in range(0, length, _RUN):
                run = row[k0:k0 + _RUN]
                part = coef[2]
                for k in range(run.size):
                    part += run[k]
                total += part
        m = total / count
        coef[0] = m
        mx = coef[0]
        total = 0.0
        for b in range(nb):
            row = x[b, c]
            for k0 in range(0, length, _RUN):
                run = row[k0:k0 + _RUN]
                part = coef[2]
                for k in range(run.size):
                    d = run[k] - mx
                    part += d * d
                total += part
        v = total / count
        inv = 1.0 / np.sqrt(v + eps)
        mean[c] = m
        var[c] = v
        invstd[c] = inv
        coef[1] = inv * weight[c]
        scale = coef[1]
        shift = bias[c]
        for b in range(nb):
            row = x[b, c]
            dst = out[b, c]
            for k in range(length):
                dst[k] = (row[k] - mx) * scale + shift


def _bn_backward(g, x, mean, invstd, weight, gi, gw, gb, need_input, c0, c1):
    """Gradients of batch normalization (batch statistics) for channels ``[c0, c1)``: ``gb``
    and ``gw`` (the sums of ``g`` and ``g * xhat``) and, when ``need_input``, ``gi`` through
    the statistics, with ``xhat`` recomputed from ``x``."""
    nb, _, length = x.shape
    count = nb * length
    coef = np.zeros(5, x.dtype)  # scalars in x's dtype
    for c in range(c0, c1):
        m = mean[c]
        coef[0] = m
        mx = coef[0]
        sg = 0.0
        sgx = 0.0
        for b in range(nb):
            grow = g[b, c]
            xrow = x[b, c]
            for k0 in range(0, length, _RUN):
                grun = grow[k0:k0 + _RUN]
                xrun = xrow[k0:k0 + _RUN]
                part_g = coef[4]
                part_gx = coef[4]
                for k in range(grun.size):
                    gv = grun[k]
                    part_g += gv
                    part_gx += gv * (xrun[k] - mx)
                sg += part_g
                sgx += part_gx
        inv = invstd[c]
        gb[c] = sg
        gw[c] = sgx * inv
        if need_input:
            scale = inv * weight[c]
            coef[1] = scale
            coef[2] = -scale * inv * inv * sgx / count
            coef[3] = -scale * sg / count
            k1, k2, k3 = coef[1], coef[2], coef[3]
            for b in range(nb):
                grow = g[b, c]
                xrow = x[b, c]
                dst = gi[b, c]
                for k in range(length):
                    dst[k] = grow[k] * k1 + (xrow[k] - mx) * k2 + k3


def _bn_relu_backward(g, g2, two, x, mean, invstd, weight, shift, gi, gw, gb, c0, c1):
    """:func:`_bn_backward` (with the input gradient) of ``relu(batch_norm(x))`` given the
    ReLU's gradient ``g`` (plus ``g2`` when ``two``: a ReLU with two consumers, their gradients
    added here as the engine adds them). The ReLU's result is recomputed per element with the
    forward's own expression and rounding (``(x - mean) * scale + shift`` in ``x``'s dtype,
    ``shift`` the bias as the forward used it), so its mask is exactly the forward's. A row's
    masked gradient goes into ``gi`` and is summed from there as :func:`_bn_backward` sums
    ``g`` (the same bits); the second pass overwrites it with the input gradient."""
    nb, _, length = x.shape
    count = nb * length
    coef = np.zeros(5, x.dtype)  # scalars in x's dtype
    for c in range(c0, c1):
        m = mean[c]
        coef[0] = m
        mx = coef[0]
        inv = invstd[c]
        scale = inv * weight[c]
        coef[1] = scale  # the forward's scale, rounded as there
        k1 = coef[1]
        t = shift[c]
        sg = 0.0
        sgx = 0.0
        for b in range(nb):
            grow = g[b, c]
            xrow = x[b, c]
            dst = gi[b, c]
            if two:
                grow2 = g2[b, c]
                for k in range(length):
                    dst[k] = 0 if (xrow[k] - mx) * k1 + t <= 0 else grow[k] + grow2[k]
            else:
                for k in range(length):
                    dst[k] = 0 if (xrow[k] - mx) * k1 + t <= 0 else grow[k]
            for k0 in range(0, length, _RUN):
                grun = dst[k0:k0 + _RUN]
                xrun = xrow[k0:k0 + _RUN]
                part_g = coef[4]
                part_gx = coef[4]
                for k in range(grun.size):
                    gv = grun[k]
                    part_g += gv
                    part_gx += gv * (xrun[k] - mx)
                sg += part_g
                sgx += part_gx
        gb[c] = sg
        gw[c] = sgx * inv
        coef[2] = -scale * inv * inv * sgx / count
        coef[3] = -scale * sg / count
        k2, k3 = coef[2], coef[3]
        for b in range(nb):
            xrow = x[b, c]
            dst = gi[b, c]
            for k in range(length):
                dst[k] = dst[k] * k1 + (xrow[k] - mx) * k2 + k3
