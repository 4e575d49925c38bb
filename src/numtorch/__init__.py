"""numtorch: PyTorch's programming model on NumPy.

``import numtorch as torch`` gives tensors with autograd, ``torch.nn``, ``torch.optim`` and
``torch.utils.data`` that behave as PyTorch's do, running on NumPy arrays on the CPU.
"""

import builtins as _builtins
import importlib as _importlib

import numpy as _np

from . import _dtype
from ._device import device
from ._dtype import (bfloat16, bool, cdouble, cfloat, complex64, complex128, double, dtype, float,
                     float16, float32, float64, get_default_dtype, half, int, int8, int16, int32,
                     int64, long, set_default_dtype, short, uint8)
from ._size import Size
from ._tensor import Tensor
from . import ops as _ops  # noqa: F401  (attaches Tensor methods)
from . import autograd
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                       no_grad, set_grad_enabled)
from .autograd.anomaly_mode import (is_anomaly_check_nan_enabled, is_anomaly_enabled,
                                    set_anomaly_enabled)
from ._creation import (arange, as_tensor, asarray, empty, empty_like, eye, from_numpy, full,
                        full_like, linspace, logspace, multinomial, ones, ones_like, rand,
                        rand_like, randint, randint_like, randn, randn_like, randperm, tensor,
                        zeros, zeros_like)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed,
                     seed, set_rng_state)
from .ops.reduction import return_types
from .ops.sampling import bernoulli, normal
from .ops._registry import OPS as _OPS

for _info in _OPS:  # the declared ops' numtorch.* names (ops/_registry.py)
    for _name in _info.exports:
        globals()[_name] = _info.fn
del _info, _name
from ._threads import get_num_threads, set_num_threads
from ._threads import _apply_default as _apply_default_threads
_apply_default_threads()
from ._malloc import tune as _tune_malloc
_tune_malloc()
from ._tensor_str import set_printoptions
from . import _foreach as _foreach_module
globals().update({_n: getattr(_foreach_module, _n) for _n in _foreach_module.__all__})
from ._type_info import (finfo, get_float32_matmul_precision, iinfo,
                         set_float32_matmul_precision)
from . import backends, cuda, version

FloatTensor = DoubleTensor = LongTensor = None  # replaced below

strided = "torch.strided"
contiguous_format = preserve_format = channels_last = "torch.contiguous_format"
inf = _builtins.float("inf")
nan = _builtins.float("nan")
pi = 3.141592653589793
e = 2.718281828459045
__version__ = version.__version__


def _legacy_tensor_type(name, np_dtype):
    """``torch.FloatTensor([1, 2])`` style constructors."""
    def construct(*args):
        if len(args) == 1 and not isinstance(args[0], _builtins.int):
            return Tensor._wrap(_np.array(args[0], dtype=np_dtype))
        return Tensor._wrap(_np.zeros(args, dtype=np_dtype))
    construct.__name__ = name
    return construct


FloatTensor = _legacy_tensor_type("FloatTensor", "float32")
DoubleTensor = _legacy_tensor_type("DoubleTensor", "float64")
LongTensor = _legacy_tensor_type("LongTensor", "int64")
IntTensor = _legacy_tensor_type("IntTensor", "int32")
ByteTensor = _legacy_tensor_type("ByteTensor", "uint8")
BoolTensor = _legacy_tensor_type("BoolTensor", "bool")


def is_tensor(obj):
    r"""Returns True if ``obj`` is a numtorch tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input):
    r"""Returns True if the data type of ``input`` is a floating point data type."""
    return input.is_floating_point()


def is_nonzero(input):
    r"""Returns True if the single-element tensor ``input`` is not equal to zero."""
    return _builtins.bool(input)


def numel(input):
    r"""Returns the total number of elements in the ``input`` tensor."""
    return input.numel()


def clone(input, *, memory_format=None):
    r"""Returns a copy of ``input`` (recorded as ``CloneBackward0``)."""
    return input.clone()


def get_num_interop_threads():
    r"""Returns the number of threads used for inter-op parallelism on CPU: numtorch runs one
    op at a time, so 1."""
    return 1


def set_num_interop_threads(n):
    r"""Accepted for compatibility; numtorch has no inter-op thread pool."""


def use_deterministic_algorithms(mode, *, warn_only=False):
    r"""Accepted for compatibility: every numtorch algorithm is deterministic."""


def are_deterministic_algorithms_enabled():
    r"""Returns True: every numtorch algorithm is deterministic."""
    return True


def compile(model=None, **kwargs):
    r"""``torch.compile`` is accepted and returns the model (or, without one, a decorator that
    returns its argument) unchanged."""
    if model is None:
        return lambda m: m
    return model


# Submodules and functions loaded on first use (PEP 562), so ``import numtorch`` stays quick;
# ``numtorch.nn``, ``import numtorch.nn as nn`` and ``from numtorch import nn`` all work.
_LAZY_MODULES = ("nn", "optim", "utils", "serialization", "datasets", "viz", "compat", "apps",
                 "linalg", "distributions", "special", "onnx", "distributed",
                 "multiprocessing", "func", "accelerator", "testing", "amp", "cpu", "fft")
_LAZY_FUNCTIONS = {"save": "serialization", "load": "serialization",
                   "save_safetensors": "serialization", "load_safetensors": "serialization",
                   "summary": "utils.summary", "vmap": "func", "autocast": "amp",
                   "is_autocast_available": "amp", "get_autocast_dtype": "amp",
                   "set_autocast_dtype": "amp", "is_autocast_enabled": "amp"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY_FUNCTIONS:
        value = getattr(_importlib.import_module(f".{_LAZY_FUNCTIONS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'numtorch' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_FUNCTIONS))
