"""Elementwise operations: arithmetic with broadcasting, unary math, comparisons.

Binary nodes keep the input shapes and reduce broadcast gradients with ``unbroadcast``.
Unary ops are declared in one table: forward ufunc and derivative side by side.
"""

import math

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..autograd.node import Node
from . import _jit
from ._lowp import widened_op
from ._util import as_tensor_arg, attach, binary_operands, shape_error, unbroadcast

_wrap = Tensor._wrap


def _tensor_from(x, like=None):
    """A Python number or array on the left of an op, as a tensor."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return _wrap(as_tensor_arg(x, like))
    return _wrap(np.asarray(x))


# ---------------------------------------------------------------------------- binary ops
class _BinaryNode(Node):
    __slots__ = ()
    a_shape = b_shape = None


class AddBackward0(_BinaryNode):
    alpha = 1

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        ga = unbroadcast(g, self.a_shape) if na is not None else None
        gb = None
        if nb is not None:
            gb = unbroadcast(g if self.alpha == 1 else g * self.alpha, self.b_shape)
        return ga, gb


class SubBackward0(AddBackward0):
    alpha = -1


class RsubBackward1(Node):
    def backward(self, g):
        return (-g,)


class MulBackward0(_BinaryNode):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        ga = unbroadcast(g * self.b, self.a_shape) if na is not None else None
        gb = unbroadcast(g * self.a, self.b_shape) if nb is not None else None
        return ga, gb


class DivBackward0(_BinaryNode):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        b = self.b
        ga = unbroadcast(g / b, self.a_shape) if na is not None else None
        gb = unbroadcast(-g * self.a / (b * b), self.b_shape) if nb is not None else None
        return ga, gb


class PowBackward0(Node):
    """tensor ** scalar."""

    _saved_fields = ("a",)

    def backward(self, g):
        e = self.exponent
        if e == 0:
            return (np.zeros_like(g),)
        if e == 2:
            return (g * (2 * self.a),)
        return (g * (e * self.a ** (e - 1)),)


class PowBackward1(_BinaryNode):
    """tensor ** tensor."""

    _saved_fields = ("a", "b", "out")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        a, b = self.a, self.b
        ga = gb = None
        if na is not None:
            ga = unbroadcast(g * b * np.where(b == 0, 0, a ** np.where(b == 0, 1, b - 1)),
                             self.a_shape)
        if nb is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where((a == 0) & (b >= 0), 0, np.log(a))
            gb = unbroadcast(g * self.out * log_a, self.b_shape)
        return ga, gb


class PowBackward2(Node):
    """scalar ** tensor."""

    _saved_fields = ("out",)

    def backward(self, g):
        base = self.base
        if base == 0:
            return (g * np.where(self.out_exp >= 0, 0, -np.inf).astype(g.dtype),)
        return (g * self.out * math.log(base),)


class MaximumBackward0(_BinaryNode):
    _saved_fields = ("a", "b")
    _a_wins = staticmethod(np.greater)

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        a, b = self.a, self.b
        # Ties split the gradient in half, as PyTorch does; the weights are in g's dtype
        # (a Python 0.5 would make them float64).
        wa = self._a_wins(a, b) + g.dtype.type(0.5) * (a == b)
        ga = unbroadcast(g * wa, self.a_shape) if na is not None else None
        gb = unbroadcast(g * (1 - wa), self.b_shape) if nb is not None else None
        return ga, gb


class MinimumBackward0(MaximumBackward0):
    _a_wins = staticmethod(np.less)


class RemainderBackward0(_BinaryNode):
    """``input % number``; RemainderBackward1 for a tensor ``other``, the Fmod pair likewise."""

    _saved_fields = ("a", "b")
    _round = staticmethod(np.floor)  # the quotient remainder() takes away (fmod: truncated)

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        ga = unbroadcast(g, self.a_shape) if na is not None else None
        gb = None
        if nb is not None:
            gb = unbroadcast(-g * self._round(self.a / self.b), self.b_shape)
        return ga, gb


class RemainderBackward1(RemainderBackward0):
    pass


class FmodBackward0(RemainderBackward0):
    _round = staticmethod(np.trunc)


class FmodBackward1(FmodBackward0):
    pass


class Atan2Backward0(_BinaryNode):
    _saved_fields = ("a", "b")

    def backward(self, g):
        (na, _), (nb, _) = self.next_functions
        a, b = self.a, self.b
        denom = a * a + b * b
        ga = unbroadcast(g * b / denom, self.a_shape) if na is not None else None
        gb = unbroadcast(-g * a / denom, self.b_shape) if nb is not None else None
        return ga, gb


def _binary(name, ufunc, node_cls, saves):
    """Build ``op(input, other, *, out=None)`` for a differentiable broadcasting binary ufunc."""

    def op(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input = _tensor_from(input, other if isinstance(other, Tensor) else None)
        ad, bd = binary_operands(input, other)
        try:
            res = ufunc(ad, bd)
        except ValueError:
            raise shape_error(ad.shape, np.shape(bd)) from None
        if out is not None:
            return _write_out(out, res, name, input, other)
        other_t = other if isinstance(other, Tensor) else None
        if _GradState.enabled and (input._requires_grad
                                   or (other_t is not None and other_t._requires_grad)):
            node = node_cls()
            node.a_shape = ad.shape
            node.b_shape = np.shape(bd)
            if saves:
                node.a, node.b = ad, bd
                node.save_versions(input, other_t) if other_t is not None \
                    else node.save_versions(input)
            return attach(res, node, input, other_t)
        return _wrap(res)

    op.__name__ = name
    return op


mul = _binary("mul", np.multiply, MulBackward0, True)
maximum = _binary("maximum", np.maximum, MaximumBackward0, True)
minimum = _binary("minimum", np.minimum, MinimumBackward0, True)
_atan2 = _binary("atan2", np.arctan2, Atan2Backward0, True)


def atan2(input, other, *, out=None):
    """``atan(input / other)`` by quadrant; integers give the default float dtype (NumPy:
    float64)."""
    if isinstance(input, Tensor) and input._data.dtype.kind in "iub":
        input = _wrap(input._data.astype(dt.get_default_dtype()._np))
    return _atan2(input, other, out=out)


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with broadcasting."""
    return _add_or_sub(input, other, alpha, out, np.add, AddBackward0)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other`` with broadcasting."""
    return _add_or_sub(input, other, alpha, out, np.subtract, SubBackward0)


def _add_or_sub(input, other, alpha, out, ufunc, node_cls):
    if not isinstance(input, Tensor):
        input = _tensor_from(input, other if isinstance(other, Tensor) else None)
    ad, bd = binary_operands(input, other)
    if ufunc is np.subtract and ad.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead.")
    if alpha != 1:
        bd = bd * alpha
    try:
        res = ufunc(ad, bd)
    except ValueError:
        raise shape_error(ad.shape, np.shape(bd)) from None
    if out is not None:
        return _write_out(out, res, "add" if ufunc is np.add else "sub", input, other)
    other_t = other if isinstance(other, Tensor) else None
    if _GradState.enabled and (input._requires_grad
                               or (other_t is not None and other_t._requires_grad)):
        node = node_cls()
        node.a_shape, node.b_shape = ad.shape, np.shape(bd)
        if alpha != 1:
            node.alpha = alpha if ufunc is np.add else -alpha
        return attach(res, node, input, other_t)
    return _wrap(res)


def rsub(input, other, alpha=1):
    """``other - alpha * input`` (the reflected subtraction)."""
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    ad = input._data
    res = as_tensor_arg(other, input) - (ad if alpha == 1 else ad * alpha)
    if _GradState.enabled and input._requires_grad:
        node = RsubBackward1() if alpha == 1 else _ScaledNeg(alpha)
        return attach(res, node, input)
    return _wrap(res)


class _ScaledNeg(RsubBackward1):
    def __init__(self, alpha):
        self.alpha = alpha

    def backward(self, g):
        return (-g * self.alpha,)


def div(input, other, *, rounding_mode=None, out=None):
    """True division (float result for integer inputs), or floor/trunc division."""
    if not isinstance(input, Tensor):
        input = _tensor_from(input, other if isinstance(other, Tensor) else None)
    ad, bd = binary_operands(input, other)
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                f"'{rounding_mode}'")
        if ad.dtype.kind in "iub" and np.asarray(bd).dtype.kind in "iub":
            if np.any(np.asarray(bd) == 0):
                raise RuntimeError("ZeroDivisionError")
            res = np.floor_divide(ad, bd)
            if rounding_mode == "trunc":
                res = np.where((res < 0) & (np.remainder(ad, bd) != 0), res + 1, res)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.true_divide(ad, bd)
            res = np.floor(q) if rounding_mode == "floor" else np.trunc(q)
        if out is not None:
            return _write_out(out, res, "div", input, other)
        if _GradState.enabled and (input._requires_grad or
                                   (isinstance(other, Tensor) and other._requires_grad)):
            node = _ZeroGrad2("DivBackward2")
            node.shapes = (ad.shape, np.shape(bd))
            return attach(res, node, input, other if isinstance(other, Tensor) else None)
        return _wrap(res)
    if ad.dtype.kind in "iub":
        ad = ad.astype(dt.get_default_dtype()._np)
        bd = np.asarray(bd).astype(ad.dtype)
    elif np.asarray(bd).dtype.kind in "iub":
        bd = np.asarray(bd).astype(ad.dtype)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = ad / bd
    except ValueError:
        raise shape_error(ad.shape, np.shape(bd)) from None
    if out is not None:
        return _write_out(out, res, "div", input, other)
    other_t = other if isinstance(other, Tensor) else None
    if _GradState.enabled and (input._requires_grad
                               or (other_t is not None and other_t._requires_grad)):
        node = DivBackward0()
        node.a_shape, node.b_shape = ad.shape, np.shape(bd)
        node.a, node.b = ad, bd
        node.save_versions(*(t for t in (input, other_t) if t is not None))
        return attach(res, node, input, other_t)
    return _wrap(res)


class _ZeroGradNode(Node):
    def backward(self, g):
        return tuple(None if n is None else np.zeros(s, dtype=g.dtype)
                     for (n, _), s in zip(self.next_functions, self.shapes))


_ZERO_GRAD_CLASSES = {}


def _ZeroGrad2(name):
    cls = _ZERO_GRAD_CLASSES.get(name)
    if cls is None:
        cls = _ZERO_GRAD_CLASSES[name] = type(name, (_ZeroGradNode,), {})
    return cls()


def rdiv(input, other):
    """``other / input``: recorded as reciprocal then multiply, as PyTorch does."""
    if isinstance(other, Tensor):
        return div(other, input)
    if input._data.dtype.kind in "iub":
        input = _wrap(input._data.astype(dt.get_default_dtype()._np))
    return mul(reciprocal(input), other)


def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


def remainder(input, other):
    """Python-style modulus (the result has the sign of the divisor)."""
    return _modulus(input, other, np.remainder, RemainderBackward0, RemainderBackward1)


def fmod(input, other):
    """C-style modulus (the result has the sign of the dividend)."""
    return _modulus(input, other, np.fmod, FmodBackward0, FmodBackward1)


def _modulus(input, other, ufunc, number_node, tensor_node):
    if not isinstance(input, Tensor):
        input = _tensor_from(input, other if isinstance(other, Tensor) else None)
    ad, bd = binary_operands(input, other)
    if ad.dtype.kind in "iu" and np.any(np.asarray(bd) == 0):
        raise RuntimeError("ZeroDivisionError")
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = ufunc(ad, bd)
    except ValueError:
        raise shape_error(ad.shape, np.shape(bd)) from None
    other_t = other if isinstance(other, Tensor) else None
    if _GradState.enabled and (input._requires_grad
                               or (other_t is not None and other_t._requires_grad)):
        node = tensor_node() if other_t is not None else number_node()
        node.a_shape, node.b_shape = ad.shape, np.shape(bd)
        node.a, node.b = ad, bd
        node.save_versions(*(t for t in (input, other_t) if t is not None))
        return attach(res, node, input, other_t)
    return _wrap(res)


def pow(input, exponent):
    """``input ** exponent``; either side may be a Python number."""
    if not isinstance(input, Tensor):
        return _rpow(input, exponent)
    if not isinstance(exponent, Tensor):
        ad = input._data
        if isinstance(exponent, float) and ad.dtype.kind in "iub":
            ad = ad.astype(dt.get_default_dtype()._np)
        if ad.dtype.kind in "iu" and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if exponent == 2:
            res = ad * ad
        elif exponent == 0.5:
            res = np.sqrt(ad)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                res = np.power(ad, as_tensor_arg(exponent, _wrap(ad)))
        if _GradState.enabled and input._requires_grad:
            node = PowBackward0()
            node.a, node.exponent = ad, exponent
            node.save_versions(input)
            return attach(res, node, input)
        return _wrap(res)
    ad, bd = binary_operands(input, exponent)
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            res = np.power(ad, bd)
        except ValueError:
            raise shape_error(ad.shape, bd.shape) from None
    if _GradState.enabled and (input._requires_grad or exponent._requires_grad):
        node = PowBackward1()
        node.a_shape, node.b_shape = ad.shape, bd.shape
        node.a, node.b, node.out = ad, bd, res
        node.save_versions(input, exponent)
        return attach(res, node, input, exponent)
    return _wrap(res)


def _rpow(base, input):
    """``base ** input`` for a Python number ``base``."""
    if isinstance(base, Tensor):
        return pow(base, input)
    ed = input._data
    if ed.dtype.kind in "iub" and isinstance(base, float):
        ed = ed.astype(dt.get_default_dtype()._np)
    with np.errstate(divide="ignore", over="ignore"):
        res = np.power(as_tensor_arg(base, _wrap(ed)), ed)
    if _GradState.enabled and input._requires_grad:
        node = PowBackward2()
        node.base, node.out, node.out_exp = base, res, ed
        return attach(res, node, input)
    return _wrap(res)


def _write_out(out, array, name, *inputs):
    """Write a result into a user-supplied ``out=`` tensor; as in PyTorch, out= records no
    graph, so it is refused while grad mode is on and ``out`` or an input requires grad."""
    if _GradState.enabled and (out._requires_grad or any(
            isinstance(t, Tensor) and t._requires_grad for t in inputs)):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad.")
    if out._data.shape != array.shape:
        out._data = np.empty(array.shape, dtype=out._data.dtype)
    np.copyto(out._data, array, casting="same_kind")
    out._bump_version()
    return out


# ---------------------------------------------------------------------------- unary ops
class _UnaryNode(Node):
    _saved_fields = ("x", "out")
    x = out = None


def _unary(name, forward, derivative, saves_x=True, saves_out=False, float_only=True,
           doc=None):
    """Build a differentiable unary op: ``derivative(g, x, out)`` is the input gradient."""
    node_cls = type(name, (_UnaryNode,), {
        "backward": lambda self, g: (derivative(g, self.x, self.out),)})

    def op(input, *, out=None):
        x = input._data
        if float_only and x.dtype.kind in "iub":
            x = x.astype(dt.get_default_dtype()._np)
        res = forward(x)
        if out is not None:
            return _write_out(out, res, op.__name__, input)
        if _GradState.enabled and input._requires_grad:
            node = node_cls()
            result = attach(res, node, input)
            if saves_x:
                node.x = x
                node.save_versions(input, output=result if saves_out else None)
            elif saves_out:
                node.save_versions(output=result)
            if saves_out:
                node.out = res
            return result
        return _wrap(res)

    op.__name__ = name.replace("Backward0", "").lower()
    op.__doc__ = doc
    return op


def _ignore_fp_errors(fn):
    def wrapped(x):
        with np.errstate(all="ignore"):
            return fn(x)
    return wrapped


def _sigmoid(x):
    # exp(-|x|) never overflows; the two branches are recombined without a Python loop.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def erf_values(x, dtype=None):
    """``erf`` of an array, computed in float64 by libm and returned as ``dtype`` (x's by
    default): a compiled loop when numba is there, else one Python call per element."""
    return _libm_values(math.erf, "erf", x, dtype)


def erfc_values(x, dtype=None):
    """``erfc`` of an array (see :func:`erf_values`)."""
    return _libm_values(math.erfc, "erfc", x, dtype)


def _libm_values(fn, name, x, dtype):
    x = np.asarray(x)
    dtype = np.dtype(dtype or x.dtype)
    jit = _jit.kernels(np.empty(0, dtype)) if x.dtype.kind == "f" else None
    if jit is not None:
        out = np.empty(x.shape, dtype)
        getattr(jit, name)(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
        return out
    if x.size == 0:
        return np.empty(x.shape, dtype)
    return np.vectorize(fn, otypes=[dtype])(x)


def _erf(x):
    return erf_values(x)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

exp = _unary("ExpBackward0", np.exp, lambda g, x, o: g * o, saves_x=False, saves_out=True)
expm1 = _unary("Expm1Backward0", np.expm1, lambda g, x, o: g * (o + 1), saves_x=False,
               saves_out=True)
log = _unary("LogBackward0", _ignore_fp_errors(np.log), lambda g, x, o: g / x)
log2 = _unary("Log2Backward0", _ignore_fp_errors(np.log2), lambda g, x, o: g / (x * math.log(2)))
log10 = _unary("Log10Backward0", _ignore_fp_errors(np.log10),
               lambda g, x, o: g / (x * math.log(10)))
log1p = _unary("Log1PBackward0", _ignore_fp_errors(np.log1p), lambda g, x, o: g / (1 + x))
sqrt = _unary("SqrtBackward0", _ignore_fp_errors(np.sqrt), lambda g, x, o: g / (2 * o),
              saves_x=False, saves_out=True)
rsqrt = _unary("RsqrtBackward0", _ignore_fp_errors(lambda x: 1 / np.sqrt(x)),
               lambda g, x, o: -0.5 * g * o * o * o, saves_x=False, saves_out=True)
reciprocal = _unary("ReciprocalBackward0", _ignore_fp_errors(np.reciprocal),
                    lambda g, x, o: -g * o * o, saves_x=False, saves_out=True)
sin = _unary("SinBackward0", np.sin, lambda g, x, o: g * np.cos(x))
cos = _unary("CosBackward0", np.cos, lambda g, x, o: -g * np.sin(x))
tan = _unary("TanBackward0", np.tan, lambda g, x, o: g * (1 + o * o), saves_x=False,
             saves_out=True)
asin = _unary("AsinBackward0", _ignore_fp_errors(np.arcsin), lambda g, x, o: g / np.sqrt(1 - x * x))
acos = _unary("AcosBackward0", _ignore_fp_errors(np.arccos),
              lambda g, x, o: -g / np.sqrt(1 - x * x))
atan = _unary("AtanBackward0", np.arctan, lambda g, x, o: g / (1 + x * x))
sinh = _unary("SinhBackward0", np.sinh, lambda g, x, o: g * np.cosh(x))
cosh = _unary("CoshBackward0", np.cosh, lambda g, x, o: g * np.sinh(x))
tanh = _unary("TanhBackward0", np.tanh, lambda g, x, o: g * (1 - o * o), saves_x=False,
              saves_out=True)
sigmoid = _unary("SigmoidBackward0", _sigmoid, lambda g, x, o: g * o * (1 - o), saves_x=False,
                 saves_out=True)
erf = _unary("ErfBackward0", _erf, lambda g, x, o: g * _TWO_OVER_SQRT_PI * np.exp(-x * x))
square_ = None  # square is pow(x, 2): PowBackward0, as in PyTorch


def _zero_like(g, x, o):
    return np.zeros_like(g)


floor = _unary("FloorBackward0", np.floor, _zero_like, saves_x=False, float_only=False)
ceil = _unary("CeilBackward0", np.ceil, _zero_like, saves_x=False, float_only=False)
trunc = _unary("TruncBackward0", np.trunc, _zero_like, saves_x=False, float_only=False)
frac = _unary("FracBackward0", lambda x: x - np.trunc(x), lambda g, x, o: g, saves_x=False)
sign = _unary("SignBackward0", np.sign, _zero_like, saves_x=False, float_only=False)
neg = _unary("NegBackward0", np.negative, lambda g, x, o: -g, saves_x=False, float_only=False)
abs = _unary("AbsBackward0", np.abs, lambda g, x, o: g * np.sign(x), float_only=False)
_JIT_MIN_SIZE = 4096  # below this a compiled call's dispatch costs more than it saves


def _relu_forward(x):
    if x.size >= _JIT_MIN_SIZE and x.flags.c_contiguous:
        jit = _jit.kernels(x)
        if jit is not None:
            out = np.empty_like(x)
            jit.relu(x.reshape(-1), out.reshape(-1))
            return out
    # np.maximum gives +0.0 for -0.0 where torch keeps -0.0; only the sign of a zero differs,
    # and a sign-exact NumPy form (np.where) costs several times more
    return np.maximum(x, 0)


def _relu_backward(g, x, o):
    if g.size >= _JIT_MIN_SIZE and g.flags.c_contiguous and o.flags.c_contiguous and \
            g.dtype == o.dtype:
        jit = _jit.kernels(g)
        if jit is not None:
            out = np.empty_like(g)
            jit.relu_backward(g.reshape(-1), o.reshape(-1), out.reshape(-1))
            return out
    return g * ~(o <= 0)  # not ``o > 0``: a NaN result passes its gradient, as in PyTorch


relu = _unary("ReluBackward0", _relu_forward, _relu_backward, saves_x=False, saves_out=True,
              float_only=False)


def round(input, *, decimals=0):
    x = input._data
    res = np.round(x, decimals) if decimals else np.round(x)
    if _GradState.enabled and input._requires_grad:
        node = _ZeroGrad2("RoundBackward0" if not decimals else "RoundBackward1")
        node.shapes = (x.shape,)
        return attach(res, node, input)
    return _wrap(res)


def square(input):
    return pow(input, 2)


class ClampBackward1(Node):
    _saved_fields = ("x",)

    def backward(self, g):
        x, lo, hi = self.x, self.min, self.max
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        return (g * mask,)


@widened_op
def clamp(input, min=None, max=None, *, out=None):
    """Limit values to ``[min, max]``; the gradient passes where the input is inside (inclusive)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        res = input
        if min is not None:
            res = maximum(res, min if isinstance(min, Tensor) else _tensor_from(min, input))
        if max is not None:
            res = minimum(res, max if isinstance(max, Tensor) else _tensor_from(max, input))
        return res if out is None else _write_out(out, res._data, "clamp", input, min, max)
    x = input._data
    if x.dtype.kind in "iub" and (isinstance(min, float) or isinstance(max, float)):
        x = x.astype(dt.get_default_dtype()._np)  # as PyTorch, not NumPy's int64 + float32
    lo = None if min is None else as_tensor_arg(min, input)
    hi = None if max is None else as_tensor_arg(max, input)
    res = np.clip(x, lo, hi)
    if out is not None:
        return _write_out(out, res, "clamp", input)
    if _GradState.enabled and input._requires_grad:
        node = ClampBackward1()
        node.x, node.min, node.max = x, min, max
        node.save_versions(input)
        return attach(res, node, input)
    return _wrap(res)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


