"""``Tensor``: one NumPy array plus autograd state.

Attributes live in the instance ``__dict__`` only when they differ from the class defaults below,
so making a tensor costs one object and a couple of stores. Ops read ``_data`` and
``_requires_grad`` directly; the public names are properties.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from . import _dtype as dt
from ._device import CPU, check_device
from ._size import Size
from .autograd import backward as _backward
from .autograd.grad_mode import _GradState
from .autograd.node import AccumulateGrad
from .utils.hooks import RemovableHandle

if TYPE_CHECKING:
    from ._device import device as _device_cls
    from .autograd.node import Node
    from .types import Number, _bool, _complex, _device, _dtype, _float, _int, _str

_new = object.__new__
_weakref = weakref.ref


class Tensor:
    """A multi-dimensional array with optional gradient tracking (``torch.Tensor``)."""

    __array_priority__ = 1000

    # Class-level defaults: an instance only stores what differs.
    _requires_grad = False
    grad_fn = None
    _grad = None
    _output_nr = 0
    _vbox = None  # [version], shared between a tensor and its views
    _base = None
    _acc = None  # weak reference to this leaf's AccumulateGrad node
    _hooks = None
    _post_acc_hooks = None
    _retains_grad = False
    _is_param = False
    _view_version = 0  # the shared version when this view's history was recorded
    _is_inference = False  # created in inference mode (see autograd.grad_mode.inference_mode)

    def __init__(self, *args: Any, dtype: _dtype | None = None, device: _device | None = None,
                 requires_grad: _bool = False) -> None:
        # The legacy constructor: torch.Tensor(2, 3) or torch.Tensor([1, 2]).
        check_device(device)
        npd = dt.to_numpy_dtype(dtype) if dtype is not None else dt.get_default_dtype()._np
        if len(args) == 1 and not isinstance(args[0], int):
            src = args[0]
            if isinstance(src, Tensor):
                self._data = src._data
                return
            data = np.array(src, dtype=npd)
        elif len(args) == 1 and isinstance(args[0], Size):
            data = np.zeros(tuple(args[0]), dtype=npd)
        else:
            data = np.zeros(tuple(args), dtype=npd)
        self._data = data
        if requires_grad:
            self._requires_grad = True
        if _GradState.inference:
            self._is_inference = True

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: _bool = False) -> Tensor:
        """Wrap an ndarray without copying (internal fast path)."""
        if data.__class__ is not np.ndarray and isinstance(data, np.generic):
            data = np.asarray(data)  # a ufunc on 0-d arrays returns a NumPy scalar
        t = _new(cls)
        t._data = data
        if requires_grad:
            t._requires_grad = True
        if _GradState.inference:
            t._is_inference = True
        return t

    # ------------------------------------------------------------------ basic properties
    @property
    def data(self) -> Tensor:
        """A tensor sharing storage with this one but outside the autograd graph."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Tensor | np.ndarray) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @overload
    def size(self, dim: None = None) -> Size: ...
    @overload
    def size(self, dim: _int) -> _int: ...

    def size(self, dim: _int | None = None) -> Size | _int:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> _dtype:
        return dt._BY_NUMPY[self._data.dtype]

    @property
    def device(self) -> _device_cls:
        return CPU

    @property
    def is_cuda(self) -> _bool:
        return False

    # Backends and layouts numtorch never has: answered as a CPU strided tensor answers them.
    def _never(self) -> _bool:
        return False

    is_xpu = is_mps = is_meta = is_sparse = is_sparse_csr = is_quantized = is_mkldnn = \
        is_nested = property(_never)
    del _never

    @property
    def layout(self) -> _str:
        return "torch.strided"

    @property
    def ndim(self) -> _int:
        return self._data.ndim

    def dim(self) -> _int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> _int:
        return self._data.size

    nelement = numel

    def element_size(self) -> _int:
        return self._data.itemsize

    @property
    def itemsize(self) -> _int:
        return self._data.itemsize

    @property
    def nbytes(self) -> _int:
        return self._data.nbytes

    @overload
    def stride(self, dim: None = None) -> tuple[_int, ...]: ...
    @overload
    def stride(self, dim: _int) -> _int: ...

    def stride(self, dim: _int | None = None) -> tuple[_int, ...] | _int:
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def is_contiguous(self, memory_format: _str | None = None) -> _bool:
        return self._data.flags.c_contiguous

    def is_floating_point(self) -> _bool:
        return dt.is_floating_np(self._data.dtype)

    def is_complex(self) -> _bool:
        return self._data.dtype.kind == "c"

    def data_ptr(self) -> _int:
        return self._data.__array_interface__["data"][0]

    def storage_offset(self) -> _int:
        base = self._data
        while isinstance(base.base, np.ndarray):
            base = base.base
        return (self.data_ptr() - base.__array_interface__["data"][0]) // self._data.itemsize

    def get_device(self) -> _int:
        return -1

    def is_inference(self) -> _bool:
        """True if this tensor was created in inference mode (and is not a view of a normal
        tensor)."""
        return self._is_inference

    @property
    def is_leaf(self) -> _bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> _bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: _bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: _bool = True) -> Tensor:
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return self
        if requires_grad and not dt.is_inexact_np(self._data.dtype):
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients")
        if requires_grad and self._is_inference and not _GradState.inference:
            raise RuntimeError(
                "Setting requires_grad=True on inference tensor outside InferenceMode is not "
                "allowed.")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def _version(self) -> _int:
        vb = self._vbox
        return 0 if vb is None else vb[0]

    def _bump_version(self) -> None:
        vb = self._vbox
        if vb is None:
            self._vbox = [1]
        else:
            vb[0] += 1

    def _share_version(self, view: Tensor) -> None:
        """Give ``view`` this tensor's version counter (views see each other's writes)."""
        vb = self._vbox
        if vb is None:
            vb = self._vbox = [0]
        view._vbox = vb
        view._base = self if self._base is None else self._base
        view._view_version = vb[0]
        if view._is_inference is not self._is_inference:
            view._is_inference = self._is_inference

    @property
    def output_nr(self) -> _int:
        return self._output_nr

    @property
    def retains_grad(self) -> _bool:
        return self._retains_grad

    @property
    def T(self) -> Tensor:
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:
        return self.T

    @property
    def mH(self) -> Tensor:
        return self.mT

    # ------------------------------------------------------------------ autograd
    def _grad_accumulator(self) -> AccumulateGrad:
        # Held weakly, as in PyTorch: the graph keeps the node (and through it this leaf)
        # alive, and a leaf dropped with no graph left is freed at once, without the cyclic GC.
        ref = self._acc
        acc = ref() if ref is not None else None
        if acc is None:
            acc = _new(AccumulateGrad)
            acc.variable = self
            self._acc = _weakref(acc)
        return acc

    def _edge(self) -> tuple[Node | None, _int]:
        fn = self.grad_fn
        if fn is not None:
            if self._base is not None and self._vbox[0] != self._view_version:
                # The base (or another view of it) changed in place since this view's history
                # was recorded: the view is now AsStrided of the base's current history.
                # deferred: cycle: ops builds on Tensor (ops imports _tensor)
                from .ops._views import regenerate
                regenerate(self)
                fn = self.grad_fn
            return (fn, self._output_nr)
        if self._requires_grad:
            ref = self._acc
            acc = ref() if ref is not None else None
            if acc is None:
                acc = _new(AccumulateGrad)
                acc.variable = self
                self._acc = _weakref(acc)
            return (acc, 0)
        return (None, 0)

    def backward(self, gradient: Tensor | None = None, retain_graph: _bool | None = None,
                 create_graph: _bool = False,
                 inputs: Tensor | Sequence[Tensor] | None = None) -> None:
        """Compute the gradient of this tensor with respect to graph leaves."""
        _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    def detach(self) -> Tensor:
        """A new tensor sharing storage, cut from the graph."""
        out = Tensor._wrap(self._data)
        self._share_version(out)
        return out

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = []
        node._retained.append((self._output_nr, weakref.ref(self)))
        self._retains_grad = True

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Register ``hook(grad) -> Tensor or None``, called when this tensor's gradient is
        computed."""
        if not self._requires_grad:
            raise RuntimeError(
                "cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_tensor_pre_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = OrderedDict()
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(
            self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = OrderedDict()
        handle = RemovableHandle(self._post_acc_hooks)
        self._post_acc_hooks[handle.id] = hook
        return handle

    def _check_inplace(self) -> None:
        """PyTorch's guard: a leaf that requires grad (or a view of one) can't be changed in
        place while recording."""
        if self._requires_grad and _GradState.enabled:
            if self.grad_fn is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation.")
            base = self._base
            if base is not None and base.grad_fn is None and base._requires_grad:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place "
                    "operation.")
        elif self._is_inference and not _GradState.inference:
            raise RuntimeError(
                "Inplace update to inference tensor outside InferenceMode is not allowed.You can "
                "make a clone to get a normal tensor before doing inplace update.See "
                "https://github.com/pytorch/rfcs/pull/17 for more details.")

    # ------------------------------------------------------------------ conversions
    def numpy(self, *, force: _bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        return self._data

    def __array__(self, dtype: Any = None, copy: _bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def tolist(self) -> Any:
        return self._data.tolist()

    def item(self) -> Number:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def __float__(self) -> _float:
        return float(self.item())

    def __int__(self) -> _int:
        return int(self.item())

    def __index__(self) -> _int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> _bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()).item())

    def __complex__(self) -> _complex:
        return complex(self.item())

    def __len__(self) -> _int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> _int:
        return id(self)

    def __contains__(self, element: object) -> _bool:
        if isinstance(element, Tensor):
            element = element._data
        return bool((self._data == element).any())

    def __reversed__(self) -> Tensor:
        return self.flip(0)

    def __deepcopy__(self, memo: dict[_int, Any]) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.  If you were attempting to deepcopy a module, this may "
                "be because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001")
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in ("_acc", "_vbox", "_base", "_grad", "_hooks")})
        new._data = self._data.copy()
        if self._grad is not None:
            new._grad = Tensor._wrap(self._grad._data.copy())
        return new

    def __reduce_ex__(self, proto: Any) -> tuple[Any, ...]:
        return (_rebuild_tensor, (type(self), self._data, self._requires_grad))

    @overload
    def type(self, dtype: None = None) -> _str: ...
    @overload
    def type(self, dtype: _str | _dtype) -> Tensor: ...

    def type(self, dtype: _str | _dtype | None = None) -> _str | Tensor:
        if dtype is None:
            return _LEGACY_NAMES.get(self._data.dtype.name, "torch.Tensor")
        if isinstance(dtype, str):
            inv = {v: k for k, v in _LEGACY_NAMES.items()}
            dtype = dt._BY_NAME[inv[dtype]]
        return self.to(dtype)

    def cpu(self, memory_format: _str | None = None) -> Tensor:
        return self

    def cuda(self, device: _device | None = None, non_blocking: _bool = False) -> Tensor:
        check_device("cuda")

    def pin_memory(self) -> Tensor:
        return self

    def is_pinned(self) -> _bool:
        return False

    def share_memory_(self) -> Tensor:
        """Move the data into shared memory (in place), so that processes that receive this
        tensor through ``numtorch.multiprocessing`` work on the same memory."""
        # deferred: cycle: multiprocessing builds on Tensor (upward import,
        # tests/test_import_layers.py)
        from .multiprocessing import _shm
        return _shm.share(self)

    def is_shared(self) -> _bool:
        # deferred: cycle: multiprocessing builds on Tensor (upward import,
        # tests/test_import_layers.py)
        from .multiprocessing import _shm
        return _shm.is_shared(self._data)

    def new(self, *args: Any, device: _device | None = None) -> Tensor:
        """The legacy constructor on a tensor: a new tensor of this tensor's dtype.

        ``x.new(2, 3)`` or ``x.new(size)`` gives an (here zero-filled) tensor of that shape,
        ``x.new(data)`` copies ``data``, ``x.new(other)`` aliases a tensor of the same dtype and
        ``x.new()`` is empty.
        """
        check_device(device)
        npd = self._data.dtype
        if not args:
            return Tensor._wrap(np.empty((0,), dtype=npd))
        if len(args) == 1 and not isinstance(args[0], int):
            src = args[0]
            if isinstance(src, Tensor):
                if src._data.dtype != npd:
                    raise TypeError(f"expected {self.type()} (got {src.type()})")
                return Tensor._wrap(src._data)
            if isinstance(src, Size):
                return Tensor._wrap(np.zeros(tuple(src), dtype=npd))
            if not isinstance(src, (list, tuple, np.ndarray)):
                raise TypeError(f"new(): data must be a sequence (got {type(src).__name__})")
            return Tensor._wrap(np.array(src, dtype=npd))
        for a in args:
            if not isinstance(a, (int, np.integer)):
                raise TypeError(f"new(): argument 'size' must be tuple of ints, but found element "
                                f"of type {type(a).__name__}")
        return Tensor._wrap(np.zeros(tuple(int(a) for a in args), dtype=npd))

    def __repr__(self, *, tensor_contents: Any = None) -> _str:
        from ._tensor_str import _str  # deferred: cycle: _tensor_str imports Tensor
        return _str(self)

    def __format__(self, spec: _str) -> _str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __dir__(self) -> list[_str]:
        return sorted(set(object.__dir__(self)))


_LEGACY_NAMES = {
    "float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
    "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
    "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
    "complex64": "torch.ComplexFloatTensor", "complex128": "torch.ComplexDoubleTensor",
}


def _rebuild_tensor(cls: type[Tensor], data: np.ndarray, requires_grad: bool) -> Tensor:
    t = cls._wrap(data) if cls is Tensor else cls(Tensor._wrap(data), requires_grad)
    if requires_grad:
        t._requires_grad = True
    return t


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim
