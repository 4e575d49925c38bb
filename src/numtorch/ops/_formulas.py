"""Math for backward formulas that runs on ndarrays and on Tensors alike.

A formula written with Python operators and these helpers computes with NumPy when its
arguments are arrays (plain backward: no recording, no wrapping) and with numtorch ops when they
are Tensors (``create_graph=True``: the computation is recorded and can be differentiated
again). Each helper dispatches on its first array-or-Tensor argument.
"""

import math

import numpy as np

from .._tensor import Tensor
from . import _parallel


def _ops():
    # deferred: cycle: the op families import _formulas
    from . import elementwise, indexing, reduction, shape
    return elementwise, indexing, reduction, shape


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of broadcasting."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if not isinstance(grad, Tensor):
        cols = math.prod(gshape[lead:])
        if lead and cols >= 16 and axes == tuple(range(lead)) and grad.flags.c_contiguous:
            # a bias's gradient: the leading dims summed away, in row blocks shared among threads
            return _parallel.row_sums(grad.reshape(-1, cols)).reshape(shape)
        if axes:
            grad = grad.sum(axis=axes)
        return grad.reshape(shape)
    _, _, rd, sh = _ops()
    if axes:
        grad = rd.sum(grad, axes)
    return sh.reshape(grad, tuple(shape))


def _unary(np_fn, name):
    def fn(x):
        if not isinstance(x, Tensor):
            return np_fn(x)
        return getattr(_ops()[0], name)(x)
    fn.__name__ = name
    return fn


exp = _unary(np.exp, "exp")
log = _unary(np.log, "log")
sqrt = _unary(np.sqrt, "sqrt")
sin = _unary(np.sin, "sin")
cos = _unary(np.cos, "cos")
sinh = _unary(np.sinh, "sinh")
cosh = _unary(np.cosh, "cosh")
tanh = _unary(np.tanh, "tanh")
_real_sign = _unary(np.sign, "sign")


def sign(x):
    """``sign``; for complex values ``sgn`` (``z / |z|``), whose derivative is not zero."""
    if isinstance(x, Tensor) and x._data.dtype.kind == "c":
        from .math_extra import sgn  # deferred: cycle: the op families import _formulas
        return sgn(x)
    return _real_sign(x)


abs = _unary(np.abs, "abs")
floor = _unary(np.floor, "floor")
trunc = _unary(np.trunc, "trunc")
sigmoid = None  # set below (needs elementwise's kernel for arrays)


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``; ``a``/``b`` may be numbers."""
    if not (isinstance(cond, Tensor) or isinstance(a, Tensor) or isinstance(b, Tensor)):
        return np.where(cond, a, b)
    _, ix, _, _ = _ops()
    cond = cond if isinstance(cond, Tensor) else Tensor._wrap(np.asarray(cond))
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    dtype = None if like is None else like._data.dtype
    if not isinstance(a, Tensor):
        a = Tensor._wrap(np.asarray(a, dtype=dtype))
    if not isinstance(b, Tensor):
        b = Tensor._wrap(np.asarray(b, dtype=dtype))
    return ix.where(cond, a, b)


def zeros_like(x, shape=None):
    """Zeros of ``x``'s dtype (and shape, or ``shape``), never requiring grad."""
    data = x if not isinstance(x, Tensor) else x._data
    z = np.zeros(data.shape if shape is None else shape, dtype=data.dtype)
    return z if not isinstance(x, Tensor) else Tensor._wrap(z)


def cast(x, like):
    """``x`` in ``like``'s dtype (a differentiable cast on Tensors)."""
    if not isinstance(x, Tensor):
        dtype = like.dtype if not isinstance(like, Tensor) else like._data.dtype
        return x if x.dtype == dtype else x.astype(dtype)
    dtype = like._data.dtype if isinstance(like, Tensor) else like.dtype
    if x._data.dtype == dtype:
        return x
    return _ops()[3].to_dtype(x, dtype)


def is_tensor(x):
    return isinstance(x, Tensor)


def is_array(x):
    """True in a plain backward (ndarrays), False under create_graph (Tensors): for formulas
    that keep a hand-tuned array path next to their differentiable one."""
    return not isinstance(x, Tensor)


def reshape(x, shape):
    if not isinstance(x, Tensor):
        return x.reshape(shape)
    return _ops()[3].reshape(x, tuple(shape))


def permute(x, dims):
    if not isinstance(x, Tensor):
        return np.transpose(x, dims)
    return _ops()[3].permute(x, *dims)


def transpose(x, d0, d1):
    if not isinstance(x, Tensor):
        return np.swapaxes(x, d0, d1)
    return _ops()[3].transpose(x, d0, d1)


def astype(x, dtype):
    """``x`` as NumPy dtype ``dtype`` (differentiable on Tensors)."""
    if not isinstance(x, Tensor):
        return x.astype(dtype, copy=False)
    return _ops()[3].to_dtype(x, np.dtype(dtype))


def sum(x, axes=None, keepdims=False):
    if not isinstance(x, Tensor):
        return x.sum(axis=axes, keepdims=keepdims)
    return _ops()[2].sum(x, axes, keepdims)


def expand(x, shape):
    """Broadcast ``x`` to ``shape`` (a read-only view on arrays)."""
    if not isinstance(x, Tensor):
        return np.broadcast_to(x, shape)
    return _ops()[3].expand(x, tuple(shape))


def expand_reduced(g, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back over the reduced ``axes`` of ``in_shape`` (all axes
    when ``axes`` is None)."""
    if axes is None:
        g = reshape(g, (1,) * len(in_shape))
    elif not keepdim:
        shape = list(g.shape)
        for a in sorted(axes):
            shape.insert(a, 1)
        g = reshape(g, tuple(shape))
    return expand(g, in_shape)


def unreduce(x, axes, keepdim):
    """A reduced value with its reduced ``axes`` put back as size-1 dims (to broadcast)."""
    if axes is None or keepdim:
        return x
    shape = list(x.shape)
    for a in sorted(axes):
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def mean(x, axes=None, keepdims=False):
    if not isinstance(x, Tensor):
        return x.mean(axis=axes, keepdims=keepdims)
    return _ops()[2].mean(x, axes, keepdims)


def flip(x, axis):
    if not isinstance(x, Tensor):
        return np.flip(x, axis)
    return _ops()[3].flip(x, axis)


def cumsum(x, axis):
    if not isinstance(x, Tensor):
        return np.cumsum(x, axis=axis)
    return _ops()[2].cumsum(x, axis)


def isnan(x):
    if not isinstance(x, Tensor):
        return np.isnan(x)
    return _ops()[0].isnan(x)


def any_true(x):
    """Python bool: whether any element of a bool array/Tensor is true (not differentiable)."""
    return bool((x if not isinstance(x, Tensor) else x._data).any())


def clamp_max(x, hi):
    if not isinstance(x, Tensor):
        return np.minimum(x, hi)
    return _ops()[0].clamp(x, max=hi)


def isfinite(x):
    if not isinstance(x, Tensor):
        return np.isfinite(x)
    return _ops()[0].isfinite(x)
