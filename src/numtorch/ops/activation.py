"""Activation functions: ``torch.nn.functional.relu``, ``gelu``, ``softplus``, …

Each pointwise activation is one recorded node named as PyTorch names it (``EluBackward0``,
``GeluBackward0``, ``HardtanhBackward0`` for ``relu6``, …) whose backward is written next to its
forward. Activations that PyTorch itself composes from other ops (``softsign``, ``tanhshrink``,
``softmin``) are composed here too, so their graphs read the same.
"""

import math
import warnings

import numpy as np

from .. import _dtype as dt
from .. import random
from .._tensor import Tensor
from . import _formulas as F
from . import _fused, _parallel, _unary_inplace
from . import elementwise as ew
from . import shape as sh
from ._lowp import lower_precision_op, widened_op
from ._registry import formula
from ._util import refuse_complex, wrap_dim
from .reduction import log_softmax, softmax
from .shape import to_dtype

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "elu",
    "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus", "hardtanh",
    "hardtanh_", "hardswish", "hardsigmoid", "sigmoid", "tanh", "softsign", "tanhshrink",
    "logsigmoid", "softmin", "softmax", "log_softmax", "glu", "hardshrink", "softshrink",
    "threshold", "threshold_",
]

_wrap = Tensor._wrap

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------------------- recording helpers
def _node_class(name, grad, *attrs):
    """Declare a one-input activation node saving the input ``x``; ``grad(ctx, g)`` is its
    formula (arrays or Tensors, see ops/_formulas.py) and ``attrs`` its parameters."""
    return formula(name, saves={"x": 0}, attrs=attrs)(lambda ctx, g: (grad(ctx, g),))


def _record(node_cls, input, res, save_x, **params):
    """Wrap ``res``, recording ``node_cls`` (saving ``save_x``, the input's array as used)."""
    return node_cls.record(res, (input,), (save_x,), tuple(params[a] for a in node_cls._attrs))


def _float_data(input):
    """The input's array, with integer inputs promoted to the default float dtype."""
    x = input._data
    if x.dtype.kind in "iub":
        x = x.astype(dt.get_default_dtype()._np)
    return x


def _maybe_inplace(fn, input, inplace, name, *args):
    """Run ``fn(input, *args)`` out of place, or write its result into ``input``."""
    if not inplace:
        return fn(input, *args)
    return _unary_inplace(name, fn)(input, *args)


def _keeps_0d(kernel):
    """Run 0-d inputs of ``kernel`` as one-element arrays: NumPy turns 0-d arithmetic into
    scalars, which the kernels' in-place ``out=`` steps refuse."""
    def run(x):
        if np.ndim(x) == 0:
            return kernel(np.reshape(x, 1)).reshape(())
        return kernel(x)
    run.__doc__ = kernel.__doc__
    return run


@_keeps_0d
def _stable_sigmoid(x):
    """``1 / (1 + exp(-x))``: exact in both tails; ``exp`` overflowing to inf gives 0.

    Branch-free on purpose: ``np.where`` over random signs is ten times slower than arithmetic.
    Compiled for float32 arrays where numba is (``_fused.sigmoid``).
    """
    compiled = _fused.sigmoid(x) if isinstance(x, np.ndarray) else None
    if compiled is not None:
        return compiled
    with np.errstate(over="ignore"):
        e = np.exp(-x)
    e += 1
    return np.reciprocal(e, out=e)


def _log1p_exp(z):
    """``log(1 + exp(z))`` without overflow."""
    e = np.exp(-np.abs(z))
    return np.maximum(z, 0) + ew.log1p_values(e, e)


# ---------------------------------------------------------------------------- relu family
def relu(input, inplace=False):
    """Applies the rectified linear unit function element-wise: ``max(0, x)``."""
    if inplace:
        return input.relu_()
    return ew.relu(input)


def relu_(input):
    return input.relu_()


HardtanhBackward0 = _node_class(
    "HardtanhBackward0", lambda ctx, g: g * ((ctx.x > ctx.min) & (ctx.x < ctx.max)), "min", "max")


