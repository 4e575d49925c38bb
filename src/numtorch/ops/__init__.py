"""The differentiable operations, one family a module, and the Tensor methods built on them."""

import weakref

import numpy as np

from .. import _creation, random
from .. import _dtype as dt
from .._creation import tensor
from .._device import check_device
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from . import complex as _complex  # noqa: F401  (declares real, imag, conj, ...)
from . import counting as _counting  # noqa: F401  (declares unique, bincount, histc, ...)
from . import elementwise as ew
from . import indexing as ix
from . import linalg as la
from . import math_extra as mx
from . import reduction  # noqa: F401  (registers its declarations before _install)
from . import shape as sh
from . import sorting as _sorting  # noqa: F401  (registers its declarations before _install)
from ._registry import OPS
from ._util import as_tensor_arg, shape_error
from ._views import rebase_view
from .shape import _shape_arg

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- in-place ops
def _inplace(method_name, fn, ufunc=None, keeps_input=True):
    """Make ``tensor.<name>_(...)``: a ufunc writing into the tensor when nothing records, else
    the out-of-place op whose result is written back and whose node becomes the history
    (recorded on a copy of the old value when the op's backward reads its input)."""

    def op(self, *args, **kwargs):
        self._check_inplace()
        if _GradState.enabled and (self._requires_grad or any(
                isinstance(a, Tensor) and a._requires_grad for a in args)):
            return _record_inplace(self, fn, args, kwargs, keeps_input)
        if ufunc is not None and not kwargs:
            other = args[0]
            od = other._data if isinstance(other, Tensor) else as_tensor_arg(other, self)
            _ufunc_into(self, ufunc, od)
        else:
            _assign_result(self, fn(self, *args, **kwargs)._data)
        return self

    op.__name__ = method_name
    return op


def _record_inplace(self, fn, args, kwargs, copy_input=True):
    """Run ``fn`` on a tensor that stands for this tensor's current value, write the result into
    this tensor and make its node this tensor's history (PyTorch's "rebase"). The stand-in is a
    copy when ``fn``'s backward may read the value that is about to be overwritten. On a view,
    the base's history is rebased as well (``ops/_views.py``)."""
    if self._base is not None:
        self._edge()  # bring a stale view's history up to date first
    src = _wrap(self._data.copy() if copy_input else self._data)
    src.__dict__.update({k: v for k, v in self.__dict__.items()
                         if k in ("grad_fn", "_requires_grad", "_output_nr", "_acc")})
    result = fn(src, *args, **kwargs)
    _assign_result(self, result._data)
    node = result.grad_fn
    versions = node._versions if node is not None else None
    if versions:  # a saved output is now this tensor: later in-place changes must be caught
        vb = self._vbox
        for i, (_, _, ref, name) in enumerate(versions):
            if isinstance(ref, weakref.ref) and ref() is result:
                versions[i] = (vb, vb[0], weakref.ref(self), name)
    if self._base is not None and node is not None:
        rebase_view(self, node)
        return self
    self.grad_fn = result.grad_fn
    self._requires_grad = True
    self._output_nr = result._output_nr
    return self


def _ufunc_into(self, ufunc, od):
    data = self._data
    try:
        ufunc(data, od, out=data, casting="same_kind")
    except ValueError:
        raise shape_error(data.shape, np.shape(od)) from None
    except np._core._exceptions._UFuncOutputCastingError:
        raise RuntimeError(
            f"result type {_cast_name(np.result_type(data, od))} can't be cast to the desired "
            f"output type {_cast_name(data.dtype)}") from None
    self._bump_version()


def _cast_name(d):
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "bool": "Bool", "uint8": "Byte", "float16": "Half"}.get(np.dtype(d).name, str(d))


def _assign_result(self, data):
    if data.shape != self._data.shape:
        if np.broadcast_shapes(data.shape, self._data.shape) != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(np.broadcast_shapes(data.shape, self._data.shape))}")
    if data.dtype != self._data.dtype and not np.can_cast(data.dtype, self._data.dtype,
                                                          "same_kind"):
        raise RuntimeError(
            f"result type {_cast_name(data.dtype)} can't be cast to the desired output type "
            f"{_cast_name(self._data.dtype)}")
    np.copyto(self._data, data, casting="unsafe")
    self._bump_version()