# ---------------------------------------------------------------------------- no-grad ops
def _compare(ufunc):
    def op(input, other):
        if not isinstance(input, Tensor):
            input = _tensor_from(input)
        ad, bd = binary_operands(input, other)
        try:
            return _wrap(ufunc(ad, bd))
        except ValueError:
            raise shape_error(ad.shape, np.shape(bd)) from None
    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)


def _logical(ufunc):
    def op(input, other=None):
        if other is None:
            return _wrap(ufunc(input._data))
        od = other._data if isinstance(other, Tensor) else other
        return _wrap(ufunc(input._data, od))
    return op


logical_and = _logical(np.logical_and)
logical_or = _logical(np.logical_or)
logical_xor = _logical(np.logical_xor)
logical_not = _logical(np.logical_not)


def _bitwise(ufunc, name):
    def op(input, other=None):
        if input._data.dtype.kind == "f":
            raise TypeError(f"{name} is only supported for integer and boolean tensors")
        if other is None:
            return _wrap(ufunc(input._data))
        ad, bd = binary_operands(input, other)
        return _wrap(ufunc(ad, bd))
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_not = _bitwise(np.invert, "bitwise_not")


def isnan(input):
    return _wrap(np.isnan(input._data))


def isinf(input):
    return _wrap(np.isinf(input._data))


def isfinite(input):
    return _wrap(np.isfinite(input._data))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(input._data, _arr(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _wrap(np.isclose(input._data, _arr(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    return input._data.shape == other._data.shape and bool(np.array_equal(input._data, other._data))


def _arr(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)