def _hardtanh(input, min_val=-1.0, max_val=1.0):
    x = input._data
    res = np.clip(x, min_val, max_val).astype(x.dtype, copy=False)
    return _record(HardtanhBackward0, input, res, save_x=x, min=min_val, max=max_val)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamps each element to ``[min_val, max_val]``."""
    refuse_complex(input, message="clamp is not supported for complex types")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(_hardtanh, input, inplace, "hardtanh_", min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """Applies ``min(max(0, x), 6)`` element-wise (recorded as ``HardtanhBackward0``)."""
    refuse_complex(input, message="clamp is not supported for complex types")
    return hardtanh(input, 0.0, 6.0, inplace)


def _leaky_relu_grad(ctx, g):
    if not F.is_array(g):
        return F.where(ctx.x > 0, g, g * ctx.slope)
    coef = np.greater(ctx.x, 0).astype(g.dtype)
    coef *= 1 - ctx.slope
    coef += ctx.slope
    return g * coef


LeakyReluBackward0 = _node_class("LeakyReluBackward0", _leaky_relu_grad, "slope")


def _leaky_relu(input, negative_slope=0.01):
    x = _float_data(input)
    res = np.maximum(x, 0)
    res += np.minimum(x, 0) * negative_slope
    return _record(LeakyReluBackward0, input, res, save_x=x, slope=negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """Applies ``max(0, x) + negative_slope * min(0, x)`` element-wise."""
    refuse_complex(input, kernel="leaky_relu_cpu")
    return _maybe_inplace(_leaky_relu, input, inplace, "leaky_relu_", negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


@formula("PreluKernelBackward0", saves={"x": 0, "w": 1}, attrs=("w_shape", "channel_axis"))
def PreluKernelBackward0(ctx, g):
    (ni, _), (nw, _) = ctx.next_functions
    x, w = ctx.x, ctx.w
    gi = F.where(x > 0, g, g * w) if ni is not None else None
    gw = None
    if nw is not None:
        gw = F.where(x > 0, 0, g * x)
        w_size = int(np.prod(ctx.w_shape))
        axes = tuple(i for i in range(gw.ndim) if i != ctx.channel_axis or w_size == 1)
        gw = F.cast(F.reshape(F.sum(gw, axes), ctx.w_shape), w)
    return gi, gw


@lower_precision_op
def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)`` with one learnable slope per channel (dim 1)."""
    x, w = input._data, weight._data
    c = w.size
    channel_axis = 1 if x.ndim >= 2 else 0
    if c != 1:
        channels = x.shape[channel_axis] if x.ndim > 0 else 1
        if channels != c:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{c} and channel size = {channels}.")
        wb = w.reshape((c,) + (1,) * (x.ndim - channel_axis - 1))
    else:
        wb = w.reshape(())
    res = np.where(x > 0, x, x * wb).astype(x.dtype, copy=False)
    return PreluKernelBackward0.record(res, (input, weight), (x, wb), (w.shape, channel_axis))


@formula("RreluWithNoiseBackward0", saves={"noise": None})
def RreluWithNoiseBackward0(ctx, g):
    return (g * ctx.noise,)


def _rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    x = _float_data(input)
    if training:
        # as PyTorch: a double uniform on [lower, upper] (bounds rounded to the op's precision)
        # for each element <= 0, in order
        negative = x <= 0
        bound = np.float64 if x.dtype == np.float64 else np.float32
        drawn = random.uniform(None, (int(np.count_nonzero(negative)),), np.float64,
                               float(bound(lower)), float(bound(upper)), fused=False)
        slopes = np.ones(x.shape, x.dtype)
        slopes[negative] = drawn
        return RreluWithNoiseBackward0.record(x * slopes, (input,), (slopes,))
    else:
        slopes = (lower + upper) / 2
    noise = np.where(x > 0, 1, slopes).astype(x.dtype)
    return RreluWithNoiseBackward0.record(x * noise, (input,), (noise,))


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: negative slopes drawn from U(lower, upper) while training."""
    return _maybe_inplace(_rrelu, input, inplace, "rrelu_", lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


ThresholdBackward0 = _node_class(
    "ThresholdBackward0", lambda ctx, g: F.where(ctx.x > ctx.threshold, g, 0), "threshold")


def _threshold(input, threshold, value):
    x = input._data
    res = np.where(x > threshold, x, value).astype(x.dtype, copy=False)
    return _record(ThresholdBackward0, input, res, save_x=x, threshold=threshold)


def threshold(input, threshold, value, inplace=False):
    """Replaces each element not greater than ``threshold`` by ``value``."""
    return _maybe_inplace(_threshold, input, inplace, "threshold_", threshold, value)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


# ---------------------------------------------------------------------------- exponential family
def _elu_grad(ctx, g):
    x, scale, alpha = ctx.x, ctx.scale, ctx.alpha
    if not F.is_array(g):
        return g * F.where(x > 0, scale, (x.clamp(max=0).exp()) * (scale * alpha))
    # scale * (x > 0 ? 1 : alpha * exp(x)), without a branchy np.where (exp(0) = 1 for x > 0)
    coef = np.exp(np.minimum(x, 0)) * (scale * alpha)
    coef += np.greater(x, 0).astype(g.dtype) * (scale - scale * alpha)
    return g * coef


EluBackward0 = _node_class("EluBackward0", _elu_grad, "alpha", "scale")


def _elu(input, alpha=1.0, scale=1.0):
    x = _float_data(input)
    res = np.maximum(x, 0)
    res += np.expm1(np.minimum(x, 0)) * alpha
    if scale != 1.0:
        res *= scale
    return _record(EluBackward0, input, res.astype(x.dtype, copy=False), save_x=x, alpha=alpha,
                   scale=scale)


@widened_op
def elu(input, alpha=1.0, inplace=False):
    """Applies ``x`` for ``x > 0`` and ``alpha * (exp(x) - 1)`` otherwise."""
    refuse_complex(input, kernel="elu_cpu")
    return _maybe_inplace(_elu, input, inplace, "elu_", alpha)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


@widened_op
def selu(input, inplace=False):
    """Scaled ELU with PyTorch's fixed ``alpha`` and ``scale`` (recorded as ``EluBackward0``)."""
    return _maybe_inplace(_elu, input, inplace, "selu_", _SELU_ALPHA, _SELU_SCALE)


