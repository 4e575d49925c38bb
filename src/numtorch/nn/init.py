"""``torch.nn.init``: in-place initialisation of parameters.

Every function fills ``tensor`` in place without recording a graph (as under ``no_grad``),
bumps its version counter and returns it. Random ones draw from numtorch's generator (the
default one, or ``generator=``) as PyTorch's do (``uniform_`` and ``normal_`` of the tensor), so
after the same ``torch.manual_seed`` a model starts from PyTorch's weights.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import random

if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    from .._tensor import Tensor
    from ..random import Generator

    _NonlinearityType: TypeAlias = Literal[
        "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
        "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    _FanMode: TypeAlias = Literal["fan_in", "fan_out"]

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "sparse_",
]

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: _NonlinearityType,
                   param: int | float | None = None) -> float:
    r"""The recommended gain for a nonlinearity.

    ======================  ====================================================
    nonlinearity            gain
    ======================  ====================================================
    Linear / Identity, Conv{1,2,3}D, Sigmoid   :math:`1`
    Tanh                    :math:`\frac{5}{3}`
    ReLU                    :math:`\sqrt{2}`
    Leaky Relu              :math:`\sqrt{\frac{2}{1 + \text{negative\_slope}^2}}`
    SELU                    :math:`\frac{3}{4}`
    ======================  ====================================================
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fill(tensor, values):
    """Write ``values`` into ``tensor`` in place (casting to its dtype) and bump its version."""
    np.copyto(tensor._data, values, casting="unsafe")
    tensor._bump_version()
    return tensor


def _empty(tensor):
    if tensor._data.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    r"""Fill ``tensor`` with values drawn from :math:`\mathcal{U}(a, b)`."""
    d = tensor._data
    return _fill(tensor, random.uniform(generator, d.shape, d.dtype, a, b))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    r"""Fill ``tensor`` with values drawn from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`."""
    d = tensor._data
    return _fill(tensor, random.normal(generator, d.shape, d.dtype, mean, std,
                                       d.flags.c_contiguous))


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    r"""Fill ``tensor`` from :math:`\mathcal{N}(\text{mean}, \text{std}^2)` truncated to
    :math:`[a, b]`, by rejection as PyTorch does: normals redrawn where they fall outside
    ``[a, b]`` when that interval holds more than 30 % of the mass, otherwise uniforms on
    ``[a, b]`` accepted with the normal's density relative to its peak."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    d = tensor._data
    shape, dtype = d.shape, d.dtype
    if _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std) > 0.3:
        lo, hi = dtype.type(a), dtype.type(b)
        result = random.normal(generator, shape, dtype, mean, std, d.flags.c_contiguous)
        while True:
            outside = (result < lo) | (result > hi)
            if not outside.any():
                break
            result = np.where(outside, random.normal(generator, shape, dtype, mean, std), result)
        return _fill(tensor, result)

    mode = max(a, min(mean, b))
    log_peak = dtype.type(-0.5 * ((mode - mean) / std) ** 2)

    def log_density(x):  # in the tensor's dtype, step by step as PyTorch's in-place ops
        return ((x - dtype.type(mean)) / dtype.type(std)) ** 2 * dtype.type(-0.5) - log_peak

    def rejected(x):
        return np.log(random.uniform(generator, shape, dtype)) > log_density(x)

    result = random.uniform(generator, shape, dtype, a, b)
    pending = rejected(result)
    while pending.any():
        candidates = random.uniform(generator, shape, dtype, a, b)
        result = np.where(pending, candidates, result)
        pending = np.where(pending, rejected(candidates), pending)
    return _fill(tensor, result)


def constant_(tensor: Tensor, val: float) -> Tensor:
    r"""Fill ``tensor`` with the value ``val``."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    r"""Fill ``tensor`` with ones."""
    return _fill(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    r"""Fill ``tensor`` with zeros."""
    return _fill(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    r"""Fill a 2-D ``tensor`` with the identity matrix (ones on the diagonal)."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor._data.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    r"""Fill a 3-, 4- or 5-D ``tensor`` with the Dirac delta: convolutions keep their input
    channels (for each group, as many as fit)."""
    ndim = tensor.dim()
    if ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = tensor._data.shape
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = shape[0] // groups
    values = np.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            values[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def _calculate_fan_in_and_fan_out(tensor):
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    shape = tensor._data.shape
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    r"""Glorot uniform: :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \times \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    r"""Glorot normal: :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} \times \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                     nonlinearity: _NonlinearityType = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    r"""He uniform: :math:`\mathcal{U}(-b, b)` with
    :math:`b = \text{gain} \times \sqrt{3 / \text{fan\_mode}}`.

    ``a`` is the negative slope of the rectifier after this layer (``leaky_relu`` only);
    ``kaiming_uniform_(w, a=math.sqrt(5))`` is the default of Linear and Conv layers,
    :math:`\mathcal{U}(\pm 1/\sqrt{\text{fan\_in}})`.
    """
    if _empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                    nonlinearity: _NonlinearityType = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    r"""He normal: :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} / \sqrt{\text{fan\_mode}}`."""
    if _empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Generator | None = None) -> Tensor:
    r"""Fill ``tensor`` with a (semi-)orthogonal matrix (dimensions past the first are
    flattened), scaled by ``gain``; from the QR decomposition of a Gaussian matrix."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor._data.size == 0:
        return tensor
    rows = tensor._data.shape[0]
    cols = tensor._data.size // rows
    flat = random.normal(generator, (rows, cols), tensor._data.dtype).astype(np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor._data.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: Generator | None = None) -> Tensor:
    r"""Fill a 2-D ``tensor`` from :math:`\mathcal{N}(0, \text{std}^2)` with a fraction
    ``sparsity`` of each column set to zero."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor._data.shape
    num_zeros = int(math.ceil(sparsity * rows))
    values = random.normal(generator, (rows, cols), tensor._data.dtype, 0.0, std,
                           tensor._data.flags.c_contiguous)
    for c in range(cols):
        # (PyTorch draws the rows to zero from the default generator, not from ``generator``)
        values[random.randperm(None, rows)[:num_zeros], c] = 0
    return _fill(tensor, values)


def _deprecated(new):
    old_name = new.__name__[:-1]

    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.", FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    old.__name__ = old_name
    old.__doc__ = f"Deprecated alias of :func:`{new.__name__}`."
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
