"""A compiled (numba) Adam/AdamW update for the optimizers' memory-bound element-wise step.

NumPy's Adam step makes about ten passes over memory (two for each moment, four for the
denominator and the division, one for the parameter, one more for decoupled weight decay); the
compiled loop reads each of the four arrays once and writes three. It rounds after every
operation in the arrays' dtype, in the order of the NumPy path in ``adam.py`` (no fused
multiply-add, numba's default), so both paths give bitwise the same numbers.

numba is optional and used only when ``numtorch.ops._jit`` uses it (``NUMTORCH_JIT=0`` turns both
off); :func:`adam_kernel` returns None otherwise and Adam runs on NumPy alone.

:func:`run_flat` shares a large parameter's update among numtorch's threads (the compiled loops
release the GIL); each element is computed the same way whichever thread computes it, so the
numbers do not depend on the thread count.
"""

import numpy as np

from .. import _threads
from ..ops import _jit as _ops_jit

#: Elements of a compiled element-wise update worth one extra thread (about 60 µs of Adam).
ELEMENTS_PER_THREAD = 65536

_kernel = None  # None: not tried yet; False: unavailable; otherwise the compiled function
MIN_SIZE = 1  # the compiled call's dispatch (under a microsecond) costs less than even one of
# the NumPy path's eight ufunc calls, so biases and small weights take the kernel too


def adam_kernel(*arrays):
    """The compiled Adam update, or None when numba is off or missing or the arrays do not suit
    it (mixed or non-float dtypes, non-contiguous arrays, fewer than :data:`MIN_SIZE` elements)."""
    global _kernel
    first = arrays[0]
    if first.size < MIN_SIZE:
        return None
    for a in arrays:
        if a.dtype != first.dtype or not a.flags.c_contiguous:
            return None
    if _ops_jit.kernels(first) is None:  # off, numba missing, or not float32/float64
        return None
    if _kernel is None:
        _kernel = _compile()
    return _kernel or None


def run_flat(kernel, arrays, *scalars):
    """``kernel(*arrays, *scalars)`` over flat arrays of equal size, in pieces shared among the
    threads :func:`numtorch._threads.threads_for` gives for their size."""
    n = arrays[0].size
    threads = _threads.threads_for(n, ELEMENTS_PER_THREAD)
    if threads <= 1:
        kernel(*arrays, *scalars)
        return
    step = -(-n // (2 * threads))  # two pieces a thread: a delayed thread takes fewer
    step = -(-step // 16) * 16

    def piece(i):
        start = i * step
        kernel(*[a[start:start + step] for a in arrays], *scalars)

    _threads.run_chunks(piece, -(-n // step), threads)


def _compile():
    try:
        import numba  # deferred: optional dependency (numba)
    except Exception:  # noqa: BLE001 - any failure to import means NumPy alone
        return False
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(_adam_update)
    except RuntimeError:  # no writable cache directory: compile in every process
        return numba.njit(**options)(_adam_update)


def _adam_update(param, grad, exp_avg, exp_avg_sq, apply_decay, decay, low_weight, lerp_factor,
                 beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size):
    """One Adam step over flat arrays of one dtype; the scalars have that dtype too.

    The parameter is first multiplied by ``decay`` when ``apply_decay`` (decoupled weight decay).
    The first moment moves towards the gradient with PyTorch's two-sided lerp: for a weight below
    one half (``low_weight``) ``m + (g - m) * weight``, else ``g - (g - m) * (1 - weight)``;
    ``lerp_factor`` is that weight or ``1 - weight``. The second moment decays by ``beta2`` and
    gains ``(1 - beta2) * g * g``, and the parameter moves by ``neg_step_size * m /
    (sqrt(v) / bias_correction2_sqrt + eps)``.
    """
    for k in range(param.size):
        p = param[k]
        if apply_decay:
            p = p * decay
        g = grad[k]
        m = exp_avg[k]
        d = g - m
        d = d * lerp_factor
        if low_weight:
            m = m + d
        else:
            m = g - d
        exp_avg[k] = m
        sq = g * one_minus_beta2
        sq = sq * g
        v = exp_avg_sq[k] * beta2
        v = v + sq
        exp_avg_sq[k] = v
        denom = np.sqrt(v)
        denom = denom / bias_correction2_sqrt
        denom = denom + eps
        update = m / denom
        update = update * neg_step_size
        param[k] = p + update
