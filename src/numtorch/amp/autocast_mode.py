"""``torch.autocast``: run the matrix-product family in lower precision on the CPU.

Inside ``autocast("cpu", dtype=torch.bfloat16)`` (bfloat16 is the CPU default) the ops of
PyTorch's CPU lower-precision list (``linear``, ``matmul``, ``mm``, ``bmm``, ``addmm``,
``baddbmm``, ``conv1d``/``conv2d``, the transposed convolutions, ``prelu``, ``einsum``,
``tensordot``, ``scaled_dot_product_attention``) cast their floating-point inputs (not float64)
to bfloat16, multiply in float32 and return bfloat16 results; the float32 list (the losses,
``prod``, ``cdist``, ``trace``, ``inverse``, ``pinverse``) casts lower-precision inputs up to
float32. Other ops run in their inputs' dtype. See ``numtorch/ops/_lowp.py``.
"""

import functools
import warnings

from .. import _dtype as dt
from .._autocast_state import _AutocastState
from .._tensor import Tensor

__all__ = ["autocast", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_dtype", "custom_fwd", "custom_bwd"]

_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                 "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")
_cpu_dtype = [dt.bfloat16]  # the dtype CPU autocast uses when none is given


def is_autocast_available(device_type):
    """Whether autocast can run on ``device_type``: only ``"cpu"`` here."""
    return device_type == "cpu"


def is_autocast_enabled(device_type=None):
    """Whether autocast is on for ``device_type`` (with no argument: CUDA's, never on here)."""
    if device_type is None or device_type != "cpu":
        return False
    return _AutocastState.enabled


def get_autocast_dtype(device_type):
    """The dtype autocast casts to on ``device_type``."""
    if device_type == "cpu":
        return _cpu_dtype[0]
    return dt.float16


def set_autocast_dtype(device_type, dtype):
    """Set the dtype CPU autocast uses when ``autocast`` is given none."""
    if device_type == "cpu":
        _cpu_dtype[0] = dtype


class autocast:
    """Context manager (and decorator) that runs the autocast op lists in lower precision.

    Args:
        device_type (str): ``"cpu"``; ``"cuda"`` and the others are accepted and disabled with
            PyTorch's warning, since numtorch runs on the CPU only.
        dtype (torch.dtype, optional): ``torch.bfloat16`` (default) or ``torch.float16``.
        enabled (bool): ``False`` turns autocast off inside the block. Default: ``True``.
        cache_enabled (bool, optional): accepted; there are no casts worth caching here.
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                f"string: {device_type}")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._enabled = bool(enabled)
        if device_type == "cuda" and enabled:
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                          UserWarning, stacklevel=2)
            self._enabled = False
        elif device_type != "cpu" and enabled:
            warnings.warn(f"User specified an unsupported autocast device_type '{device_type}'",
                          UserWarning, stacklevel=2)
            self._enabled = False
        elif self._enabled and self.fast_dtype not in (dt.bfloat16, dt.float16):
            warnings.warn(
                "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                UserWarning, stacklevel=2)
            self._enabled = False

    def __enter__(self):
        self._prev = (_AutocastState.enabled, _AutocastState.dtype)
        if self.device == "cpu":
            _AutocastState.enabled = self._enabled
            if self._enabled:
                _AutocastState.dtype = self.fast_dtype
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        _AutocastState.enabled, _AutocastState.dtype = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled):
                return func(*args, **kwargs)
        return wrapper


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom ``Function.forward``: with ``cast_inputs``, run it outside autocast
    with its floating-point tensor inputs cast to ``cast_inputs``."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        if cast_inputs is None or not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)

        def cast(a):
            return a.to(cast_inputs) if isinstance(a, Tensor) and a.is_floating_point() else a
        with autocast(device_type, enabled=False):
            return fwd(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom ``Function.backward`` (runs it as is)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
