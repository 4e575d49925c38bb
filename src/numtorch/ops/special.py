"""The special functions with their own kernels and nodes (``torch.special``'s erfc, log_ndtr,
gammainc/gammaincc, xlog1py, gammaln, polygamma, i0).

Kernels NumPy lacks evaluate in float64 and return the input's dtype. Every gradient is written
with differentiable ops (``ops/_formulas.py``), so it can be differentiated again.
"""

import math

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from . import _formulas as F
from . import elementwise as ew
from . import math_extra as mx
from ._registry import OUT, formula

_wrap = Tensor._wrap
_SQRT2 = math.sqrt(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def as_float_tensor(x):
    """``x`` as a floating-point Tensor (numbers and integer tensors in the default dtype)."""
    if not isinstance(x, Tensor):
        x = _wrap(np.asarray(x, dtype=dt.get_default_dtype()._np))
    elif x._data.dtype.kind in "iub":
        x = _wrap(x._data.astype(dt.get_default_dtype()._np))
    return x


def pair(input, other):
    """Two float Tensors from Tensor/number operands (a number takes the Tensor's dtype)."""
    if not isinstance(input, Tensor):
        other = as_float_tensor(other)
        input = _wrap(np.asarray(input, dtype=other._data.dtype))
    elif not isinstance(other, Tensor):
        input = as_float_tensor(input)
        other = _wrap(np.asarray(other, dtype=input._data.dtype))
    return as_float_tensor(input), as_float_tensor(other)


# ------------------------------------------------------------------ float64 kernels
def _lgamma_np(x):
    return mx._lgamma_np(np.asarray(x, dtype=np.float64))


def _log_gamma_kernel(a, x):
    """``a log x - x - lgamma(a)``: the log of ``x^a e^-x / Gamma(a)``."""
    with np.errstate(divide="ignore"):
        return a * np.log(x) - x - _lgamma_np(a)


def _gammainc_np(a, x, iters=400):
    """``P(a, x)``: the series below ``x = a + 1``, Lentz's continued fraction above."""
    tiny = 1e-300
    use_series = x < a + 1
    # series: P = x^a e^-x / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n))
    term = np.ones_like(a)
    total = np.ones_like(a)
    xs = np.where(use_series, x, 0.0)
    for n in range(1, iters):
        term = term * xs / (a + n)
        total = total + term
        if np.all(np.abs(term) < 1e-17 * np.abs(total)):
            break
    with np.errstate(all="ignore"):
        p_series = total * np.exp(_log_gamma_kernel(a, np.maximum(x, tiny)) - np.log(a))
        # continued fraction for Q = 1 - P
        xc = np.where(use_series, a + 2.0, x)
        b = xc + 1 - a
        c = np.full_like(a, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, iters):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1) < 1e-16):
                break
        q_cf = np.exp(_log_gamma_kernel(a, xc)) * h
    return np.where(use_series, p_series, 1 - q_cf)


