"""Lower-precision execution: bfloat16 (and autocast) for the matrix-product family.

NumPy has no bfloat16 kernels for matrix products. The ops of PyTorch's CPU autocast
"lower_precision_fp" list (linear, matmul, mm, bmm, addmm, baddbmm, conv*, attention, …)
therefore run a bfloat16 call as PyTorch's CPU kernels do: the bfloat16 operands are widened to
float32 (exactly), multiplied and accumulated in float32, and the result rounded to bfloat16.
Written with the differentiable casts, so gradients are computed the same way (in float32 from
bfloat16 values, rounded to bfloat16) and every gradient order comes from the casts and the op.

Under ``autocast(device_type="cpu", dtype=...)`` the same ops first cast their floating-point
inputs (not float64, as in PyTorch) to the autocast dtype, and the "fp32" list (losses,
``prod``, ``cdist``, …) casts lower-precision inputs up to float32.
"""

import functools

from .. import _dtype as dt
from .._autocast_state import _AutocastState
from .._tensor import Tensor

_LOW = (dt.bfloat16, dt.float16)


def _eligible(a):
    """Floating tensors autocast may cast: not float64, as in PyTorch."""
    return isinstance(a, Tensor) and a.is_floating_point() and a.dtype is not dt.float64


def _map(fn, args, kwargs):
    return [fn(a) for a in args], {k: fn(v) for k, v in kwargs.items()}


def _round(result, dtype):
    if isinstance(result, Tensor):
        return result.to(dtype) if result.is_floating_point() else result
    if isinstance(result, tuple):
        return type(result)(_round(r, dtype) for r in result) if not hasattr(result, "_fields") \
            else type(result)(*(_round(r, dtype) for r in result))
    return result


round_floating = _round  # for layers that run a whole recurrence in lower precision (LSTM)


def _run_widened(fn, args, kwargs, low):
    """``fn`` on float32 copies of the ``low``-precision tensors, result rounded to ``low``."""
    args, kwargs = _map(lambda a: a.float() if isinstance(a, Tensor) and a.dtype is low else a,
                        args, kwargs)
    saved = _AutocastState.enabled
    _AutocastState.enabled = False
    try:
        result = fn(*args, **kwargs)
    finally:
        _AutocastState.enabled = saved
    return _round(result, low)


def _all_low(args, kwargs, want=dt.bfloat16):
    """``want`` when every floating tensor argument has that dtype, else None."""
    low = None
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor) and a.is_floating_point():
            if a.dtype is not want:
                return None
            low = want
    return low


def _call_widening_bfloat16(fn, args, kwargs):
    """``fn(*args, **kwargs)``, on float32 copies rounded once at the end when the operands are
    bfloat16 (the first tensor argument decides: mixed dtypes are the op's own error)."""
    for a in args:
        if isinstance(a, Tensor):
            if a._data.dtype is dt._BF16_NP:
                low = _all_low(args, kwargs)
                if low is not None and "out" not in kwargs:
                    return _run_widened(fn, args, kwargs, low)
            break
    return fn(*args, **kwargs)


def lower_precision_op(fn):
    """Mark an op of autocast's lower-precision list (see the module docstring)."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _AutocastState.enabled and "out" not in kwargs:
            low = _AutocastState.dtype
            args, kwargs = _map(lambda a: a.to(low) if _eligible(a) else a, args, kwargs)
            if _all_low(args, kwargs, low) is not None:
                return _run_widened(fn, args, kwargs, low)
            # float64 operands are left alone by autocast: run the op as is
            _AutocastState.enabled = False
            try:
                return fn(*args, **kwargs)
            finally:
                _AutocastState.enabled = True
        return _call_widening_bfloat16(fn, args, kwargs)

    op.__wrapped_lowp__ = fn
    return op


def widened_op(fn):
    """Mark an op that PyTorch computes for bfloat16 in float32 internally (its "opmath":
    softmax, norms, variance, pooling, …): a bfloat16 call runs on float32 copies and the result
    is rounded once, instead of rounding after every NumPy step. Autocast leaves it alone."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        return _call_widening_bfloat16(fn, args, kwargs)

    op.__wrapped_lowp__ = fn
    return op


def fp32_op(fn):
    """Mark an op of autocast's float32 list: under autocast its lower-precision floating inputs
    are cast to float32 first."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _AutocastState.enabled:
            args, kwargs = _map(lambda a: a.float() if _eligible(a) and a.dtype in _LOW else a,
                                args, kwargs)
            saved = _AutocastState.enabled
            _AutocastState.enabled = False
            try:
                return fn(*args, **kwargs)
            finally:
                _AutocastState.enabled = saved
        return fn(*args, **kwargs)

    op.__wrapped_lowp__ = fn
    return op
