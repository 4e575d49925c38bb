"""Tensor creation: ``tensor``, ``zeros``, ``arange``, ``randn`` … with PyTorch's dtype rules."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _dtype as dt
from . import random as _random
from ._device import check_device
from ._tensor import Tensor

if TYPE_CHECKING:
    from .random import Generator
    from .types import Number, _device, _dtype, _layout, _memory_format, _size

_wrap = Tensor._wrap


def _finish(data, requires_grad):
    t = _wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data):
    """PyTorch's inference: bools → bool, ints → int64, floats → default float, complex."""
    kind = data.dtype.kind
    if kind == "f":
        return dt.get_default_dtype()._np
    if kind == "c":
        return np.dtype(np.complex64 if dt.get_default_dtype() is dt.float32 else np.complex128)
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return data.dtype
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _from_sequence(data, dtype=None):
    """Convert nested lists/tuples that may contain tensors into an ndarray.

    Python ints beyond int64 (``2**63``) become floats only when ``dtype`` is a floating,
    complex or bool dtype; otherwise they raise torch's overflow error instead of wrapping.
    """
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x._data if isinstance(x, Tensor) else _from_sequence(x, dtype) for x in data]
    try:
        arr = np.array(data)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"expected sequence of equal-length sequences: {e}") from None
    if arr.dtype == object:
        if not all(isinstance(x, numbers.Number) for x in arr.reshape(-1)):
            raise TypeError(
                f"Could not infer dtype of {type(data).__name__} (ragged or mixed data)")
        target = None if dtype is None else dt.to_numpy_dtype(dtype)
        if target is None or target.kind in "iu":
            raise ValueError("Overflow when unpacking long long")
        arr = np.array(data, dtype=np.complex128 if target.kind == "c" else np.float64)
    elif arr.dtype == np.uint64 and (dtype is None or dt.to_numpy_dtype(dtype).kind in "iu"):
        raise ValueError("Overflow when unpacking long long")  # a Python int >= 2**63
    return arr


def _check_fits(arr, target):
    """torch's check that Python values fit an integer dtype (unsigned types also take
    negative values down to ``-max``, which wrap around)."""
    if target.kind not in "iu" or arr.size == 0 or arr.dtype.kind not in "iuf":
        return
    info = np.iinfo(target)
    low = -int(info.max) if target.kind == "u" else int(info.min)
    with np.errstate(invalid="ignore"):
        lo, hi = arr.min(), arr.max()
    if not (low <= lo and hi <= info.max):  # also catches NaN
        raise RuntimeError(f"value cannot be converted to type {target.name} without overflow")