def _log_ndtr_np(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        near = np.log(0.5 * ew.erfc_values(np.where(x > -20, x, 0.0) / -_SQRT2))
        # erfc(t) ~ exp(-t^2) / (t sqrt(pi)) * (1 - 1/(2t^2) + 3/(4t^4) - 15/(8t^6) + ...)
        t = np.where(x > -20, 20.0, x) / -_SQRT2
        it2 = 1 / (t * t)
        series = 1 + it2 * (-0.5 + it2 * (0.75 + it2 * (-1.875 + it2 * 6.5625)))
        far = np.log(series / (2 * t * math.sqrt(math.pi))) - t * t
    return np.where(x > -20, near, far)


def _log1p(x):
    return np.log1p(x) if F.is_array(x) else ew.log1p(x)


def _lgamma(x):
    return _lgamma_np(x).astype(x.dtype, copy=False) if F.is_array(x) else mx.lgamma(x)


# ------------------------------------------------------------------ nodes
@formula("ErfcBackward0", saves={"x": 0})
def ErfcBackward0(ctx, g):
    x = ctx.x
    return (g * (F.exp(-(x * x)) * -_TWO_OVER_SQRT_PI),)


@formula("SpecialLogNdtrBackward0", saves={"x": 0, "out": OUT})
def SpecialLogNdtrBackward0(ctx, g):
    x = ctx.x
    return (g * (F.exp(x * x * -0.5 - ctx.out) * _INV_SQRT_2PI),)


def _igamma_formula(upper):
    name = "igammac" if upper else "igamma"

    def backward(ctx, g):
        """``d P(a, x) / dx = x^(a-1) e^-x / Gamma(a)`` (negated for Q); no gradient for
        ``a``, as in PyTorch."""
        (na, _), (nx, _) = ctx.next_functions
        if na is not None:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        a, x = ctx.a, ctx.x
        if F.is_array(g):
            with np.errstate(all="ignore"):
                pdf = np.exp(_log_gamma_kernel(a.astype(np.float64), x.astype(np.float64))
                             - np.log(x)).astype(g.dtype)
        else:
            pdf = F.exp((a - 1) * F.log(x) - x - _lgamma(a))
        return None, F.unbroadcast(g * (-pdf if upper else pdf), ctx.x_shape)
    return backward


IgammaBackward0 = formula("IgammaBackward0", saves={"a": 0, "x": 1},
                          attrs=("x_shape",))(_igamma_formula(False))
IgammacBackward0 = formula("IgammacBackward0", saves={"a": 0, "x": 1},
                           attrs=("x_shape",))(_igamma_formula(True))


def _xlog1py(a, b):
    return np.where((a == 0) & ~np.isnan(b), 0, a * np.log1p(b)).astype(
        np.result_type(a, b), copy=False)


def _xlog1py_grads(g, a, b, out):
    log1p_b = F.where((a == 0) & ~F.isnan(b), 0, _log1p(b))
    return g * F.cast(log1p_b, g), g * a / (b + 1)


_xlog1py_op = mx._float_binary("SpecialXlog1PyBackward0", _xlog1py, _xlog1py_grads)


# ------------------------------------------------------------------ ops
def _unary_kernel(node_cls, input, kernel, save_out=False):
    x = as_float_tensor(input)
    xa = x._data
    with np.errstate(all="ignore"):
        out = np.asarray(kernel(xa)).astype(xa.dtype, copy=False)
    return node_cls.record(out, (x,), (xa, out) if save_out else (xa,))


def erfc(input):
    """Complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return _unary_kernel(ErfcBackward0, input, lambda x: ew.erfc_values(x, np.float64))


def log_ndtr(input):
    """``log(ndtr(x))``, without underflow for very negative ``x``."""
    return _unary_kernel(SpecialLogNdtrBackward0, input, _log_ndtr_np, save_out=True)


def _igamma(node_cls, input, other, upper):
    a_t, x_t = pair(input, other)
    a, x = a_t._data, x_t._data
    npd = np.result_type(a, x)
    a64, x64 = np.broadcast_arrays(a.astype(np.float64), x.astype(np.float64))
    with np.errstate(all="ignore"):
        p = _gammainc_np(a64.copy(), x64.copy())
    out = np.asarray(1 - p if upper else p).astype(npd)
    return node_cls.record(out, (a_t, x_t), (a, x), (x.shape,))


def gammainc(input, other):
    """Regularised lower incomplete gamma function ``P(input, other)``."""
    return _igamma(IgammaBackward0, input, other, False)


def gammaincc(input, other):
    """Regularised upper incomplete gamma function ``Q(input, other) = 1 - P``."""
    return _igamma(IgammacBackward0, input, other, True)


def xlog1py(input, other):
    """``input * log1p(other)``, defined as 0 where ``input`` is 0."""
    return _xlog1py_op(*pair(input, other))


def gammaln(input):
    """Natural logarithm of the absolute value of the gamma function."""
    return mx.lgamma(as_float_tensor(input))


def polygamma(n, input):
    """The ``n``-th derivative of the digamma function (``n`` of 0 and 1 are supported)."""
    if n == 0:
        return mx.digamma(as_float_tensor(input))
    if n == 1:  # its derivative, polygamma(2, x), raises (not implemented in numtorch)
        return mx._trigamma(as_float_tensor(input))
    raise NotImplementedError("numtorch.special.polygamma supports n = 0 and n = 1")


def i0(input):
    """Modified Bessel function of the first kind, order 0 (no gradient)."""
    x = as_float_tensor(input)
    return _wrap(np.i0(x._data).astype(x._data.dtype, copy=False))
