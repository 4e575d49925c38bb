"""The Dirichlet distribution."""

from .. import special
from .._size import Size
from . import constraints
from .exp_family import ExponentialFamily
from .gamma import _standard_gamma

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """A Dirichlet distribution over the simplex, parameterised by ``concentration``
    (its last dimension is the event).

    ``rsample`` normalises reparameterised gamma draws, so gradients reach ``concentration``.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def rsample(self, sample_shape=Size()):
        g = _standard_gamma(self.concentration, self._extended_shape(sample_shape))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return (special.xlogy(c - 1.0, value).sum(-1) + special.gammaln(c.sum(-1))
                - special.gammaln(c).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        below = (self.concentration < 1).all(-1, keepdim=True)
        onehot = (self.concentration == self.concentration.max(-1, keepdim=True)[0])
        return mode.where(~below, onehot.to(mode.dtype)) if below.any() else mode

    @property
    def variance(self):
        c0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (c0 - self.concentration) / (c0.pow(2) * (c0 + 1))

    def entropy(self):
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return (special.gammaln(c).sum(-1) - special.gammaln(a0) - (k - a0) * special.digamma(a0)
                - ((c - 1.0) * special.digamma(c)).sum(-1))
