"""``torch.special``: special mathematical functions.

Most are composed from differentiable numtorch ops, so autograd comes for free; those that are
also ``torch`` functions (``gammaln`` = ``lgamma``, ``digamma``, ``erfinv``, ``xlogy``) share
their kernels and backward nodes. The few that NumPy lacks evaluate in float64 and return the
input's dtype, with the node PyTorch names (``ErfcBackward0``, ...).
"""

import math

import numpy as np

from . import _dtype as dt
from ._tensor import Tensor
from .autograd.function import Function
from .ops import elementwise as ew
from .ops import math_extra as mx
from .ops import reduction as red
from .ops._util import unbroadcast
from .ops.indexing import where as _where

__all__ = ["expit", "logit", "erf", "erfc", "erfinv", "log_softmax", "softmax", "log1p",
           "expm1", "exp2", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln", "gammainc", "gammaincc", "i0", "ndtr", "ndtri", "log_ndtr", "sinc",
           "entr", "logsumexp", "round"]

_SQRT2 = math.sqrt(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _as_float_tensor(x):
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(x, dtype=dt.get_default_dtype()._np))
    elif x._data.dtype.kind in "iub":
        x = Tensor._wrap(x._data.astype(dt.get_default_dtype()._np))
    return x


def _vectorize(fn, x):
    """Apply a scalar ``math`` function elementwise in float64."""
    x64 = np.asarray(x, dtype=np.float64)
    if x64.size == 0:
        return x64.copy()
    return np.vectorize(fn, otypes=[np.float64])(x64)


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


# ------------------------------------------------------------------ nodes
def _unary(name, x, fn, grad):
    """``fn(x)`` (a float64 kernel) in ``x``'s dtype, with a node ``name`` whose gradient is
    ``g * grad(x64, out64)``."""
    x = _as_float_tensor(x)
    xa = x._data
    scale = None
    with np.errstate(all="ignore"):
        out64 = fn(xa)
        if mx._record(x):
            scale = grad(xa.astype(np.float64), out64).astype(xa.dtype, copy=False)
    return mx._masked_unary(name, x, np.asarray(out64).astype(xa.dtype, copy=False), scale)


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


class _Gammainc(Function):
    """Regularised lower (``upper=False``) or upper incomplete gamma; gradient for ``x``
    only, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, x, upper):
        npd = np.result_type(a._data, x._data)
        a64, x64 = np.broadcast_arrays(a._data.astype(np.float64), x._data.astype(np.float64))
        with np.errstate(all="ignore"):
            p = _gammainc_np(a64.copy(), x64.copy())
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        return Tensor._wrap(np.asarray(1 - p if upper else p).astype(npd))

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        with np.errstate(all="ignore"):
            pdf = np.exp(_log_gamma_kernel(a._data.astype(np.float64),
                                           x._data.astype(np.float64)) - np.log(x._data))
        gx = unbroadcast(g._data * (-pdf if ctx.upper else pdf), x._data.shape)
        return None, Tensor._wrap(gx.astype(x._data.dtype, copy=False)), None


# ------------------------------------------------------------------ public API
def gammaln(input, *, out=None):
    """Natural logarithm of the absolute value of the gamma function."""
    return _unary("LgammaBackward0", input, _lgamma_np, lambda x, o: mx._digamma_np(x))


def digamma(input, *, out=None):
    """Logarithmic derivative of the gamma function, ``psi(x)``."""
    return mx.digamma(_as_float_tensor(input))


psi = digamma


def polygamma(n, input, *, out=None):
    """The ``n``-th derivative of the digamma function (``n`` of 0 and 1 are supported)."""
    if n == 0:
        return digamma(input)
    if n == 1:  # its gradient, polygamma(2, x), is not implemented: NaN
        return _unary("PolygammaBackward0", input, mx._trigamma_np,
                      lambda x, o: np.full_like(x, np.nan))
    raise NotImplementedError("numtorch.special.polygamma supports n = 0 and n = 1")


def multigammaln(input, p, *, out=None):
    """Multivariate log-gamma function of dimension ``p``."""
    x = _as_float_tensor(input)
    if not (x._data > (p - 1) / 2).all():
        raise RuntimeError("All elements must be greater than (p-1)/2")
    j = Tensor._wrap(-np.arange(p, dtype=x._data.dtype) / 2)
    total = red.sum(gammaln(ew.add(x.unsqueeze(-1), j)), -1)
    return ew.add(total, p * (p - 1) / 4 * math.log(math.pi))


def gammainc(input, other, *, out=None):
    """Regularised lower incomplete gamma function ``P(input, other)``."""
    a, x = _pair(input, other)
    return _Gammainc.apply(a, x, False)


def gammaincc(input, other, *, out=None):
    """Regularised upper incomplete gamma function ``Q(input, other) = 1 - P``."""
    a, x = _pair(input, other)
    return _Gammainc.apply(a, x, True)


def erf(input, *, out=None):
    """Error function."""
    return ew.erf(_as_float_tensor(input))


def erfc(input, *, out=None):
    """Complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return _unary("ErfcBackward0", input, lambda x: ew.erfc_values(x, np.float64),
                  lambda x, o: -_TWO_OVER_SQRT_PI * np.exp(-x * x))


