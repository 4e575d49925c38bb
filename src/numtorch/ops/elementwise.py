"""Elementwise operations: arithmetic with broadcasting, unary math, comparisons.

Every node is declared with ``_registry.formula`` and its backward formula is written with
operators and ``_formulas`` helpers, so it runs on arrays and (create_graph) on Tensors.
Binary nodes keep the input shapes and reduce broadcast gradients with ``unbroadcast``.
Unary ops are declared in one table: forward ufunc and derivative side by side.
"""

import math
from collections.abc import Callable

import numpy as np

from .. import _dtype as dt
from .._fperr import quiet_call
from .._tensor import Tensor
from ..autograd.engine import Deferred
from ..autograd.grad_mode import _GradState
from . import _formulas as F
from . import _fused, _jit, _parallel
from ._formulas import unbroadcast
from ._lowp import widened_op
from ._registry import OUT, declare, formula
from ._util import as_tensor_arg, binary_operands, refuse_complex, shape_error

_wrap = Tensor._wrap


def _tensor_from(x, like=None):
    """A Python number or array on the left of an op, as a tensor."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return _wrap(as_tensor_arg(x, like))
    return _wrap(np.asarray(x))


# ---------------------------------------------------------------------------- binary ops
_SHAPES = ("a_shape", "b_shape")


def _shape(b):
    return b.shape if b.__class__ is np.ndarray else np.shape(b)


# Each formula returns one gradient per input; ``ctx.a``/``ctx.b`` are the (promoted) operands,
# arrays in a plain backward and Tensors under create_graph.
def _add_formula(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    ga = unbroadcast(g, ctx.a_shape) if na is not None else None
    gb = None
    if nb is not None:
        alpha = ctx.alpha
        gb = unbroadcast(g if alpha == 1 else g * alpha, ctx.b_shape)
    return ga, gb


AddBackward0 = formula("AddBackward0", attrs=("a_shape", "b_shape", "alpha"))(_add_formula)
SubBackward0 = formula("SubBackward0", attrs=("a_shape", "b_shape", "alpha"))(_add_formula)


@formula("RsubBackward1", attrs=("alpha",))
def RsubBackward1(ctx, g):
    alpha = ctx.alpha
    return (-g if alpha == 1 else -g * alpha,)


@formula("MulBackward0", saves={"a": 0, "b": 1}, attrs=_SHAPES)
def MulBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    if F.is_array(g):  # large products shared among threads (ops._parallel)
        ga = unbroadcast(_parallel.binary(np.multiply, g, ctx.b), ctx.a_shape) \
            if na is not None else None
        gb = unbroadcast(_parallel.binary(np.multiply, g, ctx.a), ctx.b_shape) \
            if nb is not None else None
        return ga, gb
    ga = unbroadcast(g * ctx.b, ctx.a_shape) if na is not None else None
    gb = unbroadcast(g * ctx.a, ctx.b_shape) if nb is not None else None
    return ga, gb


@formula("DivBackward0", saves={"a": 0, "b": 1}, attrs=_SHAPES)
def DivBackward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    b = ctx.b
    ga = unbroadcast(g / b, ctx.a_shape) if na is not None else None
    gb = unbroadcast(-g * ctx.a / (b * b), ctx.b_shape) if nb is not None else None
    return ga, gb


@formula("PowBackward0", saves={"a": 0}, attrs=("exponent",))
def PowBackward0(ctx, g):
    """tensor ** number."""
    e = ctx.exponent
    if e == 0:
        return (F.zeros_like(g),)
    if e == 2:
        return (g * (2 * ctx.a),)
    return (g * (e * ctx.a ** (e - 1)),)


@formula("PowBackward1", saves={"a": 0, "b": 1, "out": OUT}, attrs=_SHAPES)
def PowBackward1(ctx, g):
    """tensor ** tensor."""
    (na, _), (nb, _) = ctx.next_functions
    a, b = ctx.a, ctx.b
    ga = gb = None
    if na is not None:
        b0 = b == 0
        ga = unbroadcast(g * b * F.where(b0, 0, a ** F.where(b0, 1, b - 1)), ctx.a_shape)
    if nb is not None:
        log_a = F.where((a == 0) & (b >= 0), 0, F.log(a))
        gb = unbroadcast(g * ctx.out * log_a, ctx.b_shape)
    return ga, gb


@formula("PowBackward2", saves={"out": OUT, "exponent": 0}, attrs=("base",))
def PowBackward2(ctx, g):
    """number ** tensor."""
    base = ctx.base
    if base == 0:
        return (g * F.cast(F.where(ctx.exponent >= 0, 0.0, -math.inf), g),)
    return (g * ctx.out * math.log(base),)


def _extremum_formula(a_wins):
    def backward(ctx, g):
        (na, _), (nb, _) = ctx.next_functions
        a, b = ctx.a, ctx.b
        # Ties split the gradient in half, as PyTorch does.
        wa = F.cast(a_wins(a, b), g) + F.cast(a == b, g) * 0.5
        ga = unbroadcast(g * wa, ctx.a_shape) if na is not None else None
        gb = unbroadcast(g * (1 - wa), ctx.b_shape) if nb is not None else None
        return ga, gb
    return backward


MaximumBackward0 = formula("MaximumBackward0", {"a": 0, "b": 1}, _SHAPES)(
    _extremum_formula(lambda a, b: a > b))
MinimumBackward0 = formula("MinimumBackward0", {"a": 0, "b": 1}, _SHAPES)(
    _extremum_formula(lambda a, b: a < b))


def _modulus_formula(round_):
    """``a - round(a / b) * b``: remainder rounds the quotient down, fmod towards zero."""
    def backward(ctx, g):
        (na, _), (nb, _) = ctx.next_functions
        ga = unbroadcast(g, ctx.a_shape) if na is not None else None
        gb = None
        if nb is not None:
            gb = unbroadcast(-g * round_(ctx.a / ctx.b), ctx.b_shape)
        return ga, gb
    return backward


_AB = {"a": 0, "b": 1}
RemainderBackward0 = formula("RemainderBackward0", _AB, _SHAPES)(_modulus_formula(F.floor))
RemainderBackward1 = formula("RemainderBackward1", _AB, _SHAPES)(_modulus_formula(F.floor))
FmodBackward0 = formula("FmodBackward0", _AB, _SHAPES)(_modulus_formula(F.trunc))
FmodBackward1 = formula("FmodBackward1", _AB, _SHAPES)(_modulus_formula(F.trunc))


@formula("Atan2Backward0", saves={"a": 0, "b": 1}, attrs=_SHAPES)
def Atan2Backward0(ctx, g):
    (na, _), (nb, _) = ctx.next_functions
    a, b = ctx.a, ctx.b
    denom = a * a + b * b
    ga = unbroadcast(g * b / denom, ctx.a_shape) if na is not None else None
    gb = unbroadcast(-g * a / denom, ctx.b_shape) if nb is not None else None
    return ga, gb


def _zero_formula(ctx, g):
    return tuple(None if n is None else F.zeros_like(g, s)
                 for (n, _), s in zip(ctx.next_functions, ctx.shapes))


DivBackward2 = formula("DivBackward2", attrs=("shapes",))(_zero_formula)
RoundBackward0 = formula("RoundBackward0", attrs=("shapes",))(_zero_formula)
RoundBackward1 = formula("RoundBackward1", attrs=("shapes",))(_zero_formula)


def _binary(name, ufunc, node_cls):
    """Build ``op(input, other, *, out=None)`` for a differentiable broadcasting binary ufunc."""

    def op(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input = _tensor_from(input, other if isinstance(other, Tensor) else None)
        ad, bd = binary_operands(input, other)
        try:
            res = _parallel.binary(ufunc, ad, bd)
        except ValueError:
            raise shape_error(ad.shape, np.shape(bd)) from None
        if out is not None:
            return _write_out(out, res, name, input, other)
        return node_cls.record(res, (input, other if isinstance(other, Tensor) else None),
                               (ad, bd), (ad.shape, bd.shape if bd.__class__ is np.ndarray
                                          else np.shape(bd)))

    op.__name__ = name
    return op


mul = _binary("mul", np.multiply, MulBackward0)
def _real_only(ufunc, name):
    def kernel(a, b, **kw):
        refuse_complex(a, b, message=f"{name} not implemented for complex tensors.",
                       error=RuntimeError)
        return ufunc(a, b, **kw)
    return kernel


maximum = _binary("maximum", _real_only(np.maximum, "maximum"), MaximumBackward0)
minimum = _binary("minimum", _real_only(np.minimum, "minimum"), MinimumBackward0)
_atan2 = _binary("atan2", np.arctan2, Atan2Backward0)


def atan2(input, other, *, out=None):
    """``atan(input / other)`` by quadrant; integers give the default float dtype (NumPy:
    float64)."""
    refuse_complex(input, other, kernel="atan2_cpu")
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
        res = _parallel.binary(ufunc, ad, bd)
    except ValueError:
        raise shape_error(ad.shape, np.shape(bd)) from None
    if out is not None:
        return _write_out(out, res, "add" if ufunc is np.add else "sub", input, other)
    return node_cls.record(res, (input, other if isinstance(other, Tensor) else None), (),
                           (ad.shape, bd.shape if bd.__class__ is np.ndarray else np.shape(bd),
                            alpha if ufunc is np.add else -alpha))


def rsub(input, other, alpha=1):
    """``other - alpha * input`` (the reflected subtraction)."""
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    ad = input._data
    res = as_tensor_arg(other, input) - (ad if alpha == 1 else ad * alpha)
    return RsubBackward1.record(res, (input,), (), (alpha,))


def div(input, other, *, rounding_mode=None, out=None):
    """True division (float result for integer inputs), or floor/trunc division."""
    if not isinstance(input, Tensor):
        input = _tensor_from(input, other if isinstance(other, Tensor) else None)
    ad, bd = binary_operands(input, other)
    other_t = other if isinstance(other, Tensor) else None
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
        return DivBackward2.record(res, (input, other_t), (), ((ad.shape, _shape(bd)),))
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
    return DivBackward0.record(res, (input, other_t), (ad, bd), (ad.shape, _shape(bd)))


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
    refuse_complex(input, other, kernel=f"{ufunc.__name__}_cpu")
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
    node_cls = tensor_node if other_t is not None else number_node
    return node_cls.record(res, (input, other_t), (ad, bd), (ad.shape, _shape(bd)))


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
            with np.errstate(invalid="ignore"):
                res = np.sqrt(ad)
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                res = np.power(ad, as_tensor_arg(exponent, _wrap(ad)))
        return PowBackward0.record(res, (input,), (ad,), (exponent,))
    ad, bd = binary_operands(input, exponent)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        try:
            res = np.power(ad, bd)
        except ValueError:
            raise shape_error(ad.shape, bd.shape) from None
    return PowBackward1.record(res, (input, exponent), (ad, bd, res), (ad.shape, bd.shape))


def _rpow(base, input):
    """``base ** input`` for a Python number ``base``."""
    if isinstance(base, Tensor):
        return pow(base, input)
    ed = input._data
    if ed.dtype.kind in "iub" and isinstance(base, float):
        ed = ed.astype(dt.get_default_dtype()._np)
    with np.errstate(divide="ignore", over="ignore"):
        res = np.power(as_tensor_arg(base, _wrap(ed)), ed)
    return PowBackward2.record(res, (input,), (res, ed), (base,))


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
def _unary(name, forward, derivative, saves_x=True, saves_out=False, float_only=True,
           doc=None):
    """Build a differentiable unary op: ``derivative(g, x, out)`` is the input gradient, written
    with operators and ``_formulas`` helpers (arrays or Tensors)."""
    saves = {}
    if saves_x:
        saves["x"] = 0
    if saves_out:
        saves["out"] = OUT

    def backward(ctx, g):
        return (derivative(g, ctx.x if saves_x else None, ctx.out if saves_out else None),)

    node_cls = formula(name, saves)(backward)
    record = node_cls.record

    if saves_x and saves_out:
        def op(input, *, out=None):
            x = input._data
            if float_only and x.dtype.kind in "iub":
                x = x.astype(dt.get_default_dtype()._np)
            res = forward(x)
            if out is not None:
                return _write_out(out, res, op.__name__, input)
            return record(res, (input,), (x, res))
    elif saves_x:
        def op(input, *, out=None):
            x = input._data
            if float_only and x.dtype.kind in "iub":
                x = x.astype(dt.get_default_dtype()._np)
            res = forward(x)
            if out is not None:
                return _write_out(out, res, op.__name__, input)
            return record(res, (input,), (x,))
    elif saves_out:
        def op(input, *, out=None):
            x = input._data
            if float_only and x.dtype.kind in "iub":
                x = x.astype(dt.get_default_dtype()._np)
            res = forward(x)
            if out is not None:
                return _write_out(out, res, op.__name__, input)
            return record(res, (input,), (res,))
    else:
        def op(input, *, out=None):
            x = input._data
            if float_only and x.dtype.kind in "iub":
                x = x.astype(dt.get_default_dtype()._np)
            res = forward(x)
            if out is not None:
                return _write_out(out, res, op.__name__, input)
            return record(res, (input,))

    op.__name__ = name.replace("Backward0", "").lower()
    op.__doc__ = doc
    op.node = node_cls
    return op


def _ignore_fp_errors(fn):
    def wrapped(x):
        return quiet_call(fn, x)
    return wrapped


def _complex_name(x):
    return "ComplexFloat" if x.dtype == np.complex64 else "ComplexDouble"


def _no_complex(kernel, message=None, kernel_name=None):
    """``kernel`` refusing complex arrays as PyTorch refuses them (NotImplementedError with
    ``message``, or PyTorch's "<kernel_name> not implemented for 'ComplexFloat'")."""
    def checked(x, *args):
        if x.dtype.kind == "c":
            raise NotImplementedError(
                message or f'"{kernel_name}" not implemented for \'{_complex_name(x)}\'')
        return kernel(x, *args)
    return checked


def _sigmoid(x):
    """``1 / (1 + exp(-x))``, PyTorch's formula, in three in-place passes: accurate in both
    tails, and ``exp`` overflowing to inf gives 0 as in PyTorch. (Recombining two branches
    with ``np.where`` over random signs cost four times the whole arithmetic.)"""
    if x.dtype.kind == "c":
        return 1 / (1 + np.exp(-x))
    compiled = _fused.sigmoid(x)
    if compiled is not None:
        return compiled
    e = np.negative(x, out=np.empty(x.shape, x.dtype))  # an array even for 0-d input
    quiet_call(np.exp, e, e)
    e += 1
    return np.reciprocal(e, out=e)


def erf_values(x, dtype=None):
    """``erf`` of an array, computed in float64 by libm and returned as ``dtype`` (x's by
    default): a compiled loop when numba is there, else one Python call per element."""
    return _libm_values(math.erf, "erf", x, dtype)


def erfc_values(x, dtype=None):
    """``erfc`` of an array (see :func:`erf_values`)."""
    return _libm_values(math.erfc, "erfc", x, dtype)


def log1p_values(x, out=None):
    """``np.log1p(x[, out])`` with its floating-point warnings off (``out`` may be ``x``);
    float32 by the compiled kernel (``_jit._log1p32``, within one unit in the last place) when
    numba is there."""
    jit = _jit.kernels(x) if x.dtype == np.float32 and x.ndim else None
    if out is None or out.__class__ is not np.ndarray:  # (a NumPy scalar: a result of 0-d math)
        if jit is None:
            return quiet_call(np.log1p, x)
        out = np.empty(x.shape, np.float32)
    elif jit is None or out.dtype != np.float32 or not out.flags.c_contiguous:
        return quiet_call(np.log1p, x, out)
    jit.log1p32(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out


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

# exp/expm1/sinh/cosh overflow to inf quietly, as in PyTorch
exp = _unary("ExpBackward0", _ignore_fp_errors(np.exp), lambda g, x, o: g * o, saves_x=False,
             saves_out=True)
expm1 = _unary("Expm1Backward0", _ignore_fp_errors(np.expm1), lambda g, x, o: g * (o + 1),
               saves_x=False, saves_out=True)
log = _unary("LogBackward0", _ignore_fp_errors(np.log), lambda g, x, o: g / x)
log2 = _unary("Log2Backward0", _ignore_fp_errors(np.log2), lambda g, x, o: g / (x * math.log(2)))
log10 = _unary("Log10Backward0", _ignore_fp_errors(np.log10),
               lambda g, x, o: g / (x * math.log(10)))
log1p = _unary("Log1PBackward0", log1p_values, lambda g, x, o: g / (1 + x))
sqrt = _unary("SqrtBackward0", _ignore_fp_errors(np.sqrt), lambda g, x, o: g / (2 * o),
              saves_x=False, saves_out=True)
rsqrt = _unary("RsqrtBackward0", _ignore_fp_errors(lambda x: 1 / np.sqrt(x)),
               lambda g, x, o: -0.5 * g * o * o * o, saves_x=False, saves_out=True)
reciprocal = _unary("ReciprocalBackward0", _ignore_fp_errors(np.reciprocal),
                    lambda g, x, o: -g * o * o, saves_x=False, saves_out=True)
sin = _unary("SinBackward0", np.sin, lambda g, x, o: g * F.cos(x))
cos = _unary("CosBackward0", np.cos, lambda g, x, o: -g * F.sin(x))
tan = _unary("TanBackward0", np.tan, lambda g, x, o: g * (1 + o * o), saves_x=False,
             saves_out=True)
asin = _unary("AsinBackward0", _ignore_fp_errors(np.arcsin), lambda g, x, o: g / F.sqrt(1 - x * x))
acos = _unary("AcosBackward0", _ignore_fp_errors(np.arccos),
              lambda g, x, o: -g / F.sqrt(1 - x * x))
atan = _unary("AtanBackward0", np.arctan, lambda g, x, o: g / (1 + x * x))
sinh = _unary("SinhBackward0", _ignore_fp_errors(np.sinh), lambda g, x, o: g * F.cosh(x))
cosh = _unary("CoshBackward0", _ignore_fp_errors(np.cosh), lambda g, x, o: g * F.sinh(x))
tanh = _unary("TanhBackward0", np.tanh, lambda g, x, o: g * (1 - o * o), saves_x=False,
              saves_out=True)
def _sigmoid_backward(g, x, o):
    if isinstance(g, Tensor) or isinstance(o, Tensor):
        return g * o * (1 - o)
    compiled = _fused.sigmoid_backward(o, g)
    if compiled is not None:
        return compiled
    r = g * o
    r *= 1 - o  # the same roundings, one temporary fewer
    return r


sigmoid = _unary("SigmoidBackward0", _sigmoid, _sigmoid_backward, saves_x=False, saves_out=True)
erf = _unary("ErfBackward0", _no_complex(_erf, kernel_name="erf_vml_cpu"),
             lambda g, x, o: g * _TWO_OVER_SQRT_PI * F.exp(-x * x))
square_ = None  # square is pow(x, 2): PowBackward0, as in PyTorch


def _zero_like(g, x, o):
    return F.zeros_like(g)


floor = _unary("FloorBackward0",
               _no_complex(np.floor, "floor is not supported for complex inputs"), _zero_like,
               saves_x=False, float_only=False)
ceil = _unary("CeilBackward0",
              _no_complex(np.ceil, "ceil is not supported for complex inputs"), _zero_like,
              saves_x=False, float_only=False)
trunc = _unary("TruncBackward0",
               _no_complex(np.trunc, "trunc is not supported for complex inputs"), _zero_like,
               saves_x=False, float_only=False)
frac = _unary("FracBackward0", _no_complex(lambda x: x - np.trunc(x), kernel_name="frac_cpu"),
              lambda g, x, o: g, saves_x=False)
sign = _unary("SignBackward0", _no_complex(
    np.sign, "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
    "torch.sgn instead."), _zero_like, saves_x=False, float_only=False)
neg = _unary("NegBackward0", np.negative, lambda g, x, o: -g, saves_x=False, float_only=False)
abs = _unary("AbsBackward0", np.abs, lambda g, x, o: g * F.sign(x), float_only=False)
_JIT_MIN_SIZE = 4096  # below this a compiled call's dispatch costs more than it saves
#: A compiled ReLU forward pass over at least two runs of this many elements is shared among
#: threads, a backward pass (two arrays read, not one) over two of ``_RELU_BACKWARD_RUN``.
#: Measured alone (``python -m benchmarks.threads``, one thread against two, four runs): with
#: runs of 2**18 both were shared at 2**19 elements (ResNet-8's 16-channel activations) and
#: took 1.3-1.5 times as long there (148 against 226 µs; the backward 308 against 406 µs);
#: at 2**20 the forward read 0.82-1.05 against one thread, the backward 1.4-1.7; from 2**21
#: both were 1.25-1.6 times faster. Inside ResNet-8's step sharing the 2**19 passes or not
#: made no difference (paired rounds).
_RELU_RUN = 1 << 20
_RELU_BACKWARD_RUN = 1 << 19


def _relu_forward(x):
    if x.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if x.size >= _JIT_MIN_SIZE and x.flags.c_contiguous:
        jit = _jit.kernels(x)
        if jit is not None:
            return _parallel.map_flat(jit.relu, np.empty_like(x), x, run=_RELU_RUN)
    # np.maximum gives +0.0 for -0.0 where torch keeps -0.0; only the sign of a zero differs,
    # and a sign-exact NumPy form (np.where) costs several times more. A float zero of the
    # array's own dtype spares NumPy converting the Python 0 (1.7 -> 0.9 µs on 16 floats);
    # other dtypes keep 0, whose promotion rules they rely on (bool with 0 gives int64).
    zero = _FLOAT_ZEROS.get(x.dtype)
    return np.maximum(x, 0 if zero is None else zero)


_FLOAT_ZEROS = {np.dtype(t): np.zeros((), t) for t in (np.float32, np.float64)}


def _relu_backward(g, x, o):
    if isinstance(g, Tensor):
        return g * ~(o <= 0)
    if g.size >= _JIT_MIN_SIZE and g.flags.c_contiguous and o.flags.c_contiguous and \
            g.dtype == o.dtype:
        jit = _jit.kernels(g)
        if jit is not None:
            return _parallel.map_flat(jit.relu_backward, np.empty_like(g), g, o,
                                      run=_RELU_BACKWARD_RUN)
    return g * ~(o <= 0)  # not ``o > 0``: a NaN result passes its gradient, as in PyTorch


relu = _unary("ReluBackward0", _relu_forward, _relu_backward, saves_x=False, saves_out=True,
              float_only=False)


def _relu_backward_sum(node, terms):
    """The ReLU's input gradient from the gradients of two consumers of its result, summed
    inside the compiled pass (the engine's ``_backward_sum``; ResNet's residual inputs: a 2 MiB
    sum written and read back on one thread spared), or None where that does not apply."""
    if len(terms) != 2:
        return None
    a, b = terms
    o = node.out
    if (a.__class__ is not np.ndarray or b.__class__ is not np.ndarray or a.size < _JIT_MIN_SIZE
            or a.shape != b.shape or a.shape != o.shape or not a.dtype == b.dtype == o.dtype
            or not (a.flags.c_contiguous and b.flags.c_contiguous and o.flags.c_contiguous)):
        return None
    jit = _jit.kernels(a)
    if jit is None:
        return None
    return (_parallel.map_flat(jit.relu_backward_sum, np.empty_like(a), a, b, o,
                               run=_RELU_BACKWARD_RUN),)


class _ReluGrad(Deferred):
    """A ReLU's input gradient not yet masked: the gradient(s) its consumers sent (one, or two
    still to add) and its saved result. The node that made the ReLU's input finishes it
    (``_backward_relu(node, terms, result)``: a training-mode batch norm recomputes the mask
    from its own input); anything else gets it resolved."""

    __slots__ = ("terms", "out")

    def __init__(self, terms, out):
        self.terms, self.out = terms, out

    def backward(self, node):
        return node.__class__._backward_relu(node, self.terms, self.out)

    def resolve(self):
        terms, o = self.terms, self.out
        if len(terms) == 2:
            a, b = terms
            jit = _jit.kernels(a)
            if jit is not None:
                return _parallel.map_flat(jit.relu_backward_sum, np.empty_like(a), a, b, o,
                                          run=_RELU_BACKWARD_RUN)
            return _relu_backward(a + b, None, o)
        return _relu_backward(terms[0], None, o)


#: node class -> ``takes(node, shape, dtype)``: the nodes that can finish a ReLU's backward
#: (``_backward_relu(node, terms, result)``; the training-mode batch norm registers itself).
RELU_TAKERS: dict[type, Callable[..., bool]] = {}


def _relu_backward_into(node, nxt, grads):
    """The engine's ``_backward_into`` for ReLU: a :class:`_ReluGrad` for a node whose class is
    in :data:`RELU_TAKERS` and takes these gradients, else None. Only for C-contiguous real
    arrays of the result's shape and dtype, one or two of them."""
    take = RELU_TAKERS.get(nxt.__class__)
    if take is None:
        return None
    g = grads[0]
    terms = tuple(g) if isinstance(g, list) else (g,)  # (the engine's unsummed terms)
    o = node.out
    if len(terms) > 2 or o is None or not take(nxt, o.shape, o.dtype):
        return None
    for t in terms:
        if (t.__class__ is not np.ndarray or t.shape != o.shape or t.dtype != o.dtype
                or not t.flags.c_contiguous):
            return None
    return _ReluGrad(terms, o)


relu.node._backward_sum = _relu_backward_sum
relu.node._backward_into = _relu_backward_into


def round(input, *, decimals=0):
    refuse_complex(input, kernel="round_vml_cpu")
    x = input._data
    res = np.round(x, decimals) if decimals else np.round(x)
    node_cls = RoundBackward1 if decimals else RoundBackward0
    return node_cls.record(res, (input,), (), ((x.shape,),))


def square(input):
    return pow(input, 2)


@formula("ClampBackward1", saves={"x": 0}, attrs=("min", "max"))
def ClampBackward1(ctx, g):
    x, lo, hi = ctx.x, ctx.min, ctx.max
    if lo is not None and hi is not None:
        mask = (x >= lo) & (x <= hi)
    elif lo is not None:
        mask = x >= lo
    else:
        mask = x <= hi
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
    if x.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if x.dtype.kind in "iub" and (isinstance(min, float) or isinstance(max, float)):
        x = x.astype(dt.get_default_dtype()._np)  # as PyTorch, not NumPy's int64 + float32
    lo = None if min is None else as_tensor_arg(min, input)
    hi = None if max is None else as_tensor_arg(max, input)
    res = np.clip(x, lo, hi)
    if out is not None:
        return _write_out(out, res, "clamp", input)
    return ClampBackward1.record(res, (input,), (x,), (min, max))


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


# ---------------------------------------------------------------------------- no-grad ops
def _compare(ufunc, name):
    def op(input, other):
        if not isinstance(input, Tensor):
            input = _tensor_from(input)
        ad, bd = binary_operands(input, other)
        if name not in ("eq", "ne") and (ad.dtype.kind == "c" or np.iscomplexobj(bd)):
            c = ad if ad.dtype.kind == "c" else np.asarray(bd)
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_complex_name(c)}\'')
        try:
            return _wrap(ufunc(ad, bd))
        except ValueError:
            raise shape_error(ad.shape, np.shape(bd)) from None
    op.__name__ = name
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")


