"""PyTorch's dtype objects (``torch.float32`` …) mapped onto NumPy dtypes."""

from typing import Any

import numpy as np

# ml_dtypes' bfloat16 is a NumPy "void"-kind (``'V'``) dtype, so ``dtype.kind == "f"`` misses it:
# ask ``is_floating_np`` instead. ml_dtypes takes over half a second to import, so it is loaded
# on first use of bfloat16 (:func:`_load_bfloat16`); until then ``_BF16_NP`` is a placeholder
# dtype no tensor has (a structured dtype: comparing with it costs what two dtypes cost).
_BF16_NP = _BF16_PLACEHOLDER = np.dtype([("bfloat16, not loaded yet", np.uint8)])


def _load_bfloat16():
    """Import ml_dtypes and make ``bfloat16`` a NumPy dtype numtorch knows; returns it."""
    global _BF16_NP
    if _BF16_NP is _BF16_PLACEHOLDER:
        # deferred: startup time (ml_dtypes is slow to import; only bfloat16 needs it)
        import ml_dtypes
        _BF16_NP = np.dtype(ml_dtypes.bfloat16)
        _BY_NUMPY[_BF16_NP] = bfloat16
    return _BF16_NP


def is_floating_np(npd):
    """Whether a NumPy dtype is a real floating-point type, bfloat16 included."""
    return npd.kind == "f" or npd == _BF16_NP


def is_inexact_np(npd):
    """Whether a NumPy dtype is floating point or complex (may require grad), bfloat16 included."""
    return npd.kind in "fc" or npd == _BF16_NP


class dtype:
    """A tensor element type. ``numtorch.float32`` prints as ``torch.float32``."""

    __slots__ = ("name", "_np", "is_floating_point", "is_complex", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self._np = np.dtype(np_dtype)
        self.is_floating_point = is_floating_np(self._np)
        self.is_complex = self._np.kind == "c"
        self.is_signed = self._np.kind in "fic" or self.is_floating_point
        self.itemsize = self._np.itemsize

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return (_lookup_by_name, (self.name,))

    def to_real(self) -> "dtype":
        return {"complex64": float32, "complex128": float64}.get(self.name, self)


class _LazyNumpyDtype(dtype):
    """bfloat16: its NumPy dtype (ml_dtypes') is imported when first asked for."""

    __slots__ = ()

    def __init__(self, name, itemsize):
        self.name, self.itemsize = name, itemsize
        self.is_floating_point, self.is_complex, self.is_signed = True, False, True

    @property
    def _np(self):
        return _load_bfloat16()


float16 = half = dtype("float16", np.float16)
bfloat16 = _LazyNumpyDtype("bfloat16", 2)
float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
complex64 = cfloat = dtype("complex64", np.complex64)
complex128 = cdouble = dtype("complex128", np.complex128)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)
int64 = long = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)

ALL_DTYPES = (float16, bfloat16, float32, float64, complex64, complex128, uint8, int8, int16,
              int32, int64, bool)
_BY_NUMPY = {d._np: d for d in ALL_DTYPES if d is not bfloat16}
_BY_NAME = {d.name: d for d in ALL_DTYPES}

_default_float = float32


def _lookup_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype):
    """The numtorch dtype for a NumPy dtype; TypeError for types PyTorch lacks."""
    try:
        return _BY_NUMPY[np_dtype]
    except KeyError:
        pass
    try:
        npd = np.dtype(np_dtype)
        if npd.name == "bfloat16" and npd.kind == "V":  # an ml_dtypes array made elsewhere
            _load_bfloat16()
        return _BY_NUMPY[npd]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
            "are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint8, and bool."
        ) from None


def to_numpy_dtype(d):
    """Accept a numtorch dtype, a NumPy dtype or a Python type; return a NumPy dtype."""
    if isinstance(d, dtype):
        return d._np
    if d is builtins_float:
        return _default_float._np
    if d is builtins_int:
        return np.dtype(np.int64)
    if d is builtins_bool:
        return np.dtype(np.bool_)
    return from_numpy_dtype(d)._np


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if d not in (float32, float64, float16, bfloat16):
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


import builtins as _builtins  # noqa: E402

builtins_float = _builtins.float
builtins_int = _builtins.int
builtins_bool = _builtins.bool
