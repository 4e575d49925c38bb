"""``torch.finfo`` and ``torch.iinfo``: the numerical limits of a dtype."""

import math
import warnings

import numpy as np

from . import _dtype as dt


def _g(value):
    return f"{value:.6g}"


class finfo:
    """Numerical properties of a floating-point dtype (``torch.finfo``).

    Attributes: ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution`` and ``dtype`` (the name, a string). A complex dtype answers for its real part.
    """

    __hash__ = None  # type: ignore[assignment]  # unhashable, as in torch

    def __init__(self, type=None):
        if type is None:
            type = dt.get_default_dtype()
        if not isinstance(type, dt.dtype):
            raise TypeError(f"finfo(): argument 'type' (position 1) must be torch.dtype, not "
                            f"{builtin_type(type).__name__}")
        real = type.to_real()
        if not real.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        # deferred: startup time (ml_dtypes is slow to import; only bfloat16 needs it)
        import ml_dtypes  # loaded on first use (slow to import)
        info = ml_dtypes.finfo(real._np)
        self.bits = real.itemsize * 8
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -math.floor(-math.log10(self.eps))
        self.dtype = real.name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __repr__(self):
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, "
                f"max={_g(self.max)}, eps={_g(self.eps)}, "
                f"smallest_normal={_g(self.smallest_normal)}, tiny={_g(self.tiny)}, "
                f"dtype={self.dtype})")

    __str__ = __repr__


class iinfo:
    """Numerical properties of an integer dtype (``torch.iinfo``): ``bits``, ``min``, ``max``,
    ``dtype`` (the name, a string)."""

    __hash__ = None  # type: ignore[assignment]  # unhashable, as in torch

    def __init__(self, type):
        if not isinstance(type, dt.dtype):
            raise TypeError(f"iinfo(): argument 'type' (position 1) must be torch.dtype, not "
                            f"{builtin_type(type).__name__}")
        if type is dt.bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if type._np.kind not in "iu":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(type._np)
        self.bits = info.bits
        self.min = int(info.min)
        self.max = int(info.max)
        self.dtype = type.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __repr__(self):
        return f"iinfo(min={_g(self.min)}, max={_g(self.max)}, dtype={self.dtype})"

    __str__ = __repr__


builtin_type = type


_matmul_precision = "highest"


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision setting: ``"highest"`` unless changed."""
    return _matmul_precision


def set_float32_matmul_precision(precision: str) -> None:
    """Record the float32 matmul precision (``"highest"``, ``"high"`` or ``"medium"``).

    numtorch always multiplies float32 in float32 (NumPy's BLAS), which is what ``"highest"``
    asks for; ``"high"`` and ``"medium"`` permit, but never require, lower internal precision,
    so the setting is recorded and answered back without changing any result.
    """
    global _matmul_precision
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision = precision
