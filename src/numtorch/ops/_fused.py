"""Optional compiled (numba) float32 kernels for the element-wise passes of a transformer:
GELU and its derivative, softmax over the last dim and its backward, layer norm forward and
backward, and dropout's keep mask; also the sigmoid and its derivative (a VAE's output).

NumPy computes GELU's erfc fit, a softmax or a layer norm as a chain of whole-array passes
(twenty for GELU), each reading and writing every element; a compiled loop reads each input
once. The loops are written so that LLVM vectorises them: ``exp`` is computed here with a
Cephes-style polynomial and an exponent built by a bit cast (:func:`_exp`, within 1 ulp of
float32 ``exp``, about 0.3 ns an element), because numba otherwise calls libm's scalar ``exp``
for every element, which is as slow as NumPy's passes.

The kernels themselves are in :mod:`._fused_kernels`, imported on first use. Each works on a
range of rows of its arrays, so ``ops._parallel.run_rows`` can share a
large pass among threads (numba releases the GIL: ``nogil=True``). Gating follows
``ops._jit``: without numba, with ``NUMTORCH_JIT=0`` (``_jit.ENABLED`` false), or for other
dtypes than float32, :func:`kernels` returns None and every caller uses its NumPy path, which
gives the same values up to float rounding (a few ulp).
"""

import numpy as np

from . import _jit, _parallel


def _build(numba):
    from . import _fused_kernels  # deferred: optional dependency (numba compiles it on import)

    return _fused_kernels


#: ``kernels(*arrays)``: the compiled kernels, or None where :mod:`numtorch.ops._jit`'s are off
#: or unusable or an array is not float32.
kernels = _jit.family(_build, dtypes=(np.dtype(np.float32),))


# ------------------------------------------------------------------- callers' shared helpers
def _rows(a):
    """``a`` as a C-contiguous 2-d array of its last-dim rows (a view when it is already
    contiguous)."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1, a.shape[-1])


def sigmoid(x):
    """``1 / (1 + exp(-x))`` of a float32 array, compiled and shared among threads (four NumPy
    passes otherwise, NumPy's exp among them); None where the compiled kernels are not
    available (the caller uses NumPy)."""
    jit = kernels(x)
    if jit is None or x.ndim == 0:
        return None
    return _parallel.map_flat(jit.sigmoid, np.empty(x.shape, np.float32), np.ascontiguousarray(x))


def sigmoid_backward(y, g):
    """``g * y * (1 - y)`` for float32 arrays of one shape (the sigmoid's input gradient from
    its result ``y``), or None as :func:`sigmoid`."""
    jit = kernels(y, g)
    if jit is None or y.ndim == 0 or y.shape != g.shape:
        return None
    return _parallel.map_flat(jit.sigmoid_backward, np.empty(y.shape, np.float32),
                              np.ascontiguousarray(y), np.ascontiguousarray(g))


def softmax_last(x, safe=False):
    """Softmax of float32 ``x`` over its last dim, compiled and shared among threads (``safe``:
    rows of all -inf give zeros); None where the compiled kernels are not available (the
    caller uses NumPy)."""
    jit = kernels(x)
    if jit is None or x.ndim == 0 or x.shape[-1] == 0:
        return None
    rows = _rows(x)
    out = np.empty(rows.shape, np.float32)
    _parallel.run_rows(lambda s, e: jit.softmax(rows, out, s, e, safe), *rows.shape)
    return out.reshape(x.shape)


def softmax_backward_last(y, g):
    """``y * (g - sum(g * y, -1))`` for float32 arrays of one shape (softmax's input gradient
    over the last dim), or None as :func:`softmax_last`."""
    jit = kernels(y, g)
    if jit is None or y.ndim == 0 or y.shape != g.shape or y.shape[-1] == 0:
        return None
    y2, g2 = _rows(y), _rows(g)
    out = np.empty(y2.shape, np.float32)
    _parallel.run_rows(lambda s, e: jit.softmax_backward(y2, g2, out, s, e), *y2.shape)
    return out.reshape(y.shape)
