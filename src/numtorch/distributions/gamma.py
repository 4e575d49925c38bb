"""The gamma distribution."""


import numpy as np

from .. import special
from .._size import Size
from .._tensor import Tensor
from ..autograd.function import Function
from ..ops import special as _special_ops
from ..ops._util import unbroadcast
from ..random import _rng
from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Gamma"]


def _standard_gamma_grad(a, x):
    """``dx/da`` of a Gamma(a, 1) draw ``x`` at fixed CDF value (implicit reparameterisation)."""
    a = np.asarray(a, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    h = 1e-5 * a
    dp_da = (_special_ops._gammainc_np(a + h, x) - _special_ops._gammainc_np(a - h, x)) / (2 * h)
    with np.errstate(all="ignore"):
        log_pdf = _special_ops._log_gamma_kernel(a, x) - np.log(x)
        grad = -dp_da * np.exp(-log_pdf)
    return np.where(np.isfinite(grad), grad, 0.0)


class _StandardGamma(Function):
    """Gamma(concentration, 1) draws of ``shape``, differentiable in ``concentration``."""

    @staticmethod
    def forward(ctx, concentration, shape):
        c = np.broadcast_to(concentration._data, tuple(shape))
        x = np.asarray(_rng(None).standard_gamma(c), c.dtype)  # a 0-d draw is a float
        x = np.maximum(x, np.finfo(c.dtype).tiny, out=x)
        ctx.save_for_backward(concentration)
        ctx.x = x
        return Tensor._wrap(x)

    @staticmethod
    def backward(ctx, g):
        (concentration,) = ctx.saved_tensors
        c = concentration._data
        grad = _standard_gamma_grad(np.broadcast_to(c, ctx.x.shape), ctx.x)
        full = unbroadcast(g._data * grad, c.shape)
        return Tensor._wrap(full.astype(c.dtype, copy=False)), None


def _standard_gamma(concentration, shape):
    """Draws of Gamma(concentration, 1) broadcast to ``shape``, never exactly 0; gradients
    reach ``concentration`` by implicit reparameterisation."""
    return _StandardGamma.apply(concentration, tuple(shape))


class Gamma(ExponentialFamily):
    """A gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    ``rsample`` is reparameterised: gradients reach ``rate`` directly and ``concentration``
    through the implicit derivative of the standard-gamma draw at a fixed CDF value.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.size(), validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()):
        x = _standard_gamma(self.concentration, self._extended_shape(sample_shape))
        value = x / self.rate
        tiny = float(np.finfo(value._data.dtype).tiny)
        return value.clamp(min=tiny)

    def log_prob(self, value):
        if not isinstance(value, Tensor):
            value = Tensor._wrap(np.asarray(value, dtype=self.rate._data.dtype))
        if self._validate_args:
            self._validate_sample(value)
        return (special.xlogy(self.concentration, self.rate)
                + special.xlogy(self.concentration - 1, value)
                - self.rate * value - special.gammaln(self.concentration))

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + special.gammaln(c) + (1.0 - c) * special.digamma(c)
