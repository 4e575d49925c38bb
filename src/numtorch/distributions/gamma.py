"""The gamma distribution."""

from numbers import Number

import numpy as np

from .. import special
from .._size import Size
from .._tensor import Tensor
from ..random import _rng
from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Gamma"]


def _standard_gamma(concentration, shape):
    """Draws of Gamma(concentration, 1) broadcast to ``shape``, never exactly 0."""
    c = np.broadcast_to(concentration._data, tuple(shape))
    x = _rng(None).standard_gamma(c).astype(c.dtype)
    return Tensor._wrap(np.maximum(x, np.finfo(c.dtype).tiny))


class Gamma(ExponentialFamily):
    """A gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    ``rsample`` propagates gradients to ``rate``; the standard-gamma draw itself is treated as
    a constant (no implicit reparameterisation through ``concentration``).
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        batch_shape = Size() if isinstance(concentration, Number) and isinstance(rate, Number) \
            else self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

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
