"""``nn.Parameter``: a leaf tensor that a Module registers as one of its parameters."""

import numpy as np

from .._tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter. Shares storage with ``data``; requires grad."""

    _is_param = True

    def __new__(cls, data=None, requires_grad=True):
        return Tensor.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = np.asarray(data)
        self._data = arr
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = Tensor._wrap(self._grad._data.copy())
        return new

    def __reduce_ex__(self, proto):
        from .._tensor import _rebuild_tensor
        return (_rebuild_tensor, (Parameter, self._data, self._requires_grad))


class _BufferMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor) and "_buffer_persistent" in instance.__dict__


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a tensor as a module buffer when assigned as a Module attribute.

    ``Buffer(t)`` returns a plain tensor carrying the mark (as PyTorch does), so
    ``isinstance(x, nn.Buffer)`` is true for it and the buffer still prints as ``tensor(...)``.
    """

    def __new__(cls, data=None, *, persistent=True):
        t = Tensor._wrap(data._data if isinstance(data, Tensor) else np.asarray(data))
        t._buffer_persistent = persistent
        return t


class UninitializedParameter(Parameter):
    pass
