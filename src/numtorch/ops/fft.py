"""Discrete Fourier transforms (``torch.fft``) on NumPy's pocketfft.

Three primitive ops, as in PyTorch: complex-to-complex (``FftC2CBackward0``), real-to-complex
(``FftR2CBackward0``) and complex-to-real (``FftC2RBackward0``). Each gradient is written with
these same primitives (the adjoint of a DFT is the DFT of the other direction with the same
scaling), so gradients of every order follow, with PyTorch's convention for complex gradients.
``n``/``s`` resizing (zero padding or trimming) is done by differentiable pad/narrow.
"""

import math

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from ._formulas import is_array
from ._registry import formula
from ._util import wrap_dim
from .complex import conj, view_as_real
from .padding import pad

_NONE, _BY_ROOT_N, _BY_N = 0, 1, 2
_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}


def _scale(y, mode, n):
    if mode == _NONE:
        return y
    factor = 1.0 / math.sqrt(n) if mode == _BY_ROOT_N else 1.0 / n
    y *= np.asarray(factor, dtype=y.real.dtype)
    return y


def _count(shape, dims):
    return math.prod(shape[d] for d in dims)


# ------------------------------------------------------------------ primitives
@formula("FftC2CBackward0", attrs=("dims", "mode", "forward"))
def FftC2CBackward0(ctx, g):
    return (fft_c2c(g, ctx.dims, ctx.mode, not ctx.forward),)


@formula("FftR2CBackward0", attrs=("dims", "mode", "onesided", "last_dim_size"))
def FftR2CBackward0(ctx, g):
    if ctx.onesided:  # the half spectrum's gradient, zero-extended to the full length
        g = _zero_extend(g, ctx.dims[-1], ctx.last_dim_size)
    return (_real(fft_c2c(g, ctx.dims, ctx.mode, False)),)


@formula("FftC2RBackward0", attrs=("dims", "mode"))
def FftC2RBackward0(ctx, g):
    gi = fft_r2c(g, ctx.dims, ctx.mode, True)
    last = ctx.dims[-1]
    double = g.shape[last] - gi.shape[last]
    if double > 0:  # the bins that stand for two of the full spectrum count twice
        mask_shape = [1] * len(gi.shape)
        mask_shape[last] = gi.shape[last]
        mask = np.ones(gi.shape[last], dtype=_real_dtype(gi))
        mask[1:1 + double] = 2
        mask = mask.reshape(mask_shape)
        gi = gi * (mask if is_array(gi) else Tensor._wrap(mask))
    return (gi,)



# The formulas above are already the adjoints PyTorch passes back (W^H g): no conjugation
# around them (autograd.node.Node applies it only to formulas written as g * f').
for _node in (FftC2CBackward0, FftR2CBackward0, FftC2RBackward0):
    _node._holomorphic = False
def _real_dtype(x):
    d = x.dtype if is_array(x) else x._data.dtype
    return np.dtype(d).type(0).real.dtype


def _real(z):
    if is_array(z):
        return np.ascontiguousarray(z.real)
    return view_as_real(z).select(-1, 0)


def _zero_extend(g, dim, size):
    extra = size - g.shape[dim]
    if extra <= 0:
        return g
    if is_array(g):
        widths = [(0, 0)] * g.ndim
        widths[dim] = (0, extra)
        return np.pad(g, widths)
    spec = [0, 0] * (g.dim() - 1 - dim) + [0, extra]
    return pad(g, spec)


def fft_c2c(x, dims, mode, forward):
    """The unscaled (then ``mode``-scaled) complex DFT over ``dims``; ndarray or Tensor."""
    arr = x if is_array(x) else x._data
    if forward:
        y = np.fft.fftn(arr, axes=dims)
    else:
        y = np.fft.ifftn(arr, axes=dims, norm="forward")
    y = _scale(y, mode, _count(arr.shape, dims))
    if is_array(x):
        return y
    return FftC2CBackward0.record(y, (x,), (), (dims, mode, forward))


def fft_r2c(x, dims, mode, onesided):
    """The forward DFT of a real signal over ``dims`` (the last of them halved if
    ``onesided``); ndarray or Tensor."""
    arr = x if is_array(x) else x._data
    y = np.fft.rfftn(arr, axes=dims) if onesided else np.fft.fftn(arr, axes=dims)
    y = _scale(y, mode, _count(arr.shape, dims))
    if y.dtype != _COMPLEX_OF.get(arr.dtype, y.dtype):
        y = y.astype(_COMPLEX_OF[arr.dtype])
    if is_array(x):
        return y
    return FftR2CBackward0.record(y, (x,), (), (dims, mode, onesided, arr.shape[dims[-1]]))


