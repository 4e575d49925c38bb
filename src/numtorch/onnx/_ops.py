"""The ONNX mapping of numtorch's functions, Tensor methods and operators.

Each mapping takes the tracer ``g`` and the op's arguments as the model passed them (the
signature mirrors PyTorch's) and returns the ONNX name(s) of its result(s). ``g.out`` is the
eager result, whose dtype and shape a mapping may read. A mapping that meets a case it cannot
express raises :class:`~numtorch.onnx._trace.ExportError` instead of writing a wrong graph.
"""

import math

import numpy as np

from .._tensor import Tensor
from ._graph import INT64_MAX
from ._trace import ExportError, SymInt, symbolic

__all__ = []


def _fail(g, what):
    raise ExportError(f"numtorch.onnx.export: {g.op_name!r} {what} has no ONNX mapping "
                      f"(in module {g.module_path()!r})")


def _out_dtype(g, index=0):
    outs = g.out if isinstance(g.out, (tuple, list)) else [g.out]
    return g.array(outs[index]).dtype


def _dim(d, rank):
    return d + rank if d < 0 else d


def _tuple(x, n):
    if isinstance(x, (tuple, list)):
        return [int(v) for v in x] if len(x) != 1 else [int(x[0])] * n
    return [int(x)] * n


def _shape_args(shape):
    """``view(2, 3)``, ``view((2, 3))`` and ``view(torch.Size([2, 3]))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return list(shape[0])
    return list(shape)


def _static(g):
    return not g.symbolic_sizes


# ---------------------------------------------------------------------- elementwise
_UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log",
          "sqrt": "Sqrt", "abs": "Abs", "neg": "Neg", "negative": "Neg", "floor": "Floor",
          "ceil": "Ceil", "sin": "Sin", "cos": "Cos", "tan": "Tan", "erf": "Erf",
          "reciprocal": "Reciprocal", "sign": "Sign", "logical_not": "Not", "asin": "Asin",
          "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "softsign": "Softsign",
          "selu": "Selu", "isnan": "IsNaN"}


def _unary(op_type):
    def mapping(g, input, *args, inplace=False, **kwargs):
        if args or kwargs:
            _fail(g, "with these arguments")
        dtype = g.dtype(input) if op_type in ("Not", "IsNaN") else _out_dtype(g)
        return g.node(op_type, [g.operand(input, dtype)])
    return mapping


for _name, _op in _UNARY.items():
    symbolic(_name)(_unary(_op))


@symbolic("positive", "contiguous", "clone", "detach", "Tensor.data", "to", "float", "double",
          "half", "long", "int", "bool", "short", "type_as", "cpu", "requires_grad_",
          "alias")
def _identity_or_cast(g, input, *args, **kwargs):
    return g.cast(g.v(input), _out_dtype(g))


@symbolic("bitwise_not")
def _bitwise_not(g, input):
    if g.dtype(input) != np.bool_:
        _fail(g, "on integers")
    return g.node("Not", [g.v(input)])


@symbolic("rsqrt")
def _rsqrt(g, input):
    return g.node("Reciprocal", [g.node("Sqrt", [g.operand(input, _out_dtype(g))])])


@symbolic("log1p")
def _log1p(g, input):
    dtype = _out_dtype(g)
    return g.node("Log", [g.node("Add", [g.operand(input, dtype), g.const(1, dtype)])])


@symbolic("expm1")
def _expm1(g, input):
    dtype = _out_dtype(g)
    return g.node("Sub", [g.node("Exp", [g.operand(input, dtype)]), g.const(1, dtype)])


@symbolic("square")
def _square(g, input):
    x = g.operand(input, _out_dtype(g))
    return g.node("Mul", [x, x])


@symbolic("round")
def _round(g, input, *, decimals=0):
    if decimals:
        _fail(g, "with decimals")
    return g.node("Round", [g.operand(input, _out_dtype(g))])


def _promote(g, a, b):
    """PyTorch's result dtype for comparing/selecting between ``a`` and ``b``."""
    kinds = []
    for x in (a, b):
        if isinstance(x, Tensor):
            d = g.dtype(x)
            kinds.append((d, g.rank(x) == 0))
        elif isinstance(x, bool):
            kinds.append((np.dtype(np.bool_), None))
        elif isinstance(x, int):
            kinds.append((np.dtype(np.int64), None))
        else:
            kinds.append((np.dtype(np.float32), None))
    tensors = [k for k in kinds if k[1] is not None]
    dims = [k[0] for k in tensors if not k[1]] or [k[0] for k in tensors]
    best = dims[0]
    for d in dims[1:]:
        best = _wider(best, d)
    for d, is_tensor in kinds:
        if is_tensor is None or d not in dims:
            if d.kind == "f" and best.kind != "f":
                best = np.dtype(np.float32) if is_tensor is None else d
            elif d.kind in "iu" and best.kind == "b":
                best = d
    return best


def _wider(a, b):
    if a.kind == b.kind or {a.kind, b.kind} <= {"i", "u"}:
        return np.promote_types(a, b)
    order = "biuf"
    return a if order.index(a.kind) > order.index(b.kind) else b


def _binary(op_type, swap=False):
    def mapping(g, input, other, *, alpha=1, out=None):
        dtype = _out_dtype(g)
        a, b = g.operand(input, dtype), g.operand(other, dtype)
        if alpha != 1:
            b = g.node("Mul", [b, g.const(alpha, dtype)])
        return g.node(op_type, [b, a] if swap else [a, b])
    return mapping