def tensor(data: Any, dtype: _dtype | None = None, device: _device | None = None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Construct a tensor by copying ``data`` (a number, nested sequence, ndarray or tensor)."""
    check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, np.ndarray):
        arr = np.array(data, copy=True)
        if dtype is None and arr.dtype.kind not in "fciub":
            raise TypeError(f"can't convert np.ndarray of type {arr.dtype}")
        if dtype is None:
            dt.from_numpy_dtype(arr.dtype)
            return _finish(arr, requires_grad)
    elif isinstance(data, np.generic):
        arr = np.array(data)
        if dtype is None:
            return _finish(arr, requires_grad)
        _check_fits(arr, dt.to_numpy_dtype(dtype))
    else:
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        arr = _from_sequence(data, dtype)
        if dtype is None:
            dtype = _infer_dtype(arr)
        _check_fits(arr, dt.to_numpy_dtype(dtype))
    if dtype is not None:
        with np.errstate(over="ignore"):  # 1e308 -> float32 is inf, silently as in torch
            arr = arr.astype(dt.to_numpy_dtype(dtype), copy=False)
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype: _dtype | None = None, device: _device | None = None) -> Tensor:
    """Share memory with ``data`` when possible (an ndarray or tensor of the right dtype)."""
    if isinstance(data, Tensor):
        if dtype is None or data._data.dtype == dt.to_numpy_dtype(dtype):
            return data
        return data.to(dtype)
    if isinstance(data, np.ndarray):
        if dtype is None:
            dt.from_numpy_dtype(data.dtype)
            return _wrap(data)
        return _wrap(data.astype(dt.to_numpy_dtype(dtype), copy=False))
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dt.from_numpy_dtype(ndarray.dtype)
    return _wrap(ndarray)


def _shape(size: Any) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        size = size[0]
    out = []
    for s in size:
        if not isinstance(s, numbers.Integral) and not (isinstance(s, Tensor) and s.numel() == 1):
            raise TypeError(
                f"zeros(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__}")
        s = int(s)
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(s)
    return tuple(out)


def _np_dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else dt.get_default_dtype()._np
    return dt.to_numpy_dtype(dtype)


def zeros(*size: int | _size, out: Tensor | None = None, dtype: _dtype | None = None,
          layout: _layout | None = None, device: _device | None = None,
          requires_grad: bool = False) -> Tensor:
    check_device(device)
    return _finish(np.zeros(_shape(size), dtype=_np_dtype(dtype)), requires_grad)


def ones(*size: int | _size, out: Tensor | None = None, dtype: _dtype | None = None,
         layout: _layout | None = None, device: _device | None = None,
         requires_grad: bool = False) -> Tensor:
    check_device(device)
    return _finish(np.ones(_shape(size), dtype=_np_dtype(dtype)), requires_grad)


def empty(*size: int | _size, out: Tensor | None = None, dtype: _dtype | None = None,
          layout: _layout | None = None, device: _device | None = None, requires_grad: bool = False,
          memory_format: _memory_format | None = None, pin_memory: bool = False) -> Tensor:
    check_device(device)
    return _finish(np.empty(_shape(size), dtype=_np_dtype(dtype)), requires_grad)


def _fill_dtype(value):
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, complex):
        return np.dtype(np.complex64)
    return dt.get_default_dtype()._np


def full(size: _size, fill_value: Number | Tensor, *, out: Tensor | None = None,
         dtype: _dtype | None = None, layout: _layout | None = None, device: _device | None = None,
         requires_grad: bool = False) -> Tensor:
    check_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    npd = _np_dtype(dtype, _fill_dtype(fill_value))
    return _finish(np.full(_shape((size,)), fill_value, dtype=npd), requires_grad)


def _like_dtype(input, dtype):
    return input._data.dtype if dtype is None else dt.to_numpy_dtype(dtype)


def zeros_like(input: Tensor, *, dtype: _dtype | None = None, layout: _layout | None = None,
               device: _device | None = None, requires_grad: bool = False,
               memory_format: _memory_format | None = None) -> Tensor:
    return _finish(np.zeros(input._data.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def ones_like(input: Tensor, *, dtype: _dtype | None = None, layout: _layout | None = None,
              device: _device | None = None, requires_grad: bool = False,
              memory_format: _memory_format | None = None) -> Tensor:
    return _finish(np.ones(input._data.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def empty_like(input: Tensor, *, dtype: _dtype | None = None, layout: _layout | None = None,
               device: _device | None = None, requires_grad: bool = False,
               memory_format: _memory_format | None = None) -> Tensor:
    return _finish(np.empty(input._data.shape, dtype=_like_dtype(input, dtype)), requires_grad)


def full_like(input: Tensor, fill_value: Number, *, dtype: _dtype | None = None,
              layout: _layout | None = None, device: _device | None = None,
              requires_grad: bool = False, memory_format: _memory_format | None = None) -> Tensor:
    return _finish(np.full(input._data.shape, fill_value, dtype=_like_dtype(input, dtype)),
                   requires_grad)


def arange(start: Number | Tensor = 0, end: Number | Tensor | None = None,
           step: Number | Tensor = 1, *, out: Tensor | None = None, dtype: _dtype | None = None,
           layout: _layout | None = None, device: _device | None = None,
           requires_grad: bool = False) -> Tensor:
    check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in vals)
        npd = np.dtype(np.int64) if is_int else dt.get_default_dtype()._np
    else:
        npd = dt.to_numpy_dtype(dtype)
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    # Count computed in double precision as PyTorch does, then values start + i * step.
    n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
    data = (vals[0] + np.arange(max(n, 0), dtype=np.float64) * vals[2]).astype(npd) \
        if npd.kind == "f" else np.arange(vals[0], vals[1], vals[2]).astype(npd)
    return _finish(data, requires_grad)


def range_(start: Number, end: Number, step: Number = 1, *, dtype: _dtype | None = None,
           device: _device | None = None, requires_grad: bool = False) -> Tensor:
    n = int(np.floor((end - start) / step)) + 1
    npd = _np_dtype(dtype)
    return _finish((start + np.arange(n) * step).astype(npd), requires_grad)


def linspace(start: Number, end: Number, steps: int, *, out: Tensor | None = None,
             dtype: _dtype | None = None, layout: _layout | None = None,
             device: _device | None = None, requires_grad: bool = False) -> Tensor:
    check_device(device)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _finish(np.linspace(start, end, steps).astype(_np_dtype(dtype)), requires_grad)


def logspace(start: Number, end: Number, steps: int, base: float = 10.0, *,
             dtype: _dtype | None = None, device: _device | None = None,
             requires_grad: bool = False) -> Tensor:
    return _finish(np.logspace(start, end, steps, base=base).astype(_np_dtype(dtype)),
                   requires_grad)


def eye(n: int, m: int | None = None, *, out: Tensor | None = None,
        dtype: _dtype | None = None, layout: _layout | None = None,
        device: _device | None = None, requires_grad: bool = False) -> Tensor:
    check_device(device)
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


# ---------------------------------------------------------------------------- random
def rand(*size: int | _size, generator: Generator | None = None, out: Tensor | None = None,
         dtype: _dtype | None = None, layout: _layout | None = None, device: _device | None = None,
         requires_grad: bool = False) -> Tensor:
    check_device(device)
    data = _random.uniform(generator, _shape(size), _np_dtype(dtype))
    return _finish(data, requires_grad)


def randn(*size: int | _size, generator: Generator | None = None, out: Tensor | None = None,
          dtype: _dtype | None = None, layout: _layout | None = None, device: _device | None = None,
          requires_grad: bool = False) -> Tensor:
    check_device(device)
    data = _random.normal(generator, _shape(size), _np_dtype(dtype))
    return _finish(data, requires_grad)


def randint(low: int = 0, high: int | _size | None = None, size: _size | None = None, *,
            generator: Generator | None = None, out: Tensor | None = None,
            dtype: _dtype | None = None, layout: _layout | None = None,
            device: _device | None = None, requires_grad: bool = False) -> Tensor:
    check_device(device)
    lo: Any = low
    hi: Any = high
    shape: Any = size
    if shape is None:
        # randint(high, size) form
        lo, hi, shape = 0, lo, hi
    if hi is None:
        lo, hi = 0, lo
    npd = _np_dtype(dtype, np.dtype(np.int64))
    return _finish(_random.random(generator, _shape((shape,)), npd, lo, hi), requires_grad)


def randperm(n: int, *, generator: Generator | None = None, out: Tensor | None = None,
             dtype: _dtype | None = None, layout: _layout | None = None,
             device: _device | None = None, requires_grad: bool = False) -> Tensor:
    check_device(device)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    npd = _np_dtype(dtype, np.dtype(np.int64))
    return _finish(_random.randperm(generator, n).astype(npd), requires_grad)


def rand_like(input: Tensor, *, dtype: _dtype | None = None, generator: Generator | None = None,
              **kwargs: Any) -> Tensor:
    return rand(input._data.shape, dtype=dtype or input.dtype, generator=generator)


def randn_like(input: Tensor, *, dtype: _dtype | None = None, generator: Generator | None = None,
               **kwargs: Any) -> Tensor:
    return randn(input._data.shape, dtype=dtype or input.dtype, generator=generator)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *,
                 dtype: _dtype | None = None, generator: Generator | None = None,
                 **kwargs: Any) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype, generator=generator)


def normal(mean: float | Tensor = 0.0, std: float | Tensor = 1.0, size: _size | None = None, *,
           generator: Generator | None = None, out: Tensor | None = None,
           dtype: _dtype | None = None, device: _device | None = None,
           requires_grad: bool = False) -> Tensor:
    """Samples from N(mean, std²); ``mean``/``std`` may be tensors (broadcast). As in PyTorch,
    tensor arguments take standard normals scaled by ``std`` and shifted by ``mean``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(s, np.ndarray):
            if s.size and (s < 0).any():
                raise RuntimeError("normal expects all elements of std >= 0.0")
        elif s < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {s}")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        npd = m.dtype if isinstance(m, np.ndarray) else np.asarray(s).dtype
        if not isinstance(s, np.ndarray):  # a tensor mean and a float std
            data = _random.normal(generator, shape, npd, 0.0, s)
        else:
            data = _random.normal(generator, shape, npd) * s
        return _finish((data + m).astype(npd, copy=False), requires_grad)
    npd = _np_dtype(dtype)
    data = _random.normal(generator, tuple(size or ()), npd, mean, std)
    return _finish(data, requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Generator | None = None) -> Tensor:
    data = _random.bernoulli(generator, input._data.shape, input._data if p is None else p)
    return _wrap(data.astype(input._data.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Samples category indices from the rows of ``input`` (non-negative weights), as PyTorch
    draws them: one sample, or several without replacement, are the largest ``p / q`` with
    ``q ~ Exp(1)`` (an exponential draw per weight); several with replacement are binary
    searches of a double uniform each in the row's normalised cumulative sums."""
    p = input._data
    if p.dtype.kind != "f" and p.dtype.name != "bfloat16":
        words = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                 "uint8": "Byte", "bool": "Bool"}
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{words.get(p.dtype.name, p.dtype.name)}")
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    rows = np.atleast_2d(p)
    categories = rows.shape[1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not replacement or num_samples == 1:
        if rows.size and not (np.isfinite(rows).all() and (rows >= 0).all()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (rows.sum(axis=1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = (-np.log1p(-_random.uniform(generator, rows.shape, np.float64))).astype(rows.dtype)
        keys = rows / q
        if num_samples == 1:
            out = np.argmax(keys, axis=1)[:, None]
        else:  # the largest first, as topk gives them
            out = np.argsort(-keys.astype(np.float64), axis=1, kind="stable")[:, :num_samples]
    else:
        out = _multinomial_with_replacement(generator, rows, num_samples)
    out = out.astype(np.int64)
    return _wrap(out if p.ndim == 2 else out[0])


def _multinomial_with_replacement(generator, rows, num_samples):
    if (rows < 0).any():
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    sums = rows.astype(np.float64).cumsum(axis=1)
    totals = sums[:, -1:]
    if (totals <= 0).any() or not np.isfinite(sums).all():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    cumulative = (sums / totals).astype(rows.dtype)
    u = _random.uniform(generator, (rows.shape[0], num_samples), np.float64)
    return np.stack([np.searchsorted(c, s, side="left") for c, s in zip(cumulative, u)])
