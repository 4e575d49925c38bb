"""Less common functions of the ``torch`` namespace: fused arithmetic, stacking, scans,
special functions, statistics, and the top-level aliases of ``torch.linalg``.

Most are composed from differentiable ops, so autograd comes free; elementwise functions whose
composition would allocate several temporaries have their own small backward node.
"""

import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype as dt
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import _formulas as F
from . import elementwise as ew
from . import indexing as ix
from . import linalg as la
from . import reduction as rd
from . import shape as sh
from ._lowp import fp32_op, lower_precision_op
from ._registry import OUT, declare, formula
from ._util import as_tensor_arg, attach, binary_operands, refuse_complex, shape_error, wrap_dim
from .complex import sgn_backward

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------- linalg aliases
def _dec():
    """ops.decompositions, the kernels of torch.linalg that these aliases call."""
    from . import decompositions  # deferred: startup time (torch.linalg loads on first use)
    return decompositions


def det(input):
    """Alias of ``torch.linalg.det``."""
    return _dec().det(input)


@fp32_op
def inverse(input):
    """Alias of ``torch.linalg.inv``."""
    return _dec().inv(input)


def slogdet(input):
    """``(sign, logabsdet)`` of square matrices (``torch.return_types.slogdet``)."""
    lg = _dec()
    return lg.return_types.slogdet(*lg.slogdet(input))


def logdet(input):
    """Log-determinant; nan where the determinant is negative."""
    sign, logabs = _dec().slogdet(input)
    return ix.where(ew.lt(sign, 0), _wrap(np.asarray(np.nan, logabs._data.dtype)), logabs)


def matrix_exp(input):
    """Alias of ``torch.linalg.matrix_exp``."""
    return _dec().matrix_exp(input)


@fp32_op
def pinverse(input, rcond=1e-15):
    """Pseudo-inverse, singular values below ``rcond * S.max()`` dropped."""
    return _dec().pinv(input, rtol=rcond)


def svd(input, some=True, compute_uv=True):
    """``(U, S, V)`` with ``V`` (not its transpose), reduced unless ``some=False``."""
    lg = _dec()
    if not compute_uv:
        a = input._data
        m, n = a.shape[-2:]
        S = lg.svdvals(input)
        z = np.zeros(a.shape[:-2] + (m, m if not some else min(m, n)), a.dtype)
        zv = np.zeros(a.shape[:-2] + (n, n if not some else min(m, n)), a.dtype)
        return lg.return_types.svd(_wrap(z), S, _wrap(zv))
    U, S, Vh = lg.svd(input, full_matrices=not some)
    return lg.return_types.svd(U, S, sh.transpose(Vh, -2, -1))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r"""Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (inputs broadcast):
    :math:`\sum \frac{x_1}{\max(\lVert x_1 \rVert, \epsilon)}
    \frac{x_2}{\max(\lVert x_2 \rVert, \epsilon)}` (also ``nn.functional.cosine_similarity``)."""
    n1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


# ---------------------------------------------------------------------------- helpers
def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    return _wrap(as_tensor_arg(x, like) if like is not None else np.asarray(x))


def _float_array(x):
    """``x``'s array, integers and bools promoted to the default float dtype."""
    a = x._data
    return a.astype(dt.get_default_dtype()._np) if a.dtype.kind in "iub" else a