symbolic("add")(_binary("Add"))
symbolic("radd")(_binary("Add", swap=True))
symbolic("sub", "subtract")(_binary("Sub"))
symbolic("mul", "multiply", "rmul")(_binary("Mul"))
symbolic("maximum")(_binary("Max"))
symbolic("minimum")(_binary("Min"))


@symbolic("rsub")
def _rsub(g, input, other, alpha=1):
    dtype = _out_dtype(g)
    a = g.operand(input, dtype)
    if alpha != 1:
        a = g.node("Mul", [a, g.const(alpha, dtype)])
    return g.node("Sub", [g.operand(other, dtype), a])


def _divide(g, a, b, rounding_mode):
    dtype = _out_dtype(g)
    if rounding_mode is None:
        return g.node("Div", [g.operand(a, dtype), g.operand(b, dtype)])
    work = dtype if dtype.kind == "f" else np.dtype(np.float64)
    q = g.node("Div", [g.operand(a, work), g.operand(b, work)])
    q = g.node("Floor", [q]) if rounding_mode == "floor" else _trunc(g, q)
    return g.cast(q, dtype, work)


def _trunc(g, x):
    # round toward zero: floor(|x|) with the sign of x
    return g.node("Mul", [g.node("Floor", [g.node("Abs", [x])]), g.node("Sign", [x])])


@symbolic("div", "divide", "true_divide")
def _div(g, input, other, *, rounding_mode=None):
    return _divide(g, input, other, rounding_mode)


@symbolic("rdiv")
def _rdiv(g, input, other):
    return _divide(g, other, input, None)


@symbolic("floor_divide")
def _floor_divide(g, input, other):
    return _divide(g, input, other, "floor")


@symbolic("rfloor_divide")
def _rfloor_divide(g, input, other):
    return _divide(g, other, input, "floor")


@symbolic("remainder")
def _remainder(g, input, other):
    dtype = _out_dtype(g)
    a, b = g.operand(input, dtype), g.operand(other, dtype)
    if dtype.kind != "f":
        return g.node("Mod", [a, b], fmod=0)
    q = g.node("Floor", [g.node("Div", [a, b])])
    return g.node("Sub", [a, g.node("Mul", [q, b])])


@symbolic("pow")
def _pow(g, input, exponent):
    dtype = _out_dtype(g)
    return g.node("Pow", [g.operand(input, dtype), g.operand(exponent, dtype)])


@symbolic("rpow")
def _rpow(g, input, other):
    dtype = _out_dtype(g)
    return g.node("Pow", [g.operand(other, dtype), g.operand(input, dtype)])


_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
            "ge": "GreaterOrEqual", "ne": "Equal", "greater": "Greater", "less": "Less",
            "greater_equal": "GreaterOrEqual", "less_equal": "LessOrEqual", "not_equal": "Equal"}


def _compare(name, op_type):
    def mapping(g, input, other):
        dtype = _promote(g, input, other)
        out = g.node(op_type, [g.operand(input, dtype), g.operand(other, dtype)])
        return g.node("Not", [out]) if name in ("ne", "not_equal") else out
    return mapping


for _name, _op in _COMPARE.items():
    symbolic(_name)(_compare(_name, _op))


def _logical(op_type):
    def mapping(g, input, other):
        return g.node(op_type, [g.operand(input, np.bool_), g.operand(other, np.bool_)])
    return mapping


symbolic("logical_and")(_logical("And"))
symbolic("logical_or")(_logical("Or"))
symbolic("logical_xor")(_logical("Xor"))


def _bitwise(op_type):
    def mapping(g, input, other):
        if _out_dtype(g) != np.bool_:
            _fail(g, "on integers")
        return g.node(op_type, [g.operand(input, np.bool_), g.operand(other, np.bool_)])
    return mapping


symbolic("bitwise_and")(_bitwise("And"))
symbolic("bitwise_or")(_bitwise("Or"))
symbolic("bitwise_xor")(_bitwise("Xor"))


@symbolic("where")
def _where(g, condition, input=None, other=None):
    if input is None:
        _fail(g, "with one argument")
    dtype = _out_dtype(g)
    return g.node("Where", [g.operand(condition, np.bool_), g.operand(input, dtype),
                            g.operand(other, dtype)])


@symbolic("masked_fill")
def _masked_fill(g, input, mask, value):
    dtype = _out_dtype(g)
    return g.node("Where", [g.operand(mask, np.bool_), g.operand(value, dtype),
                            g.operand(input, dtype)])


@symbolic("clamp", "clip")
def _clamp(g, input, min=None, max=None):
    dtype = _out_dtype(g)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        x = g.operand(input, dtype)
        if min is not None:
            x = g.node("Max", [x, g.operand(min, dtype)])
        if max is not None:
            x = g.node("Min", [x, g.operand(max, dtype)])
        return x
    lo = g.const(np.asarray(min, dtype=dtype)) if min is not None else ""
    hi = g.const(np.asarray(max, dtype=dtype)) if max is not None else ""
    return g.node("Clip", [g.operand(input, dtype), lo, hi])


@symbolic("clamp_min")
def _clamp_min(g, input, min):
    return _clamp(g, input, min=min)


@symbolic("clamp_max")
def _clamp_max(g, input, max):
    return _clamp(g, input, max=max)


