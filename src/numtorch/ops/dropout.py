"""Dropout: ``dropout``, ``dropout1d/2d/3d``, ``alpha_dropout``, ``feature_alpha_dropout``.

Each multiplies the input by a random 0/scale mask (recorded tensor ops, so autograd needs no
node of its own). Kept at the ops level so that ``ops.attention`` can drop attention weights
without reaching up into ``nn``; ``nn.functional`` re-exports these.
"""

import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..random import _gen
from . import _fused, _parallel
from . import elementwise as ew

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_wrap = Tensor._wrap


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_threshold(p):
    """Keep an entry where its uniform 32-bit integer is at least this (probability ``1 - p``
    up to 2**-32)."""
    return np.uint32(min(int(round(p * 2.0 ** 32)), 2 ** 32 - 1))


def _key():
    """A fresh 64-bit key from the default generator, as two uint32 halves (one 64-bit draw,
    so ``manual_seed`` fixes every mask that follows)."""
    raw = int(_gen()._random64(1)[0])
    return np.uint32(raw & 0xFFFFFFFF), np.uint32(raw >> 32)


def _mix32(h):
    """The integer hash of ops._fused_kernels._mix32 on a uint32 array, in place."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x7FEB352D)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x846CA68B)
    h ^= h >> np.uint32(16)
    return h


def _hash_bits(start, stop, s0, s1):
    """Uniform 32-bit integers for the flat element indices ``start:stop``: a counter-based
    generator (the index and the key through two rounds of an integer hash), so any run of
    elements can be drawn on its own, by any thread, with the same result."""
    h = np.arange(stop - start, dtype=np.uint32)
    h += np.uint32(start & 0xFFFFFFFF)
    h += s0
    _mix32(h)
    h ^= s1
    return _mix32(h)


def _keep_mask(input, p, noise_shape):
    """A 0/1 mask (input's dtype) keeping each entry with probability ``1 - p``."""
    s0, s1 = _key()
    n = math.prod(noise_shape)
    keep = _hash_bits(0, n, s0, s1) >= _keep_threshold(p)
    return keep.astype(input._data.dtype).reshape(noise_shape)


#: Elements of a dropout pass worth a thread: shared from 2**18 elements it read 0.84-1.11
#: against one thread (``python -m benchmarks.threads``, four runs), from 2**19 1.17-1.35.
_PER_THREAD = 1 << 18


def _scaled_noise(input, p, noise_shape, x=None):
    """The mask of :func:`_keep_mask` times ``1 / (1 - p)`` (zeros for ``p == 1``); with
    ``x`` (a C-contiguous array of ``noise_shape``), also ``x * noise``. Drawn in runs of
    elements shared among threads (ops._parallel), compiled where numba is (ops._fused); both
    paths give the same mask."""
    dtype = input._data.dtype
    if p == 1:
        noise = np.zeros(noise_shape, dtype)
        return noise if x is None else (noise, x * noise)
    s0, s1 = _key()
    threshold, scale = _keep_threshold(p), dtype.type(1.0 / (1.0 - p))
    noise = np.empty(noise_shape, dtype)
    out = None if x is None else np.empty(noise_shape, dtype)
    flat_noise = noise.reshape(-1)
    flat_x = None if x is None else x.reshape(-1)
    flat_out = None if x is None else out.reshape(-1)
    jit = _fused.kernels(noise)

    def run(s, e):
        if jit is not None and x is None:
            jit.dropout_noise(s, s0, s1, threshold, scale, flat_noise[s:e])
        elif jit is not None:
            jit.dropout_apply(s, s0, s1, threshold, scale, flat_x[s:e], flat_noise[s:e],
                              flat_out[s:e])
        else:
            chunk = flat_noise[s:e]
            np.greater_equal(_hash_bits(s, e, s0, s1), threshold, out=chunk, casting="unsafe")
            chunk *= scale
            if x is not None:
                np.multiply(flat_x[s:e], chunk, out=flat_out[s:e])

    _parallel.run_rows(run, flat_noise.size, 1, per_thread=_PER_THREAD)
    return noise if x is None else (noise, out)


def _scaled_dropout(input, p, noise_shape, inplace):
    """``input * mask / (1 - p)`` with one mask value per entry of ``noise_shape``."""
    x = input._data
    if not inplace and noise_shape == x.shape and x.dtype == np.float32:
        # one pass for the mask and the product, recorded as the product (MulBackward0)
        x = np.ascontiguousarray(x)
        noise, res = _scaled_noise(input, p, noise_shape, x)
        return ew.MulBackward0.record(res, (input, None), (x, noise), (x.shape, noise.shape))
    noise_t = _wrap(_scaled_noise(input, p, noise_shape))
    return input.mul_(noise_t) if inplace else input * noise_t


def dropout(input, p=0.5, training=True, inplace=False):
    r"""While ``training``, zero each element of ``input`` with probability ``p`` and scale the
    others by :math:`\frac{1}{1-p}`; otherwise return ``input`` unchanged."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _scaled_dropout(input, p, input._data.shape, inplace)


def _channel_noise_shape(shape, spatial):
    """One mask value per (batch, channel): the last ``spatial`` dims become 1."""
    return tuple(shape[:len(shape) - spatial]) + (1,) * spatial


def _feature_noise_shape(shape):
    return tuple(shape[:2]) + (1,) * (len(shape) - 2)


def dropout1d(input, p=0.5, training=True, inplace=False):
    r"""Channel-wise dropout for :math:`(N, C, L)` or :math:`(C, L)` inputs."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    if not training or p == 0:
        return input
    return _scaled_dropout(input, p, _channel_noise_shape(input._data.shape, 1), inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    r"""Channel-wise dropout for :math:`(N, C, H, W)` or :math:`(C, H, W)` inputs.

    As in PyTorch, a 3-D input is (with a warning) treated as :math:`(N, C, L)`.
    """
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    if not training or p == 0:
        return input
    return _scaled_dropout(input, p, _feature_noise_shape(input._data.shape), inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    r"""Channel-wise dropout for :math:`(N, C, D, H, W)` or :math:`(C, D, H, W)` inputs."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    if not training or p == 0:
        return input
    shape = input._data.shape
    noise_shape = (_channel_noise_shape(shape, 3) if ndim == 4
                   else _feature_noise_shape(shape))
    return _scaled_dropout(input, p, noise_shape, inplace)


_SELU_ALPHA = 1.7580993408473766  # -alpha' = SELU's scale * alpha


def _alpha_dropout(input, p, noise_shape, inplace):
    if p == 1:
        zero = _wrap(np.zeros((), dtype=input._data.dtype))
        return input.mul_(zero) if inplace else input * zero
    keep = _keep_mask(input, p, noise_shape)
    a = 1.0 / np.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
    dtype = input._data.dtype.type
    scale = _wrap(keep * dtype(a))
    shift = _wrap((keep - 1) * dtype(_SELU_ALPHA * a) + dtype(_SELU_ALPHA * a * p))
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    r"""Dropout for SELU networks: dropped entries take SELU's negative saturation value and an
    affine correction keeps the mean and variance of the input."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _alpha_dropout(input, p, input._data.shape, inplace)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    r"""Alpha dropout of whole channels (one mask value per batch entry and channel)."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _alpha_dropout(input, p, _feature_noise_shape(input._data.shape), inplace)