def _seq(tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def _record(*tensors):
    return _GradState.enabled and any(isinstance(t, Tensor) and t._requires_grad
                                      for t in tensors)


# ---------------------------------------------------------------------------- fused arithmetic
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    prod = ew.mul(tensor1, tensor2)
    return ew.add(input, prod if value == 1 else ew.mul(prod, value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    quot = ew.div(tensor1, tensor2)
    return ew.add(input, quot if value == 1 else ew.mul(quot, value))


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    if input._data.dtype != end._data.dtype:
        raise RuntimeError(f"expected dtype {_cname(input)} for `end` but got dtype "
                           f"{_cname(end)}")
    return ew.add(input, ew.mul(ew.sub(end, input), weight))


def _cname(t):
    """The C++ name PyTorch's messages use for a dtype (float, double, long, ...)."""
    return {"float32": "float", "float64": "double", "int64": "long", "int32": "int",
            "float16": "c10::Half", "bool": "bool"}.get(t._data.dtype.name, t._data.dtype.name)


@lower_precision_op
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` over a batch of matrices."""
    prod = la.bmm(batch1, batch2)
    if alpha != 1:
        prod = ew.mul(prod, alpha)
    if beta == 0:  # input is ignored, NaN and inf included
        return ew.add(prod, _wrap(np.zeros((), prod._data.dtype)))
    return ew.add(prod, input if beta == 1 else ew.mul(input, beta))


# ---------------------------------------------------------------------------- broadcasting
def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to."""
    result = []
    for i, shape in enumerate(shapes):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) > len(result):
            result = [1] * (len(shape) - len(result)) + result
        for k in range(1, len(shape) + 1):
            s, r = shape[-k], result[-k]
            if s != r and s != 1:
                if r != 1:
                    raise RuntimeError(
                        f"Attempting to broadcast a dimension of length {s} at {-k}! Mismatching "
                        f"argument at index {i} had {shape}; but expected shape should be "
                        f"broadcastable to {result}")
                result[-k] = s
    return Size(result)


def broadcast_tensors(*tensors):
    """Expand every tensor to their common broadcast shape (views)."""
    tensors = _seq(tensors)
    try:
        shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    except ValueError:
        a, b = tensors[0]._data.shape, tensors[1]._data.shape
        raise shape_error(a, b) from None
    return tuple(t if t._data.shape == shape else sh.expand(t, shape) for t in tensors)


# ---------------------------------------------------------------------------- stacking
def _atleast(t, n):
    nd = t._data.ndim
    if nd >= n:
        return t
    if n == 2:
        return sh.reshape(t, (1, -1) if nd == 1 else (1, 1))
    if nd == 0:
        return sh.reshape(t, (1, 1, 1))
    if nd == 1:
        return sh.reshape(t, (1, -1, 1))
    return sh.unsqueeze(t, -1)


def atleast_1d(*tensors):
    out = [t if t._data.ndim >= 1 else sh.reshape(t, (1,)) for t in _seq(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    out = [_atleast(t, 2) for t in _seq(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    out = [_atleast(t, 3) for t in _seq(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def column_stack(tensors):
    """Stack 1-D tensors as columns (higher-dimensional ones are concatenated along dim 1)."""
    cols = [sh.reshape(t, (-1, 1)) if t._data.ndim <= 1 else t for t in tensors]
    return sh.cat(cols, 1)


def dstack(tensors):
    """Concatenate along the third dimension after making every tensor at least 3-D."""
    return sh.cat([_atleast(t, 3) for t in tensors], 2)


def block_diag(*tensors):
    """A block-diagonal matrix with ``tensors`` (0-, 1- or 2-D) as its blocks."""
    blocks = []
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {nd} dimensions")
        blocks.append(sh.reshape(t, (1, -1) if nd == 1 else (1, 1)) if nd < 2 else t)
    if not blocks:
        return _wrap(np.zeros((1, 0), np.float32))
    common = np.result_type(*(b._data.dtype for b in blocks))
    blocks = [sh.to_dtype(b, common) for b in blocks]
    total = sum(b._data.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b._data.shape
        parts = [b]
        if left:
            parts.insert(0, _wrap(np.zeros((r, left), common)))
        if total - left - c:
            parts.append(_wrap(np.zeros((r, total - left - c), common)))
        rows.append(sh.cat(parts, 1) if len(parts) > 1 else b)
        left += c
    return sh.cat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of elements of the 1-D ``tensors``, one per row."""
    if len(tensors) == 1:
        return tensors[0]
    sizes = tuple(t._data.shape[0] for t in tensors)
    cols = []
    for i, t in enumerate(tensors):
        shape = [1] * len(tensors)
        shape[i] = -1
        cols.append(sh.reshape(sh.expand(sh.reshape(t, shape), sizes), -1))
    return sh.stack(cols, 1)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of the 1-D ``tensors`` (``indexing="ij"``: matrix order, ``"xy"``:
    Cartesian), one tensor per input."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return tuple(_wrap(g.copy()) for g in np.meshgrid(*[t._data for t in tensors],
                                                      indexing=indexing))


# ---------------------------------------------------------------------------- scans
def _cum_extreme(input, dim, accumulate, rtype):
    refuse_complex(input, kernel=f"{rtype.__name__}_cpu")
    x = input._data
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return rtype(sh.clone(input), _wrap(np.zeros((), np.int64)))
    acc = accumulate(x, axis=d)
    shape = [1] * x.ndim
    shape[d] = x.shape[d]
    pos = np.arange(x.shape[d]).reshape(shape)
    hit = (x == acc) | (np.isnan(x) if x.dtype.kind == "f" else False)
    idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=d).astype(np.int64)
    # the returned indices are the tensor the gather saved: changing them in place is detected
    indices = _wrap(idx)
    values = ix.gather(input, d, indices) if _record(input) else _wrap(acc)
    return rtype(values, indices)


def cummax(input, dim):
    """Running maximum along ``dim`` and the index where it was attained (last on ties)."""
    return _cum_extreme(input, dim, np.maximum.accumulate,
                        rd.return_types.cummax)


_cummin_type = rd._return_type("cummin", ("values", "indices"))


def cummin(input, dim):
    """Running minimum along ``dim`` and the index where it was attained (last on ties)."""
    return _cum_extreme(input, dim, np.minimum.accumulate, _cummin_type)


@formula("LogcumsumexpBackward0", saves={"x": 0, "out": OUT}, attrs=("axis",))
def LogcumsumexpBackward0(ctx, g):
    # grad_j = sum_{i >= j} g_i exp(x_j - out_i)
    x, out, d = ctx.x, ctx.out, ctx.axis
    if g.ndim == 0:
        return (g,)
    if not F.is_array(g):
        return (F.exp(x) * F.flip(F.cumsum(F.flip(g * F.exp(-out), d), d), d),)
    # summed in log space by the sign of g, without overflow
    grad = np.zeros_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        for sign in (1, -1):
            part = np.where(sign * g > 0, np.log(np.abs(g)) - out, -np.inf)
            rev = np.flip(np.logaddexp.accumulate(np.flip(part, d), axis=d), d)
            grad += sign * np.exp(x + rev)
    return (grad,)


def logcumsumexp(input, dim):
    """``log(cumsum(exp(input)))`` along ``dim``, computed without overflow."""
    x = input._data
    if x.dtype.kind in "iub":
        raise RuntimeError('"logcumsumexp_out_cpu" not implemented for '
                           f"'{_TYPE_WORDS.get(x.dtype.name, x.dtype.name)}'")
    d = wrap_dim(dim, x.ndim)
    out = np.logaddexp.accumulate(x, axis=d) if x.ndim else x.copy()
    return LogcumsumexpBackward0.record(out, (input,), (x, out), (d,))


_TYPE_WORDS = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool"}


# ---------------------------------------------------------------------------- elementwise
def deg2rad(input):
    """Degrees to radians."""
    x = _float_array(input)
    return ew.mul(_wrap(x) if x is not input._data else input, math.pi / 180)


def rad2deg(input):
    """Radians to degrees."""
    x = _float_array(input)
    return ew.mul(_wrap(x) if x is not input._data else input, 180 / math.pi)


def _float_binary(name, forward, grads, int_ok=True):
    """A differentiable binary op computed in floating point; ``grads(g, a, b, out)`` returns
    the two (broadcast) gradients (arrays or Tensors). A ``grads(g, a, b)`` written for arrays
    only gives a node that cannot be differentiated twice (DelayedError under create_graph)."""
    twice = grads.__code__.co_argcount == 4

    def backward(ctx, g):
        (na, _), (nb, _) = ctx.next_functions
        ga, gb = grads(g, ctx.a, ctx.b, ctx.out) if twice else grads(g, ctx.a, ctx.b)
        return (F.unbroadcast(ga, ctx.a_shape) if na is not None else None,
                F.unbroadcast(gb, ctx.b_shape) if nb is not None else None)

    node_cls = formula(name, saves={"a": 0, "b": 1, "out": OUT},
                       attrs=("a_shape", "b_shape"))(backward)
    node_cls._differentiable = twice
    op_name = name.replace("Backward0", "").lower()

    def op(input, other):
        if not isinstance(input, Tensor):
            input = _as_tensor(input, other)
        a, b = binary_operands(input, other)
        b = np.asarray(b)
        if not int_ok and a.dtype.kind in "iub" and b.dtype.kind in "iub":
            raise NotImplementedError(f'"{op_name}_cpu" not implemented for '
                                      f"'{_TYPE_WORDS.get(a.dtype.name, a.dtype.name)}'")
        if a.dtype.kind in "iub":
            a = a.astype(dt.get_default_dtype()._np)
        if b.dtype.kind in "iub":
            b = b.astype(a.dtype)
        try:
            with np.errstate(all="ignore"):
                out = forward(a, b)
        except ValueError:
            raise shape_error(a.shape, b.shape) from None
        other_t = other if isinstance(other, Tensor) else None
        return node_cls.record(out, (input, other_t), (a, b, out if name == "HypotBackward0"
                                                       else None), (a.shape, b.shape))

    op.__name__ = op_name
    return op


def _sigmoid(z):
    if not F.is_array(z):
        return ew.sigmoid(z)
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def _logaddexp_grads(g, a, b, out):
    return g * _sigmoid(a - b), g * _sigmoid(b - a)


def _logaddexp2_grads(g, a, b, out):
    return g / (1 + 2.0 ** (b - a)), g / (1 + 2.0 ** (a - b))


def _hypot_grads(g, a, b, out):
    return g * a / out, g * b / out


def _xlogy(a, b):
    return np.where((a == 0) & ~np.isnan(b), 0, a * np.log(b)).astype(
        np.result_type(a, b), copy=False)


def _xlogy_grads(g, a, b, out):
    log_b = F.where((a == 0) & ~F.isnan(b), 0, F.log(b))
    return g * F.cast(log_b, g), g * a / b


logaddexp = _float_binary("LogaddexpBackward0", np.logaddexp, _logaddexp_grads, int_ok=False)
logaddexp2 = _float_binary("Logaddexp2Backward0", np.logaddexp2, _logaddexp2_grads,
                           int_ok=False)
hypot = _float_binary("HypotBackward0", np.hypot, _hypot_grads, int_ok=False)
xlogy = _float_binary("XlogyBackward0", _xlogy, _xlogy_grads)
logaddexp.__doc__ = "``log(exp(input) + exp(other))`` without overflow."
logaddexp2.__doc__ = "``log2(2**input + 2**other)`` without overflow."
hypot.__doc__ = "``sqrt(input**2 + other**2)``, elementwise."
xlogy.__doc__ = "``input * log(other)``, zero where ``input`` is zero."


def heaviside(input, values):
    """Heaviside step: 0 for negative, ``values`` at zero, 1 for positive inputs."""
    refuse_complex(input, values, message="heaviside is not yet implemented for complex tensors.",
                   error=RuntimeError)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x = input._data
    return _wrap(np.where(x == 0, values._data, (x > 0)).astype(x.dtype))


class _MaskedUnaryNode(Node):
    _saved_fields = ("scale",)

    def backward(self, g):
        return (g * self.scale,)


def _masked_unary(name, input, out, scale):
    """Legacy (hand-written node, used by special.py until that family is converted): wrap
    ``out`` with a node whose gradient is ``g * scale``. New ops use ``formula``."""
    if not _record(input):
        return _wrap(out)
    cls = _NODE_CACHE.get(name)
    if cls is None:
        cls = _NODE_CACHE[name] = type(name, (_MaskedUnaryNode,), {})
    node = cls()
    node.scale = scale
    return attach(out, node, input)


_NODE_CACHE: dict[Any, Any] = {}


def _unary_node(name, grad, *attrs):
    """A one-input node saving the input ``x``; ``grad(ctx, g, x)`` is its formula."""
    return formula(name, saves={"x": 0}, attrs=attrs)(lambda ctx, g: (grad(ctx, g, ctx.x),))


NanToNumBackward0 = _unary_node("NanToNumBackward0",
                                lambda ctx, g, x: g * F.cast(F.isfinite(x), g))
def _sgn_grad(ctx, g, x):
    if (x.is_complex() if F.is_tensor(x) else x.dtype.kind == "c"):
        return sgn_backward(g, x)
    return F.zeros_like(g)


SgnBackward0 = _unary_node("SgnBackward0", _sgn_grad)
SgnBackward0._holomorphic = False  # z / |z|: the complex formula is written out


def _logit_grad(ctx, g, x):
    grad = g / (x * (1 - x))
    eps = ctx.eps
    if eps is not None:
        grad = F.where((x < eps) | (x > 1 - eps), 0, grad)
    return grad


LogitBackward0 = _unary_node("LogitBackward0", _logit_grad, "eps")


def _erfinv_grad(ctx, g, x):
    """``sqrt(pi) / 2 * exp(erfinv(x) ** 2)``, recomputed from the saved input as PyTorch."""
    if F.is_array(g):
        y = _erfinv_np(x).astype(np.float64)
        with np.errstate(over="ignore"):
            return g * (math.sqrt(math.pi) / 2 * np.exp(y * y)).astype(g.dtype)
    y = erfinv(x)
    return g * F.exp(y * y) * (math.sqrt(math.pi) / 2)


ErfinvBackward0 = _unary_node("ErfinvBackward0", _erfinv_grad)
LgammaBackward0 = _unary_node(
    "LgammaBackward0", lambda ctx, g, x: g * (_digamma_np(x).astype(x.dtype) if F.is_array(g)
                                              else digamma(x)))
DigammaBackward0 = _unary_node(
    "DigammaBackward0", lambda ctx, g, x: g * (_trigamma_np(x).astype(x.dtype) if F.is_array(g)
                                               else _trigamma(x)))


@formula("PolygammaBackward0")
def PolygammaBackward0(ctx, g):
    raise RuntimeError("the derivative of polygamma(n, x) for n >= 1 is not implemented with "
                       "differentiable operations in numtorch")


def _trigamma(input):
    """polygamma(1, x) as a Tensor (the derivative of digamma)."""
    x = input._data
    return PolygammaBackward0.record(_trigamma_np(x).astype(x.dtype), (input,))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN, +inf and -inf by ``nan``, ``posinf`` (largest finite) and ``neginf``."""
    x = input._data
    if x.dtype.kind not in "fc":
        return _wrap(x.copy())
    info = np.finfo(x.dtype)
    out = np.where(np.isnan(x), nan, x)
    out = np.where(np.isposinf(x), info.max if posinf is None else posinf, out)
    out = np.where(np.isneginf(x), info.min if neginf is None else neginf, out).astype(x.dtype)
    return NanToNumBackward0.record(out, (input,), (x,))


def logit(input, eps=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    x = _float_array(input)
    p = x if eps is None else np.clip(x, eps, 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(p / (1 - p))
    return LogitBackward0.record(out, (input,), (x,), (eps,))


def sgn(input):
    """Sign of each element (for real tensors, as ``sign``)."""
    x = input._data
    return SgnBackward0.record(np.sign(x), (input,), (x,))


def signbit(input):
    """True where the sign bit is set (negative numbers and -0.0)."""
    return _wrap(np.signbit(input._data))


# ---------------------------------------------------------------------------- special functions
_GILES_SMALL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_LARGE = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coeffs, w):
    p = np.full_like(w, coeffs[0])
    for c in coeffs[1:]:
        p = c + p * w
    return p


def _erfinv_np(x):
    """Inverse error function: Giles' polynomial start, then Newton steps in float64 on
    ``erf(y) = x`` near zero and on ``erfc(|y|) = 1 - |x|`` in the tails (where 1 - |x| is
    exact)."""
    x64 = x.astype(np.float64)
    erf, erfc = ew.erf_values, ew.erfc_values
    with np.errstate(all="ignore"):
        w = -np.log((1 - x64) * (1 + x64))
        y = np.where(w < 5, _horner(_GILES_SMALL, w - 2.5),
                     _horner(_GILES_LARGE, np.sqrt(w) - 3)) * x64
        ok = np.isfinite(y)
        y = np.where(ok, y, 0)
        ax, tail = np.abs(x64), np.abs(x64) > 0.5
        for _ in range(3):
            if not y.size:
                break
            slope = 2 / math.sqrt(math.pi) * np.exp(-y * y)
            near = (erf(y) - x64) / slope
            far = -(erfc(np.abs(y)) - (1 - ax)) / slope * np.sign(x64)
            step = np.where(tail, far, near)
            y = np.where(ok & np.isfinite(step), y - step, y)
        y = np.where(x64 == 1, np.inf, np.where(x64 == -1, -np.inf, y))
        y = np.where((np.abs(x64) > 1) | np.isnan(x64), np.nan, y)
    return y.astype(x.dtype)


def erfinv(input):
    """Inverse of the error function on (-1, 1)."""
    x = _float_array(input)
    return ErfinvBackward0.record(_erfinv_np(x), (input,), (x,))


def _lgamma_value(v):
    """``lgamma`` of one float as torch gives it: inf at the poles (0, -1, -2, ...), at -inf and
    where the result overflows (math.lgamma raises there), nan for nan."""
    if v <= 0 and v.is_integer():
        return math.inf
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):
        return math.nan if math.isnan(v) else math.inf


_lgamma_scalar = np.frompyfunc(_lgamma_value, 1, 1)


def _lgamma_np(x):
    if not x.size:
        return x.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # flags left by libm's overflow
        # np.asarray: a frompyfunc ufunc returns a Python float for a 0-d input
        return np.asarray(_lgamma_scalar(x.astype(np.float64))).astype(x.dtype)


def _digamma_np(x):
    """Digamma through the recurrence psi(x) = psi(x + 1) - 1/x and the asymptotic series;
    reflection for negative arguments."""
    x = x.astype(np.float64)
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        y = np.where(reflect, 1 - x, x)
        acc = np.zeros_like(y)
        while True:
            small = y < 10
            if not small.any():
                break
            acc = acc - np.where(small, 1 / y, 0)
            y = np.where(small, y + 1, y)
        inv2 = 1 / (y * y)
        series = np.log(y) - 0.5 / y - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (
            1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
        out = acc + series
        out = np.where(reflect, out - np.pi / np.tan(np.pi * x), out)
        pole = (x <= 0) & (x == np.floor(x))
        out = np.where(pole, np.where(x == 0, -np.inf, np.nan), out)
    return out


def _trigamma_np(x):
    x = x.astype(np.float64)
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        y = np.where(reflect, 1 - x, x)
        acc = np.zeros_like(y)
        while True:
            small = y < 10
            if not small.any():
                break
            acc = acc + np.where(small, 1 / (y * y), 0)
            y = np.where(small, y + 1, y)
        inv2 = 1 / (y * y)
        series = 1 / y + inv2 / 2 + (1 / y) * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (
            1 / 42 - inv2 / 30)))
        out = acc + series
        out = np.where(reflect, -out + (np.pi / np.sin(np.pi * x)) ** 2, out)
    return out


def lgamma(input):
    """Log of the absolute value of the gamma function."""
    x = _float_array(input)
    return LgammaBackward0.record(_lgamma_np(x), (input,), (x,))


def digamma(input):
    """Logarithmic derivative of the gamma function."""
    x = _float_array(input)
    return DigammaBackward0.record(_digamma_np(x).astype(x.dtype), (input,), (x,))


# ---------------------------------------------------------------------------- reductions
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaN as zero."""
    x = input._data
    if x.dtype.kind == "f":
        input = ix.where(_wrap(np.isnan(x)), _wrap(np.zeros((), x.dtype)), input)
    return rd.sum(input, dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over the non-NaN elements."""
    x = input._data
    if x.dtype.kind != "f":
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_TYPE_WORDS.get(x.dtype.name, x.dtype.name)}")
    count = rd.sum(_wrap(~np.isnan(x)), dim, keepdim)
    return ew.div(nansum(input, dim, keepdim, dtype=dtype), count)


def dist(input, other, p=2):
    """``p``-norm of ``input - other``."""
    return rd.vector_norm(ew.sub(input, other), p)


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element along ``dim`` and its index."""
    x = input._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    order = np.argsort(x, axis=d, kind="stable") if x.ndim else np.zeros((), np.int64)
    idx = np.take(order, [k - 1], axis=d).astype(np.int64) if x.ndim else order
    return _select_at(input, d, idx, keepdim, rd.return_types.kthvalue)


def _select_at(input, d, idx, keepdim, rtype):
    """Values of ``input`` at ``idx`` (kept-dim indices along ``d``) as ``rtype``."""
    if input._data.ndim == 0:
        return rtype(input.clone(), _wrap(np.zeros((), np.int64)))
    # the returned indices are (a view of) the tensor the gather saved, so changing them in
    # place before backward is detected instead of giving a wrong gradient
    indices = _wrap(idx)
    values = ix.gather(input, d, indices)
    if not keepdim:
        values, indices = sh.squeeze(values, d), sh.squeeze(indices, d)
    return rtype(values, indices)


def mode(input, dim=-1, keepdim=False):
    """Most frequent value along ``dim`` (the smallest on ties) and its last index."""
    x = input._data
    if x.ndim == 0:
        return rd.return_types.mode(input.clone(), _wrap(np.zeros((), np.int64)))
    d = wrap_dim(dim, x.ndim)
    moved = np.moveaxis(x, d, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    idx = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]
        idx[r] = np.nonzero(row == best)[0][-1]
    idx = np.expand_dims(idx.reshape(moved.shape[:-1]), d)
    return _select_at(input, d, idx, keepdim, rd.return_types.mode)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Integral of ``y`` along ``dim`` by the trapezoidal rule (spacing ``dx`` or points ``x``)."""
    if isinstance(x, (int, float)) and dx is None:
        x, dx = None, x
    d = wrap_dim(dim, y._data.ndim)
    n = y._data.shape[d]
    if n == 0:
        return rd.sum(y, d)
    avg = ew.add(sh.narrow(y, d, 1, n - 1), sh.narrow(y, d, 0, n - 1))
    if x is None:
        return ew.mul(rd.sum(avg, d), (1.0 if dx is None else dx) / 2)
    spacing = diff(x, dim=-1 if x._data.ndim == 1 else d)
    if x._data.ndim == 1:
        shape = [1] * y._data.ndim
        shape[d] = n - 1
        spacing = sh.reshape(spacing, shape)
    return ew.div(rd.sum(ew.mul(avg, spacing), d), 2)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of ``input`` (observations in columns)."""
    x = input._data
    if x.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {x.ndim} dimensions")
    X = sh.reshape(input, (1, -1)) if x.ndim < 2 else input
    if X._data.dtype.kind in "iub":
        X = sh.to_dtype(X, dt.get_default_dtype()._np)
    n_obs = X._data.shape[1]
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else ew.mul(w, aweights)
    if w is None:
        avg = rd.mean(X, 1, keepdim=True)
        norm = n_obs - correction
        centered = ew.sub(X, avg)
        c = ew.div(la.matmul(centered, sh.transpose(centered, 0, 1)), max(norm, 0))
    else:
        w = sh.to_dtype(w, X._data.dtype)
        w_sum = rd.sum(w)
        avg = ew.div(rd.sum(ew.mul(X, w), 1, keepdim=True), w_sum)
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = ew.sub(w_sum, correction)
        else:
            norm = ew.sub(w_sum, ew.div(ew.mul(rd.sum(ew.mul(w, sh.to_dtype(
                aweights, X._data.dtype))), correction), w_sum))
        centered = ew.sub(X, avg)
        c = ew.div(la.matmul(ew.mul(centered, w), sh.transpose(centered, 0, 1)),
                   ew.clamp(norm, min=0))
    return sh.squeeze(c) if x.ndim < 2 or X._data.shape[0] == 1 else c


def corrcoef(input):
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c._data.ndim == 0:
        return ew.div(c, c)
    d = ix.getitem(c, (np.arange(c._data.shape[0]), np.arange(c._data.shape[0])))
    std = ew.sqrt(d)
    c = ew.div(ew.div(c, sh.unsqueeze(std, 1)), sh.unsqueeze(std, 0))
    return ew.clamp(c, -1, 1)


# ---------------------------------------------------------------------------- shape-like
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first)."""
    x = input._data
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = wrap_dim(dim, x.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    if len(parts) > 1:
        parts = [_match_dims(t, input, d) for t in parts]
        input = sh.cat(parts, d)
    for _ in range(n):
        m = input._data.shape[d]
        if m == 0:
            break
        hi, lo = sh.narrow(input, d, 1, m - 1), sh.narrow(input, d, 0, m - 1)
        input = ew.logical_xor(hi, lo) if input._data.dtype == np.bool_ else ew.sub(hi, lo)
    return input


def _match_dims(t, like, d):
    if not isinstance(t, Tensor):
        t = _as_tensor(t, like)
    if t._data.ndim == 0:
        shape = list(like._data.shape)
        shape[d] = 1
        return sh.expand(sh.reshape(t, [1] * len(shape)), shape)
    return t


@formula("DiagEmbedBackward0", attrs=("d1", "d2", "offset"))
def DiagEmbedBackward0(ctx, g):
    if F.is_array(g):
        g = np.moveaxis(g, (ctx.d1, ctx.d2), (-2, -1))
        return (np.diagonal(g, ctx.offset, -2, -1).copy(),)
    return (sh.diagonal(g, ctx.offset, ctx.d1, ctx.d2),)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose ``offset`` diagonals (in dims ``dim1``, ``dim2``) hold the last dimension
    of ``input``."""
    x = input._data
    nd = x.ndim + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = x.shape[-1] + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n), x.dtype)
    i = np.arange(x.shape[-1])
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    out[..., rows, cols] = x
    out = np.moveaxis(out, (-2, -1), (d1, d2))
    return DiagEmbedBackward0.record(out, (input,), (), (d1, d2, offset))


def diagflat(input, offset=0):
    """A 2-D matrix with the flattened ``input`` on its ``offset`` diagonal."""
    return diag_embed(sh.reshape(input, -1), offset)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second)."""
    dims = list(dims)
    x = input._data
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = wrap_dim(dims[0], x.ndim), wrap_dim(dims[1], x.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return sh.transpose(sh.flip(input, d1), d0, d1)
    if k == 2:
        return sh.flip(input, d0, d1)
    if k == 3:
        return sh.transpose(sh.flip(input, d0), d0, d1)
    return sh.clone(input)


def select(input, dim, index):
    """The slice of ``input`` at ``index`` along ``dim`` (a view without that dimension)."""
    x = input._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(x.shape)} at dimension {dim}")
    return ix.getitem(input, (slice(None),) * d + (int(index),))


def take_along_dim(input, indices, dim=None):
    """Values of ``input`` at ``indices`` along ``dim`` (of the flattened input if None)."""
    if dim is None:
        return ix.gather(sh.reshape(input, -1), 0, sh.reshape(indices, -1))
    x, i = input._data, indices._data
    d = wrap_dim(dim, x.ndim)
    shape_x = list(x.shape)
    shape_i = list(i.shape)
    shape_x[d] = shape_i[d] = 1
    common = list(np.broadcast_shapes(tuple(shape_x), tuple(shape_i)))
    cx, ci = list(common), list(common)
    cx[d], ci[d] = x.shape[d], i.shape[d]
    if list(x.shape) != cx:
        input = sh.expand(input, cx)
    if list(i.shape) != ci:
        indices = _wrap(np.broadcast_to(i, ci))
    return ix.gather(input, d, indices)


@lower_precision_op
def tensordot(a, b, dims=2, out=None):
    """Sum of products over the dimensions ``dims`` (a count or two lists) of ``a`` and ``b``."""
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    da = [wrap_dim(d, na) for d in da]
    db = [wrap_dim(d, nb) for d in db]
    for p, q in zip(da, db):
        if a._data.shape[p] != b._data.shape[q]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a._data.shape[p]} in dim {p} and second has size "
                               f"{b._data.shape[q]} in dim {q}")
    free_a = [i for i in range(na) if i not in da]
    free_b = [i for i in range(nb) if i not in db]
    k = int(np.prod([a._data.shape[i] for i in da]))
    out_shape = [a._data.shape[i] for i in free_a] + [b._data.shape[i] for i in free_b]
    A = sh.reshape(sh.permute(a, free_a + da), (-1, k))
    B = sh.reshape(sh.permute(b, db + free_b), (k, -1))
    res = sh.reshape(la.mm(A, B), out_shape)
    if out is not None:
        return la._into(out, res)
    return res


@lower_precision_op
def inner(input, other):
    """Sum of products over the last dimensions (a scalar product for 0-d operands)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return ew.mul(input, other)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input._data.shape)} and {list(other._data.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def kron(input, other):
    """Kronecker product."""
    na, nb = input._data.ndim, other._data.ndim
    n = max(na, nb)
    a = sh.reshape(input, (1,) * (n - na) + input._data.shape)
    b = sh.reshape(other, (1,) * (n - nb) + other._data.shape)
    sa, sb = a._data.shape, b._data.shape
    a = sh.reshape(a, [s for d in sa for s in (d, 1)])
    b = sh.reshape(b, [s for d in sb for s in (1, d)])
    return sh.reshape(ew.mul(a, b), [p * q for p, q in zip(sa, sb)])


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of ``x`` (decreasing unless ``increasing``)."""
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0]
    N = n if N is None else N
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "ub":
        x = sh.to_dtype(x, np.int64)
    if N == 0:
        return _wrap(np.empty((n, 0), x._data.dtype))
    ones = _wrap(np.ones((n, 1), x._data.dtype))
    cols = [ones]
    if N > 1:
        cols.append(rd.cumprod(sh.expand(sh.unsqueeze(x, 1), (n, N - 1)), 1))
    out = sh.cat(cols, 1)
    return out if increasing else sh.flip(out, 1)


# ---------------------------------------------------------------------------- index builders
def _indices(fn, row, col, offset, dtype):
    npd = dt.to_numpy_dtype(dtype) if dtype is not None else np.int64
    r, c = fn(row, offset, col)
    return _wrap(np.stack([r, c]).astype(npd).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Coordinates (2 x N) of the lower triangle of a ``row`` x ``col`` matrix."""
    return _indices(np.tril_indices, row, col, offset, dtype)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Coordinates (2 x N) of the upper triangle of a ``row`` x ``col`` matrix."""
    return _indices(np.triu_indices, row, col, offset, dtype)


# ---------------------------------------------------------------------------- sets
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of ``elements`` is in ``test_elements``."""
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _wrap(np.asarray(np.isin(e, t, assume_unique=assume_unique, invert=invert)))


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Drop consecutive duplicates (of elements, or of slices along ``dim``)."""
    x = input._data
    if dim is None:
        flat = x.reshape(-1)
        change = np.concatenate([[True], flat[1:] != flat[:-1]]) if flat.size else \
            np.zeros(0, bool)
        values = flat[change]
    else:
        d = wrap_dim(dim, x.ndim)
        moved = np.moveaxis(x, d, 0).reshape(x.shape[d], -1)
        change = np.concatenate([[True], np.any(moved[1:] != moved[:-1], axis=1)]) \
            if moved.shape[0] else np.zeros(0, bool)
        values = np.compress(change, x, axis=d)
    out = [_wrap(np.ascontiguousarray(values))]
    if return_inverse:
        inv = np.cumsum(change) - 1
        out.append(_wrap(inv.reshape(x.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        starts = np.nonzero(change)[0]
        out.append(_wrap(np.diff(np.append(starts, change.size)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


# ---------------------------------------------------------------------------- cross, unfold
_CROSS_WARNED: list[bool] = []


def cross(input, other, dim=None):
    """Cross product along ``dim`` (the first dimension of size 3 when None, with PyTorch's
    deprecation warning)."""
    if dim is None:
        if not _CROSS_WARNED:
            _CROSS_WARNED.append(True)
            warnings.warn(
                "Using torch.cross without specifying the dim arg is deprecated.\nPlease either "
                "pass the dim explicitly or simply use torch.linalg.cross.\nThe default value of "
                "dim will change to agree with that of linalg.cross in a future release.",
                UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(input._data.shape, other._data.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return _dec().cross(input, other, dim=dim)


@formula("UnfoldBackward0", attrs=("in_shape", "dim", "size", "step"))
def UnfoldBackward0(ctx, g):
    if len(ctx.in_shape) == 0:  # a 0-d input: unfold was a reshape to (size,) = (1,)
        return (F.reshape(g, ()),)
    d, step, n = ctx.dim, ctx.step, g.shape[ctx.dim]
    lead = (slice(None),) * d
    if F.is_array(g):
        out = np.zeros(ctx.in_shape, g.dtype)
        for k in range(ctx.size):
            out[lead + (slice(k, k + step * (n - 1) + 1, step),)] += g[..., k]
        return (out,)
    out = None
    for k in range(ctx.size):
        part = ix.embed(ix.getitem(g, (Ellipsis, k)), ctx.in_shape,
                        lead + (slice(k, k + step * (n - 1) + 1, step),))
        out = part if out is None else out + part
    return (out,)


def unfold(input, dimension, size, step):
    """All slices of length ``size`` along ``dimension``, ``step`` apart, as a new last
    dimension (a view)."""
    x = input._data
    if x.ndim == 0:
        x = x.reshape(1)
    d = wrap_dim(dimension, x.ndim)
    if size > x.shape[d]:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {x.shape[d]} but size "
                           f"is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=d, writeable=True)
    data = windows[(slice(None),) * d + (slice(None, None, step),)]
    if input._data.ndim == 0:
        data = data.reshape(size)
    out = UnfoldBackward0.record(data, (input,), (), (input._data.shape, d, size, step))
    input._share_version(out)
    return out


# ---------------------------------------------------------------------------- public names
# numtorch.* functions that are also Tensor methods, then functions only
for _fn in (baddbmm, diff, nan_to_num, unfold, cummax, cummin, logcumsumexp, logit, kthvalue,
            mode, hypot, xlogy, logaddexp, logaddexp2, nanmean, nansum, rot90, select, inner,
            take_along_dim, kron, heaviside, deg2rad, rad2deg, sgn, signbit, cov, corrcoef,
            erfinv, lgamma, digamma, det, inverse, slogdet, logdet, pinverse, svd, cross,
            diag_embed, diagflat, dist, unique_consecutive, matrix_exp):
    declare(_fn, export=_fn is not unfold)
for _fn in (addcdiv, addcmul, atleast_1d, atleast_2d, atleast_3d, block_diag, broadcast_shapes,
            broadcast_tensors, cartesian_prod, column_stack, cosine_similarity, dstack, isin,
            lerp, meshgrid, tensordot, trapezoid, tril_indices, triu_indices, vander):
    declare(_fn, method=False)