def selu_(input):
    return selu(input, inplace=True)


CeluBackward0 = _node_class(  # exp(min(x, 0) / alpha) is 1 where x > 0
    "CeluBackward0", lambda ctx, g: g * F.exp(F.clamp_max(ctx.x, 0) / ctx.alpha), "alpha")


def _celu(input, alpha=1.0):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    x = _float_data(input)
    res = np.maximum(x, 0)
    res += np.expm1(np.minimum(x, 0) / alpha) * alpha
    return _record(CeluBackward0, input, res, save_x=x, alpha=alpha)


def celu(input, alpha=1.0, inplace=False):
    """Applies ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return _maybe_inplace(_celu, input, inplace, "celu_", alpha)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


# ---------------------------------------------------------------------------- gelu
@_keeps_0d
def _erfc_fast(z):
    """``erfc(z)`` to about 1.2e-7 relative error (Chebyshev fit), in ``z``'s dtype."""
    a = np.abs(z)
    t = a * 0.5
    t += 1
    np.reciprocal(t, out=t)
    poly = t * 0.17087277
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
              0.37409196, 1.00002368):
        poly += c
        poly *= t
    poly -= 1.26551223
    a *= a
    poly -= a
    np.exp(poly, out=poly)
    poly *= t
    # erfc(-|z|) = 2 - erfc(|z|), applied without a branchy np.where
    negative = np.less(z, 0).astype(z.dtype)
    flip = 1 - poly
    flip *= negative
    flip *= 2
    poly += flip
    return poly


def _normal_cdf(x):
    """Φ(x) = erfc(-x/√2)/2, accurate in the far left tail too."""
    z = x * -_INV_SQRT_2
    if x.dtype == np.float64:
        return ew.erfc_values(z) * 0.5
    return (_erfc_fast(z) * 0.5).astype(x.dtype, copy=False)


def _gelu_grad(ctx, g):
    if not F.is_array(g):
        return _gelu_grad_tensor(ctx.x, g, ctx.approximate)
    x = ctx.x
    if x.dtype == np.float32 and g.dtype == np.float32 and g.shape == x.shape and x.ndim:
        x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
        jit = _fused.kernels(x) if ctx.approximate == "none" else None
        out = np.empty(x.shape, np.float32)
        if jit is not None:
            return _parallel.map_flat(jit.gelu_backward, out, x, g)
        return _parallel.map_flat(_gelu_grad_chunk(ctx.approximate), out, x, g)
    with np.errstate(invalid="ignore", over="ignore"):  # ±inf give nan silently, as in torch
        return _gelu_grad_values(x, g, ctx.approximate)


def _gelu_grad_chunk(approximate):
    def kernel(x, g, out):
        with np.errstate(invalid="ignore", over="ignore"):
            out[...] = _gelu_grad_values(x, g, approximate)
    return kernel