def _unary_inplace(name, fn):
    def op(self, *args, **kwargs):
        self._check_inplace()
        if _GradState.enabled and self._requires_grad:
            return _record_inplace(self, fn, args, kwargs)
        _assign_result(self, fn(self, *args, **kwargs)._data)
        return self

    op.__name__ = name
    return op


# ---------------------------------------------------------------------------- conversions
def to(self, *args, **kwargs):
    """Cast (and 'move', CPU only) a tensor: ``to(dtype)``, ``to(device)``, ``to(other)``."""
    dtype = kwargs.get("dtype")
    copy = kwargs.get("copy", False)
    check_device(kwargs.get("device"))
    for a in args:
        if isinstance(a, dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, bool):
            pass
        elif a is not None and not isinstance(a, dt.dtype):
            check_device(a)
    if dtype is None:
        return sh.clone(self) if copy else self
    return sh.to_dtype(self, dt.to_numpy_dtype(dtype), copy=copy)


def _caster(npd):
    if isinstance(npd, dt.dtype):  # bfloat16: its NumPy dtype is loaded on first use
        def cast(self, memory_format=None):
            return sh.to_dtype(self, npd._np)
        return cast
    npd = np.dtype(npd)

    def cast(self, memory_format=None):
        return sh.to_dtype(self, npd)
    return cast


def _new_creator(fill):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        size = size[0] if len(size) == 1 and not isinstance(size[0], int) else size
        out = getattr(_creation, fill)(*size, dtype=dtype or self.dtype)
        return out.requires_grad_(requires_grad) if requires_grad else out
    return new


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _wrap(np.full(tuple(size), fill_value, dtype=dt.to_numpy_dtype(dtype or self.dtype)))


# ---------------------------------------------------------------------------- random in-place
def _random_fill(sample):
    def op(self, *args, generator=None, **kwargs):
        self._check_inplace()
        a = self._data
        if a.flags.c_contiguous:
            np.copyto(a, sample(generator, a, True, *args, **kwargs), casting="unsafe")
        else:
            # PyTorch fills a strided tensor in the order of its memory (largest stride first)
            order = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
            view = a.transpose(order)
            np.copyto(view, sample(generator, view, False, *args, **kwargs), casting="unsafe")
        self._bump_version()
        return self
    return op


def _uniform(generator, a, contiguous, low=0.0, high=1.0):
    return random.uniform(generator, a.shape, a.dtype, low, high)


def _normal(generator, a, contiguous, mean=0.0, std=1.0):
    return random.normal(generator, a.shape, a.dtype, mean, std, contiguous)


def _random_int(generator, a, contiguous, low=None, high=None):
    if high is None and low is not None:
        low, high = None, low  # random_(to)
    return random.random(generator, a.shape, a.dtype, low, high)


def _bernoulli(generator, a, contiguous, p=0.5):
    if isinstance(p, Tensor):
        p = p._data
    return random.bernoulli(generator, a.shape, p)


def _exponential(generator, a, contiguous, lambd=1.0):
    _continuous_only(a, "Exponential", _EXPONENTIAL_TYPES)
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    u = random.uniform(generator, a.shape, np.float64)  # PyTorch: -log(1 - u) / lambda, in double
    return -1.0 / lambd * np.log1p(-u)


