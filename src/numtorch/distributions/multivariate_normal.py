"""The multivariate normal distribution."""

import math

import numpy as np

from .. import linalg
from .._size import Size
from .._tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _batch_mahalanobis(scale_tril, diff):
    """``|L^{-1} diff|^2`` over the last dimension (batch dimensions broadcast)."""
    sol = linalg.solve_triangular(scale_tril, diff.unsqueeze(-1), upper=False).squeeze(-1)
    return (sol * sol).sum(-1)


def _half_log_det(scale_tril):
    """``log |L|``: the sum of the logs of the diagonal."""
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _precision_to_scale_tril(precision):
    """The lower Cholesky factor of ``precision^{-1}``, without forming the inverse (as
    PyTorch: ``L^{-1}`` is the transposed, flipped Cholesky factor of the flipped precision)."""
    lf = linalg.cholesky(precision.flip(-2, -1))
    eye = Tensor._wrap(np.eye(precision.shape[-1], dtype=precision._data.dtype))
    return linalg.solve_triangular(lf.flip(-2, -1).transpose(-1, -2), eye, upper=False)


class MultivariateNormal(Distribution):
    """A multivariate normal distribution, given by ``loc`` and exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (lower-triangular with a
    positive diagonal, ``covariance = scale_tril @ scale_tril.mT``).
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        matrix = next(m for m in (scale_tril, covariance_matrix, precision_matrix)
                      if m is not None)
        if matrix.dim() < 2:
            name = ("scale_tril" if scale_tril is not None else "covariance_matrix"
                    if covariance_matrix is not None else "precision_matrix")
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        batch_shape = Size(np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        n = loc.shape[-1]
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(batch_shape + (n, n))
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(batch_shape + (n, n))
        else:
            self.precision_matrix = precision_matrix.expand(batch_shape + (n, n))
        self.loc = loc.expand(batch_shape + (n,))
        super().__init__(batch_shape, Size((n,)), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        return new

    @lazy_property
    def scale_tril(self):
        n = self._event_shape[0]
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + (n, n))

    @lazy_property
    def covariance_matrix(self):
        low = self._unbroadcasted_scale_tril
        n = self._event_shape[0]
        return (low @ low.transpose(-1, -2)).expand(self._batch_shape + (n, n))

    @lazy_property
    def precision_matrix(self):
        # inv(L L^T), whose gradient reaches all of L, as PyTorch's cholesky_inverse does
        n = self._event_shape[0]
        low = self._unbroadcasted_scale_tril
        return linalg.inv(low @ low.transpose(-1, -2)).expand(self._batch_shape + (n, n))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        low = self._unbroadcasted_scale_tril
        return (low * low).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=Size()):
        eps = self._standard_normal(self._extended_shape(sample_shape))
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        low = self._unbroadcasted_scale_tril
        m = _batch_mahalanobis(low, diff)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + m) - _half_log_det(low)

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril)
        return h if len(self._batch_shape) == 0 else h.expand(self._batch_shape)