def _gelu_grad_tensor(x, g, approximate):
    """The same derivative made of differentiable ops (create_graph)."""
    if approximate == "tanh":
        t = ew.tanh((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
        d_inner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
        return g * ((t + 1) * 0.5 + x * (1 - t * t) * d_inner * 0.5)
    cdf = (ew.erf(x * _INV_SQRT_2) + 1) * 0.5
    pdf = ew.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


def _gelu_grad_values(x, g, approximate):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = np.tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
    pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    return g * (_normal_cdf(x) + x * pdf)


GeluBackward0 = _node_class("GeluBackward0", _gelu_grad, "approximate")


@widened_op
def gelu(input, approximate="none"):
    """Gaussian error linear unit ``x * Φ(x)``; ``approximate='tanh'`` uses the tanh estimate.

    float64 uses the exact ``erfc``; float32 a vectorised Chebyshev fit accurate to ~1e-7.
    """
    refuse_complex(input, kernel="GeluKernelImpl")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    x = _float_data(input)
    if x.dtype == np.float32 and x.ndim:
        # large float32 activations: in cache-sized runs, shared among threads (ops._parallel),
        # compiled where numba is (ops._fused)
        x = np.ascontiguousarray(x)
        jit = _fused.kernels(x) if approximate == "none" else None
        kernel = jit.gelu if jit is not None else _gelu_chunk(approximate)
        res = _parallel.map_flat(kernel, np.empty(x.shape, np.float32), x)
    else:
        res = _gelu_values(x, approximate)
    return _record(GeluBackward0, input, res, save_x=x, approximate=approximate)


def _gelu_values(x, approximate):
    with np.errstate(invalid="ignore", over="ignore"):  # gelu(-inf) is nan, silently as in torch
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return x * _normal_cdf(x)


def _gelu_chunk(approximate):
    def kernel(x, out):
        out[...] = _gelu_values(x, approximate)
    return kernel


# ---------------------------------------------------------------------------- sigmoid family
@widened_op
def sigmoid(input):
    """Applies ``1 / (1 + exp(-x))`` element-wise."""
    return ew.sigmoid(input)


def tanh(input):
    """Applies the hyperbolic tangent element-wise."""
    return ew.tanh(input)


def _silu_grad(ctx, g):
    x = ctx.x
    s = _stable_sigmoid(x) if F.is_array(g) else ew.sigmoid(x)
    return g * s * (1 + x * (1 - s))


SiluBackward0 = _node_class("SiluBackward0", _silu_grad)


def _silu(input):
    x = _float_data(input)
    return _record(SiluBackward0, input, x * _stable_sigmoid(x), save_x=x)


@widened_op
def silu(input, inplace=False):
    """Sigmoid linear unit ``x * sigmoid(x)`` (also called swish)."""
    return _maybe_inplace(_silu, input, inplace, "silu_")


def _mish_grad(ctx, g):
    x = ctx.x
    if not F.is_array(g):
        t = ew.tanh(softplus(x))
        return g * (t + x * ew.sigmoid(x) * (1 - t * t))
    t = np.tanh(_log1p_exp(x))
    return g * (t + x * _stable_sigmoid(x) * (1 - t * t))


MishBackward0 = _node_class("MishBackward0", _mish_grad)


def _mish(input):
    x = _float_data(input)
    return _record(MishBackward0, input, x * np.tanh(_log1p_exp(x)), save_x=x)


@widened_op
def mish(input, inplace=False):
    """Applies ``x * tanh(softplus(x))``."""
    return _maybe_inplace(_mish, input, inplace, "mish_")


def _softplus_grad(ctx, g):
    z = ctx.x * ctx.beta
    return F.where(z > ctx.threshold, g,
                   g * (_stable_sigmoid(z) if F.is_array(g) else ew.sigmoid(z)))


SoftplusBackward0 = _node_class("SoftplusBackward0", _softplus_grad, "beta", "threshold")


@widened_op
def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    refuse_complex(input, kernel="softplus_cpu")
    x = _float_data(input)
    z = x * beta
    res = np.where(z > threshold, x, _log1p_exp(z) / beta).astype(x.dtype, copy=False)
    return _record(SoftplusBackward0, input, res, save_x=x, beta=beta, threshold=threshold)


LogSigmoidBackward0 = _node_class(
    "LogSigmoidBackward0",
    lambda ctx, g: g * (_stable_sigmoid(-ctx.x) if F.is_array(g) else ew.sigmoid(-ctx.x)))


@widened_op
def logsigmoid(input):
    """``log(sigmoid(x))``, computed as ``-softplus(-x)`` without overflow."""
    x = _float_data(input)
    e = np.exp(-np.abs(x))
    res = np.minimum(x, 0) - ew.log1p_values(e, e)
    return _record(LogSigmoidBackward0, input, res, save_x=x)


# PyTorch's kernel multiplies by the single-precision 1/6 even for float64; so do we.
_ONE_SIXTH_F32 = float(np.float32(1.0) / np.float32(6.0))
HardsigmoidBackward0 = _node_class(
    "HardsigmoidBackward0", lambda ctx, g: g * ((ctx.x > -3) & (ctx.x < 3)) * _ONE_SIXTH_F32)


def _hardsigmoid(input):
    x = _float_data(input)
    res = (np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)
    return _record(HardsigmoidBackward0, input, res, save_x=x)


def hardsigmoid(input, inplace=False):
    """Applies ``relu6(x + 3) / 6``."""
    return _maybe_inplace(_hardsigmoid, input, inplace, "hardsigmoid_")


def _hardswish_grad(ctx, g):
    x = ctx.x
    mid = g * (x / 3 + 0.5)
    return F.cast(F.where(x <= -3, 0, F.where(x < 3, mid, g)), g)


HardswishBackward0 = _node_class("HardswishBackward0", _hardswish_grad)


def _hardswish(input):
    x = _float_data(input)
    res = (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)
    return _record(HardswishBackward0, input, res, save_x=x)


@widened_op
def hardswish(input, inplace=False):
    """Applies ``x * relu6(x + 3) / 6``."""
    return _maybe_inplace(_hardswish, input, inplace, "hardswish_")


# ---------------------------------------------------------------------------- shrinkage
def _shrink_grad(ctx, g):
    return F.cast(F.where(F.abs(ctx.x) > ctx.lambd, g, 0), g)


HardshrinkBackward0 = _node_class("HardshrinkBackward0", _shrink_grad, "lambd")


def hardshrink(input, lambd=0.5):
    """Keeps ``x`` where ``|x| > lambd``, zero elsewhere."""
    x = input._data
    res = np.where(np.abs(x) > lambd, x, 0).astype(x.dtype, copy=False)
    return _record(HardshrinkBackward0, input, res, save_x=x, lambd=lambd)


SoftshrinkBackward0 = _node_class("SoftshrinkBackward0", _shrink_grad, "lambd")


def softshrink(input, lambd=0.5):
    """Shrinks ``x`` towards zero by ``lambd``; zero where ``|x| <= lambd``."""
    if lambd < 0:
        raise RuntimeError(
            f"lambda must be greater or equal to 0, but found to be {float(lambd)}.")
    x = input._data
    res = np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)).astype(x.dtype,
                                                                                    copy=False)
    return _record(SoftshrinkBackward0, input, res, save_x=x, lambd=lambd)