def fft_c2r(x, dims, mode, last_dim_size):
    """The inverse DFT over ``dims`` of a half spectrum to a real signal whose last transformed
    dim has ``last_dim_size`` points; ndarray or Tensor."""
    arr = x if is_array(x) else x._data
    s = [arr.shape[d] for d in dims[:-1]] + [last_dim_size]
    y = np.fft.irfftn(arr, s=s, axes=dims, norm="forward")
    y = _scale(y, mode, math.prod(s))
    if is_array(x):
        return y
    return FftC2RBackward0.record(y, (x,), (), (dims, mode))


# ------------------------------------------------------------------ argument handling
def _mode(norm, forward):
    if norm is None or norm == "backward":
        return _NONE if forward else _BY_N
    if norm == "ortho":
        return _BY_ROOT_N
    if norm == "forward":
        return _BY_N if forward else _NONE
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _float_input(x):
    """Integer and bool inputs are transformed as the default float dtype, half precision as
    float32."""
    d = x._data.dtype
    if d.kind in "biu":
        return x.to(dt.get_default_dtype())
    if d.kind == "f" and d.itemsize < 4 or d == dt._BF16_NP:
        return x.float()
    return x


def _resize(x, dim, n):
    if n is None:
        return x
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    size = x.shape[dim]
    if n < size:
        return x.narrow(dim, 0, n)
    if n > size:
        return pad(x, [0, 0] * (x.dim() - 1 - dim) + [0, n - size])
    return x


def _dims(x, s, dim, default_all):
    """The transformed dims and their sizes, as torch.fft's ``s``/``dim`` rules give them."""
    nd = x.dim()
    if dim is not None:
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = [wrap_dim(d, nd) for d in dims]
        if s is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    elif s is not None:
        if len(s) > nd:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {nd} "
                               "dimensions.")
        dims = list(range(nd - len(s), nd))
    else:
        dims = list(range(nd)) if default_all else [wrap_dim(-1, nd)]
    sizes = list(s) if s is not None else [None] * len(dims)
    return dims, sizes


def _c2c_family(input, s, dim, norm, forward, default_all):
    x = _float_input(input)
    dims, sizes = _dims(x, s, dim, default_all)
    for d, n in zip(dims, sizes):
        if n is not None and n != -1:
            x = _resize(x, d, n)
    mode = _mode(norm, forward)
    if x._data.dtype.kind != "c" and len(dims) > 1:
        x = _to_complex(x)  # as PyTorch: a real signal's n-d transform runs as complex
    if x._data.dtype.kind == "c":
        return fft_c2c(x, tuple(dims), mode, forward)
    if forward:
        return fft_r2c(x, tuple(dims), mode, False)
    # ifft of a real signal: the conjugate of its forward transform
    return conj(fft_r2c(x, tuple(dims), mode, False))


def _r2c_family(input, s, dim, norm, default_all, name):
    if input._data.dtype.kind == "c":
        raise RuntimeError(f"{name} expects a real input tensor, but got "
                           f"{input.type().split('.')[-1].replace('Tensor', '')}")
    x = _float_input(input)
    dims, sizes = _dims(x, s, dim, default_all)
    for d, n in zip(dims, sizes):
        if n is not None and n != -1:
            x = _resize(x, d, n)
    return fft_r2c(x, tuple(dims), _mode(norm, True), True)


def _c2r_family(input, s, dim, norm, default_all):
    x = _float_input(input)
    if x._data.dtype.kind != "c":
        x = _to_complex(x)
    dims, sizes = _dims(x, s, dim, default_all)
    last = dims[-1]
    n_last = sizes[-1] if sizes[-1] not in (None, -1) else 2 * (x.shape[last] - 1)
    if n_last < 1:
        raise RuntimeError(f"Invalid number of data points ({n_last}) specified")
    for d, n in zip(dims[:-1], sizes[:-1]):
        if n is not None and n != -1:
            x = _resize(x, d, n)
    x = _resize(x, last, n_last // 2 + 1)
    return fft_c2r(x, tuple(dims), _mode(norm, False), n_last)


def _to_complex(x):
    """A real tensor as complex (zero imaginary part): ToCopyBackward0, as in PyTorch."""
    return x.to(dt.from_numpy_dtype(_COMPLEX_OF[x._data.dtype]))