def _cauchy(generator, a, contiguous, median=0.0, sigma=1.0):
    _continuous_only(a, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={random._num(sigma)}")
    u = random.uniform(generator, a.shape, np.float64)
    return median + sigma * np.tan(np.pi * (u - 0.5))


def _log_normal(generator, a, contiguous, mean=1.0, std=2.0):
    random._refuse_non_float(a.dtype, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={random._num(std)}")
    # one double normal after another (PyTorch's serial kernel, whatever the size)
    return np.exp(random.normal(generator, a.shape, np.float64, mean, std, contiguous=False))


def _geometric(generator, a, contiguous, p):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={random._num(p)}")
    u = random.uniform(generator, a.shape, np.float64)
    with np.errstate(divide="ignore"):
        return np.ceil(np.log(u) / np.log1p(-p))


def _continuous_only(a, name, words=None):
    if a.dtype.kind not in "fc" and a.dtype.name != "bfloat16":
        given = (words or _C_TYPES).get(a.dtype.name, a.dtype.name)
        raise RuntimeError(f"{name} distribution is a continuous probability distribution. dtype "
                           f"must be a floating point but you specified {given}")


_C_TYPES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool"}
# (PyTorch's exponential_ names the dtype as its ScalarType, cauchy_ as the C type)
_EXPONENTIAL_TYPES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                      "uint8": "Byte", "bool": "Bool"}


def fill_(self, value):
    self._check_inplace()
    if isinstance(value, Tensor):
        value = value.item()
    if _GradState.enabled and self._requires_grad:
        return _inplace("fill_", lambda s, v: ew.mul(s, 0) + v)(self, value)
    self._data.fill(value)
    self._bump_version()
    return self


def zero_(self):
    return fill_(self, 0)


def copy_(self, src, non_blocking=False):
    self._check_inplace()
    sd = src._data if isinstance(src, Tensor) else np.asarray(src)
    if _GradState.enabled and isinstance(src, Tensor) and (src._requires_grad or
                                                          self._requires_grad):
        return _inplace("copy_", lambda s, o: ew.add(ew.mul(s, 0), sh.to_dtype(
            o, s._data.dtype)))(self, src)
    try:
        np.copyto(self._data, sd, casting="unsafe")
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({self._data.shape[-1] if self._data.ndim else 1}) must match "
            f"the size of tensor b ({sd.shape[-1] if sd.ndim else 1}) at non-singleton "
            "dimension 0") from None
    self._bump_version()
    return self


def set_(self, source):
    self._data = source._data
    self._bump_version()
    return self


def resize_(self, *sizes):
    shape = _shape_arg(sizes)
    new = np.zeros(shape, dtype=self._data.dtype)
    flat = self._data.reshape(-1)
    n = min(flat.size, new.size)
    new.reshape(-1)[:n] = flat[:n]
    self._data = new
    return self


def apply_(self, fn):
    flat = self._data.reshape(-1)
    for i in range(flat.size):
        flat[i] = fn(flat[i].item())
    self._bump_version()
    return self


def masked_fill_(self, mask, value):
    return _inplace("masked_fill_", ix.masked_fill)(self, mask, value)


def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    return _inplace("scatter_", ix.scatter)(self, dim, index, src, value=value, reduce=reduce)


def index_fill_(self, dim, index, value):
    idx = [slice(None)] * self._data.ndim
    idx[dim] = index._data
    ix.setitem(self, tuple(idx), value)
    return self


def index_add_(self, dim, index, source, *, alpha=1):
    self._check_inplace()
    if _GradState.enabled and (self._requires_grad or source._requires_grad):
        return _record_inplace(self, ix.index_add, (dim, index, source), {"alpha": alpha},
                               copy_input=False)
    moved = np.moveaxis(self._data, dim, 0)
    np.add.at(moved, index._data, np.moveaxis(source._data * alpha, dim, 0))
    self._bump_version()
    return self


def _size(self, dim=None):
    return Tensor.size(self, dim)


