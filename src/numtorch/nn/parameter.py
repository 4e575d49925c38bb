"""``nn.Parameter``: a leaf tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype as dt
from .._device import check_device
from .._tensor import Tensor, _rebuild_tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter. Shares storage with ``data``; requires grad."""

    _is_param = True

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        return Tensor.__new__(cls)

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
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

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = Tensor._wrap(self._grad._data.copy())
        return new

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor, (Parameter, self._data, self._requires_grad))


class _BufferMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor) and "_buffer_persistent" in instance.__dict__


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a tensor as a module buffer when assigned as a Module attribute.

    ``Buffer(t)`` returns a plain tensor carrying the mark (as PyTorch does), so
    ``isinstance(x, nn.Buffer)`` is true for it and the buffer still prints as ``tensor(...)``.
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Buffer:
        t = Tensor._wrap(data._data if isinstance(data, Tensor) else np.asarray(data))
        t._buffer_persistent = persistent  # type: ignore[attr-defined]
        return t  # type: ignore[return-value]


_SHAPE_MSG = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
    "in `load_state_dict` when trying to load an uninitialized parameter into an initialized "
    "one. Call `forward` to initialize the parameters before accessing their attributes.")


class UninitializedTensorMixin:
    """A tensor with no storage and no shape yet (lazy modules' weights before their first
    forward). Reading its shape raises ``RuntimeError``, computing with it ``ValueError``;
    :meth:`materialize` gives it storage and turns it into ``cls_to_become``."""

    cls_to_become: type[Tensor] | None = None
    _lazy_dtype: Any
    _requires_grad: bool

    @property
    def _data(self):
        raise ValueError(
            f"Attempted to use an uninitialized parameter in {type(self).__name__}. This error "
            "happens when you are using a `LazyModule` or explicitly manipulating "
            "`torch.nn.parameter.UninitializedParameter` objects. When using LazyModules Call "
            "`forward` with a dummy batch to initialize the parameters before calling torch "
            "functions")

    def _no_shape(self, *args, **kwargs):
        raise RuntimeError(_SHAPE_MSG)

    shape = property(_no_shape)
    size = dim = numel = _no_shape

    def materialize(self, shape: int | tuple[int, ...], device: Any = None,
                    dtype: Any = None) -> None:
        """Give the tensor storage of ``shape`` (uninitialised values) and make it a
        ``cls_to_become`` (``Parameter`` or ``Tensor``)."""
        check_device(device)
        if dtype is None:
            dtype = self._lazy_dtype
        npd = dt.to_numpy_dtype(dtype) if dtype is not None else dt.get_default_dtype()._np
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.__dict__["_data"] = np.empty(shape, dtype=npd)
        self.__class__ = self.cls_to_become  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, proto):
        return (type(self), (self._requires_grad, None, self._lazy_dtype))

    def __deepcopy__(self, memo):
        new = type(self)(self._requires_grad, None, self._lazy_dtype)
        memo[id(self)] = new
        return new


class UninitializedParameter(UninitializedTensorMixin, Parameter):  # type: ignore[misc, override]
    """A parameter whose shape is not known yet (``nn.LazyLinear`` and friends before their first
    forward); becomes a ``Parameter`` when materialised."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None,
                dtype: Any = None) -> UninitializedParameter:
        return Tensor.__new__(cls)

    def __init__(self, requires_grad: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        check_device(device)
        self._lazy_dtype = dtype
        if requires_grad:
            self._requires_grad = True


class UninitializedBuffer(UninitializedTensorMixin, Tensor):  # type: ignore[misc, override]
    """A buffer whose shape is not known yet; becomes a plain ``Tensor`` when materialised."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                persistent: bool = True) -> UninitializedBuffer:
        return Tensor.__new__(cls)

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                 persistent: bool = True) -> None:
        check_device(device)
        self._lazy_dtype = dtype
        if requires_grad:
            self._requires_grad = True
