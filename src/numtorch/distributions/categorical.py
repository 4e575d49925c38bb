"""The categorical distribution over ``{0, ..., K-1}``."""

import math

import numpy as np

from .._creation import multinomial
from .._size import Size
from .._tensor import Tensor
from ..ops import reduction as red
from . import constraints
from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    """A categorical distribution over ``K`` categories, parameterised by ``probs``
    (non-negative, normalised over the last dimension) or ``logits`` (unnormalised log
    probabilities). Samples are integers in ``[0, K)`` of dtype ``int64``.
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - red.logsumexp(logits, -1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.size()[-1]
        batch_shape = self._param.size()[:-1] if self._param.dim() > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._param = new.__dict__["probs"] if "probs" in new.__dict__ else new.__dict__["logits"]
        new._num_events = self._num_events
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.size()

    def _nan_batch(self):
        return Tensor._wrap(np.full(tuple(self._extended_shape()), np.nan,
                                    dtype=self._param._data.dtype))

    @property
    def mean(self):
        return self._nan_batch()

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self._nan_batch()

    def sample(self, sample_shape=Size()):
        """Draws as PyTorch does: ``multinomial`` of the probabilities, with replacement, one
        column of samples per distribution."""
        count = math.prod(sample_shape)
        shape = tuple(self._extended_shape(sample_shape))
        if count == 0:
            return Tensor._wrap(np.zeros(shape, np.int64))
        rows = np.ascontiguousarray(self.probs._data).reshape(-1, self._num_events)
        drawn = multinomial(Tensor._wrap(rows), count, True)._data.T
        return Tensor._wrap(np.ascontiguousarray(drawn).reshape(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self._batch_shape))
        log_pmf = self.logits.expand(shape + (self._num_events,))
        idx = value.expand(shape).unsqueeze(-1)
        return log_pmf.gather(-1, idx).squeeze(-1)

    def entropy(self):
        min_real = float(np.finfo(self.logits._data.dtype).min)
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = Tensor._wrap(np.arange(self._num_events, dtype=np.int64))
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
