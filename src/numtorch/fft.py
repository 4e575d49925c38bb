"""``torch.fft``: discrete Fourier transforms, differentiable (see ``ops/fft.py``).

``norm`` is ``"backward"`` (default: no scaling forward, ``1/n`` inverse), ``"ortho"``
(``1/sqrt(n)`` both ways) or ``"forward"`` (``1/n`` forward, none inverse). ``n``/``s`` pad with
zeros or trim the input along the transformed dims first.
"""


import numpy as np

from . import _creation
from . import _dtype as dt
from .ops import fft as _f

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """One-dimensional DFT of ``input`` along ``dim``."""
    return _f._c2c_family(input, None if n is None else [n], dim, norm, True, False)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """One-dimensional inverse DFT along ``dim``."""
    return _f._c2c_family(input, None if n is None else [n], dim, norm, False, False)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional DFT over ``dim`` (the last two by default)."""
    return _f._c2c_family(input, s, dim, norm, True, True)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional inverse DFT over ``dim``."""
    return _f._c2c_family(input, s, dim, norm, False, True)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional DFT over ``dim`` (all dims, or the last ``len(s)``, by default)."""
    return _f._c2c_family(input, s, dim, norm, True, True)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional inverse DFT."""
    return _f._c2c_family(input, s, dim, norm, False, True)


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """DFT of a real signal along ``dim``: the ``n // 2 + 1`` non-negative frequencies."""
    return _f._r2c_family(input, None if n is None else [n], dim, norm, False, "rfft")


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """Inverse of :func:`rfft`: a real signal of ``n`` points (``2 * (m - 1)`` by default)."""
    return _f._c2r_family(input, None if n is None else [n], dim, norm, False)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional DFT of a real signal, the last dim halved."""
    return _f._r2c_family(input, s, dim, norm, True, "rfftn")


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Inverse of :func:`rfft2`."""
    return _f._c2r_family(input, s, dim, norm, True)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional DFT of a real signal, the last transformed dim halved."""
    return _f._r2c_family(input, s, dim, norm, True, "rfftn")


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    """Inverse of :func:`rfftn`."""
    return _f._c2r_family(input, s, dim, norm, True)


def _freq_dtype(dtype):
    return dt.get_default_dtype() if dtype is None else dtype


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False,
            out=None):
    """The sample frequencies of an ``n``-point DFT with sample spacing ``d``:
    ``[0, 1, …, (n - 1) // 2, -(n // 2), …, -1] / (d * n)``."""
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)])
    values = (k / (d * n)).astype(dt.to_numpy_dtype(_freq_dtype(dtype)))
    return _creation.tensor(values, device=device, requires_grad=requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False,
             out=None):
    """The sample frequencies of :func:`rfft`: ``[0, 1, …, n // 2] / (d * n)``."""
    values = (np.arange(0, n // 2 + 1) / (d * n)).astype(
        dt.to_numpy_dtype(_freq_dtype(dtype)))
    return _creation.tensor(values, device=device, requires_grad=requires_grad)


def _shift(input, dim, sign):
    dims = list(range(input.dim())) if dim is None else (
        [dim] if isinstance(dim, int) else list(dim))
    shifts = [(input.shape[d] // 2) if sign > 0 else -(input.shape[d] // 2) for d in dims]
    return input.roll(shifts, dims)


def fftshift(input, dim=None):
    """Move the zero-frequency term to the centre (roll by ``n // 2`` along ``dim``)."""
    return _shift(input, dim, +1)


def ifftshift(input, dim=None):
    """Inverse of :func:`fftshift`."""
    return _shift(input, dim, -1)