# ---------------------------------------------------------------------- activations
@symbolic("relu6")
def _relu6(g, input, inplace=False):
    dtype = _out_dtype(g)
    return g.node("Clip", [g.v(input), g.const(0, dtype), g.const(6, dtype)])


@symbolic("hardtanh")
def _hardtanh(g, input, min_val=-1.0, max_val=1.0, inplace=False):
    dtype = _out_dtype(g)
    return g.node("Clip", [g.v(input), g.const(min_val, dtype), g.const(max_val, dtype)])


@symbolic("leaky_relu")
def _leaky_relu(g, input, negative_slope=0.01, inplace=False):
    return g.node("LeakyRelu", [g.v(input)], alpha=float(negative_slope))


@symbolic("elu")
def _elu(g, input, alpha=1.0, inplace=False):
    return g.node("Elu", [g.v(input)], alpha=float(alpha))


@symbolic("celu")
def _celu(g, input, alpha=1.0, inplace=False):
    return g.node("Celu", [g.v(input)], alpha=float(alpha))


@symbolic("gelu")
def _gelu(g, input, approximate="none"):
    dtype = _out_dtype(g)
    x = g.v(input)
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approximate)
    half = g.node("Mul", [x, g.const(0.5, dtype)])
    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(0.044715, dtype)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(math.sqrt(2 / math.pi), dtype)])])
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.const(1 / math.sqrt(2), dtype)])])
    return g.node("Mul", [half, g.node("Add", [t, g.const(1, dtype)])])


@symbolic("silu")
def _silu(g, input, inplace=False):
    x = g.v(input)
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


@symbolic("mish")
def _mish(g, input, inplace=False):
    x = g.v(input)
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


@symbolic("softplus")
def _softplus(g, input, beta=1.0, threshold=20.0):
    dtype = _out_dtype(g)
    x = g.v(input)
    if beta == 1:
        return g.node("Softplus", [x])
    scaled = g.node("Mul", [x, g.const(beta, dtype)])
    return g.node("Div", [g.node("Softplus", [scaled]), g.const(beta, dtype)])


@symbolic("logsigmoid")
def _logsigmoid(g, input):
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [g.v(input)])])])


@symbolic("hardsigmoid")
def _hardsigmoid(g, input, inplace=False):
    return g.node("HardSigmoid", [g.v(input)], alpha=1 / 6, beta=0.5)


@symbolic("hardswish")
def _hardswish(g, input, inplace=False):
    return g.node("HardSwish", [g.v(input)])


@symbolic("glu")
def _glu(g, input, dim=-1):
    a, b = g.node("Split", [g.v(input)], 2, axis=_dim(dim, g.rank(input)))
    return g.node("Mul", [a, g.node("Sigmoid", [b])])


def _softmax_like(op_type):
    def mapping(g, input, dim=None, dtype=None, _stacklevel=3):
        if dim is None:
            _fail(g, "without dim")
        x = g.operand(input, _out_dtype(g))
        return g.node(op_type, [x], axis=int(dim))
    return mapping


symbolic("softmax")(_softmax_like("Softmax"))
symbolic("log_softmax")(_softmax_like("LogSoftmax"))


