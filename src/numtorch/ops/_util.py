"""Helpers shared by every op family: recording, broadcasting, type promotion."""

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor

_wrap = Tensor._wrap
_new = object.__new__


def attach(data, node, *inputs):
    """Wrap ``data`` as the output of ``node`` whose inputs are ``inputs`` (Tensors or None)."""
    node.next_functions = tuple([t._edge() if t is not None else (None, 0) for t in inputs])
    if data.__class__ is not np.ndarray and isinstance(data, np.generic):
        data = np.asarray(data)  # a ufunc on 0-d arrays returns a NumPy scalar
    out = _new(Tensor)
    out._data = data
    out._requires_grad = True
    out.grad_fn = node
    return out


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def as_tensor_arg(x, like):
    """Turn a Python number (or array-like) operand into an ndarray of PyTorch's result dtype."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    kind = like._data.dtype.kind
    if kind == "V":  # bfloat16: a floating-point tensor
        kind = "f"
    if isinstance(x, bool):
        return np.asarray(x, dtype=like._data.dtype if kind != "b" else np.bool_)
    if isinstance(x, int):
        if kind in "fc":
            return np.asarray(x, dtype=like._data.dtype)
        if kind == "b":
            return np.asarray(x, dtype=np.int64)
        return np.asarray(x, dtype=like._data.dtype) if _fits(x, like._data.dtype) else x
    if isinstance(x, float):
        if kind in "fc":
            return np.asarray(x, dtype=like._data.dtype)
        return np.asarray(x, dtype=dt.get_default_dtype()._np)
    if isinstance(x, complex):
        return np.asarray(x, dtype=np.complex64 if kind != "c" else like._data.dtype)
    return np.asarray(x)


def _fits(value, npd):
    info = np.iinfo(npd)
    return info.min <= value <= info.max


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # "V": ml_dtypes' bfloat16


def result_type(a, b):
    """PyTorch's promotion of two tensor operands (0-dim tensors rank below dimensioned ones)."""
    da, db = a._data, b._data
    if da.dtype == db.dtype:
        return da.dtype
    ca, cb = _CATEGORY[da.dtype.kind], _CATEGORY[db.dtype.kind]
    za, zb = da.ndim == 0, db.ndim == 0
    if za != zb:
        # A 0-dim tensor only matters when it is of a higher category.
        dim_t, zero_t = (db, da) if za else (da, db)
        cd, cz = _CATEGORY[dim_t.dtype.kind], _CATEGORY[zero_t.dtype.kind]
        if cz <= cd:
            return dim_t.dtype
        return zero_t.dtype
    if ca != cb:
        return da.dtype if ca > cb else db.dtype
    return np.promote_types(da.dtype, db.dtype)


def binary_operands(a, b):
    """Return (a_array, b_array) for ``a op b`` where ``a`` is a Tensor, with PyTorch promotion."""
    ad = a._data
    if isinstance(b, Tensor):
        bd = b._data
        if ad.dtype != bd.dtype:
            rt = result_type(a, b)
            if ad.dtype != rt:
                ad = ad.astype(rt)
            if bd.dtype != rt:
                bd = bd.astype(rt)
        return ad, bd
    bd = as_tensor_arg(b, a)
    if bd.__class__ is np.ndarray and bd.dtype != ad.dtype and \
            _CATEGORY[bd.dtype.kind] > _CATEGORY[ad.dtype.kind]:
        ad = ad.astype(bd.dtype)  # e.g. int tensor * 2.5 -> default float dtype
    return ad, bd


def shape_error(a_shape, b_shape):
    """PyTorch's message for shapes that do not broadcast."""
    na, nb = len(a_shape), len(b_shape)
    n = max(na, nb)
    for i in range(1, n + 1):
        sa = a_shape[-i] if i <= na else 1
        sb = b_shape[-i] if i <= nb else 1
        if sa != sb and sa != 1 and sb != 1:
            return RuntimeError(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                f"non-singleton dimension {n - i}")
    return RuntimeError(f"shapes {list(a_shape)} and {list(b_shape)} cannot be broadcast")


def wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def normalize_dims(dim, ndim):
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes, or None for all."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)):
        return (wrap_dim(int(dim), ndim),)
    dims = tuple(wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError("dim appears multiple times in the list of dims")
    return dims if dims else None


def refuse_complex(*tensors, kernel=None, message=None, error=NotImplementedError):
    """Raise PyTorch's error for an op without complex support when a Tensor (or array) among
    ``tensors`` is complex: ``message``, or '"<kernel>" not implemented for 'ComplexFloat''."""
    for t in tensors:
        d = getattr(t, "_data", t)
        if getattr(d, "dtype", None) is not None and d.dtype.kind == "c":
            if message is None:
                name = "ComplexFloat" if d.dtype == np.complex64 else "ComplexDouble"
                message = f"\"{kernel}\" not implemented for '{name}'"
            raise error(message)
