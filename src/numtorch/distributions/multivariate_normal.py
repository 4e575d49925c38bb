"""The multivariate normal distribution, and the small differentiable linear-algebra kernels
it needs (Cholesky factor, linear solve)."""

import math

import numpy as np

from .._size import Size
from .._tensor import Tensor
from ..autograd.function import Function
from ..ops.reduction import sum as _sum
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _mT(a):
    return np.swapaxes(a, -1, -2)


def _reduce_to(g, shape):
    """Sum a broadcast gradient back to ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class _Cholesky(Function):
    """Lower Cholesky factor ``L`` of a symmetric positive-definite matrix ``A = L L^T``."""

    @staticmethod
    def forward(ctx, a):
        try:
            out = Tensor._wrap(np.linalg.cholesky(a._data))
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: The factorization could not be completed "
                               "because the input is not positive-definite.") from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (lt,) = ctx.saved_tensors
        low, gl = lt._data, g._data
        phi = np.tril(_mT(low) @ gl)
        phi = phi - 0.5 * np.eye(low.shape[-1], dtype=low.dtype) * phi
        s = np.linalg.solve(_mT(low), _mT(np.linalg.solve(_mT(low), _mT(phi))))
        return Tensor._wrap(0.5 * (s + _mT(s)))


class _Solve(Function):
    """``X = A^{-1} B`` for square ``A`` (batch dimensions broadcast); with ``lower`` only the
    lower triangle of ``A`` is read, and only it receives a gradient."""

    @staticmethod
    def forward(ctx, a, b, lower=False):
        am = np.tril(a._data) if lower else a._data
        x = Tensor._wrap(np.linalg.solve(am, b._data))
        ctx.save_for_backward(a, x)
        ctx.shapes = (a._data.shape, b._data.shape)
        ctx.lower = lower
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        am = np.tril(a._data) if ctx.lower else a._data
        gb = np.linalg.solve(_mT(am), g._data)
        ga = -gb @ _mT(x._data)
        if ctx.lower:
            ga = np.tril(ga)
        sa, sb = ctx.shapes
        return Tensor._wrap(_reduce_to(ga, sa)), Tensor._wrap(_reduce_to(gb, sb)), None


def _diagonal(m):
    """The diagonal of the last two dimensions, differentiably (a masked row sum)."""
    return _sum(m * _eye(m.shape[-1], m), -1)


def _batch_mahalanobis(scale_tril, diff):
    """``|L^{-1} diff|^2`` over the last dimension."""
    shape = np.broadcast_shapes(tuple(scale_tril.shape[:-2]), tuple(diff.shape[:-1]))
    n = scale_tril.shape[-1]
    low = scale_tril.expand(shape + (n, n))
    sol = _Solve.apply(low, diff.expand(shape + (n,)).unsqueeze(-1), True).squeeze(-1)
    return _sum(sol * sol, -1)


def _eye(n, like):
    return Tensor._wrap(np.eye(n, dtype=like._data.dtype))


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
            self._unbroadcasted_scale_tril = _Cholesky.apply(covariance_matrix)
        else:
            cov = _Solve.apply(precision_matrix, _eye(n, precision_matrix), False)
            cov = 0.5 * (cov + cov.transpose(-1, -2))
            self._unbroadcasted_scale_tril = _Cholesky.apply(cov)

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
        n = self._event_shape[0]
        low = self._unbroadcasted_scale_tril
        cov = low @ low.transpose(-1, -2)
        return _Solve.apply(cov, _eye(n, low), False).expand(self._batch_shape + (n, n))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        low = self._unbroadcasted_scale_tril
        return _sum(low * low, -1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=Size()):
        eps = self._standard_normal(self._extended_shape(sample_shape))
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return _sum(_diagonal(self._unbroadcasted_scale_tril).log(), -1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h if len(self._batch_shape) == 0 else h.expand(self._batch_shape)