def erfinv(input, *, out=None):
    """Inverse error function on ``(-1, 1)``."""
    return mx.erfinv(_as_float_tensor(input))


def expit(input, *, out=None):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return ew.sigmoid(_as_float_tensor(input))


def logit(input, eps=None, *, out=None):
    """``log(p / (1 - p))``; with ``eps`` the input is first clamped to ``[eps, 1 - eps]``."""
    x = _as_float_tensor(input)
    if eps is not None:
        x = ew.clamp(x, eps, 1 - eps)
    return ew.log(ew.div(x, ew.rsub(x, 1)))


def log1p(input, *, out=None):
    return ew.log1p(_as_float_tensor(input))


def expm1(input, *, out=None):
    return ew.expm1(_as_float_tensor(input))


def exp2(input, *, out=None):
    """``2 ** x``."""
    return ew._rpow(2.0, _as_float_tensor(input))


def _pair(input, other):
    if not isinstance(input, Tensor):
        other = _as_float_tensor(other)
        input = Tensor._wrap(np.asarray(input, dtype=other._data.dtype))
    elif not isinstance(other, Tensor):
        input = _as_float_tensor(input)
        other = Tensor._wrap(np.asarray(other, dtype=input._data.dtype))
    return _as_float_tensor(input), _as_float_tensor(other)


def _xlog1py(a, b):
    return np.where((a == 0) & ~np.isnan(b), 0, a * np.log1p(b)).astype(
        np.result_type(a, b), copy=False)


def _xlog1py_grads(g, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * _xlog1py(a != 0, b).astype(g.dtype), g * a / (b + 1)


_xlog1py_op = mx._float_binary("SpecialXlog1PyBackward0", _xlog1py, _xlog1py_grads)


def xlogy(input, other, *, out=None):
    """``input * log(other)``, defined as 0 where ``input`` is 0."""
    return mx.xlogy(*_pair(input, other))


def xlog1py(input, other, *, out=None):
    """``input * log1p(other)``, defined as 0 where ``input`` is 0."""
    return _xlog1py_op(*_pair(input, other))


def entr(input, *, out=None):
    """Elementwise entropy: ``-x log x`` for ``x > 0``, 0 at 0 and ``-inf`` for ``x < 0``."""
    x = _as_float_tensor(input)
    pos = ew.gt(x, 0)
    safe = _where(pos, x, ew.mul(x, 0) + 1.0)
    val = ew.neg(ew.mul(safe, ew.log(safe)))
    val = _where(pos, val, ew.mul(x, 0))
    return _where(ew.lt(x, 0), ew.mul(x, 0) - math.inf, val)


def ndtr(input, *, out=None):
    """Standard normal cumulative distribution function."""
    x = _as_float_tensor(input)
    return ew.mul(erfc(ew.mul(x, -1 / _SQRT2)), 0.5)


def ndtri(input, *, out=None):
    """Inverse of :func:`ndtr`: the standard normal quantile function."""
    p = _as_float_tensor(input)
    return ew.mul(erfinv(ew.sub(ew.mul(p, 2), 1)), _SQRT2)


def log_ndtr(input, *, out=None):
    """``log(ndtr(x))``, without underflow for very negative ``x``."""
    return _unary("SpecialLogNdtrBackward0", input, _log_ndtr_np,
                  lambda x, o: np.exp(-0.5 * x * x - o) / math.sqrt(2 * math.pi))


def sinc(input, *, out=None):
    """Normalised sinc ``sin(pi x) / (pi x)``, 1 at 0."""
    x = _as_float_tensor(input)
    zero = ew.eq(x, 0)
    px = ew.mul(_where(zero, ew.mul(x, 0) + 1.0, x), math.pi)
    return _where(zero, ew.mul(x, 0) + 1.0, ew.div(ew.sin(px), px))


def i0(input, *, out=None):
    """Modified Bessel function of the first kind, order 0 (no gradient)."""
    x = _as_float_tensor(input)
    return Tensor._wrap(np.i0(x._data).astype(x._data.dtype, copy=False))


def log_softmax(input, dim, *, dtype=None):
    return red.log_softmax(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):
    return red.softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    return red.logsumexp(input, dim, keepdim)


def round(input, *, decimals=0, out=None):
    return ew.round(input, decimals=decimals)
