"""``torch.special``: special mathematical functions.

Most are composed from differentiable numtorch ops, so autograd comes for free; those that are
also ``torch`` functions (``gammaln`` = ``lgamma``, ``digamma``, ``erfinv``, ``xlogy``) share
their kernels and backward nodes; the ones with their own kernels and nodes (``erfc``,
``log_ndtr``, ``gammainc``, ...) live in ``ops/special.py``.
"""

import math

import numpy as np

from ._tensor import Tensor
from .ops import elementwise as ew
from .ops import math_extra as mx
from .ops import reduction as red
from .ops import special as sp
from .ops.indexing import where as _where

__all__ = ["expit", "logit", "erf", "erfc", "erfinv", "log_softmax", "softmax", "log1p",
           "expm1", "exp2", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln", "gammainc", "gammaincc", "i0", "ndtr", "ndtri", "log_ndtr", "sinc",
           "entr", "logsumexp", "round"]

_SQRT2 = math.sqrt(2.0)
_as_float_tensor = sp.as_float_tensor
_pair = sp.pair


# ------------------------------------------------------------------ public API
def gammaln(input, *, out=None):
    """Natural logarithm of the absolute value of the gamma function."""
    return sp.gammaln(input)


def digamma(input, *, out=None):
    """Logarithmic derivative of the gamma function, ``psi(x)``."""
    return mx.digamma(_as_float_tensor(input))


psi = digamma


def polygamma(n, input, *, out=None):
    """The ``n``-th derivative of the digamma function (``n`` of 0 and 1 are supported)."""
    return sp.polygamma(n, input)


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
    return sp.gammainc(input, other)


def gammaincc(input, other, *, out=None):
    """Regularised upper incomplete gamma function ``Q(input, other) = 1 - P``."""
    return sp.gammaincc(input, other)


def erf(input, *, out=None):
    """Error function."""
    return ew.erf(_as_float_tensor(input))


def erfc(input, *, out=None):
    """Complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return sp.erfc(input)


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


def xlogy(input, other, *, out=None):
    """``input * log(other)``, defined as 0 where ``input`` is 0."""
    return mx.xlogy(*_pair(input, other))


def xlog1py(input, other, *, out=None):
    """``input * log1p(other)``, defined as 0 where ``input`` is 0."""
    return sp.xlog1py(input, other)


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
    return sp.log_ndtr(input)


def sinc(input, *, out=None):
    """Normalised sinc ``sin(pi x) / (pi x)``, 1 at 0."""
    x = _as_float_tensor(input)
    zero = ew.eq(x, 0)
    px = ew.mul(_where(zero, ew.mul(x, 0) + 1.0, x), math.pi)
    return _where(zero, ew.mul(x, 0) + 1.0, ew.div(ew.sin(px), px))


def i0(input, *, out=None):
    """Modified Bessel function of the first kind, order 0 (no gradient)."""
    return sp.i0(input)


def log_softmax(input, dim, *, dtype=None):
    return red.log_softmax(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):
    return red.softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    return red.logsumexp(input, dim, keepdim)


def round(input, *, decimals=0, out=None):
    return ew.round(input, decimals=decimals)