def _install():
    """Attach the op functions to ``Tensor`` as methods and operators."""
    T = Tensor
    methods = {
        # indexing: where's method form takes the condition second
        "where": lambda self, condition, other: ix.where(condition, self, other),
        # conversions
        "to": to, "float": _caster(np.float32), "double": _caster(np.float64),
        "half": _caster(np.float16), "bfloat16": _caster(dt.bfloat16),
        "long": _caster(np.int64), "int": _caster(np.int32),
        "short": _caster(np.int16), "char": _caster(np.int8), "byte": _caster(np.uint8),
        "bool": _caster(np.bool_), "new_zeros": _new_creator("zeros"),
        "new_ones": _new_creator("ones"), "new_empty": _new_creator("empty"),
        "new_tensor": new_tensor, "new_full": new_full, "type_as": lambda s, o: s.to(o.dtype),
        # in-place
        "fill_": fill_, "zero_": zero_, "copy_": copy_, "set_": set_, "resize_": resize_,
        "apply_": apply_, "masked_fill_": masked_fill_, "scatter_": scatter_,
        "index_fill_": index_fill_, "index_add_": index_add_,
        "uniform_": _random_fill(_uniform), "normal_": _random_fill(_normal),
        "random_": _random_fill(_random_int), "bernoulli_": _random_fill(_bernoulli),
        "exponential_": _random_fill(_exponential), "cauchy_": _random_fill(_cauchy),
        "log_normal_": _random_fill(_log_normal), "geometric_": _random_fill(_geometric),
    }
    methods["matrix_power"] = lambda self, n: mx._dec().matrix_power(self, n)
    for info in OPS:  # the declared ops (ops/_registry.py): methods and in-place variants
        for name in info.methods:
            setattr(T, name, info.fn)
        for name in info.inplace:
            setattr(T, name, _inplace(name, info.fn, info.ufunc, info.keeps_input))
    for name, fn in methods.items():
        setattr(T, name, fn)

    def _addcmul_(self, t1, t2, *, value=1):
        return T.add_(self, ew.mul(t1, t2) if value == 1 else ew.mul(ew.mul(t1, t2), value))

    def _addcdiv_(self, t1, t2, *, value=1):
        return T.add_(self, ew.div(t1, t2) if value == 1 else ew.mul(ew.div(t1, t2), value))

    def _lerp_(self, end, weight):
        return T.add_(self, ew.mul(ew.sub(end, self), weight))

    T.addcmul_ = _addcmul_
    T.addcdiv_ = _addcdiv_
    T.lerp_ = _lerp_
    T.addcmul = lambda s, t1, t2, *, value=1: ew.add(s, ew.mul(ew.mul(t1, t2), value))
    T.addcdiv = lambda s, t1, t2, *, value=1: ew.add(s, ew.mul(ew.div(t1, t2), value))
    T.lerp = lambda s, end, weight: ew.add(s, ew.mul(ew.sub(end, s), weight))

    # operators
    T.__add__ = T.__radd__ = lambda s, o: ew.add(s, o)
    T.__iadd__ = T.add_
    T.__sub__ = lambda s, o: ew.sub(s, o)
    T.__rsub__ = lambda s, o: ew.rsub(s, o)
    T.__isub__ = T.sub_
    T.__mul__ = T.__rmul__ = lambda s, o: ew.mul(s, o)
    T.__imul__ = T.mul_
    T.__truediv__ = lambda s, o: ew.div(s, o)
    T.__rtruediv__ = lambda s, o: ew.rdiv(s, o)
    T.__itruediv__ = T.div_
    T.__floordiv__ = lambda s, o: ew.floor_divide(s, o)
    T.__rfloordiv__ = lambda s, o: ew.floor_divide(_wrap(as_tensor_arg(o, s)), s)
    T.__ifloordiv__ = T.floor_divide_
    T.__mod__ = lambda s, o: ew.remainder(s, o)
    T.__rmod__ = lambda s, o: ew.remainder(_wrap(as_tensor_arg(o, s)), s)
    T.__imod__ = T.remainder_
    T.__pow__ = lambda s, o: ew.pow(s, o)
    T.__rpow__ = lambda s, o: ew._rpow(o, s)
    T.__ipow__ = T.pow_
    T.__matmul__ = lambda s, o: la.matmul(s, o)
    T.__rmatmul__ = lambda s, o: la.matmul(_wrap(np.asarray(o)), s)
    T.__neg__ = ew.neg
    T.__pos__ = lambda s: s
    T.__abs__ = ew.abs
    T.__invert__ = lambda s: ew.logical_not(s) if s._data.dtype == np.bool_ \
        else ew.bitwise_not(s)
    T.__and__ = T.__rand__ = lambda s, o: ew.bitwise_and(s, o)
    T.__or__ = T.__ror__ = lambda s, o: ew.bitwise_or(s, o)
    T.__xor__ = T.__rxor__ = lambda s, o: ew.bitwise_xor(s, o)
    T.__eq__ = lambda s, o: ew.eq(s, o) if o is not None else False
    T.__ne__ = lambda s, o: ew.ne(s, o) if o is not None else True
    T.__lt__ = lambda s, o: ew.lt(s, o)
    T.__le__ = lambda s, o: ew.le(s, o)
    T.__gt__ = lambda s, o: ew.gt(s, o)
    T.__ge__ = lambda s, o: ew.ge(s, o)
    T.__getitem__ = ix.getitem
    T.__setitem__ = ix.setitem
    T.__hash__ = lambda s: id(s)


_install()