@symbolic("softmin")
def _softmin(g, input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        _fail(g, "without dim")
    return g.node("Softmax", [g.node("Neg", [g.operand(input, _out_dtype(g))])], axis=int(dim))


@symbolic("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
          "feature_alpha_dropout")
def _dropout(g, input, p=0.5, training=True, inplace=False):
    if training and p > 0:
        _fail(g, "in training mode")
    return g.v(input)


# ---------------------------------------------------------------------- linear algebra
@symbolic("matmul", "mm", "bmm")
def _matmul(g, input, other, *, out=None):
    dtype = _out_dtype(g)
    return g.node("MatMul", [g.operand(input, dtype), g.operand(other, dtype)])


@symbolic("rmatmul")
def _rmatmul(g, input, other):
    dtype = _out_dtype(g)
    return g.node("MatMul", [g.operand(other, dtype), g.operand(input, dtype)])


@symbolic("linear")
def _linear(g, input, weight, bias=None):
    x, w = g.v(input), g.v(weight)
    if g.rank(input) == 2 and g.rank(weight) == 2:
        inputs = [x, w] + ([g.v(bias)] if bias is not None else [])
        return g.node("Gemm", inputs, transB=1)
    y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return g.node("Add", [y, g.v(bias)]) if bias is not None else y


@symbolic("addmm")
def _addmm(g, input, mat1, mat2, *, beta=1, alpha=1):
    dtype = _out_dtype(g)
    return g.node("Gemm", [g.operand(mat1, dtype), g.operand(mat2, dtype),
                           g.operand(input, dtype)], alpha=float(alpha), beta=float(beta))


@symbolic("einsum")
def _einsum(g, equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    dtype = _out_dtype(g)
    return g.node("Einsum", [g.operand(o, dtype) for o in operands],
                  equation=equation.replace(" ", ""))


@symbolic("t", "Tensor.T", "Tensor.mT")
def _t(g, input):
    r = g.rank(input)
    if g.op_name == "Tensor.mT":
        perm = list(range(r - 2)) + [r - 1, r - 2]
    else:
        perm = list(reversed(range(r)))
    return g.transpose(g.v(input), perm) if r > 1 else g.v(input)


# ---------------------------------------------------------------------- shapes
def _reshape_to(g, x, dims):
    static = [int(d) for d in dims]
    return g.node("Reshape", [x, g.dims(dims)], allowzero=1 if 0 in static else None)


@symbolic("reshape", "view")
def _reshape(g, input, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
        _fail(g, "to a dtype")
    return _reshape_to(g, g.v(input), _shape_args(shape))


@symbolic("view_as", "reshape_as")
def _view_as(g, input, other):
    if _static(g):
        return _reshape_to(g, g.v(input), g.shape(other))
    return g.node("Reshape", [g.v(input), g.shape(g.v(other))])


def _shape_parts(g, x, parts):
    """A 1-D shape built from slices of ``x``'s shape and fixed/SymInt dims."""
    names = []
    for part in parts:
        if isinstance(part, tuple):
            start, end = part
            if end > start:
                names.append(g.shape(x, start=start, end=end))
        elif part:
            names.append(g.dims(part))
    return names[0] if len(names) == 1 else g.node("Concat", names, axis=0)


@symbolic("flatten")
def _flatten(g, input, start_dim=0, end_dim=-1):
    r = g.rank(input)
    if r == 0:
        return _reshape_to(g, g.v(input), [1])
    s, e = _dim(start_dim, r), _dim(end_dim, r)
    x = g.v(input)
    if s == e:
        return x
    if s == 1 and e == r - 1 or s == 0 and e == r - 1 and r == 1:
        return g.node("Flatten", [x], axis=1) if s == 1 else x
    if _static(g):
        return _reshape_to(g, x, g.array(g.out).shape)
    return g.node("Reshape", [x, _shape_parts(g, x, [(0, s), [-1], (e + 1, r)])])


@symbolic("unflatten")
def _unflatten(g, input, dim, sizes):
    r = g.rank(input)
    d = _dim(dim, r)
    x = g.v(input)
    if _static(g) and not any(isinstance(s, SymInt) for s in sizes):
        return _reshape_to(g, x, g.array(g.out).shape)
    return g.node("Reshape", [x, _shape_parts(g, x, [(0, d), list(sizes), (d + 1, r)])])


@symbolic("permute")
def _permute(g, input, *dims):
    dims = _shape_args(dims)
    r = g.rank(input)
    return g.transpose(g.v(input), [_dim(int(d), r) for d in dims])


@symbolic("transpose", "swapaxes", "swapdims")
def _transpose(g, input, dim0, dim1):
    r = g.rank(input)
    perm = list(range(r))
    a, b = _dim(dim0, r), _dim(dim1, r)
    perm[a], perm[b] = perm[b], perm[a]
    return g.transpose(g.v(input), perm)


@symbolic("movedim", "moveaxis")
def _movedim(g, input, source, destination):
    r = g.rank(input)
    src = [_dim(s, r) for s in _tuple(source, 1)] if isinstance(source, (list, tuple)) \
        else [_dim(source, r)]
    dst = [_dim(s, r) for s in _tuple(destination, 1)] \
        if isinstance(destination, (list, tuple)) else [_dim(destination, r)]
    rest = [i for i in range(r) if i not in src]
    perm = [None] * r
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    perm = [p if p is not None else next(it) for p in perm]
    return g.transpose(g.v(input), perm)


@symbolic("squeeze")
def _squeeze(g, input, dim=None):
    shape = g.shape(input)
    r = len(shape)
    if dim is None:
        axes = [i for i, s in enumerate(shape) if s == 1]
    else:
        dims = dim if isinstance(dim, (tuple, list)) else [dim]
        axes = [_dim(d, r) for d in dims if shape[_dim(d, r)] == 1]
    return g.squeeze(g.v(input), axes) if axes else g.v(input)


@symbolic("unsqueeze")
def _unsqueeze(g, input, dim):
    return g.unsqueeze(g.v(input), [_dim(dim, g.rank(input) + 1)])


@symbolic("cat", "concat", "concatenate")
def _cat(g, tensors, dim=0, *, axis=None, out=None):
    dtype = _out_dtype(g)
    dim = axis if axis is not None else dim
    parts = [t for t in tensors if not (g.rank(t) == 1 and g.shape(t)[0] == 0)]
    rank = g.rank(parts[0])
    return g.node("Concat", [g.operand(t, dtype) for t in parts], axis=_dim(dim, rank))


@symbolic("stack")
def _stack(g, tensors, dim=0, *, out=None):
    dtype = _out_dtype(g)
    d = _dim(dim, g.rank(tensors[0]) + 1)
    parts = [g.unsqueeze(g.operand(t, dtype), [d]) for t in tensors]
    return g.node("Concat", parts, axis=d)


def _split_sizes(g, dim):
    return [g.array(t).shape[dim] for t in g.out]


@symbolic("split")
def _split(g, tensor, split_size_or_sections, dim=0):
    d = _dim(dim, g.rank(tensor))
    sizes = _split_sizes(g, d)
    if len(sizes) == 1:
        return [g.v(tensor)]
    return g.node("Split", [g.v(tensor), g.ints(sizes)], len(sizes), axis=d)


@symbolic("chunk")
def _chunk(g, input, chunks, dim=0):
    return _split(g, input, None, dim)


@symbolic("tensor_split")
def _tensor_split(g, input, indices_or_sections, dim=0):
    return _split(g, input, None, dim)


@symbolic("unbind")
def _unbind(g, input, dim=0):
    d = _dim(dim, g.rank(input))
    n = g.shape(input)[d]
    parts = g.node("Split", [g.v(input), g.ints([1] * n)], n, axis=d) if n > 1 else [g.v(input)]
    return [g.squeeze(p, [d]) for p in parts]


@symbolic("expand")
def _expand(g, input, *sizes):
    sizes = _shape_args(sizes)
    lead = len(sizes) - g.rank(input)
    dims = [1 if (not isinstance(s, SymInt) and int(s) == -1 and i >= lead) else s
            for i, s in enumerate(sizes)]
    return g.node("Expand", [g.v(input), g.dims(dims)])


@symbolic("expand_as")
def _expand_as(g, input, other):
    shape = g.ints(g.shape(other)) if _static(g) else g.shape(g.v(other))
    return g.node("Expand", [g.v(input), shape])


@symbolic("broadcast_to")
def _broadcast_to(g, input, size):
    return _expand(g, input, *list(size))


@symbolic("repeat")
def _repeat(g, input, *sizes):
    sizes = _shape_args(sizes)
    x = g.v(input)
    lead = len(sizes) - g.rank(input)
    if lead > 0:
        x = g.unsqueeze(x, list(range(lead)))
    return g.node("Tile", [x, g.dims(sizes)])


@symbolic("narrow")
def _narrow(g, input, dim, start, length):
    d = _dim(dim, g.rank(input))
    return g.node("Slice", [g.v(input), g.dims([start]), g.dims([start + length]),
                            g.ints([d])])


@symbolic("flip")
def _flip(g, input, *dims):
    dims = _shape_args(dims)
    r = g.rank(input)
    axes = [_dim(int(d), r) for d in dims]
    n = len(axes)
    return g.node("Slice", [g.v(input), g.ints([-1] * n), g.ints([-INT64_MAX] * n),
                            g.ints(axes), g.ints([-1] * n)])


@symbolic("tril", "triu")
def _trilu(g, input, diagonal=0):
    upper = int(g.op_name.rstrip("_").endswith("triu"))
    return g.node("Trilu", [g.v(input), g.const(np.asarray(int(diagonal), dtype=np.int64))],
                  upper=upper)


@symbolic("getitem")
def _getitem(g, input, index):
    items = list(index) if isinstance(index, tuple) else [index]
    tensors = [i for i in items if isinstance(i, (Tensor, list))]
    if any(isinstance(i, Tensor) and g.dtype(i) == np.bool_ for i in items) or \
            len(tensors) > 1 or (tensors and any(i is None for i in items)):
        _fail(g, "with boolean, several tensor or mixed tensor/None indices")
    rank = g.rank(input)
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + [slice(None)] * (rank - used) + items[at + 1:]
    starts, ends, axes, steps, squeeze_axes, new_axes = [], [], [], [], [], []
    gather = None
    axis = out_pos = kept = 0
    for item in items:
        if item is None:
            new_axes.append(out_pos)
            out_pos += 1
            continue
        if isinstance(item, slice):
            if not (item.start is None and item.stop is None and item.step in (None, 1)):
                step = 1 if item.step is None else item.step
                if step <= 0:
                    _fail(g, "with a non-positive step")
                starts.append(0 if item.start is None else item.start)
                ends.append(INT64_MAX if item.stop is None else item.stop)
                axes.append(axis)
                steps.append(step)
            out_pos += 1
            kept += 1
        elif isinstance(item, (Tensor, list)):
            gather = (kept, item)
            idx_rank = g.rank(item) if isinstance(item, Tensor) else np.ndim(item)
            out_pos += idx_rank
            kept += 1
        else:
            i = item
            starts.append(i)
            ends.append(INT64_MAX if not isinstance(i, SymInt) and int(i) == -1 else i + 1)
            axes.append(axis)
            steps.append(1)
            squeeze_axes.append(axis)
        axis += 1
    x = g.v(input)
    if axes:
        x = g.node("Slice", [x, g.dims(starts), g.dims(ends), g.ints(axes), g.ints(steps)])
    if squeeze_axes:
        x = g.squeeze(x, squeeze_axes)
    if gather is not None:
        pos, idx = gather
        index_name = g.operand(idx, np.int64) if isinstance(idx, Tensor) else \
            g.const(np.asarray(idx, dtype=np.int64))
        x = g.node("Gather", [x, index_name], axis=pos)
    if new_axes:
        x = g.unsqueeze(x, new_axes)
    return x


@symbolic("index_select")
def _index_select(g, input, dim, index):
    return g.node("Gather", [g.v(input), g.operand(index, np.int64)],
                  axis=_dim(dim, g.rank(input)))


@symbolic("gather")
def _gather(g, input, dim, index, *, sparse_grad=False):
    return g.node("GatherElements", [g.v(input), g.operand(index, np.int64)],
                  axis=_dim(dim, g.rank(input)))


# ---------------------------------------------------------------------- creation
def _filled(g, like, shape_dims):
    """A tensor like ``g.out`` (all one value) of shape ``shape_dims``."""
    out = g.array(g.out)
    if "empty" in g.op_name:  # values unspecified: zeros are as good as any
        out = np.zeros_like(out)
    flat = out.reshape(-1)
    value = flat[:1] if flat.size else np.zeros(1, dtype=out.dtype)
    if _static(g) and not any(isinstance(s, SymInt) for s in (shape_dims or [])):
        return g.const(out)
    shape = g.shape(g.v(like)) if like is not None else g.dims(shape_dims)
    return g.node("ConstantOfShape", [shape], value=np.asarray(value, dtype=out.dtype))


@symbolic("zeros_like", "ones_like", "empty_like")
def _like(g, input, *args, **kwargs):
    return _filled(g, input, None)


@symbolic("full_like")
def _full_like(g, input, fill_value, *args, **kwargs):
    if isinstance(fill_value, Tensor):
        _fail(g, "with a tensor fill value")
    return _filled(g, input, None)


@symbolic("new_zeros", "new_ones", "new_empty")
def _new_filled(g, input, *size, **kwargs):
    return _filled(g, None, _shape_args(size))


@symbolic("new_full")
def _new_full(g, input, size, fill_value, **kwargs):
    return _filled(g, None, list(size))


@symbolic("zeros", "ones", "empty")
def _zeros(g, *size, **kwargs):
    return _filled(g, None, _shape_args(size))


@symbolic("full")
def _full(g, size, fill_value, **kwargs):
    return _filled(g, None, list(size))


@symbolic("arange")
def _arange(g, *args, **kwargs):
    dtype = _out_dtype(g)
    if len(args) == 1:
        start, end, step = 0, args[0], 1
    else:
        start, end, step = (list(args) + [1])[:3]
    work = np.dtype(np.int64) if dtype.kind in "iu" else dtype
    parts = [g.operand(v, work) for v in (start, end, step)]
    return g.cast(g.node("Range", parts), dtype, work)


# ---------------------------------------------------------------------- reductions
def _axes(dim, rank):
    if dim is None:
        return list(range(rank))
    dims = dim if isinstance(dim, (tuple, list)) else [dim]
    return [_dim(int(d), rank) for d in dims]


def _reduction(op_type):
    def mapping(g, input, dim=None, keepdim=False, *, dtype=None, out=None):
        work = _out_dtype(g)
        x = g.operand(input, work)
        if g.rank(input) == 0:
            return x
        return g.reduce(op_type, x, _axes(dim, g.rank(input)), keepdim)
    return mapping


symbolic("mean")(_reduction("ReduceMean"))
symbolic("sum")(_reduction("ReduceSum"))
symbolic("amax")(_reduction("ReduceMax"))
symbolic("amin")(_reduction("ReduceMin"))
symbolic("logsumexp")(_reduction("ReduceLogSumExp"))


@symbolic("prod")
def _prod(g, input, dim=None, keepdim=False, *, dtype=None):
    return g.reduce("ReduceProd", g.operand(input, _out_dtype(g)), _axes(dim, g.rank(input)),
                    keepdim)


def _max_min(reduce_op, arg_op):
    def mapping(g, input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Tensor):
            return g.node("Max" if reduce_op == "ReduceMax" else "Min",
                          [g.v(input), g.operand(dim, _out_dtype(g))])
        x = g.v(input)
        if dim is None:
            return g.reduce(reduce_op, x, list(range(g.rank(input))), False)
        d = _dim(dim, g.rank(input))
        values = g.reduce(reduce_op, x, [d], keepdim)
        return [values, g.node(arg_op, [x], axis=d, keepdims=int(keepdim),
                               select_last_index=0)]
    return mapping


symbolic("max")(_max_min("ReduceMax", "ArgMax"))
symbolic("min")(_max_min("ReduceMin", "ArgMin"))


def _arg(op_type):
    def mapping(g, input, dim=None, keepdim=False):
        x = g.v(input)
        if dim is None:
            x = _reshape_to(g, x, [-1])
            return g.node(op_type, [x], axis=0, keepdims=0)
        return g.node(op_type, [x], axis=_dim(dim, g.rank(input)), keepdims=int(keepdim))
    return mapping


symbolic("argmax")(_arg("ArgMax"))
symbolic("argmin")(_arg("ArgMin"))


def _var(g, input, dim, unbiased, keepdim, correction):
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dtype = _out_dtype(g)
    x = g.operand(input, dtype)
    axes = _axes(dim, g.rank(input))
    mean = g.reduce("ReduceMean", x, axes, True)
    diff = g.node("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.node("Mul", [diff, diff]), axes, keepdim)
    shape = g.shape(input)
    n = int(np.prod([shape[a] for a in axes]))
    if correction:
        var = g.node("Mul", [var, g.const(n / max(n - correction, 0) if n > correction
                                          else np.inf, dtype)])
    return var


@symbolic("var")
def _var_op(g, input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var(g, input, dim, unbiased, keepdim, correction)


@symbolic("std")
def _std(g, input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return g.node("Sqrt", [_var(g, input, dim, unbiased, keepdim, correction)])


# ---------------------------------------------------------------------- neural-network layers
def _conv_pads(g, padding, kernel, dilation, n):
    if isinstance(padding, str):
        if padding == "valid":
            return [0] * (2 * n)
        if padding == "same":
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return [t // 2 for t in total] + [t - t // 2 for t in total]
        _fail(g, f"with padding={padding!r}")
    p = _tuple(padding, n)
    return p + p


@symbolic("conv1d", "conv2d", "conv3d")
def _conv(g, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    n = g.rank(weight) - 2
    kernel = list(g.shape(weight)[2:])
    dilation = _tuple(dilation, n)
    x = g.v(input)
    unbatched = g.rank(input) == n + 1
    if unbatched:
        x = g.unsqueeze(x, [0])
    inputs = [x, g.v(weight)] + ([g.v(bias)] if bias is not None else [])
    y = g.node("Conv", inputs, kernel_shape=kernel, strides=_tuple(stride, n),
               pads=_conv_pads(g, padding, kernel, dilation, n), dilations=dilation,
               group=int(groups))
    return g.squeeze(y, [0]) if unbatched else y


@symbolic("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def _conv_transpose(g, input, weight, bias=None, stride=1, padding=0, output_padding=0,
                    groups=1, dilation=1):
    n = g.rank(weight) - 2
    x = g.v(input)
    unbatched = g.rank(input) == n + 1
    if unbatched:
        x = g.unsqueeze(x, [0])
    p = _tuple(padding, n)
    inputs = [x, g.v(weight)] + ([g.v(bias)] if bias is not None else [])
    y = g.node("ConvTranspose", inputs, kernel_shape=list(g.shape(weight)[2:]),
               strides=_tuple(stride, n), pads=p + p, dilations=_tuple(dilation, n),
               output_padding=_tuple(output_padding, n), group=int(groups))
    return g.squeeze(y, [0]) if unbatched else y


def _pool_input(g, input, n):
    x = g.v(input)
    unbatched = g.rank(input) == n + 1
    return (g.unsqueeze(x, [0]) if unbatched else x), unbatched


def _max_pool(n):
    def mapping(g, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                return_indices=False):
        if return_indices:
            _fail(g, "with return_indices=True")
        x, unbatched = _pool_input(g, input, n)
        p = _tuple(padding, n)
        stride = kernel_size if stride is None or stride == [] or stride == () else stride
        y = g.node("MaxPool", [x], kernel_shape=_tuple(kernel_size, n),
                   strides=_tuple(stride, n), pads=p + p, dilations=_tuple(dilation, n),
                   ceil_mode=int(ceil_mode))
        return g.squeeze(y, [0]) if unbatched else y
    return mapping


symbolic("max_pool1d")(_max_pool(1))
symbolic("max_pool2d")(_max_pool(2))
symbolic("max_pool3d")(_max_pool(3))


def _avg_pool(n):
    def mapping(g, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True, divisor_override=None):
        if divisor_override is not None:
            _fail(g, "with divisor_override")
        x, unbatched = _pool_input(g, input, n)
        p = _tuple(padding, n)
        stride = kernel_size if stride is None or stride == [] or stride == () else stride
        y = g.node("AveragePool", [x], kernel_shape=_tuple(kernel_size, n),
                   strides=_tuple(stride, n), pads=p + p, ceil_mode=int(ceil_mode),
                   count_include_pad=int(count_include_pad))
        return g.squeeze(y, [0]) if unbatched else y
    return mapping


symbolic("avg_pool1d")(_avg_pool(1))
symbolic("avg_pool2d")(_avg_pool(2))
symbolic("avg_pool3d")(_avg_pool(3))


def _adaptive(n, global_op, op_type):
    def mapping(g, input, output_size, return_indices=False):
        if return_indices:
            _fail(g, "with return_indices=True")
        x, unbatched = _pool_input(g, input, n)
        spatial = list(g.shape(input)[-n:])
        out = [s if o is None else int(o) for s, o in zip(spatial, _tuple_or_none(output_size, n))]
        if all(o == 1 for o in out):
            y = g.node(global_op, [x])
        elif all(s % o == 0 for s, o in zip(spatial, out)):
            k = [s // o for s, o in zip(spatial, out)]
            y = g.node(op_type, [x], kernel_shape=k, strides=k)
        else:
            _fail(g, f"from size {spatial} to {out} (not a multiple)")
        return g.squeeze(y, [0]) if unbatched else y
    return mapping


def _tuple_or_none(x, n):
    if isinstance(x, (tuple, list)):
        return list(x) if len(x) == n else [x[0]] * n
    return [x] * n


symbolic("adaptive_avg_pool1d")(_adaptive(1, "GlobalAveragePool", "AveragePool"))
symbolic("adaptive_avg_pool2d")(_adaptive(2, "GlobalAveragePool", "AveragePool"))
symbolic("adaptive_max_pool1d")(_adaptive(1, "GlobalMaxPool", "MaxPool"))
symbolic("adaptive_max_pool2d")(_adaptive(2, "GlobalMaxPool", "MaxPool"))


@symbolic("batch_norm")
def _batch_norm(g, input, running_mean, running_var, weight=None, bias=None, training=False,
                momentum=0.1, eps=1e-5):
    if training or running_mean is None:
        _fail(g, "with batch statistics (training mode)")
    dtype = g.dtype(input)
    c = g.shape(input)[1]
    scale = g.v(weight) if weight is not None else g.const(np.ones(c, dtype))
    b = g.v(bias) if bias is not None else g.const(np.zeros(c, dtype))
    x = g.v(input)
    unbatched = g.rank(input) == 1
    if unbatched:
        x = g.unsqueeze(x, [0])
    y = g.node("BatchNormalization", [x, scale, b, g.v(running_mean), g.v(running_var)],
               epsilon=float(eps))
    return g.squeeze(y, [0]) if unbatched else y


@symbolic("layer_norm")
def _layer_norm(g, input, normalized_shape, weight=None, bias=None, eps=1e-5):
    if g.opset < 17:
        _fail(g, "below opset 17")
    shape = [int(s) for s in _tuple(normalized_shape, 1)] \
        if isinstance(normalized_shape, (list, tuple)) else [int(normalized_shape)]
    dtype = g.dtype(input)
    scale = g.v(weight) if weight is not None else g.const(np.ones(shape, dtype))
    inputs = [g.v(input), scale] + ([g.v(bias)] if bias is not None else [])
    return g.node("LayerNormalization", inputs, axis=-len(shape), epsilon=float(eps))


@symbolic("group_norm")
def _group_norm(g, input, num_groups, weight=None, bias=None, eps=1e-5):
    dtype = g.dtype(input)
    x = g.v(input)
    r = g.rank(input)
    grouped = g.node("Reshape", [x, g.ints([0, int(num_groups), -1])])
    mean = g.reduce("ReduceMean", grouped, [2], True)
    diff = g.node("Sub", [grouped, mean])
    var = g.reduce("ReduceMean", g.node("Mul", [diff, diff]), [2], True)
    normed = g.node("Div", [diff, g.node("Sqrt", [g.node("Add", [var, g.const(eps, dtype)])])])
    y = g.node("Reshape", [normed, g.shape(x)])
    channel = [-1] + [1] * (r - 2)
    if weight is not None:
        y = g.node("Mul", [y, g.node("Reshape", [g.v(weight), g.ints(channel)])])
    if bias is not None:
        y = g.node("Add", [y, g.node("Reshape", [g.v(bias), g.ints(channel)])])
    return y


@symbolic("embedding")
def _embedding(g, input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
               scale_grad_by_freq=False, sparse=False):
    if max_norm is not None:
        _fail(g, "with max_norm (it renormalizes the weight in place)")
    return g.node("Gather", [g.v(weight), g.operand(input, np.int64)], axis=0)


@symbolic("pad")
def _pad(g, input, pad, mode="constant", value=None):
    r = g.rank(input)
    pad = [int(p) for p in pad]
    begins, ends = [0] * r, [0] * r
    for i in range(len(pad) // 2):
        begins[r - 1 - i], ends[r - 1 - i] = pad[2 * i], pad[2 * i + 1]
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}
    if mode not in modes or mode == "circular" and g.opset < 19:
        _fail(g, f"with mode={mode!r}")
    inputs = [g.v(input), g.ints(begins + ends)]
    if mode == "constant":
        inputs.append(g.const(np.asarray(value or 0, dtype=g.dtype(input))))
    return g.node("Pad", inputs, mode=modes[mode])


@symbolic("normalize")
def _normalize(g, input, p=2.0, dim=1, eps=1e-12, out=None):
    if p != 2:
        _fail(g, f"with p={p}")
    dtype = g.dtype(input)
    x = g.v(input)
    norm = g.reduce("ReduceL2", x, [_dim(dim, g.rank(input))], True)
    return g.node("Div", [x, g.node("Max", [norm, g.const(eps, dtype)])])


def _neg_inf(dtype):
    return np.asarray(-np.inf, dtype=dtype)


def _causal(g, q, k, dtype):
    """A boolean (L, S) mask, True on and below the diagonal, sized in the graph."""
    lq, lk = g.rank(q), g.rank(k)
    if _static(g):
        L, S = g.shape(q)[-2], g.shape(k)[-2]
        return g.const(np.tril(np.ones((L, S), dtype=np.bool_)))
    sizes = g.node("Concat", [g.shape(g.v(q), start=lq - 2, end=lq - 1),
                              g.shape(g.v(k), start=lk - 2, end=lk - 1)], axis=0)
    ones = g.node("ConstantOfShape", [sizes], value=np.ones(1, dtype=np.int64))
    lower = g.node("Trilu", [ones], upper=0)
    return g.cast(lower, np.bool_, np.int64)


@symbolic("scaled_dot_product_attention")
def _sdpa(g, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
          enable_gqa=False):
    if dropout_p > 0:
        _fail(g, "with dropout_p > 0")
    if enable_gqa and g.rank(key) >= 3 and g.shape(key)[-3] != g.shape(query)[-3]:
        _fail(g, "with grouped-query attention")
    dtype = _out_dtype(g)
    q, k, v = g.v(query), g.v(key), g.v(value)
    scale = 1.0 / math.sqrt(g.shape(query)[-1]) if scale is None else scale
    r = g.rank(key)
    kt = g.transpose(k, list(range(r - 2)) + [r - 1, r - 2])
    scores = g.node("Mul", [g.node("MatMul", [q, kt]), g.const(scale, dtype)])
    if is_causal:
        scores = g.node("Where", [_causal(g, query, key, dtype), scores,
                                  g.const(_neg_inf(dtype))])
    if attn_mask is not None:
        if g.dtype(attn_mask) == np.bool_:
            scores = g.node("Where", [g.v(attn_mask), scores, g.const(_neg_inf(dtype))])
        else:
            scores = g.node("Add", [scores, g.operand(attn_mask, dtype)])
    attn = g.node("Softmax", [scores], axis=-1)
    if is_causal or attn_mask is not None:
        # a row with every position masked gives zeros, as numtorch does (not NaN)
        attn = g.node("Where", [g.node("IsNaN", [attn]), g.const(np.asarray(0, dtype)), attn])
    return g.node("MatMul", [attn, v])
