"""The geometric distribution: failures before the first success."""


import numpy as np

from .._size import Size
from .._tensor import Tensor
from ..ops import activation as act
from ..ops.indexing import where
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Geometric"]


class Geometric(Distribution):
    """The number of failures before the first success in Bernoulli trials of success
    probability ``probs`` (or log-odds ``logits``)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            batch_shape = self.probs.size()
        else:
            (self.logits,) = broadcast_all(logits)
            batch_shape = self.logits.size()
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs._data > 0).all()):
            raise ValueError(
                f"Expected parameter probs ({type(self.probs).__name__} of shape "
                f"{tuple(self.probs.shape)}) of distribution {self!r} to satisfy the "
                f"constraint Interval(lower_bound=0.0, upper_bound=1.0), but found invalid "
                f"values:\n{self.probs}")

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return self.probs * 0

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs._data, tuple(shape))
        u = self._uniform(shape)._data
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = np.floor(np.log(u) / np.log1p(-p))
        return Tensor._wrap(np.where(p == 1, 0, draws).astype(p.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        safe = where((probs == 1) & (value == 0), probs * 0, probs)
        return value * (-safe).log1p() + self.probs.log()

    def entropy(self):
        bce = act.softplus(self.logits) - self.logits * self.probs
        return bce / self.probs
