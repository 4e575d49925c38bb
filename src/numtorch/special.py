"""``torch.special``: special mathematical functions.

Most are composed from differentiable numtorch ops, so autograd comes for free; the few that
NumPy lacks (``gammaln``, ``digamma``, ``erfc``, ``erfinv``) are ``autograd.Function`` s that
evaluate in float64 and return the input's dtype.
"""

import math

import numpy as np

from . import _dtype as dt
from ._tensor import Tensor
from .autograd.function import Function
from .ops import elementwise as ew
from .ops import reduction as red
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
    def f(v):
        if v <= 0 and v == math.floor(v):
            return math.inf
        try:
            return math.lgamma(v)
        except (ValueError, OverflowError):
            return math.inf if not math.isnan(v) else math.nan
    return _vectorize(f, x)


def _shift_up(x, fn_asym, step):
    """Recurrence ``f(x) = f(x + 1) - step(x)`` until ``x >= 10``, then the asymptotic series."""
    x = x.copy()
    acc = np.zeros_like(x)
    for _ in range(10):
        small = x < 10
        if not small.any():
            break
        acc = acc - np.where(small, step(np.where(small, x, 1.0)), 0.0)
        x = np.where(small, x + 1, x)
    return acc + fn_asym(x)


def _digamma_np(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        neg = x <= 0
        pole = neg & (x == np.floor(x))
        xr = np.where(neg, 1 - x, x)            # reflection: psi(1-x) - pi / tan(pi x)

        def asym(z):
            z2 = 1 / (z * z)
            return (np.log(z) - 0.5 / z - z2 * (1 / 12 - z2 * (1 / 120 - z2 * (
                1 / 252 - z2 * (1 / 240 - z2 * (1 / 132))))))
        res = _shift_up(xr, asym, lambda z: 1 / z)
        res = np.where(neg, res - math.pi / np.tan(math.pi * x), res)
        res = np.where(pole, np.where(x == 0, -np.inf, np.nan), res)
    return res


def _trigamma_np(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        neg = x <= 0
        xr = np.where(neg, 1 - x, x)            # reflection: -psi1(1-x) + pi^2 / sin^2(pi x)

        def asym(z):
            z2 = 1 / (z * z)
            return 1 / z + z2 / 2 + (1 / z) * z2 * (1 / 6 - z2 * (1 / 30 - z2 * (
                1 / 42 - z2 * (1 / 30))))
        res = _shift_up(xr, asym, lambda z: -1 / (z * z))
        res = np.where(neg, -res + (math.pi / np.sin(math.pi * x)) ** 2, res)
        res = np.where(neg & (x == np.floor(x)), np.inf, res)
    return res


def _erfinv_np(y):
    """Inverse error function: Giles' approximation polished by two Newton steps in float64."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
        central = w < 5.0
        wc = np.where(central, w, 5.0) - 2.5
        pc = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            pc = c + pc * wc
        wt = np.sqrt(np.where(central, 5.0, np.where(np.isfinite(w), w, 5.0))) - 3.0
        pt = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            pt = c + pt * wt
        x = np.where(central, pc, pt) * y
        inside = np.abs(y) < 1
        xs = np.where(inside, x, 0.0)
        for _ in range(2):
            err = _vectorize(math.erf, xs) - y
            xs = xs - err / (_TWO_OVER_SQRT_PI * np.exp(-xs * xs))
            xs = np.where(inside, xs, 0.0)
        out = np.where(inside, xs, np.where(np.abs(y) == 1, np.sign(y) * np.inf, np.nan))
    return out


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


# ------------------------------------------------------------------ Functions
class _Unary64(Function):
    """Base: ``forward`` evaluates ``_fn`` in float64; ``backward`` multiplies by ``_grad``."""

    @classmethod
    def _cast(cls, arr, like):
        return np.asarray(arr).astype(like.dtype, copy=False)

    @classmethod
    def forward(cls, ctx, x):
        out = Tensor._wrap(cls._cast(cls._fn(x._data), x._data))
        ctx.save_for_backward(x, out)
        return out

    @classmethod
    def backward(cls, ctx, g):
        x, out = ctx.saved_tensors
        d = cls._grad(x._data.astype(np.float64), out._data.astype(np.float64))
        return Tensor._wrap((g._data * d).astype(g._data.dtype, copy=False))


class _Gammaln(_Unary64):
    _fn = staticmethod(_lgamma_np)
    _grad = staticmethod(lambda x, o: _digamma_np(x))


class _Digamma(_Unary64):
    _fn = staticmethod(_digamma_np)
    _grad = staticmethod(lambda x, o: _trigamma_np(x))


class _Trigamma(_Unary64):
    _fn = staticmethod(_trigamma_np)
    _grad = staticmethod(lambda x, o: np.full_like(x, np.nan))


class _Erfc(_Unary64):
    _fn = staticmethod(lambda x: _vectorize(math.erfc, x))
    _grad = staticmethod(lambda x, o: -_TWO_OVER_SQRT_PI * np.exp(-x * x))


class _Erfinv(_Unary64):
    _fn = staticmethod(_erfinv_np)
    _grad = staticmethod(lambda x, o: 0.5 * math.sqrt(math.pi) * np.exp(o * o))


def _log_ndtr_np(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        near = np.log(0.5 * _vectorize(math.erfc, np.where(x > -20, x, 0.0) / -_SQRT2))
        # erfc(t) ~ exp(-t^2) / (t sqrt(pi)) * (1 - 1/(2t^2) + 3/(4t^4) - 15/(8t^6) + ...)
        t = np.where(x > -20, 20.0, x) / -_SQRT2
        it2 = 1 / (t * t)
        series = 1 + it2 * (-0.5 + it2 * (0.75 + it2 * (-1.875 + it2 * 6.5625)))
        far = np.log(series / (2 * t * math.sqrt(math.pi))) - t * t
    return np.where(x > -20, near, far)


class _LogNdtr(_Unary64):
    _fn = staticmethod(_log_ndtr_np)
    _grad = staticmethod(lambda x, o: np.exp(-0.5 * x * x - o) / math.sqrt(2 * math.pi))


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
        gx = g._data * (-pdf if ctx.upper else pdf)
        lead = gx.ndim - x._data.ndim
        gx = gx.sum(axis=tuple(range(lead))) if lead else gx
        axes = tuple(i for i, n in enumerate(x._data.shape) if n == 1 and gx.shape[i] != 1)
        gx = gx.sum(axis=axes, keepdims=True) if axes else gx
        return None, Tensor._wrap(gx.astype(x._data.dtype, copy=False)), None


# ------------------------------------------------------------------ public API
def gammaln(input, *, out=None):
    """Natural logarithm of the absolute value of the gamma function."""
    return _Gammaln.apply(_as_float_tensor(input))


def digamma(input, *, out=None):
    """Logarithmic derivative of the gamma function, ``psi(x)``."""
    return _Digamma.apply(_as_float_tensor(input))


psi = digamma


def polygamma(n, input, *, out=None):
    """The ``n``-th derivative of the digamma function (``n`` of 0 and 1 are supported)."""
    if n == 0:
        return digamma(input)
    if n == 1:
        return _Trigamma.apply(_as_float_tensor(input))
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
    return _Erfc.apply(_as_float_tensor(input))


def erfinv(input, *, out=None):
    """Inverse error function on ``(-1, 1)``."""
    return _Erfinv.apply(_as_float_tensor(input))


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


def _reduce_to(g, shape):
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class _XLogY(Function):
    """``x * log(y + shift)``, 0 where ``x == 0`` unless ``y`` is NaN."""

    @staticmethod
    def forward(ctx, x, y, log1p):
        xa, ya = x._data, y._data
        log_fn = np.log1p if log1p else np.log
        with np.errstate(all="ignore"):
            res = np.where(xa == 0, 0, xa * log_fn(ya)).astype(np.result_type(xa, ya))
        res = np.where(np.isnan(ya), ya, res)
        ctx.save_for_backward(x, y)
        ctx.log1p = log1p
        return Tensor._wrap(np.asarray(res))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xa, ya, ga = x._data, y._data, g._data
        log_fn = np.log1p if ctx.log1p else np.log
        with np.errstate(all="ignore"):
            gx = ga * np.where(xa == 0, 0, log_fn(ya))
            gx = np.where(np.isnan(ya), np.nan, gx)
            gy = ga * xa / (ya + 1 if ctx.log1p else ya)
        return (Tensor._wrap(_reduce_to(gx, xa.shape).astype(xa.dtype, copy=False)),
                Tensor._wrap(_reduce_to(gy, ya.shape).astype(ya.dtype, copy=False)), None)


def xlogy(input, other, *, out=None):
    """``input * log(other)``, defined as 0 where ``input`` is 0."""
    x, y = _pair(input, other)
    return _XLogY.apply(x, y, False)


def xlog1py(input, other, *, out=None):
    """``input * log1p(other)``, defined as 0 where ``input`` is 0."""
    x, y = _pair(input, other)
    return _XLogY.apply(x, y, True)


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
    return _LogNdtr.apply(_as_float_tensor(input))


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