def softsign(input):
    """``x / (1 + |x|)`` (composed, as in PyTorch: ``DivBackward0`` over ``AddBackward0``)."""
    return ew.div(input, ew.add(ew.abs(input), 1))


def tanhshrink(input):
    """``x - tanh(x)`` (composed, as in PyTorch)."""
    return ew.sub(input, ew.tanh(input))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)`` along ``dim``."""
    if dim is None:
        warnings.warn("Implicit dimension choice for softmin has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning, stacklevel=_stacklevel)
    if dtype is not None:
        input = to_dtype(input, dt.to_numpy_dtype(dtype))
    return softmax(ew.neg(input), dim)


def _glu_grad(ctx, g):
    x, ax = ctx.x, ctx.axis
    if F.is_array(g):
        a, b = np.split(x, 2, axis=ax)
        s = _stable_sigmoid(b)
        return np.concatenate([g * s, g * a * s * (1 - s)], axis=ax)
    a, b = x.chunk(2, ax)
    s = ew.sigmoid(b)
    return sh.cat([g * s, g * a * s * (1 - s)], ax)


GluBackward0 = _node_class("GluBackward0", _glu_grad, "axis")


def glu(input, dim=-1):
    """Gated linear unit: splits ``input`` in halves ``a, b`` along ``dim``; ``a * sigmoid(b)``."""
    x = input._data
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    ax = wrap_dim(dim, x.ndim)
    if x.shape[ax] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {ax} is size {x.shape[ax]}")
    a, b = np.split(x, 2, axis=ax)
    res = a * _stable_sigmoid(b)
    return _record(GluBackward0, input, res, save_x=x, axis=ax)