def _logical(ufunc, name):
    def op(input, other=None):
        if other is None:
            return _wrap(ufunc(input._data))
        od = other._data if isinstance(other, Tensor) else other
        return _wrap(ufunc(input._data, od))
    op.__name__ = name
    return op


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")
logical_not = _logical(np.logical_not, "logical_not")


def _bitwise(ufunc, name):
    def op(input, other=None):
        if input._data.dtype.kind == "f":
            raise TypeError(f"{name} is only supported for integer and boolean tensors")
        if other is None:
            return _wrap(ufunc(input._data))
        ad, bd = binary_operands(input, other)
        return _wrap(ufunc(ad, bd))
    op.__name__ = name
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


# ---------------------------------------------------------------------------- public names
# (function, numtorch.* exports, Tensor methods, in-place methods, in-place ufunc, nodes)
_U = None  # no in-place ufunc: the in-place variant writes the op's result
for _fn, _exports, _methods, _inplace, _ufunc, _nodes in [
    (add, True, True, "add_", np.add, (AddBackward0,)),
    (sub, ("sub", "subtract"), ("sub", "subtract"), ("sub_", "subtract_"), np.subtract,
     (SubBackward0,)),
    (mul, ("mul", "multiply"), ("mul", "multiply"), ("mul_", "multiply_"), np.multiply,
     (MulBackward0,)),
    (div, ("div", "divide", "true_divide"), ("div", "divide", "true_divide"),
     ("div_", "divide_"), np.true_divide, (DivBackward0, DivBackward2)),
    (floor_divide, True, True, "floor_divide_", np.floor_divide, (DivBackward2,)),
    (remainder, True, True, "remainder_", np.remainder,
     (RemainderBackward0, RemainderBackward1)),
    (fmod, True, True, None, _U, (FmodBackward0, FmodBackward1)),
    (pow, True, True, "pow_", np.power, (PowBackward0, PowBackward1, PowBackward2)),
    (maximum, True, True, "maximum_", np.maximum, (MaximumBackward0,)),
    (minimum, True, True, "minimum_", np.minimum, (MinimumBackward0,)),
    (atan2, ("atan2", "arctan2"), ("atan2", "arctan2"), None, _U, (Atan2Backward0,)),
    (rsub, True, False, None, _U, (RsubBackward1, SubBackward0)),
    (exp, True, True, "exp_", _U, (exp.node,)),
    (expm1, True, True, "expm1_", _U, (expm1.node,)),
    (log, True, True, "log_", _U, (log.node,)),
    (log2, True, True, "log2_", _U, (log2.node,)),
    (log10, True, True, None, _U, (log10.node,)),
    (log1p, True, True, "log1p_", _U, (log1p.node,)),
    (sqrt, True, True, "sqrt_", _U, (sqrt.node,)),
    (rsqrt, True, True, "rsqrt_", _U, (rsqrt.node,)),
    (reciprocal, True, True, "reciprocal_", _U, (reciprocal.node,)),
    (sin, True, True, "sin_", _U, (sin.node,)),
    (cos, True, True, "cos_", _U, (cos.node,)),
    (tan, True, True, None, _U, (tan.node,)),
    (asin, True, ("asin", "arcsin"), None, _U, (asin.node,)),
    (acos, True, ("acos", "arccos"), None, _U, (acos.node,)),
    (atan, True, ("atan", "arctan"), None, _U, (atan.node,)),
    (sinh, True, True, None, _U, (sinh.node,)),
    (cosh, True, True, None, _U, (cosh.node,)),
    (tanh, True, True, "tanh_", _U, (tanh.node,)),
    (sigmoid, True, True, "sigmoid_", _U, (sigmoid.node,)),
    (erf, True, True, "erf_", _U, (erf.node,)),
    (floor, True, True, "floor_", _U, (floor.node,)),
    (ceil, True, True, "ceil_", _U, (ceil.node,)),
    (trunc, True, ("trunc", "fix"), "trunc_", _U, (trunc.node,)),
    (frac, True, True, "frac_", _U, (frac.node,)),
    (round, True, True, "round_", _U, (RoundBackward0, RoundBackward1)),
    (sign, True, ("sign", "sgn"), "sign_", _U, (sign.node,)),
    (neg, ("neg", "negative"), ("neg", "negative"), "neg_", _U, (neg.node,)),
    (abs, ("abs", "absolute"), ("abs", "absolute"), "abs_", _U, (abs.node,)),
    (relu, True, True, "relu_", _U, (relu.node,)),
    (square, True, True, "square_", _U, (PowBackward0,)),
    (clamp, ("clamp", "clip"), ("clamp", "clip"), ("clamp_", "clip_"), _U,
     (ClampBackward1, MaximumBackward0, MinimumBackward0)),
    (clamp_min, True, True, "clamp_min_", _U, (ClampBackward1,)),
    (clamp_max, True, True, "clamp_max_", _U, (ClampBackward1,)),
    (eq, True, True, None, _U, ()), (ne, ("ne", "not_equal"), ("ne", "not_equal"), None, _U, ()),
    (lt, ("lt", "less"), ("lt", "less"), None, _U, ()),
    (le, ("le", "less_equal"), ("le", "less_equal"), None, _U, ()),
    (gt, ("gt", "greater"), ("gt", "greater"), None, _U, ()),
    (ge, ("ge", "greater_equal"), ("ge", "greater_equal"), None, _U, ()),
    (logical_and, True, True, None, _U, ()), (logical_or, True, True, None, _U, ()),
    (logical_xor, True, True, None, _U, ()), (logical_not, True, True, None, _U, ()),
    (bitwise_and, True, True, None, _U, ()), (bitwise_or, True, True, None, _U, ()),
    (bitwise_xor, True, True, None, _U, ()), (bitwise_not, True, True, None, _U, ()),
    (isnan, True, True, None, _U, ()), (isinf, True, True, None, _U, ()),
    (isfinite, True, True, None, _U, ()), (allclose, True, True, None, _U, ()),
    (isclose, True, True, None, _U, ()), (equal, True, True, None, _U, ()),
]:
    declare(_fn, export=_exports, method=_methods, inplace=_inplace, ufunc=_ufunc,
            nodes=_nodes)
