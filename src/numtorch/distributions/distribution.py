"""``Distribution``: the base class of every probability distribution."""

import numpy as np

from .. import _dtype as dt
from .. import random
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from . import constraints
from .utils import lazy_property

__all__ = ["Distribution"]


def _size(shape):
    if isinstance(shape, Size):
        return shape
    if isinstance(shape, int):
        return Size((shape,))
    return Size(tuple(int(s) for s in shape))


def _describe(value):
    return f"{type(value).__name__} of shape {tuple(value.shape)}"


class Distribution:
    """Distribution is the abstract base class for probability distributions.

    ``batch_shape`` indexes independent, non-identical distributions; ``event_shape`` is the
    shape of one draw. ``validate_args`` turns on checks of parameters and of the values
    passed to :meth:`log_prob` (default: ``True`` unless Python runs with ``-O``).
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        """Set whether validation is enabled or disabled by default."""
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = _size(batch_shape)
        self._event_shape = _size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _check_parameters(self):
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None),
                                                         lazy_property):
                continue  # skip the parameterisation that was not given
            value = getattr(self, param)
            if not bool(np.all(constraint.check(value)._data)):
                raise ValueError(
                    f"Expected parameter {param} ({_describe(value)}) of distribution "
                    f"{self!r} to satisfy the constraint {constraint!r}, but found invalid "
                    f"values:\n{value}")

    # ---------------------------------------------------------------- shapes
    @property
    def batch_shape(self):
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of a single sample (without batching)."""
        return self._event_shape

    def _extended_shape(self, sample_shape=Size()):
        return Size(_size(sample_shape) + self._batch_shape + self._event_shape)

    def expand(self, batch_shape, _instance=None):
        """A new distribution with parameters expanded to ``batch_shape`` (no data copied)."""
        batch_shape = _size(batch_shape)
        new = _instance if _instance is not None else type(self).__new__(type(self))
        for name in self._param_names():
            value = self.__dict__[name]
            extra = value.shape[len(self._batch_shape):]
            new.__dict__[name] = value.expand(batch_shape + Size(extra))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _param_names(self):
        return [k for k in self.arg_constraints if k in self.__dict__]

    # ---------------------------------------------------------------- interface
    @property
    def arg_constraints(self):
        """Constraints each argument of this distribution must satisfy."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint describing the values this distribution takes."""
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self)} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self)} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        """Draw ``sample_shape`` samples (no gradient)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        """Draw reparameterised samples, through which gradients flow to the parameters."""
        raise NotImplementedError

    def sample_n(self, n):
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    # ---------------------------------------------------------------- helpers
    def _dtype(self):
        for name in self._param_names():
            return self.__dict__[name]._data.dtype
        return dt.get_default_dtype()._np

    def _standard_normal(self, shape):
        return Tensor._wrap(random.normal(None, tuple(shape), self._dtype()))

    def _uniform(self, shape, open_low=True):
        """Uniform draws in ``(0, 1)`` (``[0, 1)`` when not ``open_low``) of ``shape``."""
        npd = self._dtype()
        u = random.uniform(None, tuple(shape), npd)
        if open_low:
            u = np.maximum(u, np.finfo(npd).tiny)
        return Tensor._wrap(np.minimum(u, np.asarray(1 - np.finfo(npd).eps / 2, npd)))

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = len(value.shape) - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(
                f"The right-most size of value must match event_shape: {tuple(value.shape)} "
                f"vs {tuple(self._event_shape)}.")
        actual = tuple(value.shape)
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{actual} vs {expected}.")
        try:
            support = self.support
        except NotImplementedError:
            return
        if support is None:
            return
        valid = support.check(value)
        if not bool(np.all(valid._data)):
            raise ValueError(
                f"Expected value argument ({_describe(value)}) to be within the support "
                f"({support!r}) of the distribution {self!r}, but found invalid values:\n"
                f"{value}")

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                f"__init__ method must also define a custom .expand() method.")
        return type(self).__new__(type(self)) if _instance is None else _instance

    def __repr__(self):
        parts = []
        for name in self._param_names():
            value = self.__dict__[name]
            shown = value.item() if value.numel() == 1 else value.size()
            parts.append(f"{name}: {shown}")
        return f"{type(self).__name__}({', '.join(parts)})"
